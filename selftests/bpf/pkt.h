/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small packet builder for the data-plane tests: headers are appended in
 * order, then pk_finish() fills lengths, next-protocol fields and every
 * checksum from scratch, innermost first, with a plain RFC 1071 sum that
 * shares no code with the BPF side. pk_csum_ok() checks any packet the same
 * independent way.
 */
#ifndef HS_TEST_PKT_H
#define HS_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PK_MAX 2048
#define PK_LAYERS 16

enum pk_type {
	PK_ETH,
	PK_VLAN,
	PK_IP4,
	PK_IP6,
	PK_IP6EXT,
	PK_TCP,
	PK_UDP,
	PK_ICMP,
	PK_VXLAN,
	PK_RAW
};

struct pk_layer {
	enum pk_type type;
	size_t off;
	uint8_t proto; /* IP protocol / next-header number of this layer */
	bool no_csum; /* UDP: checksum 0 */
};

struct pkt {
	uint8_t d[PK_MAX];
	size_t len;
	int n;
	struct pk_layer l[PK_LAYERS];
};

void pk_init(struct pkt *p);
void pk_eth(struct pkt *p, const char *dst, const char *src);
void pk_vlan(struct pkt *p, uint16_t tpid, uint16_t vid);
/* frag: the IPv4 flags+offset field (host order), e.g. 0x4000 for DF */
void pk_ip4(struct pkt *p, const char *src, const char *dst, uint16_t frag, uint8_t ttl);
void pk_ip6(struct pkt *p, const char *src, const char *dst, uint8_t hlim);
/* extension header: type 0/43/60 with len8 8-byte units after the first 8;
 * 44 (fragment) with offset (8-byte units) and more-fragments */
void pk_ip6_ext(struct pkt *p, uint8_t type, uint8_t len8, uint16_t frag_off, bool more);
void pk_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, uint16_t mss);
void pk_tcp_opts(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, const uint8_t *opts,
		 size_t optlen);
void pk_udp(struct pkt *p, uint16_t sport, uint16_t dport);
void pk_udp_nocsum(struct pkt *p, uint16_t sport, uint16_t dport);
/* ICMP or ICMPv6 (by the enclosing IP); rest: the 4 bytes after the checksum */
void pk_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest);
void pk_vxlan(struct pkt *p, uint32_t vni, uint8_t rsvd1);
void pk_bytes(struct pkt *p, const void *b, size_t n);
void pk_payload(struct pkt *p, size_t n, uint8_t seed);
void pk_finish(struct pkt *p);

/* Independent checks: every IPv4 header, TCP/UDP/ICMP(v6) checksum in the
 * packet (layers found by parsing, including VXLAN-encapsulated ones and
 * quoted headers skipped). Returns true when all hold; *why says which not. */
bool pk_csum_ok(const uint8_t *d, size_t len, const char **why);

uint16_t pk_csum(const void *d, size_t n, uint32_t seed);
void pk_parse_ip(const char *s, uint8_t out[16], int *family);
void pk_parse_mac(const char *s, uint8_t out[6]);

/* Hex dump of the differences between two packets to stdout. */
void pk_diff(const uint8_t *act, size_t alen, const uint8_t *exp, size_t elen);

#endif
