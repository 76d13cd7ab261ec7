// SPDX-License-Identifier: GPL-2.0
/*
 * Packet builder and independent checksum checker for the data-plane tests.
 * Deliberately naive: full sums over whole headers and payloads, never
 * incremental, so a bug in the BPF side's arithmetic cannot hide here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selftests/bpf/pkt.h"

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* One's-complement sum of n bytes plus seed, complemented. */
uint16_t pk_csum(const void *d, size_t n, uint32_t seed)
{
	const uint8_t *b = d;
	uint64_t s = seed;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(b + i);
	if (n & 1)
		s += b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

void pk_parse_ip(const char *s, uint8_t out[16], int *family)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return;
	}
	fprintf(stderr, "pkt: bad address %s\n", s);
	abort();
}

void pk_parse_mac(const char *s, uint8_t out[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		abort();
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)b[i];
}

static uint8_t *push(struct pkt *p, enum pk_type t, uint8_t proto, size_t n)
{
	uint8_t *h;

	if (p->len + n > PK_MAX || p->n == PK_LAYERS)
		abort();
	h = p->d + p->len;
	memset(h, 0, n);
	p->l[p->n] = (struct pk_layer){.type = t, .off = p->len, .proto = proto};
	p->n++;
	p->len += n;
	return h;
}

void pk_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
}

void pk_eth(struct pkt *p, const char *dst, const char *src)
{
	uint8_t *h = push(p, PK_ETH, 0, 14);

	pk_parse_mac(dst, h);
	pk_parse_mac(src, h + 6);
}

void pk_vlan(struct pkt *p, uint16_t tpid, uint16_t vid)
{
	uint8_t *h = push(p, PK_VLAN, 0, 4);

	put16(h - 2, tpid); /* the TPID sits in the previous type field */
	put16(h, vid);
}

void pk_ip4(struct pkt *p, const char *src, const char *dst, uint16_t frag, uint8_t ttl)
{
	uint8_t *h = push(p, PK_IP4, 4, 20);
	uint8_t a[16];
	int fam;

	h[0] = 0x45;
	put16(h + 6, frag);
	h[8] = ttl;
	pk_parse_ip(src, a, &fam);
	memcpy(h + 12, a, 4);
	pk_parse_ip(dst, a, &fam);
	memcpy(h + 16, a, 4);
}

void pk_ip6(struct pkt *p, const char *src, const char *dst, uint8_t hlim)
{
	uint8_t *h = push(p, PK_IP6, 41, 40);
	int fam;

	h[0] = 0x60;
	h[7] = hlim;
	pk_parse_ip(src, h + 8, &fam);
	pk_parse_ip(dst, h + 24, &fam);
}

void pk_ip6_ext(struct pkt *p, uint8_t type, uint8_t len8, uint16_t frag_off, bool more)
{
	uint8_t *h;

	if (type == 44) {
		h = push(p, PK_IP6EXT, type, 8);
		put16(h + 2, (uint16_t)(frag_off << 3 | (more ? 1 : 0)));
		put16(h + 6, 0x1234);
		return;
	}
	h = push(p, PK_IP6EXT, type, 8 + (size_t)len8 * 8);
	h[1] = len8;
	if (type != 43) { /* options: one PadN covering the rest */
		h[2] = 1;
		h[3] = (uint8_t)(4 + len8 * 8);
	}
}

void pk_tcp_opts(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, const uint8_t *opts,
		 size_t optlen)
{
	size_t olen = (optlen + 3) & ~(size_t)3;
	uint8_t *h = push(p, PK_TCP, 6, 20 + olen);

	put16(h, sport);
	put16(h + 2, dport);
	put16(h + 4, 0x1000);
	put16(h + 6, 0x0001);
	h[12] = (uint8_t)(((20 + olen) / 4) << 4);
	h[13] = flags;
	put16(h + 14, 65535);
	memcpy(h + 20, opts, optlen);
	/* pad with EOL (zeros) */
}

void pk_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, uint16_t mss)
{
	uint8_t o[4] = {2, 4, (uint8_t)(mss >> 8), (uint8_t)mss};

	pk_tcp_opts(p, sport, dport, flags, o, mss ? 4 : 0);
}

void pk_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t *h = push(p, PK_UDP, 17, 8);

	put16(h, sport);
	put16(h + 2, dport);
}

