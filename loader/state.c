// SPDX-License-Identifier: GPL-2.0
/*
 * Node state through the pinned maps (see state.h). Map file descriptors come
 * from bpf_obj_get() on the pins, so one-shot commands work with no agent
 * running; the BPF objects are loaded only to create missing maps.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bpf/uplink.skel.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "loader/state.h"

static const char *const reason_names[] = {
#define HS_REASON_NAME(name, desc) #name,
	HS_REASONS(HS_REASON_NAME)
#undef HS_REASON_NAME
};

static const char *const reason_descs[] = {
#define HS_REASON_DESC(name, desc) desc,
	HS_REASONS(HS_REASON_DESC)
#undef HS_REASON_DESC
};

const char *hs_reason_name(int r)
{
	return r >= 0 && r < HS_R_MAX ? reason_names[r] : "?";
}

const char *hs_reason_desc(int r)
{
	return r >= 0 && r < HS_R_MAX ? reason_descs[r] : "?";
}

static int mkdir_p(const char *path)
{
	char buf[256];

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return hs_neg_errno();
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return hs_neg_errno();
	return 0;
}

/* Loading one object makes libbpf create and pin every map of maps.h. */
static int create_maps(const char *pin)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = pin);
	struct uplink *skel;
	int rc = mkdir_p(pin);

	if (rc) {
		hs_err("cannot create pin directory %s: %s", pin, hs_strerr(rc));
		return rc;
	}
	skel = uplink__open_opts(&o);
	if (!skel) {
		rc = hs_neg_errno();
		hs_err("cannot open the uplink BPF object: %s", hs_strerr(rc));
		return rc;
	}
	rc = uplink__load(skel);
	if (rc)
		hs_err("cannot load the uplink BPF object to create maps in %s: %s", pin,
		       hs_strerr(rc));
	uplink__destroy(skel);
	return rc;
}

static const struct {
	const char *name;
	size_t off;
} map_fields[] = {
	{"node_config", offsetof(struct hs_maps, node_config)},
	{"bindings", offsetof(struct hs_maps, bindings)},
	{"rbindings", offsetof(struct hs_maps, rbindings)},
	{"vms", offsetof(struct hs_maps, vms)},
	{"flows", offsetof(struct hs_maps, flows)},
	{"peers", offsetof(struct hs_maps, peers)},
	{"nexthops", offsetof(struct hs_maps, nexthops)},
	{"counters", offsetof(struct hs_maps, counters)},
};

static int *field(struct hs_maps *m, size_t i)
{
	return (int *)((char *)m + map_fields[i].off);
}

/* ---- the generation ----
 *
 * A one-element array the programs check their cached results against. It
 * is mapped into the writer's memory so that the bump is one atomic add,
 * whichever processes write at once (a lookup-then-update could lose a
 * bump, and with it an invalidation). Pins made before this map existed
 * lack it: then nothing loaded here caches, and a later bump finds it.
 */

static struct hs_generation *gen_map(int fd)
{
	void *g = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);

	return g == MAP_FAILED ? NULL : g;
}

static void gen_unmap(struct hs_generation *g)
{
	if (g)
		munmap(g, (size_t)sysconf(_SC_PAGESIZE));
}

static int gen_bump_fd(int fd)
{
	struct hs_generation *g = gen_map(fd);
	struct hs_generation v;
	uint32_t k = 0;

	if (g) {
		__atomic_add_fetch(&g->gen, 1, __ATOMIC_SEQ_CST);
		gen_unmap(g);
		return 0;
	}
	/* not mappable (cannot happen with maps from bpf/maps.h): a plain
	 * update still invalidates unless another writer races this one */
	hs_warn("cannot map the generation map (%s); bumping it non-atomically", strerror(errno));
	if (bpf_map_lookup_elem(fd, &k, &v))
		return hs_neg_errno();
	v.gen++;
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? hs_neg_errno() : 0;
}

