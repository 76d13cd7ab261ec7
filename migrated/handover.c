// SPDX-License-Identifier: GPL-2.0
/*
 * Flow handover: at switchover the source host sends the VM's entries of
 * its flows map (which front-end each client flow entered by) to the
 * destination's migrated, so the VM's replies keep leaving through the
 * front-end each client talks to from the first packet after resume.
 *
 * One TCP connection per handover, to the destination's underlay address:
 *   header  struct migd_ho_hdr (magic "HSFH", version 1, VM id, epoch,
 *           count, VM name), integers in network byte order
 *   body    count x struct migd_ho_flow (the map's key and value as they
 *           are: addresses and ports are already in network order)
 *   reply   two big-endian u32: status (0 or an errno) and entries written
 *
 * The underlay is untrusted, so the destination accepts a handover only
 * from the underlay address of a known host that is the `from` of a
 * running or switchover migration of that VM to this host, with the VM's
 * id, and only flows whose VM address is one of that VM's. Anything else
 * is refused whole, logged and counted; nothing is written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "migrated/migrated.h"

#define HO_TIMEOUT_MS 2000

/* ---- common ---- */

static int io_all(int fd, void *buf, size_t len, bool out)
{
	size_t done = 0;

	while (done < len) {
		struct pollfd p = {.fd = fd, .events = out ? POLLOUT : POLLIN};
		ssize_t n;

		if (poll(&p, 1, HO_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = out ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL)
			: recv(fd, (char *)buf + done, len - done, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return n < 0 ? hs_neg_errno() : -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

static socklen_t sockaddr_of(const struct hs_ip *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (hs_ip_is_v4(ip->b)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip->b + 12, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, ip->b, 16);
	return sizeof(*s6);
}

/* ---- source ---- */

struct collect {
	const struct migd_ho_job *j;
	struct migd_ho_flow *f;
	size_t n, cap;
};

static int collect(const void *key, const void *value, void *arg)
{
	struct collect *c = arg;
	const struct hs_flow_key *k = key;

	if (!(hs_ip_eq(&k->vm, &c->j->addr[0]) || hs_ip_eq(&k->vm, &c->j->addr[1])) ||
	    hs_ip_is_zero(&k->vm))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct migd_ho_flow *f;

		if (cap > MIGD_HO_MAX_FLOWS)
			return 1;
		f = realloc(c->f, cap * sizeof(*f));
		if (!f)
			return 1;
		c->f = f;
		c->cap = cap;
	}
	memcpy(&c->f[c->n].key, key, sizeof(struct hs_flow_key));
	memcpy(&c->f[c->n].val, value, sizeof(struct hs_flow));
	c->n++;
	return 0;
}

int migd_ho_send(struct migd *d, const struct migd_ho_job *j)
{
	struct collect c = {.j = j};
	struct migd_ho_hdr h = {.magic = htonl(MIGD_HO_MAGIC),
				.version = htons(MIGD_HO_VERSION),
				.vm_id = htonl(j->vm_id),
				.epoch = htonl(j->epoch)};
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_of(&j->dest, (uint16_t)d->c.handover_port, &ss);
	uint32_t reply[2];
	char addr[64];
	int fd, rc, one = 1;

	if (!d->have_maps)
		return -ENOENT;
	hs_map_each(d->maps.flows, sizeof(struct hs_flow_key), sizeof(struct hs_flow), collect, &c);
	h.count = htonl((uint32_t)c.n);
	snprintf(h.vm, sizeof(h.vm), "%s", j->vm);
	hs_format_ip(j->dest.b, addr, sizeof(addr));
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = hs_neg_errno();
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		rc = hs_neg_errno();
		goto out;
	}
	{
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t el = sizeof(err);

		if (poll(&p, 1, HO_TIMEOUT_MS) <= 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			rc = -err;
			goto out;
		}
	}
	rc = io_all(fd, &h, sizeof(h), true);
	if (!rc && c.n)
		rc = io_all(fd, c.f, c.n * sizeof(*c.f), true);
	if (!rc)
		rc = io_all(fd, reply, sizeof(reply), false);
	if (!rc && ntohl(reply[0]))
		rc = -(int)ntohl(reply[0]);
out:
	if (fd >= 0)
		close(fd);
	free(c.f);
	if (rc) {
		hs_warn("migration %s: flow handover to %s:%u failed: %s (replies without a flow "
			"entry leave by the VM's primary front-end)",
			j->vm, addr, d->c.handover_port, hs_strerr(rc));
		return rc;
	}
	hs_info("migration %s: %zu flow entries handed to %s", j->vm, c.n, addr);
	return (int)c.n;
}

/* ---- destination ---- */

static int listen_on(const struct hs_ip *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_of(ip, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;

	if (fd < 0)
		return hs_neg_errno();
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 16)) {
		int rc = hs_neg_errno();

		close(fd);
		return rc;
	}
	return fd;
}

int migd_ho_listen(struct migd *d)
{
	const struct hs_ip *a[2] = {&d->me.underlay4, &d->me.underlay6};
	char buf[64];

	for (int f = 0; f < 2; f++) {
		if (d->ho_fd[f] >= 0 || hs_ip_is_zero(a[f]))
			continue;
		d->ho_fd[f] = listen_on(a[f], (uint16_t)d->c.handover_port);
		if (d->ho_fd[f] < 0) {
			hs_warn("handover: cannot listen on %s port %u: %s",
				hs_format_ip(a[f]->b, buf, sizeof(buf)), d->c.handover_port,
				hs_strerr(d->ho_fd[f]));
			d->ho_fd[f] = -1;
			continue;
		}
		hs_info("handover: listening on %s port %u",
			hs_format_ip(a[f]->b, buf, sizeof(buf)), d->c.handover_port);
	}
	return 0;
}

/* The host whose underlay address peer is, from hosts/; 0 or -ENOENT. */
static int host_by_addr(struct migd *d, const struct hs_ip *peer, char *name, size_t len)
{
	char dir[HS_SCHEMA_KEY_MAX], why[256];
	struct hs_etcd_kvs kvs = {0};
	int rc = -ENOENT;

	hs_schema_key_dir(d->c.etcd_prefix, HS_SCHEMA_HOST, dir, sizeof(dir));
	if (hs_etcd_get_prefix(d->e, dir, 0, &kvs))
		return -EAGAIN;
	for (size_t i = 0; i < kvs.n && rc; i++) {
		struct hs_schema_host h;

		if (hs_schema_parse_host(kvs.kvs[i].key, kvs.kvs[i].value, kvs.kvs[i].value_len, &h,
					 why, sizeof(why)))
			continue;
		if ((!hs_ip_is_zero(&h.underlay4) && hs_ip_eq(&h.underlay4, peer)) ||
		    (!hs_ip_is_zero(&h.underlay6) && hs_ip_eq(&h.underlay6, peer))) {
			snprintf(name, len, "%s", h.name);
			rc = 0;
		}
	}
	hs_etcd_kvs_free(&kvs);
	return rc;
}

static int serve(struct migd *d, int fd, const struct hs_ip *peer, char *why, size_t len,
		 uint32_t *written)
{
	struct migd_ho_hdr h;
	struct hs_schema_migration mig;
	struct hs_schema_vm vm;
	struct migd_ho_flow *f = NULL;
	char from[HS_SCHEMA_NAME_MAX], key[HS_SCHEMA_KEY_MAX], w2[256];
	struct hs_etcd_kv kv = {0};
	uint32_t n;
	int rc;

	if (host_by_addr(d, peer, from, sizeof(from))) {
		snprintf(why, len, "not the underlay address of a known host");
		return -EPERM;
	}
	rc = io_all(fd, &h, sizeof(h), false);
	if (rc) {
		snprintf(why, len, "short header: %s", hs_strerr(rc));
		return -EPROTO;
	}
	if (migd_ho_check_hdr(&h, why, len))
		return -EPROTO;
	hs_schema_key_migration(d->c.etcd_prefix, h.vm, key, sizeof(key));
	if (hs_etcd_get(d->e, key, &kv, NULL) ||
	    hs_schema_parse_migration(key, kv.value, kv.value_len, &mig, w2, sizeof(w2)) ||
	    strcmp(mig.to, d->c.node) || strcmp(mig.from, from) ||
	    (mig.state != HS_SCHEMA_MIG_RUNNING && mig.state != HS_SCHEMA_MIG_SWITCHOVER)) {
		hs_etcd_kv_clear(&kv);
		snprintf(why, len, "no running migration of %s from %s to %s", h.vm, from,
			 d->c.node);
		return -EPERM;
	}
	hs_etcd_kv_clear(&kv);
	hs_schema_key_vm(d->c.etcd_prefix, h.vm, key, sizeof(key));
	if (hs_etcd_get(d->e, key, &kv, NULL) ||
	    hs_schema_parse_vm(key, kv.value, kv.value_len, &vm, w2, sizeof(w2)) ||
	    vm.id != ntohl(h.vm_id)) {
		hs_etcd_kv_clear(&kv);
		snprintf(why, len, "VM %s unknown or of another id", h.vm);
		return -EPERM;
	}
	hs_etcd_kv_clear(&kv);
	n = ntohl(h.count);
	if (n) {
		f = calloc(n, sizeof(*f));
		if (!f)
			return -ENOMEM;
		rc = io_all(fd, f, (size_t)n * sizeof(*f), false);
		if (rc) {
			snprintf(why, len, "short body: %s", hs_strerr(rc));
			free(f);
			return -EPROTO;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		if (migd_ho_check_flow(&f[i], &vm, why, len)) {
			free(f);
			return -EPROTO;
		}
	for (uint32_t i = 0; i < n; i++)
		if (d->have_maps &&
		    !bpf_map_update_elem(d->maps.flows, &f[i].key, &f[i].val, BPF_ANY))
			(*written)++;
	free(f);
	hs_info("handover: %u of %u flow entries of %s from %s written", *written, n, h.vm, from);
	return 0;
}

void migd_ho_accept(struct migd *d, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct hs_ip peer = {0};
	uint32_t written = 0, reply[2];
	char why[256] = "", addr[64];
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int rc;

	if (fd < 0)
		return;
	if (ss.ss_family == AF_INET) {
		peer.b[10] = peer.b[11] = 0xff;
		memcpy(peer.b + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else {
		memcpy(peer.b, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	}
	hs_format_ip(peer.b, addr, sizeof(addr));
	rc = serve(d, fd, &peer, why, sizeof(why), &written);
	if (rc) {
		if (rc == -EPROTO)
			d->bad_requests++;
		d->handovers_refused++;
		hs_warn("handover: refused from %s: %s", addr, why);
	} else {
		d->handovers_in++;
		d->flows_in += written;
	}
	reply[0] = htonl((uint32_t)-rc);
	reply[1] = htonl(written);
	io_all(fd, reply, sizeof(reply), true);
	close(fd);
}
