// SPDX-License-Identifier: GPL-2.0
/*
 * Data-plane test harness (see harness.h). The namespace is made with
 * unshare(CLONE_NEWNET) and configured with iproute2, so it disappears with
 * the test process; the pin directory is removed by dp_close().
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/flowhash.h"
#include "bpf/uplink.skel.h"
#include "bpf/uplink_tc.skel.h"
#include "bpf/vmside.skel.h"
#include "bpf/vmside_tc.skel.h"
#include "lib/parse.h"
#include "selftests/bpf/harness.h"

static const char *const reason_names[] = {
#define HS_REASON_NAME(name, desc) #name,
	HS_REASONS(HS_REASON_NAME)
#undef HS_REASON_NAME
};

const char *dp_reason_name(int r)
{
	return r >= 0 && r < HS_R_MAX ? reason_names[r] : "?";
}

const char *dp_verdict_name(int v)
{
	static const char *const n[] = {"ABORTED", "DROP", "PASS", "TX", "REDIRECT"};

	return v >= 0 && v <= 4 ? n[v] : "?";
}

const char *dp_act_name(enum dp_prog prog, int v)
{
	if (!dp_is_tc(prog))
		return dp_verdict_name(v);
	return v == DP_TC_ACT_OK	 ? "TC_ACT_OK"
	       : v == DP_TC_ACT_SHOT	 ? "TC_ACT_SHOT"
	       : v == DP_TC_ACT_REDIRECT ? "TC_ACT_REDIRECT"
					 : "TC_ACT_?";
}

int dp_tc_verdict(int xdp_verdict)
{
	switch (xdp_verdict) {
	case XDP_PASS:
		return DP_TC_ACT_OK;
	case XDP_TX:
	case XDP_REDIRECT:
		return DP_TC_ACT_REDIRECT;
	default:
		return DP_TC_ACT_SHOT;
	}
}

static const char *const setup_cmds[] = {
	"ip link set lo up",
	"ip link add hsup0 address " MAC_UPLINK " type veth peer name hsup1",
	"ip link add hsvm0 address " MAC_GW " type veth peer name hsvm0p",
	"ip link add hsvm1 address " MAC_GW2 " type veth peer name hsvm1p",
	"ip link set hsup0 up",
	"ip link set hsup1 up",
	"ip link set hsvm0 up",
	"ip link set hsvm0p up",
	"ip link set hsvm1 up",
	"ip link set hsvm1p up",
	"ip addr add " US4 "/24 dev hsup0",
	"ip addr add 198.51.100.1/24 dev hsup0",
	"ip addr add " US6 "/64 dev hsup0 nodad",
	"ip addr add 2001:db8:1::1/64 dev hsup0 nodad",
	"ip neigh replace " HOSTB4 " lladdr " MAC_HOSTB " dev hsup0 nud permanent",
	"ip neigh replace " HOSTC4 " lladdr " MAC_HOSTC " dev hsup0 nud permanent",
	"ip neigh replace " HOSTB6 " lladdr " MAC_HOSTB " dev hsup0 nud permanent",
	"ip neigh replace " CLIENT4 " lladdr " MAC_CLIENT " dev hsup0 nud permanent",
	"ip neigh replace " CLIENT6 " lladdr " MAC_CLIENT " dev hsup0 nud permanent",
	"sysctl -qw net.ipv4.ip_forward=1",
	"sysctl -qw net.ipv6.conf.all.forwarding=1",
};

static int ns_setup(void)
{
	static bool done;

	if (done)
		return 0;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "harness: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < sizeof(setup_cmds) / sizeof(setup_cmds[0]); i++) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", setup_cmds[i]);
		if (system(cmd) != 0) {
			fprintf(stderr, "harness: '%s' failed\n", setup_cmds[i]);
			return -EIO;
		}
	}
	done = true;
	return 0;
}

/* One CPU for the whole test: the per-CPU caches (fe_cache, nexthops) then
 * behave as on one receive queue, so a packet sent twice hits the second
 * time. */