int hs_generation_bump(const struct hs_maps *m)
{
	char path[512];
	int fd, rc;

	if (m->gen) {
		__atomic_add_fetch(&m->gen->gen, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	if (m->generation >= 0) {
		rc = gen_bump_fd(m->generation);
	} else {
		/* pinned since these maps were opened, or not at all */
		snprintf(path, sizeof(path), "%s/generation", m->pin);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return errno == ENOENT ? 0 : hs_neg_errno();
		rc = gen_bump_fd(fd);
		close(fd);
	}
	if (rc)
		hs_err("cannot bump the generation in %s: %s; cached flows may use the old "
		       "state",
		       m->pin, hs_strerr(rc));
	return rc;
}

/* Bumps after a writer's map writes, keeping the writer's own result. */
static int bumped(const struct hs_maps *m, int rc)
{
	hs_generation_bump(m);
	return rc;
}

/*
 * hs_map_flush() is handed a map fd only: the map sets open in this process
 * are remembered so that flushing one of their maps bumps their generation.
 * Not locked: heliostat's processes touch their maps from one thread.
 */
static struct hs_maps open_sets[8];
static bool open_used[8];

static void set_remember(const struct hs_maps *m)
{
	for (size_t i = 0; i < HS_ARRAY_SIZE(open_sets); i++) {
		if (!open_used[i]) {
			open_sets[i] = *m;
			open_used[i] = true;
			return;
		}
	}
}

static void set_forget(const struct hs_maps *m)
{
	for (size_t i = 0; i < HS_ARRAY_SIZE(open_sets); i++)
		if (open_used[i] && open_sets[i].node_config == m->node_config)
			open_used[i] = false;
}

static const struct hs_maps *set_of_fd(int fd)
{
	for (size_t i = 0; i < HS_ARRAY_SIZE(open_sets); i++) {
		struct hs_maps *s = &open_sets[i];

		if (!open_used[i])
			continue;
		for (size_t f = 0; f < HS_ARRAY_SIZE(map_fields); f++)
			if (*field(s, f) == fd)
				return s;
	}
	return NULL;
}

int hs_maps_open(const char *pin, bool create, struct hs_maps *m)
{
	char path[512];
	int rc;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < HS_ARRAY_SIZE(map_fields); i++)
		*field(m, i) = -1;
	m->generation = -1;
	if (strlen(pin) >= sizeof(m->pin))
		return -ENAMETOOLONG;
	strcpy(m->pin, pin);
	snprintf(path, sizeof(path), "%s/node_config", pin);
	if (access(path, F_OK)) {
		if (!create) {
			hs_err("no heliostat maps pinned in %s (nothing attached or configured "
			       "yet)",
			       pin);
			return -ENOENT;
		}
		rc = create_maps(pin);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < HS_ARRAY_SIZE(map_fields); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin, map_fields[i].name);
		*field(m, i) = bpf_obj_get(path);
		if (*field(m, i) < 0) {
			rc = hs_neg_errno();
			hs_err("cannot open pinned map %s: %s", path, hs_strerr(rc));
			hs_maps_close(m);
			return rc;
		}
	}
	/* optional: see "the generation" above */
	snprintf(path, sizeof(path), "%s/generation", pin);
	m->generation = bpf_obj_get(path);
	if (m->generation >= 0)
		m->gen = gen_map(m->generation);
	set_remember(m);
	return 0;
}

void hs_maps_close(struct hs_maps *m)
{
	set_forget(m);
	gen_unmap(m->gen);
	m->gen = NULL;
	if (m->generation >= 0)
		close(m->generation);
	m->generation = -1;
	for (size_t i = 0; i < HS_ARRAY_SIZE(map_fields); i++) {
		if (*field(m, i) >= 0)
			close(*field(m, i));
		*field(m, i) = -1;
	}
}

int hs_maps_id(const struct hs_maps *m, uint32_t *id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(m->node_config, &info, &len))
		return hs_neg_errno();
	*id = info.id;
	return 0;
}

int hs_config_get(const struct hs_maps *m, struct hs_node_config *c)
{
	uint32_t k = 0;

	return bpf_map_lookup_elem(m->node_config, &k, c) ? hs_neg_errno() : 0;
}

int hs_config_put(const struct hs_maps *m, const struct hs_node_config *c)
{
	uint32_t k = 0;

	return bumped(m, bpf_map_update_elem(m->node_config, &k, c, BPF_ANY) ? hs_neg_errno() : 0);
}

static int put(int fd, const void *k, const void *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) ? hs_neg_errno() : 0;
}

/* Does pub have any port binding other than skip? */
struct port_scan {
	const struct hs_ip *pub;
	const struct hs_binding_key *skip;
	bool found;
};

static int scan_ports(const void *key, const void *value, void *arg)
{
	const struct hs_binding_key *k = key;
	struct port_scan *s = arg;

	if (memcmp(&k->pub, s->pub, sizeof(k->pub)) || (!k->port && !k->proto))
		return 0;
	if (s->skip && !memcmp(k, s->skip, sizeof(*k)))
		return 0;
	s->found = true;
	return 1;
}

