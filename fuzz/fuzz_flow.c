// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for pw_flow_parse: any input either parses or fails
 * with EINVAL and exactly one diagnostic; what parses formats to a line
 * that parses back to an equal record and formats to the same text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <podwall/podwall.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct pw_flow *f)
{
	int n = pw_flow_format(f, NULL, 0);
	char *a = malloc((size_t)n + 1), *b = malloc((size_t)n + 1);
	struct pw_flow *g;

	if (!a || !b)
		abort();
	if (pw_flow_format(f, a, (size_t)n + 1) != n || strlen(a) != (size_t)n)
		abort();
	if (memchr(a, '\n', (size_t)n - 1) || a[n - 1] != '\n')
		abort(); /* one line, whatever the strings hold */
	g = pw_flow_parse(a, (size_t)n, "fuzz", 1, NULL);
	if (!g || !pw_flow_equal(f, g))
		abort();
	if (pw_flow_format(g, b, (size_t)n + 1) != n || strcmp(a, b))
		abort();
	pw_flow_free(g);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_flow *f;

	if (!d)
		return 0;
	errno = 0;
	f = pw_flow_parse((const char *)data, size, "fuzz", 1, d);
	if (f) {
		if (pw_diags_count(d))
			abort();
		check_round_trip(f);
	} else if (errno != ENOMEM &&
		   (errno != EINVAL || pw_diags_count(d) != 1)) {
		abort();
	}
	pw_flow_free(f);
	pw_diags_free(d);
	return 0;
}
