/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C test framework: a test binary is a table of named subtests; each
 * returns HS_PASS, HS_FAIL or HS_SKIP. Assertions print expected vs actual
 * and make the subtest return HS_FAIL. Output is the runner's protocol:
 * "PASS name", "FAIL name", "SKIP name: reason", one line each.
 */
#ifndef HS_TEST_H
#define HS_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum hs_result { HS_PASS, HS_FAIL, HS_SKIP };

struct hs_test {
	const char *name;
	enum hs_result (*fn)(void);
};

/* Set by a subtest that skips; printed after "SKIP name: ". */
extern char hs_skip_reason[256];
/* Set by any failed check: the subtest fails even if it returns HS_PASS. */
extern bool hs_test_failed;

/* clang-format off */
#define HS_SKIP_BECAUSE(...)                                                  \
	do {                                                                  \
		snprintf(hs_skip_reason, sizeof(hs_skip_reason), __VA_ARGS__); \
		return HS_SKIP;                                               \
	} while (0)

#define HS_FAILF(...)                                                         \
	do {                                                                  \
		hs_test_failed = true;                                        \
		fprintf(stdout, "    %s:%d: ", __FILE__, __LINE__);           \
		fprintf(stdout, __VA_ARGS__);                                 \
		fputc('\n', stdout);                                          \
	} while (0)

/* Each check macro evaluates to true when it held, so a caller can bail. */
#define CHECK(cond)                                                           \
	({                                                                    \
		bool ok_ = (cond);                                            \
		if (!ok_)                                                     \
			HS_FAILF("check failed: %s", #cond);                  \
		ok_;                                                          \
	})
#define CHECK_EQ(actual, expected)                                            \
	({                                                                    \
		long long a_ = (long long)(actual), e_ = (long long)(expected); \
		if (a_ != e_)                                                 \
			HS_FAILF("%s: expected %lld, got %lld", #actual, e_, a_); \
		a_ == e_;                                                     \
	})
#define CHECK_STR(actual, expected)                                           \
	({                                                                    \
		const char *a_ = (actual), *e_ = (expected);                  \
		bool ok_ = a_ && e_ ? !strcmp(a_, e_) : a_ == e_;             \
		if (!ok_)                                                     \
			HS_FAILF("%s: expected \"%s\", got \"%s\"", #actual,  \
				 e_ ? e_ : "(null)", a_ ? a_ : "(null)");     \
		ok_;                                                          \
	})
#define CHECK_MEM(actual, expected, len)                                      \
	({                                                                    \
		bool ok_ = !memcmp((actual), (expected), (len));              \
		if (!ok_)                                                     \
			hs_test_hexdiff(__FILE__, __LINE__, #actual,          \
					(const void *)(actual),               \
					(const void *)(expected), (len));     \
		ok_;                                                          \
	})

/* Bail-out forms. */
#define ASSERT(cond)              do { if (!CHECK(cond)) return HS_FAIL; } while (0)
#define ASSERT_EQ(a, e)           do { if (!CHECK_EQ(a, e)) return HS_FAIL; } while (0)
#define ASSERT_STR(a, e)          do { if (!CHECK_STR(a, e)) return HS_FAIL; } while (0)
#define ASSERT_MEM(a, e, n)       do { if (!CHECK_MEM(a, e, n)) return HS_FAIL; } while (0)

/* clang-format on */

void hs_test_hexdiff(const char *file, int line, const char *what, const void *actual,
		     const void *expected, size_t len);

/* Runs the table (or the subtests named in argv); returns the exit code. */
int hs_test_main(const char *suite, const struct hs_test *tests, size_t n, int argc, char **argv);

/* clang-format off */
#define HS_TEST_MAIN(suite, table)                                            \
	int main(int argc, char **argv)                                       \
	{                                                                     \
		return hs_test_main(suite, table, sizeof(table) / sizeof(table[0]), argc, argv); \
	}

/* clang-format on */

#endif