void pk_udp_nocsum(struct pkt *p, uint16_t sport, uint16_t dport)
{
	pk_udp(p, sport, dport);
	p->l[p->n - 1].no_csum = true;
}

void pk_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
	bool v6 = false;
	uint8_t *h;

	for (int i = p->n - 1; i >= 0; i--) {
		if (p->l[i].type == PK_IP4 || p->l[i].type == PK_IP6) {
			v6 = p->l[i].type == PK_IP6;
			break;
		}
	}
	h = push(p, PK_ICMP, v6 ? 58 : 1, 8);
	h[0] = type;
	h[1] = code;
	h[4] = rest >> 24;
	h[5] = rest >> 16;
	h[6] = rest >> 8;
	h[7] = rest;
}

void pk_vxlan(struct pkt *p, uint32_t vni, uint8_t rsvd1)
{
	uint8_t *h = push(p, PK_VXLAN, 0, 8);

	h[0] = 0x08;
	h[1] = rsvd1;
	h[4] = vni >> 16;
	h[5] = vni >> 8;
	h[6] = vni;
}

void pk_bytes(struct pkt *p, const void *b, size_t n)
{
	memcpy(push(p, PK_RAW, 0, n), b, n);
}

void pk_payload(struct pkt *p, size_t n, uint8_t seed)
{
	uint8_t *h = push(p, PK_RAW, 0, n);

	for (size_t i = 0; i < n; i++)
		h[i] = (uint8_t)(seed + i * 7);
}

/* Index of the IP layer enclosing layer i (or -1). */
static int ip_of(const struct pkt *p, int i)
{
	for (int j = i - 1; j >= 0; j--)
		if (p->l[j].type == PK_IP4 || p->l[j].type == PK_IP6)
			return j;
	return -1;
}

/* Sum of the pseudo-header for an upper layer at off, length len. */
static uint32_t pseudo(const uint8_t *ip, bool v6, size_t len, uint8_t proto)
{
	uint32_t s = 0;

	if (v6) {
		for (int i = 8; i < 40; i += 2)
			s += get16(ip + i);
		s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	} else {
		for (int i = 12; i < 20; i += 2)
			s += get16(ip + i);
		s += (uint32_t)len;
	}
	return s + proto;
}

/* Ends where the enclosing VXLAN or ICMP-quote ends: the packet's end. */
void pk_finish(struct pkt *p)
{
	for (int i = p->n - 1; i >= 0; i--) {
		struct pk_layer *l = &p->l[i];
		uint8_t *h = p->d + l->off;
		size_t rest = p->len - l->off;
		int ipi = ip_of(p, i);
		uint8_t *ip = ipi >= 0 ? p->d + p->l[ipi].off : NULL;
		bool v6 = ipi >= 0 && p->l[ipi].type == PK_IP6;

		/* next-protocol field of this layer from the next layer */
		if (i + 1 < p->n) {
			const struct pk_layer *nx = &p->l[i + 1];
			uint16_t et = nx->type == PK_IP4 ? 0x0800 : nx->type == PK_IP6 ? 0x86dd : 0;

			if ((l->type == PK_ETH || l->type == PK_VLAN) && et)
				put16(h + (l->type == PK_ETH ? 12 : 2), et);
			if (nx->proto && nx->type != PK_IP4 && nx->type != PK_IP6) {
				if (l->type == PK_IP4)
					h[9] = nx->proto;
				else if (l->type == PK_IP6)
					h[6] = nx->proto;
				else if (l->type == PK_IP6EXT)
					h[0] = nx->proto;
			}
			/* IP in IP quoted by ICMP is raw bytes: nothing to do */
		}
		switch (l->type) {
		case PK_IP4:
			put16(h + 2, (uint16_t)rest);
			h[10] = h[11] = 0;
			put16(h + 10, pk_csum(h, (h[0] & 15) * 4, 0));
			break;
		case PK_IP6:
			put16(h + 4, (uint16_t)(rest - 40));
			break;
		case PK_UDP:
			put16(h + 4, (uint16_t)rest);
			h[6] = h[7] = 0;
			if (!l->no_csum && ip) {
				uint16_t c = pk_csum(h, rest, pseudo(ip, v6, rest, 17));

				put16(h + 6, c ? c : 0xffff);
			}
			break;
		case PK_TCP:
			h[16] = h[17] = 0;
			if (ip)
				put16(h + 16, pk_csum(h, rest, pseudo(ip, v6, rest, 6)));
			break;
		case PK_ICMP:
			h[2] = h[3] = 0;
			put16(h + 2, pk_csum(h, rest, v6 ? pseudo(ip, true, rest, 58) : 0));
			break;
		default:
			break;
		}
	}
}

