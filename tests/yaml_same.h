/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether the fast YAML reader and libyaml read an input the same way: the
 * same status, the same diagnostics (formatted) and the same trees, node
 * by node with positions. For test_yaml_fast and the fuzz_yaml target.
 */
#ifndef PW_TESTS_YAML_SAME_H
#define PW_TESTS_YAML_SAME_H

#include <stdbool.h>
#include <string.h>

#include "decode.h"
#include "model.h"
#include "yaml.h"

static bool ynode_same(const struct pw_ynode *a, const struct pw_ynode *b,
		       unsigned depth)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type || a->pos.line != b->pos.line ||
	    a->pos.col != b->pos.col || depth > PW_YAML_MAX_DEPTH)
		return false;
	switch (a->type) {
	case PW_NODE_SCALAR:
		return a->scalar.len == b->scalar.len &&
		       !memcmp(a->scalar.text, b->scalar.text, a->scalar.len) &&
		       a->scalar.style == b->scalar.style &&
		       a->scalar.tagged == b->scalar.tagged &&
		       !a->scalar.tag == !b->scalar.tag &&
		       (!a->scalar.tag ||
			!strcmp(a->scalar.tag, b->scalar.tag));
	case PW_NODE_SEQ:
		if (a->seq.n != b->seq.n)
			return false;
		for (size_t i = 0; i < a->seq.n; i++)
			if (!ynode_same(a->seq.items[i], b->seq.items[i],
					depth + 1))
				return false;
		return true;
	case PW_NODE_MAP:
		if (a->map.n != b->map.n)
			return false;
		for (size_t i = 0; i < a->map.n; i++)
			if (!ynode_same(a->map.pairs[i].key,
					b->map.pairs[i].key, depth + 1) ||
			    !ynode_same(a->map.pairs[i].value,
					b->map.pairs[i].value, depth + 1))
				return false;
		return true;
	}
	return false;
}

static bool diags_same(const struct pw_diags *a, const struct pw_diags *b)
{
	char x[512], y[512];

	if (pw_diags_count(a) != pw_diags_count(b))
		return false;
	for (size_t i = 0; i < pw_diags_count(a); i++) {
		pw_diag_format(pw_diags_get(a, i), x, sizeof(x));
		pw_diag_format(pw_diags_get(b, i), y, sizeof(y));
		if (strcmp(x, y))
			return false;
	}
	return true;
}

static bool yaml_same(const struct pw_yaml *a, const struct pw_yaml *b)
{
	if (pw_yaml_doc_count(a) != pw_yaml_doc_count(b))
		return false;
	for (size_t i = 0; i < pw_yaml_doc_count(a); i++)
		if (!ynode_same(pw_yaml_doc(a, i), pw_yaml_doc(b, i), 0))
			return false;
	return true;
}

/*
 * Reads buf with libyaml and with reader r (AUTO or FAST); true when they
 * agree (for FAST: or it declined). *fast says whether FAST read it.
 */
static bool readers_agree(const char *buf, size_t len, enum pw_yaml_reader r,
			  bool *fast)
{
	struct pw_diags *da = pw_diags_new(), *db = pw_diags_new();
	struct pw_yaml *ya = NULL, *yb = NULL;
	int ra, rb;
	bool same = false;

	*fast = false;
	if (!da || !db)
		goto out;
	ra = pw_yaml_parse_with("t.yaml", buf, len, PW_YAML_LIBYAML, &ya, da);
	rb = pw_yaml_parse_with("t.yaml", buf, len, r, &yb, db);
	if (r == PW_YAML_FAST && rb == -EAGAIN) {
		same = !pw_diags_count(db) && !yb;
		goto out;
	}
	*fast = r == PW_YAML_FAST;
	same = ra == rb && diags_same(da, db) && yaml_same(ya, yb);
out:
	pw_yaml_free(ya);
	pw_yaml_free(yb);
	pw_diags_free(da);
	pw_diags_free(db);
	return same;
}

/*
 * pw_cluster_load_buffer() (the fast reader, decoding as it reads, when
 * it can) against libyaml's whole tree decoded after: the same status,
 * records, objects and error count.
 */
static bool loads_agree(const char *buf, size_t len)
{
	struct pw_cluster *ca = pw_cluster_new(), *cb = pw_cluster_new();
	struct pw_diags *da = pw_diags_new(), *db = pw_diags_new();
	const char *file = ca ? pw_cluster_intern_file(ca, "t.yaml") : NULL;
	struct pw_yaml *y = NULL;
	int ra, rb;
	bool same = false;

	if (!file || !cb || !da || !db)
		goto out;
	ra = pw_yaml_parse_with(file, buf, len, PW_YAML_LIBYAML, &y, da);
	if (ra == -EBADMSG)
		ca->load_errors +=
			pw_diags_error_count(da) ? pw_diags_error_count(da) : 1;
	if (!ra)
		ra = pw_decode_yaml(ca, y, da);
	rb = pw_cluster_load_buffer(cb, "t.yaml", buf, len, db);
	same = ra == rb && diags_same(da, db) &&
	       ca->load_errors == cb->load_errors && ca->nnss == cb->nnss &&
	       ca->npods == cb->npods && ca->npols == cb->npols &&
	       ca->nnodes == cb->nnodes && ca->nsvcs == cb->nsvcs;
out:
	pw_yaml_free(y);
	pw_cluster_free(ca);
	pw_cluster_free(cb);
	pw_diags_free(da);
	pw_diags_free(db);
	return same;
}

#endif
