/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test cluster from YAML text. A fixture that does not load is a bug
 * of the test, not a result: its diagnostics are printed and the program
 * exits with status 2 (tests/run.sh counts a missing closing line as a
 * failure).
 */
#ifndef PW_TESTS_LOAD_H
#define PW_TESTS_LOAD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/podwall.h>

static inline struct pw_cluster *test_cluster(const char *name,
					      const char *yaml)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	char buf[512];

	if (!c || !d)
		exit(2);
	if (pw_cluster_load_buffer(c, name, yaml, strlen(yaml), d) ||
	    pw_cluster_finalize(c, d)) {
		for (size_t i = 0; i < pw_diags_count(d); i++) {
			pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
			fprintf(stderr, "%s\n", buf);
		}
		fprintf(stderr, "%s: the test cluster does not load\n", name);
		exit(2);
	}
	pw_diags_free(d);
	return c;
}

#endif
