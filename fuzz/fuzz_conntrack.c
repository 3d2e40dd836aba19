// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for pw_conntrack_parse: arbitrary bytes as a chunk of
 * a ctnetlink dump. The parser must neither crash nor read outside the
 * buffer, and every entry it reports must be one the judge can take: both
 * addresses of a tuple in one family, 4 or 6, the bytes past an IPv4
 * address zero. Entries then go through a judge of an empty cluster,
 * which has no pod, so none concerns this node.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/podwall.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pw_ct_judge *judge;

static void check_addr(const struct pw_addr *a, uint8_t family)
{
	static const uint8_t zero[12];

	if (a->family != family)
		abort();
	if (family == 4 && memcmp(a->b + 4, zero, sizeof(zero)))
		abort();
}

static void check_tuple(const struct pw_ct_tuple *t)
{
	if (t->src.family != 4 && t->src.family != 6)
		abort();
	check_addr(&t->src, t->src.family);
	check_addr(&t->dst, t->src.family);
	if (!t->has_ports && (t->sport || t->dport))
		abort();
}

static int on_entry(const struct pw_ct_entry *en, void *data)
{
	size_t *n = data;

	check_tuple(&en->orig);
	if (en->has_reply) {
		check_tuple(&en->reply);
		if (en->reply.src.family != en->orig.src.family)
			abort();
	}
	if (judge && pw_ct_judge_decide(judge, en) != PW_CT_IGNORE)
		abort();
	(*n)++;
	return 0;
}

static void init_judge(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	struct pw_engine *e = NULL;

	/* Kept for the whole run: the engine borrows the cluster. */
	if (c && d && !pw_cluster_finalize(c, d))
		e = pw_engine_new(c);
	if (e)
		judge = pw_ct_judge_new(e, NULL);
	pw_diags_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	size_t n = 0;
	int ret;

	if (!judge)
		init_judge();
	/* An exact-size heap copy, so that ASan sees any read past the end;
	 * netlink messages are 4-byte aligned, as a receive buffer is. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ret = pw_conntrack_parse(copy, size, on_entry, &n);
	if (ret > 1)
		abort();
	free(copy);
	return 0;
}