static void pin_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int dp_open(struct dp *d)
{
	LIBBPF_OPTS(bpf_object_open_opts, o);
	int rc;

	memset(d, 0, sizeof(*d));
	rc = ns_setup();
	if (rc)
		return rc;
	pin_cpu();
	d->if_up = if_nametoindex("hsup0");
	d->if_vm = if_nametoindex("hsvm0");
	d->if_vm2 = if_nametoindex("hsvm1");
	snprintf(d->pin, sizeof(d->pin), "/sys/fs/bpf/hs-test-dp-%d", getpid());
	if (mkdir(d->pin, 0700) && errno != EEXIST)
		return -errno;
	o.pin_root_path = d->pin;
	d->up = uplink__open_opts(&o);
	if (!d->up || uplink__load(d->up))
		goto fail;
	d->vm = vmside__open_opts(&o);
	if (!d->vm || vmside__load(d->vm))
		goto fail;
	d->up_tc = uplink_tc__open_opts(&o);
	if (!d->up_tc || uplink_tc__load(d->up_tc))
		goto fail;
	d->tc = vmside_tc__open_opts(&o);
	if (!d->tc || vmside_tc__load(d->tc))
		goto fail;
	return dp_reset(d);
fail:
	dp_close(d);
	return -EINVAL;
}

void dp_close(struct dp *d)
{
	static const char *const maps[] = {"node_config", "bindings", "rbindings",
					   "vms",	  "flows",    "peers",
					   "nexthops",	  "counters", "generation"};
	char path[256];

	if (d->tc)
		vmside_tc__destroy(d->tc);
	if (d->up_tc)
		uplink_tc__destroy(d->up_tc);
	if (d->vm)
		vmside__destroy(d->vm);
	if (d->up)
		uplink__destroy(d->up);
	d->tc = NULL;
	d->up_tc = NULL;
	d->vm = NULL;
	d->up = NULL;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d->pin, maps[i]);
		unlink(path);
	}
	rmdir(d->pin);
}

static void clear_map(int fd, size_t key_size)
{
	uint8_t key[64], next[64];
	void *prev = NULL;

	/* delete from the first key each time: iteration order changes */
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			prev = key; /* arrays: cannot delete; move on */
	}
}

static int fd_of(struct bpf_map *m)
{
	return bpf_map__fd(m);
}

int dp_gen_get(struct dp *d, uint64_t *gen)
{
	struct hs_generation g;
	uint32_t k = 0;

	if (bpf_map_lookup_elem(fd_of(d->up->maps.generation), &k, &g))
		return -errno;
	*gen = g.gen;
	return 0;
}

int dp_gen_set(struct dp *d, uint64_t gen)
{
	struct hs_generation g = {.gen = gen};
	uint32_t k = 0;

	return bpf_map_update_elem(fd_of(d->up->maps.generation), &k, &g, 0) ? -errno : 0;
}

int dp_gen_bump(struct dp *d)
{
	uint64_t g = 0;
	int rc = dp_gen_get(d, &g);

	return rc ? rc : dp_gen_set(d, g + 1);
}

/* Every writer below ends here: like loader/state.c, a map write bumps the
 * generation so that no fe_cache slot filled before it is used. */
static int written(struct dp *d, int rc)
{
	int g = dp_gen_bump(d);

	return rc ? rc : g;
}

int dp_reset(struct dp *d)
{
	struct hs_node_config c;
	uint64_t zeros[256] = {0};
	int ncpu = libbpf_num_possible_cpus();

	clear_map(fd_of(d->up->maps.bindings), sizeof(struct hs_binding_key));
	clear_map(fd_of(d->up->maps.rbindings), sizeof(struct hs_rbinding_key));
	clear_map(fd_of(d->up->maps.vms), sizeof(struct hs_ip));
	clear_map(fd_of(d->up->maps.flows), sizeof(struct hs_flow_key));
	clear_map(fd_of(d->up->maps.peers), sizeof(struct hs_ip));
	clear_map(fd_of(d->up->maps.nexthops), sizeof(struct hs_ip));
	dp_gen_bump(d);
	for (uint32_t k = 0; k < HS_R_MAX && ncpu <= 256; k++)
		bpf_map_update_elem(fd_of(d->up->maps.counters), &k, zeros, 0);
	dp_default_config(&c);
	return dp_config(d, &c);
}

struct hs_ip dp_ip(const char *s)
{
	struct hs_ip ip;
	int fam;