int hs_binding_check(const struct hs_binding_spec *b)
{
	if (hs_ip_is_v4(b->pub.b) != hs_ip_is_v4(b->vm.b)) {
		hs_err("binding: public and VM addresses are of different families");
		return -EINVAL;
	}
	if (hs_ip_is_zero(&b->vm) || hs_ip_is_zero(&b->pub)) {
		hs_err("binding: zero address");
		return -EINVAL;
	}
	if (!!b->port != !!b->proto ||
	    (b->proto && b->proto != IPPROTO_TCP && b->proto != IPPROTO_UDP)) {
		hs_err("binding: a port needs a protocol (tcp or udp) and a protocol a port");
		return -EINVAL;
	}
	if (!b->port && b->vm_port) {
		hs_err("binding: a VM port needs a public port");
		return -EINVAL;
	}
	return 0;
}

int hs_binding_add(const struct hs_maps *m, const struct hs_binding_spec *b)
{
	struct hs_binding_key k = {.pub = b->pub, .port = htons(b->port), .proto = b->proto};
	struct hs_binding_key ak = {.pub = b->pub};
	struct hs_binding v = {.vm = b->vm, .vm_port = htons(b->vm_port), .vm_id = b->vm_id};
	struct hs_rbinding_key rk = {.vm = b->vm, .proto = b->proto};
	struct hs_rbinding rv = {.pub = b->pub, .pub_port = htons(b->port)};
	struct hs_binding old_v, old_a;
	struct hs_rbinding old_r;
	bool had_v, had_a, had_r;
	int rc;

	rc = hs_binding_check(b);
	if (rc)
		return rc;
	rk.port = htons(b->vm_port ? b->vm_port : b->port);
	had_r = !bpf_map_lookup_elem(m->rbindings, &rk, &old_r);
	if (had_r && memcmp(&old_r, &rv, sizeof(rv))) {
		char a[64], p[64];

		hs_err("binding: VM %s port %u already answers as %s port %u on this node",
		       hs_format_ip(b->vm.b, a, sizeof(a)), ntohs(rk.port),
		       hs_format_ip(old_r.pub.b, p, sizeof(p)), ntohs(old_r.pub_port));
		return -EEXIST;
	}
	had_v = !bpf_map_lookup_elem(m->bindings, &k, &old_v);
	had_a = !bpf_map_lookup_elem(m->bindings, &ak, &old_a);

	if (b->port) {
		/* the address entry says "look up ports"; a marker if none yet */
		struct hs_binding a = had_a ? old_a : (struct hs_binding){0};

		a.flags |= HS_BIND_F_PORTS;
		rc = put(m->bindings, &ak, &a);
		if (rc)
			goto fail;
	} else if (had_v) {
		v.flags = old_v.flags; /* keep HS_BIND_F_PORTS */
	}
	rc = put(m->bindings, &k, &v);
	if (rc)
		goto undo_a;
	rc = put(m->rbindings, &rk, &rv);
	if (rc)
		goto undo_v;
	if (had_v && !hs_ip_is_zero(&old_v.vm)) {
		/* re-pointed: the old VM (or VM port) no longer answers as pub */
		struct hs_rbinding_key ok = {.vm = old_v.vm, .proto = b->proto};
		struct hs_rbinding orv;

		ok.port = old_v.vm_port ? old_v.vm_port : k.port;
		if (memcmp(&ok, &rk, sizeof(ok)) && !bpf_map_lookup_elem(m->rbindings, &ok, &orv) &&
		    !memcmp(&orv, &rv, sizeof(rv)))
			bpf_map_delete_elem(m->rbindings, &ok);
	}
	return bumped(m, 0);

undo_v:
	if (had_v)
		put(m->bindings, &k, &old_v);
	else
		bpf_map_delete_elem(m->bindings, &k);
undo_a:
	if (b->port) {
		if (had_a)
			put(m->bindings, &ak, &old_a);
		else
			bpf_map_delete_elem(m->bindings, &ak);
	}
fail:
	hs_err("binding: cannot write the maps: %s", hs_strerr(rc));
	return bumped(m, rc); /* undone, but maybe seen meanwhile */
}

