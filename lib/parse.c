// SPDX-License-Identifier: GPL-2.0
/*
 * Strict value parsers shared by every command line and config reader.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/parse.h"

int hs_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts leading space and '-': refuse both. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int hs_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (hs_parse_u64(s, &v) || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int hs_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	if (!s)
		return -EINVAL;
	for (unsigned int i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool hs_ip_is_v4(const uint8_t ip[16])
{
	return !memcmp(ip, v4_mapped_prefix, sizeof(v4_mapped_prefix));
}

int hs_parse_ip(const char *s, uint8_t out[16], int *family)
{
	uint8_t buf[16];

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, buf + 12) == 1) {
		memcpy(buf, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, s, buf) == 1) {
		*family = AF_INET6;
	} else {
		return -EINVAL;
	}
	memcpy(out, buf, 16);
	return 0;
}

const char *hs_format_ip(const uint8_t ip[16], char *buf, unsigned int len)
{
	if (hs_ip_is_v4(ip))
		return inet_ntop(AF_INET, ip + 12, buf, len) ? buf : "?";
	return inet_ntop(AF_INET6, ip, buf, len) ? buf : "?";
}

int hs_parse_mac(const char *s, uint8_t out[6])
{
	unsigned int b[6];
	char tail;

	if (!s || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
			return -EINVAL;
		out[i] = (uint8_t)b[i];
	}
	return 0;
}