	if (hs_parse_ip(s, ip.b, &fam)) {
		fprintf(stderr, "harness: bad address %s\n", s);
		abort();
	}
	return ip;
}

void dp_mac(const char *s, uint8_t out[6])
{
	pk_parse_mac(s, out);
}

void dp_default_config(struct hs_node_config *c)
{
	memset(c, 0, sizeof(*c));
	c->underlay4 = dp_ip(US4);
	c->underlay6 = dp_ip(US6);
	c->vni = VNI;
	c->vxlan_port = htons(HS_VXLAN_PORT);
	c->underlay_mtu = MTU;
	c->flags = HS_CFG_F_ENABLED;
}

int dp_config(struct dp *d, const struct hs_node_config *c)
{
	uint32_t k = 0;

	return written(d,
		       bpf_map_update_elem(fd_of(d->up->maps.node_config), &k, c, 0) ? -errno : 0);
}

int dp_binding(struct dp *d, const char *pub, uint16_t port, uint8_t proto, const char *vm,
	       uint16_t vm_port)
{
	struct hs_binding_key k = {.pub = dp_ip(pub), .port = htons(port), .proto = proto};
	struct hs_binding v = {.vm_port = htons(vm_port), .vm_id = 7};
	struct hs_rbinding_key rk = {.port = htons(vm_port ? vm_port : port), .proto = proto};
	struct hs_rbinding rv = {.pub = k.pub, .pub_port = htons(port)};

	if (vm)
		v.vm = dp_ip(vm);
	if (port) {
		/* the address entry says "look up ports"; a marker if none yet */
		struct hs_binding_key ak = {.pub = k.pub};
		struct hs_binding av = {0};

		bpf_map_lookup_elem(fd_of(d->up->maps.bindings), &ak, &av);
		av.flags |= HS_BIND_F_PORTS;
		if (bpf_map_update_elem(fd_of(d->up->maps.bindings), &ak, &av, 0))
			return written(d, -errno);
	} else {
		struct hs_binding old;

		if (!bpf_map_lookup_elem(fd_of(d->up->maps.bindings), &k, &old))
			v.flags = old.flags; /* keep HS_BIND_F_PORTS */
	}
	if (bpf_map_update_elem(fd_of(d->up->maps.bindings), &k, &v, 0))
		return written(d, -errno);
	if (!vm)
		return written(d, 0); /* a marker has no reverse */
	rk.vm = v.vm;
	if (!port)
		rv.pub_port = 0;
	return written(d,
		       bpf_map_update_elem(fd_of(d->up->maps.rbindings), &rk, &rv, 0) ? -errno : 0);
}

int dp_vm_local(struct dp *d, const char *addr, int ifindex, const char *mac, const char *gw,
		const char *entry)
{
	struct hs_ip k = dp_ip(addr);
	struct hs_vm v = {.kind = HS_VM_LOCAL, .ifindex = ifindex, .epoch = 1, .vm_id = 7};

	dp_mac(mac, v.mac);
	dp_mac(gw, v.gw_mac);
	if (entry)
		v.entry = dp_ip(entry);
	return written(d, bpf_map_update_elem(fd_of(d->up->maps.vms), &k, &v, 0) ? -errno : 0);
}

int dp_vm_remote(struct dp *d, const char *addr, enum hs_vm_kind kind, const char *host,
		 const char *entry)
{
	return dp_vm_remote_mac(d, addr, kind, host, entry, MAC_VM);
}

int dp_vm_remote_mac(struct dp *d, const char *addr, enum hs_vm_kind kind, const char *host,
		     const char *entry, const char *mac)
{
	struct hs_ip k = dp_ip(addr);
	struct hs_vm v = {.kind = kind, .epoch = 1, .vm_id = 7};

	dp_mac(mac, v.mac);
	dp_mac(MAC_GW, v.gw_mac);
	v.host = dp_ip(host);
	if (entry)
		v.entry = dp_ip(entry);
	return written(d, bpf_map_update_elem(fd_of(d->up->maps.vms), &k, &v, 0) ? -errno : 0);
}

int dp_binding_del(struct dp *d, const char *pub, uint16_t port, uint8_t proto)
{
	struct hs_binding_key k = {.pub = dp_ip(pub), .port = htons(port), .proto = proto};

	return written(d, bpf_map_delete_elem(fd_of(d->up->maps.bindings), &k) ? -errno : 0);
}

