// SPDX-License-Identifier: GPL-2.0
/*
 * Front-end packet rate on veth. A live-frames generator (gen.bpf.c, run by
 * BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES in the generator's
 * namespace) sends UDP frames to a public address into the front-end's
 * uplink; a counter on the receiving veth (count.bpf.c) counts what comes
 * out. Before each measurement a command given by the caller (net_rate.sh)
 * switches the front-end to one of its modes: heliostat's uplink program
 * (DNAT + VXLAN), nftables DNAT, plain kernel forwarding; in two more
 * modes net_rate attaches the generator's program to the uplink, set to
 * write the headers a DNAT would produce and redirect (d, a bare NAT), or
 * to push VXLAN headers in front as well (e): what the path costs with
 * nothing but the rewriting. Rounds interleave the modes; the results are
 * medians of per-round ratios.
 *
 * Two layouts (net_rate.sh chooses). On one CPU every stage runs on the
 * generator's CPU: each batch of frames is carried through both veth hops,
 * the front-end and the counter by the softirq processing that ends the
 * batch, so a rate is the inverse of the whole path's per-packet cost,
 * generator included. Split (the default on two CPUs or more): the
 * front-end's and the receiver's NAPI run in kernel threads on a CPU of
 * their own (threaded NAPI), the generator alone on another and faster
 * than any front-end, so a rate is what that CPU can forward; given the
 * threads' PIDs, net_rate also reads each one's CPU time (schedstat) and
 * prints what the front-end alone and the receiver alone cost per packet.
 *
 * Each BPF_PROG_TEST_RUN call pays a fixed ~25 ms here, most of it off the
 * CPU (the call's page pool is torn down); the number of frames per call is
 * therefore sized to about CALL_S of sending, so that this pause is a small
 * and equal share of every mode's time.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* before the skeletons: they name its types */
#include "bench/net_rate.h"

#include "bench/count.skel.h"
#include "bench/gen.skel.h"
#include "lib/err.h"
#include "lib/log.h"

#define MAX_ROUNDS 31
#define CHUNK_MIN (1 << 16) /* frames per BPF_PROG_TEST_RUN call */
#define CHUNK_MAX (1 << 24)
#define CALL_S 0.5 /* a call's target length */
#define WARMUP_S 0.3
#define UDP_DPORT 7777

struct mode {
	char id;
	const char *name;
	enum nr_rx_kind kind; /* the only kind of frame this mode may deliver */
	int floor; /* net_rate attaches its own program to the uplink: 1 as
		    * is, 2 with VXLAN encapsulation */
	double rx[MAX_ROUNDS]; /* Mpps at the receiver */
	double fe_ns[MAX_ROUNDS]; /* front-end thread's CPU time per packet received */
	double rx_ns[MAX_ROUNDS]; /* receiver thread's */
	double tx[MAX_ROUNDS]; /* Mpps offered by the generator */
};

enum { M_HS, M_NFT, M_FWD, M_FLOOR, M_ENCAP, M_MAX };

static struct mode modes[M_MAX] = {
	[M_HS] = {'a', "heliostat", NR_RX_VXLAN_VM},
	[M_NFT] = {'b', "nft-dnat", NR_RX_UDP_VM},
	[M_FWD] = {'c', "forward", NR_RX_UDP_PUB},
	[M_FLOOR] = {'d', "xdp-floor", NR_RX_UDP_VM, 1},
	[M_ENCAP] = {'e', "xdp-encap", NR_RX_VXLAN_VM, 2},
};

struct opts {
	const char *gen_ns, *gen_dev, *fe_ns, *fe_in, *fe_out, *rx_ns, *rx_dev, *switch_cmd;
	struct in_addr src, pub, vm, host;
	int rounds, len, flows, cpu, fe_pid, rx_pid;
	double secs;
};