/* ---- independent checker ------------------------------------------- */

static bool check_l4(const uint8_t *ip, bool v6, uint8_t proto, const uint8_t *l4, size_t len,
		     const char **why);

/* Checks an IP packet at ip (len bytes from there, including any padding). */
static bool check_ip(const uint8_t *ip, size_t len, const char **why)
{
	size_t hl, tot, off;
	uint8_t proto;
	bool v6;

	if (len < 20)
		return true; /* nothing checkable */
	v6 = (ip[0] >> 4) == 6;
	if (!v6) {
		hl = (ip[0] & 15) * 4;
		tot = get16(ip + 2);
		if (hl < 20 || tot > len || tot < hl)
			return true;
		if (pk_csum(ip, hl, 0) != 0) {
			*why = "IPv4 header checksum";
			return false;
		}
		if (get16(ip + 6) & 0x3fff)
			return true; /* fragments: transport checksum spans fragments */
		return check_l4(ip, false, ip[9], ip + hl, tot - hl, why);
	}
	if (len < 40)
		return true;
	tot = 40 + get16(ip + 4);
	if (tot > len)
		return true;
	proto = ip[6];
	off = 40;
	while (proto == 0 || proto == 43 || proto == 60 || proto == 44) {
		if (off + 8 > tot)
			return true;
		if (proto == 44)
			return true;
		proto = ip[off];
		off += (ip[off + 1] + 1) * 8;
	}
	if (off > tot)
		return true;
	return check_l4(ip, true, proto, ip + off, tot - off, why);
}

static bool check_l4(const uint8_t *ip, bool v6, uint8_t proto, const uint8_t *l4, size_t len,
		     const char **why)
{
	if (proto == 6) {
		if (len >= 20 && pk_csum(l4, len, pseudo(ip, v6, len, 6)) != 0) {
			*why = "TCP checksum";
			return false;
		}
	} else if (proto == 17) {
		if (len < 8)
			return true;
		if ((l4[6] | l4[7]) == 0 && !v6)
			;
		else if (((l4[6] | l4[7]) != 0 || v6) &&
			 pk_csum(l4, len, pseudo(ip, v6, len, 17)) != 0) {
			*why = v6 ? "UDP/IPv6 checksum (zero or wrong)" : "UDP checksum";
			return false;
		}
		/* VXLAN inside: check the inner frame too */
		if (get16(l4 + 2) == 4789 && len >= 8 + 8 + 14) {
			const uint8_t *eth = l4 + 16;
			uint16_t et = get16(eth + 12);

			if (et == 0x0800 || et == 0x86dd)
				return check_ip(eth + 14, len - 16 - 14, why);
		}
	} else if (proto == 1 || proto == 58) {
		if (len >= 8 &&
		    pk_csum(l4, len, proto == 58 ? pseudo(ip, true, len, 58) : 0) != 0) {
			*why = proto == 58 ? "ICMPv6 checksum" : "ICMP checksum";
			return false;
		}
	}
	return true;
}

bool pk_csum_ok(const uint8_t *d, size_t len, const char **why)
{
	size_t off = 12;
	uint16_t et;

	*why = "";
	if (len < 14)
		return true;
	et = get16(d + off);
	while ((et == 0x8100 || et == 0x88a8) && off + 6 <= len) {
		off += 4;
		et = get16(d + off);
	}
	off += 2;
	if (et != 0x0800 && et != 0x86dd)
		return true;
	return check_ip(d + off, len - off, why);
}

void pk_diff(const uint8_t *act, size_t alen, const uint8_t *exp, size_t elen)
{
	size_t n = alen > elen ? alen : elen;
	int shown = 0;

	printf("    packet differs: expected %zu bytes, got %zu\n", elen, alen);
	for (size_t i = 0; i < n && shown < 12; i++) {
		int a = i < alen ? act[i] : -1, e = i < elen ? exp[i] : -1;

		if (a == e)
			continue;
		printf("      byte %4zu: expected %3s%02x got %3s%02x\n", i, e < 0 ? "(none)" : "",
		       e < 0 ? 0 : e, a < 0 ? "(none)" : "", a < 0 ? 0 : a);
		shown++;
	}
}