int dp_vm_del(struct dp *d, const char *addr)
{
	struct hs_ip k = dp_ip(addr);

	return written(d, bpf_map_delete_elem(fd_of(d->up->maps.vms), &k) ? -errno : 0);
}

int dp_nexthop_put(struct dp *d, const char *dst, int ifindex, const char *dmac, const char *smac,
		   uint64_t expires)
{
	struct hs_nexthop_entry v[256] = {0};
	struct hs_ip k = dp_ip(dst);
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0 || ncpu > 256)
		return -E2BIG;
	for (int c = 0; c < ncpu; c++) {
		v[c].expires = expires;
		v[c].ifindex = ifindex;
		dp_mac(dmac, v[c].dmac);
		dp_mac(smac, v[c].smac);
	}
	return written(d, bpf_map_update_elem(fd_of(d->up->maps.nexthops), &k, v, 0) ? -errno : 0);
}

/* This CPU's element k of a per-CPU array of size-byte values (at most
 * 256), read into or written from val. */
static int percpu_io(int fd, uint32_t k, void *val, size_t size, bool write)
{
	static uint8_t v[256 * 256];
	size_t step = (size + 7) & ~(size_t)7; /* the kernel's per-CPU stride */
	int ncpu = libbpf_num_possible_cpus(), cpu = sched_getcpu();

	if (ncpu <= 0 || ncpu > 256 || cpu < 0 || cpu >= ncpu || step > 256)
		return -E2BIG;
	if (bpf_map_lookup_elem(fd, &k, v))
		return -errno;
	if (!write) {
		memcpy(val, v + (size_t)cpu * step, size);
		return 0;
	}
	memcpy(v + (size_t)cpu * step, val, size);
	return bpf_map_update_elem(fd, &k, v, 0) ? -errno : 0;
}

static int fe_slot_io(struct dp *d, const struct hs_fe_key *key, struct hs_fe_slot *slot,
		      bool write)
{
	uint32_t k = hs_fe_slot_index(&key->src, &key->dst, key->sport, key->dport, key->proto);
	int fd = d->tc_hook ? fd_of(d->up_tc->maps.fe_cache) : fd_of(d->up->maps.fe_cache);

	return percpu_io(fd, k, slot, sizeof(*slot), write);
}

static struct hs_fe_key fe_key(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			       uint8_t proto)
{
	struct hs_fe_key k = {.src = dp_ip(src), .dst = dp_ip(dst), .proto = proto};

	k.sport = htons(sport);
	k.dport = htons(dport);
	return k;
}

int dp_fe_slot_of(struct dp *d, const struct hs_fe_key *key, struct hs_fe_slot *slot)
{
	return fe_slot_io(d, key, slot, false);
}

int dp_fe_slot_get(struct dp *d, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		   uint8_t proto, struct hs_fe_slot *slot)
{
	struct hs_fe_key k = fe_key(src, dst, sport, dport, proto);

	return fe_slot_io(d, &k, slot, false);
}

int dp_fe_slot_put(struct dp *d, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		   uint8_t proto, const struct hs_fe_slot *slot)
{
	struct hs_fe_key k = fe_key(src, dst, sport, dport, proto);
	struct hs_fe_slot v = *slot;

	return fe_slot_io(d, &k, &v, true);
}

static int rp_slot_io(struct dp *d, __be32 peer, __be32 vm, __be32 client, __be16 vm_port,
		      __be16 client_port, uint8_t proto, struct hs_rp_slot *slot, bool write)
{
	if (d->tc_hook)
		return -EOPNOTSUPP; /* the TC uplink has no reply cache */
	return percpu_io(fd_of(d->up->maps.rp_cache),
			 hs_rp_slot_index4(peer, vm, client, vm_port, client_port, proto), slot,
			 sizeof(*slot), write);
}

int dp_rp_slot_of(struct dp *d, __be32 peer, __be32 vm, __be32 client, __be16 vm_port,
		  __be16 client_port, uint8_t proto, struct hs_rp_slot *slot)
{
	return rp_slot_io(d, peer, vm, client, vm_port, client_port, proto, slot, false);
}

