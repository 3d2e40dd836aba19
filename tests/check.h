/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The smallest test harness that does the job: CHECK() counts, prints a
 * line for each failure with its place, and check_done() prints the
 * closing "N passed, N failed" line and gives the exit status.
 */
#ifndef PW_TESTS_CHECK_H
#define PW_TESTS_CHECK_H

#include <stdio.h>

static unsigned check_passed, check_failed;

#define CHECK(cond, ...)                                            \
	do {                                                        \
		if (cond) {                                         \
			check_passed++;                             \
		} else {                                            \
			check_failed++;                             \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                        \
			printf("\n");                               \
		}                                                   \
	} while (0)

static inline int check_done(const char *suite)
{
	printf("%s: %u passed, %u failed\n", suite, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
