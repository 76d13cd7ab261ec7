// SPDX-License-Identifier: GPL-2.0
/*
 * Test framework runtime: runs subtests, prints one result line each and
 * exits non-zero when any failed.
 */
#include <stdlib.h>

#include "selftests/test.h"

char hs_skip_reason[256];
bool hs_test_failed;

void hs_test_hexdiff(const char *file, int line, const char *what, const void *actual,
		     const void *expected, size_t len)
{
	const unsigned char *a = actual, *e = expected;
	size_t shown = 0;

	hs_test_failed = true;
	printf("    %s:%d: %s differs (%zu bytes):\n", file, line, what, len);
	for (size_t i = 0; i < len && shown < 8; i++) {
		if (a[i] == e[i])
			continue;
		printf("      byte %zu: expected 0x%02x, got 0x%02x\n", i, e[i], a[i]);
		shown++;
	}
}

int hs_test_main(const char *suite, const struct hs_test *tests, size_t n, int argc, char **argv)
{
	unsigned int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++) {
		enum hs_result r;
		bool wanted = argc < 2;

		for (int j = 1; j < argc && !wanted; j++)
			wanted = !strcmp(argv[j], tests[i].name);
		if (!wanted)
			continue;
		hs_skip_reason[0] = '\0';
		hs_test_failed = false;
		r = tests[i].fn();
		if (hs_test_failed)
			r = HS_FAIL;
		if (r == HS_PASS) {
			printf("PASS %s/%s\n", suite, tests[i].name);
		} else if (r == HS_SKIP) {
			printf("SKIP %s/%s: %s\n", suite, tests[i].name,
			       hs_skip_reason[0] ? hs_skip_reason : "no reason given");
		} else {
			printf("FAIL %s/%s\n", suite, tests[i].name);
			failed++;
		}
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