int dp_fk_scratch_io(struct dp *d, struct hs_flow_key *key, bool write)
{
	if (d->tc_hook)
		return -EOPNOTSUPP; /* the TC uplink has no fast path */
	return percpu_io(fd_of(d->up->maps.fk_scratch), 0, key, sizeof(*key), write);
}

static int vr_slot_io(struct dp *d, __be32 vm, __be32 client, __be16 vm_port, __be16 client_port,
		      uint8_t proto, struct hs_vr_slot *slot, bool write)
{
	if (d->tc_hook)
		return -EOPNOTSUPP; /* the TC VM side has no cache */
	return percpu_io(fd_of(d->vm->maps.vr_cache),
			 hs_fe_slot_index4(vm, client, vm_port, client_port, proto), slot,
			 sizeof(*slot), write);
}

int dp_vr_slot_of(struct dp *d, __be32 vm, __be32 client, __be16 vm_port, __be16 client_port,
		  uint8_t proto, struct hs_vr_slot *slot)
{
	return vr_slot_io(d, vm, client, vm_port, client_port, proto, slot, false);
}

int dp_vr_slot_io(struct dp *d, const char *vm, const char *client, uint16_t vm_port,
		  uint16_t client_port, uint8_t proto, struct hs_vr_slot *slot, bool write)
{
	struct hs_ip v = dp_ip(vm), c = dp_ip(client);
	__be32 v4, c4;

	memcpy(&v4, &v.b[12], 4);
	memcpy(&c4, &c.b[12], 4);
	return vr_slot_io(d, v4, c4, htons(vm_port), htons(client_port), proto, slot, write);
}

int dp_rp_slot_io(struct dp *d, const char *peer, const char *vm, const char *client,
		  uint16_t vm_port, uint16_t client_port, uint8_t proto, struct hs_rp_slot *slot,
		  bool write)
{
	struct hs_ip p = dp_ip(peer), v = dp_ip(vm), c = dp_ip(client);
	__be32 p4, v4, c4;

	memcpy(&p4, &p.b[12], 4);
	memcpy(&v4, &v.b[12], 4);
	memcpy(&c4, &c.b[12], 4);
	return rp_slot_io(d, p4, v4, c4, htons(vm_port), htons(client_port), proto, slot, write);
}

int dp_peer(struct dp *d, const char *addr)
{
	struct hs_ip k = dp_ip(addr);
	struct hs_peer v = {.host_id = 2};

	return written(d, bpf_map_update_elem(fd_of(d->up->maps.peers), &k, &v, 0) ? -errno : 0);
}

int dp_peer_del(struct dp *d, const char *addr)
{
	struct hs_ip k = dp_ip(addr);

	return written(d, bpf_map_delete_elem(fd_of(d->up->maps.peers), &k) ? -errno : 0);
}

static struct hs_flow_key flow_key(const char *client, uint16_t cport, const char *vm,
				   uint16_t vport, uint8_t proto)
{
	struct hs_flow_key k = {.client = dp_ip(client), .vm = dp_ip(vm)};

	k.client_port = htons(cport);
	k.vm_port = htons(vport);
	k.proto = proto;
	return k;
}

int dp_flow_put(struct dp *d, const char *client, uint16_t cport, const char *vm, uint16_t vport,
		uint8_t proto, const char *entry)
{
	struct hs_flow_key k = flow_key(client, cport, vm, vport, proto);
	struct hs_flow v = {.entry = dp_ip(entry), .vm_id = 7};

	return bpf_map_update_elem(fd_of(d->up->maps.flows), &k, &v, 0) ? -errno : 0;
}

int dp_flow_del(struct dp *d, const char *client, uint16_t cport, const char *vm, uint16_t vport,
		uint8_t proto)
{
	struct hs_flow_key k = flow_key(client, cport, vm, vport, proto);

	return bpf_map_delete_elem(fd_of(d->up->maps.flows), &k) ? -errno : 0;
}

int dp_flow_get(struct dp *d, const char *client, uint16_t cport, const char *vm, uint16_t vport,
		uint8_t proto, struct hs_ip *entry)
{
	struct hs_flow_key k = flow_key(client, cport, vm, vport, proto);
	struct hs_flow v;

	if (bpf_map_lookup_elem(fd_of(d->up->maps.flows), &k, &v))
		return -ENOENT;
	*entry = v.entry;
	return 0;
}