struct bench {
	struct opts o;
	struct gen *gen; /* the generator, in the generator's namespace */
	struct gen *floor; /* the same program as mode d's front-end */
	struct gen *floor_encap; /* and mode e's, encapsulating */
	struct count *cnt;
	struct bpf_link *rx_link;
	int fe_in; /* ifindex of the uplink in the front-end's namespace */
	int ncpu;
	__u32 chunk; /* frames per test run call, adapted to the rate */
	__u8 frame[1500];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: net_rate --gen-ns PATH --gen-dev DEV --fe-ns PATH --fe-in DEV --fe-out "
		"DEV\n"
		"                --rx-ns PATH --rx-dev DEV --src ADDR --pub ADDR --vm ADDR\n"
		"                --host ADDR --switch CMD\n"
		"                [--rounds N] [--secs S] [--len BYTES] [--flows N] [--cpu N]\n"
		"                [--fe-pid PID --rx-pid PID]\n"
		"Runs CMD a|b|c|d|e before each measurement: heliostat, nftables DNAT,\n"
		"forwarding, nothing (d, e: net_rate's own XDP program on --fe-in, writing the\n"
		"translated headers, e inside VXLAN). --cpu pins the generator; --fe-pid and\n"
		"--rx-pid name the threads (threaded NAPI) that carry the front-end's uplink and\n"
		"the receiver, whose CPU time is then reported.\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int enter_ns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		err = hs_neg_errno();
		hs_err("cannot enter network namespace %s: %s", path, hs_strerr(err));
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/* ioctl req about dev (SIOCGIF*) into *ifr; 0 or -errno, said as "cannot
 * read the <what> of <dev>". */
static int dev_ioctl(const char *dev, unsigned long req, struct ifreq *ifr, const char *what)
{
	int s, err = 0;

	memset(ifr, 0, sizeof(*ifr));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", dev);
	if (s < 0 || ioctl(s, req, ifr)) {
		err = hs_neg_errno();
		hs_err("cannot read the %s of %s: %s", what, dev, hs_strerr(err));
	}
	if (s >= 0)
		close(s);
	return err;
}

/* ifindex and MAC address of dev in the current namespace; 0 or -errno. */
static int dev_info(const char *dev, int *ifindex, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr;
	int err;

	*ifindex = if_nametoindex(dev);
	if (!*ifindex) {
		err = hs_neg_errno();
		hs_err("no interface %s: %s", dev, hs_strerr(err));
		return err;
	}
	err = dev_ioctl(dev, SIOCGIFHWADDR, &ifr, "MAC address");
	if (!err)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return err;
}

static __u16 ip_csum(const void *p, size_t len)
{
	const __u16 *w = p;
	__u32 sum = 0;

	for (size_t i = 0; i < len / 2; i++)
		sum += w[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Ethernet smac -> dmac, IPv4 src -> dst (DF, no options), UDP sport ->
 * dport with no checksum, at b, for a frame of len bytes in all. */
static void eth_ip_udp(__u8 *b, int len, const unsigned char *smac, const unsigned char *dmac,
		       struct in_addr src, struct in_addr dst, __u16 sport, __u16 dport)
{
	struct ethhdr *eth = (struct ethhdr *)b;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);

	memcpy(eth->h_dest, dmac, ETH_ALEN);
	memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(len - sizeof(*eth));
	ip->frag_off = htons(0x4000);
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = ip_csum(ip, sizeof(*ip));
	udp->source = htons(sport);
	udp->dest = htons(dport);
	udp->len = htons(len - sizeof(*eth) - sizeof(*ip));
}

/* A frame of len bytes to UDP_DPORT with no checksum (so a program need not
 * fix one when it changes the port), zero payload. Its first NR_HDR_LEN
 * bytes are a program's template. */
static void build_frame(__u8 *frame, int len, const unsigned char *smac, const unsigned char *dmac,
			struct in_addr src, struct in_addr dst)
{
	memset(frame, 0, len);
	eth_ip_udp(frame, len, smac, dmac, src, dst, 1024, UDP_DPORT);
}

/* Mode e's outer headers for a frame of len bytes: to the VXLAN port,
 * VXLAN with VNI 1. */
static void build_outer(__u8 *b, int len, const unsigned char *smac, const unsigned char *dmac,
			struct in_addr src, struct in_addr dst)
{
	__u8 *vx = b + NR_OUTER_LEN - 8;

	memset(b, 0, NR_OUTER_LEN);
	eth_ip_udp(b, NR_OUTER_LEN + len, smac, dmac, src, dst, 49152, NR_VXLAN_PORT);
	vx[0] = 0x08;
	vx[6] = 1;
}

/* IPv4 address of dev in the current namespace; 0 or -errno. */
static int dev_addr4(const char *dev, struct in_addr *a)
{
	struct ifreq ifr;
	int err = dev_ioctl(dev, SIOCGIFADDR, &ifr, "IPv4 address");

	if (!err)
		*a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	return err;
}

/* The generator program, or mode d's front-end: it writes tmpl's headers,
 * the next of o->flows source ports, and redirects to ifindex; with outer
 * (mode e), it first pushes those headers in front. */
static struct gen *gen_load(const struct opts *o, int ifindex, const __u8 *tmpl, const __u8 *outer)
{
	struct gen *g = gen__open();

	if (!g) {
		hs_err("cannot open the generator program");
		return NULL;
	}
	g->rodata->out_ifindex = ifindex;
	g->rodata->port_base = 1024;
	g->rodata->nports = o->flows;
	g->rodata->encap = outer != NULL;
	if (gen__load(g)) {
		hs_err("cannot load the generator program");
		gen__destroy(g);
		return NULL;
	}
	memcpy(g->bss->hdr.b, tmpl, NR_HDR_LEN);
	if (outer)
		memcpy(g->bss->outer.b, outer, NR_OUTER_LEN);
	return g;
}

/* Sends for secs seconds; frames handed to the program in *sent. */
static int generate(struct bench *b, double secs, __u64 *sent)
{
	int fd = bpf_program__fd(b->gen->progs.xdp_gen);
	double t = now_s(), end = t + secs;

	*sent = 0;
	do {
		LIBBPF_OPTS(bpf_test_run_opts, r, .data_in = b->frame, .data_size_in = b->o.len,
			    .repeat = b->chunk, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
		double t0 = t, n;

		if (bpf_prog_test_run_opts(fd, &r)) {
			int err = hs_neg_errno();

			hs_err("live-frames test run failed: %s", hs_strerr(err));
			return err;
		}
		*sent += b->chunk;
		t = now_s();
		n = b->chunk * CALL_S / (t - t0 > 1e-6 ? t - t0 : 1e-6);
		b->chunk = n < CHUNK_MIN ? CHUNK_MIN : n > CHUNK_MAX ? CHUNK_MAX : (__u32)n;
	} while (t < end);
	return 0;
}

static int rx_read(struct bench *b, __u64 out[NR_RX_MAX])
{
	struct nr_rx_count *v = calloc(b->ncpu, sizeof(*v));
	__u32 zero = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	memset(out, 0, NR_RX_MAX * sizeof(__u64));
	if (bpf_map_lookup_elem(bpf_map__fd(b->cnt->maps.rx_counts), &zero, v)) {
		err = hs_neg_errno();
		hs_err("cannot read the receiver's counters: %s", hs_strerr(err));
	} else {
		for (int c = 0; c < b->ncpu; c++)
			for (int k = 0; k < NR_RX_MAX; k++)
				out[k] += v[c].pkts[k];
	}
	free(v);
	return err;
}

static int switch_mode(const char *cmd, char id)
{
	char buf[1024];
	int st;

	snprintf(buf, sizeof(buf), "%s %c", cmd, id);
	st = system(buf);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		hs_err("switching the front-end to mode %c failed (%s)", id, buf);
		return -EIO;
	}
	return 0;
}

/* Mode d's or e's program on the uplink, as a link: it goes away with us. */
static struct bpf_link *floor_attach(struct bench *b, const struct mode *m)
{
	struct gen *g = m->floor == 2 ? b->floor_encap : b->floor;
	struct bpf_link *l;
	int err;

	if (enter_ns(b->o.fe_ns))
		return NULL;
	l = bpf_program__attach_xdp(g->progs.xdp_gen, b->fe_in);
	if (!l) {
		err = hs_neg_errno();
		hs_err("cannot attach the floor program to %s: %s", b->o.fe_in, hs_strerr(err));
	}
	if (enter_ns(b->o.gen_ns)) {
		bpf_link__destroy(l);
		return NULL;
	}
	return l;
}

/* CPU time of a thread so far in ns (/proc/PID/schedstat); 0 without one */
static __u64 cpu_ns(int pid)
{
	unsigned long long ns = 0;
	char path[64];
	FILE *f;

	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

/* One measurement: switch, warm up, count for o->secs. */
static int measure(struct bench *b, struct mode *m, int round)
{
	static const char *kinds[NR_RX_MAX] = {"VXLAN to the VM's host", "UDP to the VM",
					       "UDP to the public address", "other"};
	__u64 c0[NR_RX_MAX], c1[NR_RX_MAX], sent, good, bad = 0;
	struct bpf_link *floor = NULL;
	__u64 f0 = 0, f1 = 0, r0 = 0, r1 = 0;
	double t0, t1;
	int err;

	err = switch_mode(b->o.switch_cmd, m->id);
	if (!err && m->floor && !(floor = floor_attach(b, m)))
		err = -EIO;
	if (!err)
		err = generate(b, WARMUP_S, &sent);
	if (!err)
		err = rx_read(b, c0);
	if (!err) {
		f0 = cpu_ns(b->o.fe_pid);
		r0 = cpu_ns(b->o.rx_pid);
		t0 = now_s();
		err = generate(b, b->o.secs, &sent);
		t1 = now_s();
		f1 = cpu_ns(b->o.fe_pid);
		r1 = cpu_ns(b->o.rx_pid);
		if ((b->o.fe_pid && (!f0 || !f1)) || (b->o.rx_pid && (!r0 || !r1))) {
			hs_err("%s: a NAPI thread (PID %d or %d) is gone", m->name, b->o.fe_pid,
			       b->o.rx_pid);
			err = -ESRCH;
		}
	}
	if (!err)
		err = rx_read(b, c1);
	bpf_link__destroy(floor);
	if (err)
		return err;
	good = c1[m->kind] - c0[m->kind];
	for (int k = 0; k < NR_RX_MAX; k++) {
		if (k == (int)m->kind || c1[k] == c0[k])
			continue;
		bad += c1[k] - c0[k];
		hs_warn("%s, round %d: %llu frames of the wrong kind (%s)", m->name, round + 1,
			(unsigned long long)(c1[k] - c0[k]), kinds[k]);
	}
	if (good == 0 || bad * 100 > good) {
		hs_err("%s, round %d: %llu frames as expected (%s), %llu not: measurement invalid",
		       m->name, round + 1, (unsigned long long)good, kinds[m->kind],
		       (unsigned long long)bad);
		return -EPROTO;
	}
	m->rx[round] = good / (t1 - t0) / 1e6;
	m->tx[round] = sent / (t1 - t0) / 1e6;
	m->fe_ns[round] = (double)(f1 - f0) / good;
	m->rx_ns[round] = (double)(r1 - r0) / good;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"gen-ns", required_argument, NULL, 'G'},
		{"gen-dev", required_argument, NULL, 'g'},
		{"fe-ns", required_argument, NULL, 'F'},
		{"fe-in", required_argument, NULL, 'i'},
		{"fe-out", required_argument, NULL, 'o'},
		{"rx-ns", required_argument, NULL, 'R'},
		{"rx-dev", required_argument, NULL, 'r'},
		{"src", required_argument, NULL, 's'},
		{"pub", required_argument, NULL, 'p'},
		{"vm", required_argument, NULL, 'v'},
		{"host", required_argument, NULL, 'H'},
		{"switch", required_argument, NULL, 'S'},
		{"rounds", required_argument, NULL, 'n'},
		{"secs", required_argument, NULL, 't'},
		{"len", required_argument, NULL, 'l'},
		{"flows", required_argument, NULL, 'f'},
		{"cpu", required_argument, NULL, 'c'},
		{"fe-pid", required_argument, NULL, 'P'},
		{"rx-pid", required_argument, NULL, 'Q'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct in_addr *a;
	int c;

	*o = (struct opts){.rounds = 7, .secs = 2.0, .len = 64, .flows = 1024, .cpu = -1};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'G':
			o->gen_ns = optarg;
			break;
		case 'g':
			o->gen_dev = optarg;
			break;
		case 'F':
			o->fe_ns = optarg;
			break;
		case 'i':
			o->fe_in = optarg;
			break;
		case 'o':
			o->fe_out = optarg;
			break;
		case 'R':
			o->rx_ns = optarg;
			break;
		case 'r':
			o->rx_dev = optarg;
			break;
		case 'S':
			o->switch_cmd = optarg;
			break;
		case 'n':
			o->rounds = atoi(optarg);
			break;
		case 't':
			o->secs = atof(optarg);
			break;
		case 'l':
			o->len = atoi(optarg);
			break;
		case 'f':
			o->flows = atoi(optarg);
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 'P':
			o->fe_pid = atoi(optarg);
			break;
		case 'Q':
			o->rx_pid = atoi(optarg);
			break;
		case 's':
		case 'p':
		case 'v':
		case 'H':
			a = c == 's' ? &o->src : c == 'p' ? &o->pub : c == 'v' ? &o->vm : &o->host;
			if (inet_pton(AF_INET, optarg, a) != 1) {
				fprintf(stderr, "net_rate: bad IPv4 address %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !o->gen_ns || !o->gen_dev || !o->fe_ns || !o->fe_in || !o->fe_out ||
	    !o->rx_ns || !o->rx_dev || !o->switch_cmd || !o->src.s_addr || !o->pub.s_addr ||
	    !o->vm.s_addr || !o->host.s_addr) {
		usage(stderr);
		return 2;
	}
	if (o->rounds < 1 || o->rounds > MAX_ROUNDS || o->secs < 0.1 || o->secs > 60 ||
	    o->len < 60 || o->len > 1500 || o->flows < 1 || o->flows > 60000) {
		fprintf(stderr, "net_rate: rounds 1-%d, secs 0.1-60, len 60-1500, flows 1-60000\n",
			MAX_ROUNDS);
		return 2;
	}
	return 0;
}

/* Per-round ratio x/y of the receive rates of two modes, median. */
static double ratio(int n, const struct mode *x, const struct mode *y)
{
	double v[MAX_ROUNDS];

	for (int r = 0; r < n; r++)
		v[r] = x->rx[r] / y->rx[r];
	return median(v, n);
}

/* Per-round ratio x/y of the front-end thread's CPU time per packet. */
static double cpu_ratio(int n, const struct mode *x, const struct mode *y)
{
	double v[MAX_ROUNDS];

	for (int r = 0; r < n; r++)
		v[r] = x->fe_ns[r] / y->fe_ns[r];
	return median(v, n);
}

static void report(const struct opts *o)
{
	const struct mode *a = &modes[M_HS], *b = &modes[M_NFT], *c = &modes[M_FWD],
			  *d = &modes[M_FLOOR], *e = &modes[M_ENCAP];
	double r_ab, lo, hi;
	int n = o->rounds;

	printf("%-6s", "round");
	for (int i = 0; i < M_MAX; i++)
		printf(" %10s", modes[i].name);
	printf(" %7s %7s %7s %7s   (Mpps counted at the receiver)\n", "a/b", "a/c", "d/b", "e/b");
	for (int r = 0; r < n; r++) {
		printf("%-6d", r + 1);
		for (int i = 0; i < M_MAX; i++)
			printf(" %10.3f", modes[i].rx[r]);
		printf(" %7.2f %7.2f %7.2f %7.2f\n", a->rx[r] / b->rx[r], a->rx[r] / c->rx[r],
		       d->rx[r] / b->rx[r], e->rx[r] / b->rx[r]);
	}
	printf("%-6s", "median");
	for (int i = 0; i < M_MAX; i++)
		printf(" %10.3f", median(modes[i].rx, n));
	if (o->fe_pid) {
		printf("\n%-6s", "fe-ns");
		for (int i = 0; i < M_MAX; i++)
			printf(" %10.0f", median(modes[i].fe_ns, n));
		printf("   (front-end thread's CPU ns per packet received, median)");
	}
	if (o->rx_pid) {
		printf("\n%-6s", "rx-ns");
		for (int i = 0; i < M_MAX; i++)
			printf(" %10.0f", median(modes[i].rx_ns, n));
		printf("   (receiver thread's CPU ns per packet received, median)");
	}
	printf("\n%-6s", "offer");
	for (int i = 0; i < M_MAX; i++)
		printf(" %10.3f", median(modes[i].tx, n));
	printf("   (Mpps offered by the generator)\n");

	/* This machine has spells at about half its XDP speed (nft DNAT loses
	 * ~20% then): a run that spans one mixes two sets of ratios. */
	lo = hi = d->rx[0];
	for (int r = 1; r < n; r++) {
		lo = d->rx[r] < lo ? d->rx[r] : lo;
		hi = d->rx[r] > hi ? d->rx[r] : hi;
	}
	if (hi > 1.3 * lo)
		printf("warning: the bare XDP NAT (d) ran at %.3f to %.3f Mpps across rounds: the "
		       "machine's speed changed during the run, which lowers the XDP modes far "
		       "more than nft DNAT; read the per-round rows, or run again\n",
		       lo, hi);
	r_ab = ratio(n, a, b);
	printf("median of per-round ratios of packets counted at the receiver: heliostat / nft "
	       "DNAT "
	       "%.2fx, heliostat / forwarding %.2fx\n",
	       r_ab, ratio(n, a, c));
	printf("target: heliostat DNAT + VXLAN at least 5x nftables DNAT: %.2fx, %s\n", r_ab,
	       r_ab >= 5.0 ? "met" : "NOT met");
	/* For scale: programs that do nothing but the rewriting, d of a bare
	 * NAT, e of a NAT inside VXLAN (what heliostat's path must at least
	 * do). Veth, the receiver and, on one CPU, the generator cost the same
	 * in every mode and bound every ratio. */
	printf("for scale: d (bare XDP NAT: headers written, redirect) %.2fx nft DNAT; e (the same "
	       "inside VXLAN, the least a DNAT + VXLAN program does) %.2fx; heliostat / e %.2fx\n",
	       ratio(n, d, b), ratio(n, e, b), ratio(n, a, e));
	if (o->fe_pid)
		printf("front-end CPU time alone (its NAPI thread; receiver and generator "
		       "excluded), "
		       "median of per-round ratios: nft DNAT / heliostat %.2fx, nft DNAT / e "
		       "%.2fx, "
		       "nft DNAT / d %.2fx\n",
		       cpu_ratio(n, b, a), cpu_ratio(n, b, e), cpu_ratio(n, b, d));
}

static int setup(struct bench *b)
{
	const struct opts *o = &b->o;
	unsigned char gen_mac[ETH_ALEN], in_mac[ETH_ALEN], out_mac[ETH_ALEN], rx_mac[ETH_ALEN];
	__u8 tmpl[sizeof(b->frame)];
	__u8 outer[NR_OUTER_LEN];
	struct in_addr fe_ul = {0};
	int rx_if, out_if, gen_if;

	/* the receiver: a link, so it goes away with this process */
	b->cnt = count__open();
	if (!b->cnt) {
		hs_err("cannot open the receiver program");
		return -EIO;
	}
	b->cnt->rodata->host4 = o->host.s_addr;
	b->cnt->rodata->vm4 = o->vm.s_addr;
	b->cnt->rodata->pub4 = o->pub.s_addr;
	if (count__load(b->cnt)) {
		hs_err("cannot load the receiver program");
		return -EIO;
	}
	if (enter_ns(o->rx_ns) || dev_info(o->rx_dev, &rx_if, rx_mac))
		return -EIO;
	b->rx_link = bpf_program__attach_xdp(b->cnt->progs.xdp_count, rx_if);
	if (!b->rx_link) {
		int err = hs_neg_errno();

		hs_err("cannot attach the receiver program to %s: %s", o->rx_dev, hs_strerr(err));
		return err;
	}

	/* mode d: the frame as a DNAT front-end would send it on */
	if (enter_ns(o->fe_ns) || dev_info(o->fe_in, &b->fe_in, in_mac) ||
	    dev_info(o->fe_out, &out_if, out_mac))
		return -EIO;
	build_frame(tmpl, o->len, out_mac, rx_mac, o->src, o->vm);
	b->floor = gen_load(o, out_if, tmpl, NULL);
	if (!b->floor)
		return -EIO;
	/* mode e: the same, inside VXLAN to the VM's host */
	if (dev_addr4(o->fe_out, &fe_ul))
		return -EIO;
	build_outer(outer, o->len, out_mac, rx_mac, fe_ul, o->host);
	b->floor_encap = gen_load(o, out_if, tmpl, outer);
	if (!b->floor_encap)
		return -EIO;

	/* the generator: test runs redirect within the caller's namespace */
	if (enter_ns(o->gen_ns) || dev_info(o->gen_dev, &gen_if, gen_mac))
		return -EIO;
	build_frame(b->frame, o->len, gen_mac, in_mac, o->src, o->pub);
	b->gen = gen_load(o, gen_if, b->frame, NULL);
	return b->gen ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	static struct bench b;
	int err, rc = 1;

	err = parse_opts(argc, argv, &b.o);
	if (err)
		return err;
	hs_log_init("net_rate", HS_LOG_STDERR, HS_LOG_WARN);
	hs_log_route_libbpf();
	if (geteuid() != 0) {
		hs_err("needs root");
		return 1;
	}
	b.ncpu = libbpf_num_possible_cpus();
	if (b.ncpu < 1) {
		hs_err("cannot count the possible CPUs: %s", hs_strerr(b.ncpu));
		return 1;
	}
	if (b.o.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(b.o.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			hs_err("cannot pin to CPU %d: %s", b.o.cpu, strerror(errno));
			return 1;
		}
	}
	b.chunk = 1 << 18;
	if (setup(&b))
		goto out;

	printf("# front-end packet rate on veth: %d-byte UDP frames, %d flows, live-frames "
	       "generator, %d interleaved rounds x %.1f s\n",
	       b.o.len, b.o.flows, b.o.rounds, b.o.secs);
	printf("# a: heliostat uplink, DNAT + VXLAN (XDP redirect); b: nftables DNAT + kernel "
	       "forwarding;\n# c: kernel forwarding; d: bare XDP NAT (fixed headers written, "
	       "redirect); e: d inside VXLAN\n");
	fflush(stdout);
	for (int r = 0; r < b.o.rounds; r++)
		for (int i = 0; i < M_MAX; i++)
			if (measure(&b, &modes[i], r))
				goto out;
	report(&b.o);
	rc = 0;
out:
	gen__destroy(b.gen);
	gen__destroy(b.floor);
	gen__destroy(b.floor_encap);
	bpf_link__destroy(b.rx_link);
	count__destroy(b.cnt);
	return rc;
}