static int binding_del(const struct hs_maps *m, const struct hs_ip *pub, uint16_t port,
		       uint8_t proto)
{
	struct hs_binding_key k = {.pub = *pub, .port = htons(port), .proto = proto};
	struct hs_binding_key ak = {.pub = *pub};
	struct hs_rbinding_key rk = {.proto = proto};
	struct hs_rbinding rv;
	struct hs_binding v, a;
	int rc;

	if (bpf_map_lookup_elem(m->bindings, &k, &v) || (!port && hs_ip_is_zero(&v.vm)))
		return -ENOENT;
	rk.vm = v.vm;
	rk.port = v.vm_port ? v.vm_port : k.port;
	if (!bpf_map_lookup_elem(m->rbindings, &rk, &rv) && !memcmp(&rv.pub, pub, sizeof(*pub)))
		bpf_map_delete_elem(m->rbindings, &rk);

	if (!port) {
		if (v.flags & HS_BIND_F_PORTS) {
			/* keep the marker: the address still has port bindings */
			struct hs_binding marker = {.flags = v.flags};

			return put(m->bindings, &k, &marker);
		}
		return bpf_map_delete_elem(m->bindings, &k) ? hs_neg_errno() : 0;
	}
	rc = bpf_map_delete_elem(m->bindings, &k) ? hs_neg_errno() : 0;
	if (rc)
		return rc;
	if (!bpf_map_lookup_elem(m->bindings, &ak, &a)) {
		struct port_scan s = {.pub = pub};

		hs_map_each(m->bindings, sizeof(struct hs_binding_key), sizeof(struct hs_binding),
			    scan_ports, &s);
		if (!s.found) {
			if (hs_ip_is_zero(&a.vm))
				return bpf_map_delete_elem(m->bindings, &ak) ? hs_neg_errno() : 0;
			a.flags &= ~HS_BIND_F_PORTS;
			return put(m->bindings, &ak, &a);
		}
	}
	return 0;
}

int hs_binding_del(const struct hs_maps *m, const struct hs_ip *pub, uint16_t port, uint8_t proto)
{
	return bumped(m, binding_del(m, pub, port, proto));
}

int hs_vm_put(const struct hs_maps *m, const struct hs_ip *addr, const struct hs_vm *v)
{
	if (hs_ip_is_zero(addr))
		return -EINVAL;
	switch (v->kind) {
	case HS_VM_LOCAL:
		if (!v->ifindex)
			return -EINVAL;
		break;
	case HS_VM_INCOMING: /* behind ifindex, still running at host */
		if (!v->ifindex || hs_ip_is_zero(&v->host))
			return -EINVAL;
		break;
	case HS_VM_REMOTE:
	case HS_VM_FORWARD:
		if (hs_ip_is_zero(&v->host))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return bumped(m, put(m->vms, addr, v));
}

int hs_vm_get(const struct hs_maps *m, const struct hs_ip *addr, struct hs_vm *v)
{
	return bpf_map_lookup_elem(m->vms, addr, v) ? hs_neg_errno() : 0;
}

int hs_vm_del(const struct hs_maps *m, const struct hs_ip *addr)
{
	return bumped(m, bpf_map_delete_elem(m->vms, addr) ? hs_neg_errno() : 0);
}

int hs_peer_put(const struct hs_maps *m, const struct hs_ip *addr, const struct hs_peer *p)
{
	if (hs_ip_is_zero(addr))
		return -EINVAL;
	return bumped(m, put(m->peers, addr, p));
}

int hs_peer_del(const struct hs_maps *m, const struct hs_ip *addr)
{
	return bumped(m, bpf_map_delete_elem(m->peers, addr) ? hs_neg_errno() : 0);
}

int hs_counters_read(const struct hs_maps *m, uint64_t out[HS_R_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < HS_R_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(m->counters, &k, vals)) {
			int rc = hs_neg_errno();

			free(vals);
			return rc;
		}
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int hs_counters_reset(const struct hs_maps *m)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *zeros;
	int rc = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	zeros = calloc(ncpu, sizeof(*zeros));
	if (!zeros)
		return -ENOMEM;
	for (uint32_t k = 0; k < HS_R_MAX && !rc; k++)
		if (bpf_map_update_elem(m->counters, &k, zeros, BPF_ANY))
			rc = hs_neg_errno();
	free(zeros);
	return rc;
}

int hs_map_each(int fd, uint32_t key_size, uint32_t value_size,
		int (*fn)(const void *key, const void *value, void *arg), void *arg)
{
	uint8_t key[64], next[64], value[128];
	void *prev = NULL;
	int rc;

	if (key_size > sizeof(key) || value_size > sizeof(value))
		return -E2BIG;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value))
			continue; /* deleted meanwhile */
		rc = fn(key, value, arg);
		if (rc)
			return rc > 0 ? 0 : rc;
	}
	return 0;
}

int hs_map_flush(int fd, uint32_t key_size)
{
	const struct hs_maps *set = set_of_fd(fd);
	uint8_t key[64];
	int n = 0;

	if (key_size > sizeof(key))
		return -E2BIG;
	/* delete from the first key each time: iteration order changes */
	while (bpf_map_get_next_key(fd, NULL, key) == 0) {
		if (bpf_map_delete_elem(fd, key)) {
			n = hs_neg_errno();
			break;
		}
		n++;
	}
	if (set)
		hs_generation_bump(set);
	return n;
}

int hs_if_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr = {0};
	int fd, rc = 0;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hs_neg_errno();
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		rc = hs_neg_errno();
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return rc;
}