int dp_flow_count(struct dp *d)
{
	struct hs_flow_key k;
	void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd_of(d->up->maps.flows), prev, &k) == 0) {
		prev = &k;
		n++;
	}
	return n;
}

int dp_counters(struct dp *d, uint64_t out[HS_R_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[256];

	if (ncpu > 256)
		return -E2BIG;
	for (uint32_t k = 0; k < HS_R_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd_of(d->up->maps.counters), &k, vals))
			return -errno;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	return 0;
}

int dp_send(struct dp *d, enum dp_prog prog, void (*build)(struct pkt *), int *verdict)
{
	static struct pkt p;
	uint8_t out[PK_MAX];
	size_t out_len;
	int v;

	if (d->tc_hook && !dp_is_tc(prog))
		prog = dp_tc_of(prog);
	pk_init(&p);
	build(&p);
	pk_finish(&p);
	return dp_run(d, prog, prog == DP_UPLINK || prog == DP_UPLINK_TC ? d->if_up : d->if_vm, p.d,
		      p.len, out, &out_len, verdict ? verdict : &v);
}

/* The skb of a TC run: received on ingress (skb->dev and skb_iif), GSO when
 * d->gso_size is set. Test runs set no gso_type, which a GSO TCP packet
 * needs for bpf_skb_adjust_room(): encapsulating one is covered by
 * selftests/net/test_vmside_tc.sh instead. */
static int run_tc(struct dp *d, enum dp_prog prog, int ingress, const uint8_t *in, size_t len,
		  uint8_t *out, size_t *out_len, int *verdict)
{
	int fd = prog == DP_UPLINK_TC ? bpf_program__fd(d->up_tc->progs.tc_uplink)
				      : bpf_program__fd(d->tc->progs.tc_vmside);
	struct __sk_buff ctx = {.ingress_ifindex = ingress, .ifindex = ingress};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = PK_MAX, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	if (d->gso_size) {
		ctx.gso_size = d->gso_size;
		ctx.gso_segs = (len + d->gso_size - 1) / d->gso_size;
	}
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	*out_len = o.data_size_out;
	*verdict = o.retval;
	return 0;
}

int dp_run(struct dp *d, enum dp_prog prog, int ingress, const uint8_t *in, size_t len,
	   uint8_t *out, size_t *out_len, int *verdict)
{
	struct xdp_md ctx = {.data_end = len, .ingress_ifindex = ingress};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = PK_MAX, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	int fd = prog == DP_UPLINK ? bpf_program__fd(d->up->progs.xdp_uplink)
				   : bpf_program__fd(d->vm->progs.xdp_vmside);

	if (dp_is_tc(prog))
		return run_tc(d, prog, ingress, in, len, out, out_len, verdict);
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	*out_len = o.data_size_out;
	*verdict = o.retval;
	return 0;
}

int dp_std_maps(struct dp *d, bool vm_local)
{
	int rc = 0;

	rc |= dp_binding(d, PUB4, 0, 0, VM4, 0);
	rc |= dp_binding(d, PUB4, 80, IPPROTO_TCP, VM4, 8080);
	rc |= dp_binding(d, PUB4, 53, IPPROTO_UDP, VM4, 5353);
	rc |= dp_binding(d, PUB6, 0, 0, VM6, 0);
	rc |= dp_binding(d, PUBP4, 443, IPPROTO_TCP, VM4, 0);
	rc |= dp_binding(d, PUBP4, 0, 0, NULL, 0);
	rc |= dp_peer(d, HOSTB4);
	rc |= dp_peer(d, HOSTB6);
	rc |= dp_peer(d, HOSTC4);
	if (vm_local) {
		rc |= dp_vm_local(d, VM4, d->if_vm, MAC_VM, MAC_GW, US4);
		rc |= dp_vm_local(d, VM6, d->if_vm, MAC_VM, MAC_GW, US4);
	} else {
		rc |= dp_vm_remote(d, VM4, HS_VM_REMOTE, HOSTB4, US4);
		rc |= dp_vm_remote(d, VM6, HS_VM_REMOTE, HOSTB4, US4);
	}
	return rc ? -EIO : 0;
}
