// SPDX-License-Identifier: GPL-2.0
/* Unit tests for lib/parse: strict integers, booleans, addresses, MACs. */
#include <arpa/inet.h>
#include <errno.h>

#include "lib/parse.h"
#include "selftests/test.h"

static enum hs_result integers(void)
{
	static const char *const bad[] = {"", " 1", "-1", "1x", "0x", "4294967296", "+3"};
	uint32_t v = 7;

	ASSERT_EQ(hs_parse_u32("0", &v), 0);
	CHECK_EQ(v, 0);
	ASSERT_EQ(hs_parse_u32("4294967295", &v), 0);
	CHECK_EQ(v, 4294967295u);
	ASSERT_EQ(hs_parse_u32("0x10", &v), 0);
	CHECK_EQ(v, 16);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		if (!CHECK_EQ(hs_parse_u32(bad[i], &v), -EINVAL) || !CHECK_EQ(v, 7))
			return HS_FAIL;
	}
	CHECK_EQ(hs_parse_u32(NULL, &v), -EINVAL);
	return HS_PASS;
}

static enum hs_result booleans(void)
{
	bool b = false;

	ASSERT_EQ(hs_parse_bool("ON", &b), 0);
	CHECK(b);
	ASSERT_EQ(hs_parse_bool("0", &b), 0);
	CHECK(!b);
	CHECK_EQ(hs_parse_bool("maybe", &b), -EINVAL);
	return HS_PASS;
}

static enum hs_result addresses(void)
{
	uint8_t ip[16];
	char buf[64];
	int fam = 0;

	ASSERT_EQ(hs_parse_ip("192.0.2.1", ip, &fam), 0);
	CHECK_EQ(fam, AF_INET);
	CHECK(hs_ip_is_v4(ip));
	CHECK_EQ(ip[10], 0xff);
	CHECK_EQ(ip[12], 192);
	CHECK_STR(hs_format_ip(ip, buf, sizeof(buf)), "192.0.2.1");
	ASSERT_EQ(hs_parse_ip("2001:db8::1", ip, &fam), 0);
	CHECK_EQ(fam, AF_INET6);
	CHECK(!hs_ip_is_v4(ip));
	CHECK_STR(hs_format_ip(ip, buf, sizeof(buf)), "2001:db8::1");
	CHECK_EQ(hs_parse_ip("192.0.2.256", ip, &fam), -EINVAL);
	CHECK_EQ(hs_parse_ip("2001:db8:::1", ip, &fam), -EINVAL);
	CHECK_EQ(hs_parse_ip("", ip, &fam), -EINVAL);
	return HS_PASS;
}

static enum hs_result macs(void)
{
	static const uint8_t want[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
	uint8_t mac[6] = {0};

	ASSERT_EQ(hs_parse_mac("52:54:00:ab:cd:ef", mac), 0);
	CHECK_MEM(mac, want, 6);
	CHECK_EQ(hs_parse_mac("52:54:00:ab:cd", mac), -EINVAL);
	CHECK_EQ(hs_parse_mac("52:54:00:ab:cd:eg", mac), -EINVAL);
	CHECK_EQ(hs_parse_mac("52:54:00:ab:cd:ef:", mac), -EINVAL);
	CHECK_EQ(hs_parse_mac("5:254:00:ab:cd:ef", mac), -EINVAL);
	return HS_PASS;
}

static const struct hs_test tests[] = {
	{"integers", integers},
	{"booleans", booleans},
	{"addresses", addresses},
	{"macs", macs},
};
HS_TEST_MAIN("lib/parse", tests)
