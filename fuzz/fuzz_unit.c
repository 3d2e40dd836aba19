// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for parsed units (pw_unit_new, pw_cluster_add_unit):
 * the input is up to four texts separated by NUL bytes. Each becomes a
 * unit; the cluster assembled from the units must agree with the cluster
 * loaded from the same texts: a text invalid alone makes both invalid,
 * and when every text is valid both are valid or both not, with the same
 * objects in the same order. The units are freed before the assembled
 * cluster, as podwalld's store does while a snapshot holds it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <podwall/podwall.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXTS 4

static bool same_pods(const struct pw_cluster *a, const struct pw_cluster *b)
{
	size_t n = pw_cluster_count(a, PW_KIND_POD);

	for (size_t i = 0; i < n; i++)
		if (strcmp(pw_cluster_pod_namespace(a, i),
			   pw_cluster_pod_namespace(b, i)) ||
		    strcmp(pw_cluster_pod_name(a, i),
			   pw_cluster_pod_name(b, i)))
			return false;
	return true;
}

static void compare(const struct pw_cluster *built, int rb,
		    const struct pw_cluster *loaded, int rl, bool all_valid)
{
	if (!all_valid) {
		if (rl != -EINVAL && rl != -ENOMEM)
			abort(); /* invalid alone, invalid together */
		return;
	}
	if (rb == -ENOMEM || rl == -ENOMEM)
		return;
	if (rb != rl)
		abort();
	if (rb)
		return;
	for (int k = 0; k < PW_KIND_NR; k++)
		if (pw_cluster_count(built, (enum pw_kind)k) !=
		    pw_cluster_count(loaded, (enum pw_kind)k))
			abort();
	if (!same_pods(built, loaded))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[MAX_TEXTS] = { "a.yaml", "b.yaml",
						      "c.yaml", "d.yaml" };
	struct pw_cluster *built = pw_cluster_new(), *loaded = pw_cluster_new();
	struct pw_unit *u[MAX_TEXTS] = { NULL };
	const char *text = (const char *)data, *end = text + size, *nul;
	bool all_valid = true, last = false;
	int rb, rl;
	size_t n = 0, len;

	if (!built || !loaded)
		goto out_free;
	for (; !last; n++) {
		nul = memchr(text, '\0', (size_t)(end - text));
		last = !nul || n == MAX_TEXTS - 1;
		len = (size_t)((last ? end : nul) - text);
		u[n] = pw_unit_new(names[n], text, len, NULL);
		all_valid &= u[n] != NULL;
		if (u[n] && pw_cluster_add_unit(built, u[n]))
			goto out_free;
		if (pw_cluster_load_buffer(loaded, names[n], text, len, NULL) ==
		    -ENOMEM)
			goto out_free;
		if (!last)
			text = nul + 1;
	}
	rb = pw_cluster_finalize(built, NULL);
	rl = pw_cluster_finalize(loaded, NULL);
	for (size_t i = 0; i < n; i++) {
		pw_unit_free(u[i]); /* the assembled cluster keeps them */
		u[i] = NULL;
	}
	compare(built, rb, loaded, rl, all_valid);
out_free:
	for (size_t i = 0; i < MAX_TEXTS; i++)
		pw_unit_free(u[i]);
	pw_cluster_free(built);
	pw_cluster_free(loaded);
	return 0;
}
