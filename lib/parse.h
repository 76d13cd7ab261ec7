/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict parsers for values that come from command lines and config files:
 * the whole string must be consumed, ranges are checked, and nothing is
 * written to the output on failure. All return 0 or -EINVAL.
 */
#ifndef HS_PARSE_H
#define HS_PARSE_H

#include <stdbool.h>
#include <stdint.h>

int hs_parse_u32(const char *s, uint32_t *out);
int hs_parse_u64(const char *s, uint64_t *out);
int hs_parse_bool(const char *s, bool *out);

/*
 * IPv4 or IPv6 address into 16 bytes, network order. IPv4 is stored
 * IPv4-mapped (::ffff:a.b.c.d), the form the data plane's maps use, so one
 * key type serves both families. *family gets AF_INET or AF_INET6.
 */
int hs_parse_ip(const char *s, uint8_t out[16], int *family);
/* Formats the 16-byte form back; buf needs 46 bytes. */
const char *hs_format_ip(const uint8_t ip[16], char *buf, unsigned int len);
bool hs_ip_is_v4(const uint8_t ip[16]);

/* "aa:bb:cc:dd:ee:ff" */
int hs_parse_mac(const char *s, uint8_t out[6]);

#endif
