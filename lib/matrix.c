// SPDX-License-Identifier: Apache-2.0
/*
 * All pairs at once: for one port, the ingress row of every destination
 * and the egress row of every source as bitsets over pods (one per class
 * of pods alike), then allowed = E & transpose(I), 64 sources at a time
 * (see engine.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bitset.h"
#include "engine.h"

enum mask_kind {
	MASK_NONE, /* no port entry matches */
	MASK_ALL, /* some entry matches whatever the destination */
	MASK_NAMED, /* only on the destinations in `named` */
};

struct rule_mask {
	uint8_t kind;
	const uint64_t *named; /* MASK_NAMED: a named_set's, or own */
	uint64_t *own; /* the union when several names match */
};

/* The destinations of one port name and protocol, on the port. */
struct named_set {
	const char *name;
	uint8_t proto;
	uint64_t *bits;
};

struct pw_matrix {
	size_t npods, words, nports;
	uint64_t *bits; /* nports * npods * words */
	uint64_t *counts; /* per port, without from == to */
};

#define ROW_ONES UINT32_MAX

/* An ingress row depends on the destination's selection list, address
 * view and container ports: pods alike share it. The key packs the three
 * classes as set << 32 | pclass << 2 | view (pods are fewer than 2^30). */
struct row_key {
	uint64_t key;
	uint32_t row; /* + 1; 0 for a free slot */
};

/*
 * What one port means: every rule's port mask, and the distinct ingress
 * and egress rows, each pod pointing at its row (ROW_ONES: not isolated).
 */
struct port_ctx {
	const struct pw_engine *e;
	struct pw_port port;
	struct rule_mask *mask; /* per engine rule */
	struct named_set *named;
	size_t nnamed, cap_named;
	uint64_t *rows; /* nrows rows of e->words words */
	size_t nrows, cap_rows;
	uint32_t *irow, *erow; /* per pod */
	uint32_t *eset_row; /* per egress class: row + 1, 0 until built */
	struct row_key *ikeys; /* open addressing */
	size_t ikeys_size;
};

/* The destinations on which a named entry matches, for one port name and
 * protocol: pods that declare a container port of that name and protocol
 * with the port's number. Computed once per name, as policies repeat
 * names ("http", "metrics"). */
static int named_bits(struct port_ctx *pc, const struct pw_np_port *pp,
		      const uint64_t **out)
{
	const struct pw_engine *e = pc->e;
	struct named_set *ns;

	for (size_t i = 0; i < pc->nnamed; i++) {
		if (pc->named[i].proto == pp->proto &&
		    !strcmp(pc->named[i].name, pp->name)) {
			*out = pc->named[i].bits;
			return 0;
		}
	}
	ns = PW_PUSH(pc->named, pc->nnamed, pc->cap_named);
	if (!ns)
		return -ENOMEM;
	ns->name = pp->name;
	ns->proto = pp->proto;
	ns->bits = calloc(e->words + 1, sizeof(uint64_t));
	if (!ns->bits)
		return -ENOMEM;
	for (size_t k = 0; k < e->npods; k++)
		if (pw_np_port_matches(pp, &pc->port, e->pods[k].pod))
			pw_bits_set(ns->bits, k);
	*out = ns->bits;
	return 0;
}

/* Adds one named entry's destinations to a rule's mask: shared while it
 * is the only one, a union of its own after that. */
static int mask_add_named(struct port_ctx *pc, const struct pw_np_port *pp,
			  struct rule_mask *m)
{
	size_t w = pc->e->words;
	const uint64_t *bits;
	int err = named_bits(pc, pp, &bits);

	if (err)
		return err;
	if (!m->named) {
		m->named = bits;
	} else {
		if (!m->own) {
			m->own = calloc(w + 1, sizeof(uint64_t));
			if (!m->own)
				return -ENOMEM;
			pw_bits_or(m->own, m->named, w);
			m->named = m->own;
		}
		pw_bits_or(m->own, bits, w);
	}
	m->kind = MASK_NAMED;
	return 0;
}

static int rule_mask(struct port_ctx *pc, const struct pw_rule *r,
		     struct rule_mask *m)
{
	m->kind = r->nports ? MASK_NONE : MASK_ALL;
	for (size_t j = 0; j < r->nports && m->kind != MASK_ALL; j++) {
		const struct pw_np_port *pp = &r->ports[j];
		int err;

		if (pp->proto != pc->port.proto)
			continue;
		if (!pp->named) {
			if (pw_np_port_matches(pp, &pc->port, NULL))
				m->kind = MASK_ALL;
			continue;
		}
		err = mask_add_named(pc, pp, m);
		if (err)
			return err;
	}
	return 0;
}

static void port_ctx_clear(struct port_ctx *pc)
{
	for (size_t i = 0; pc->mask && i < pc->e->nrules; i++)
		free(pc->mask[i].own);
	for (size_t i = 0; i < pc->nnamed; i++)
		free(pc->named[i].bits);
	free(pc->named);
	free(pc->mask);
	free(pc->rows);
	free(pc->irow);
	free(pc->erow);
	free(pc->eset_row);
	free(pc->ikeys);
}

static int port_ctx_init(struct port_ctx *pc, const struct pw_engine *e,
			 const struct pw_port *port)
{
	size_t n = e->npods + 1;
	int err = -ENOMEM;

	memset(pc, 0, sizeof(*pc));
	pc->e = e;
	pc->port = *port;
	pc->ikeys_size = 16;
	while (pc->ikeys_size < 2 * n)
		pc->ikeys_size *= 2;
	pc->mask = calloc(e->nrules + 1, sizeof(*pc->mask));
	pc->irow = calloc(n, sizeof(*pc->irow));
	pc->erow = calloc(n, sizeof(*pc->erow));
	pc->eset_row =
		calloc(e->nset_ids[PW_DIR_EGRESS] + 1, sizeof(*pc->eset_row));
	pc->ikeys = calloc(pc->ikeys_size, sizeof(*pc->ikeys));
	if (!pc->mask || !pc->irow || !pc->erow || !pc->eset_row || !pc->ikeys)
		goto err_clear;
	for (size_t i = 0; i < e->nrules; i++) {
		err = rule_mask(pc, e->rules[i].r, &pc->mask[i]);
		if (err)
			goto err_clear;
	}
	return 0;

err_clear:
	port_ctx_clear(pc);
	return err;
}

static const uint64_t *row_at(const struct port_ctx *pc, uint32_t row)
{
	return row == ROW_ONES ? pc->e->ones : pc->rows + row * pc->e->words;
}

/* Appends a zeroed row; 0 or -ENOMEM. */
static int new_row(struct port_ctx *pc, uint32_t *row)
{
	size_t w = pc->e->words;

	if (pw_grow((void **)&pc->rows, &pc->cap_rows, (pc->nrows + 1) * w,
		    sizeof(uint64_t)))
		return -ENOMEM;
	memset(pc->rows + pc->nrows * w, 0, w * sizeof(uint64_t));
	*row = (uint32_t)pc->nrows++;
	return 0;
}

static enum pw_view ingress_view(const struct pw_pod *dst)
{
	if (!dst->nips)
		return PW_VIEW_FIRST;
	return dst->ips[0].family == 6 ? PW_VIEW_V6 : PW_VIEW_V4;
}

/* Adds the sources one ingress rule admits to d's row; false when that is
 * every source, so the row is complete. */
static bool ingress_rule(const struct port_ctx *pc, size_t k, size_t d,
			 enum pw_view v, uint64_t *row)
{
	const struct pw_engine *e = pc->e;
	const struct rule_mask *m = &pc->mask[k];
	const struct pw_erule *er = &e->rules[k];

	if (m->kind == MASK_NONE ||
	    (m->kind == MASK_NAMED && !pw_bits_test(m->named, d)))
		return true;
	if (!er->r->npeers) {
		memcpy(row, e->ones, e->words * sizeof(*row));
		return false;
	}
	for (size_t j = 0; j < er->r->npeers; j++) {
		uint32_t s = e->peer_set[er->peer_base + j];

		pw_bits_or(row, e->sets[s].bits[v], e->words);
	}
	return true;
}

/* The sources isolated pod d admits on the port. */
static void ingress_fill(const struct port_ctx *pc, size_t d, uint64_t *row)
{
	const struct pw_engine *e = pc->e;
	const struct pw_eng_pod *ep = &e->pods[d];
	enum pw_view v = ingress_view(ep->pod);
	const uint32_t *pols = e->sel + ep->sel_off[PW_DIR_INGRESS];

	for (size_t i = 0; i < ep->nsel[PW_DIR_INGRESS]; i++) {
		const struct pw_policy *p = &e->c->pols[pols[i]];
		uint32_t base = e->rule_base[pols[i]][PW_DIR_INGRESS];

		for (size_t k = 0; k < p->nrules[PW_DIR_INGRESS]; k++)
			if (!ingress_rule(pc, base + k, d, v, row))
				return;
	}
}

static void egress_rule(const struct port_ctx *pc, size_t k, uint64_t *row)
{
	const struct pw_engine *e = pc->e;
	const struct rule_mask *m = &pc->mask[k];
	const struct pw_erule *er = &e->rules[k];

	if (m->kind == MASK_NONE)
		return;
	if (!er->r->npeers) {
		pw_bits_or(row, m->kind == MASK_ALL ? e->ones : m->named,
			   e->words);
		return;
	}
	for (size_t j = 0; j < er->r->npeers; j++) {
		uint32_t s = e->peer_set[er->peer_base + j];
		const uint64_t *b = e->sets[s].bits[PW_VIEW_FIRST];

		if (m->kind == MASK_ALL)
			pw_bits_or(row, b, e->words);
		else
			pw_bits_or_and(row, b, m->named, e->words);
	}
}

/* The destinations isolated pod s may reach on the port. */
static void egress_fill(const struct port_ctx *pc, size_t s, uint64_t *row)
{
	const struct pw_engine *e = pc->e;
	const struct pw_eng_pod *ep = &e->pods[s];
	const uint32_t *pols = e->sel + ep->sel_off[PW_DIR_EGRESS];

	for (size_t i = 0; i < ep->nsel[PW_DIR_EGRESS]; i++) {
		const struct pw_policy *p = &e->c->pols[pols[i]];
		uint32_t base = e->rule_base[pols[i]][PW_DIR_EGRESS];

		for (size_t k = 0; k < p->nrules[PW_DIR_EGRESS]; k++)
			egress_rule(pc, base + k, row);
	}
}

/* The slot of d's ingress key: either holding its row or free. */
static struct row_key *ingress_slot(struct port_ctx *pc, size_t d)
{
	const struct pw_eng_pod *ep = &pc->e->pods[d];
	uint64_t key = (uint64_t)ep->set[PW_DIR_INGRESS] << 32 |
		       (uint64_t)ep->pclass << 2 | ingress_view(ep->pod);
	size_t mask = pc->ikeys_size - 1;
	size_t at = pw_hash_bytes(PW_HASH_INIT, &key, sizeof(key)) & mask;

	while (pc->ikeys[at].row && pc->ikeys[at].key != key)
		at = (at + 1) & mask;
	pc->ikeys[at].key = key;
	return &pc->ikeys[at];
}

static int ingress_rows(struct port_ctx *pc)
{
	for (size_t d = 0; d < pc->e->npods; d++) {
		struct row_key *slot;

		pc->irow[d] = ROW_ONES;
		if (!pc->e->pods[d].nsel[PW_DIR_INGRESS])
			continue;
		slot = ingress_slot(pc, d);
		if (!slot->row) {
			if (new_row(pc, &slot->row))
				return -ENOMEM;
			ingress_fill(pc, d,
				     pc->rows + slot->row * pc->e->words);
			slot->row++;
		}
		pc->irow[d] = slot->row - 1;
	}
	return 0;
}

/* An egress row depends only on the source's selection list. */
static int egress_rows(struct port_ctx *pc)
{
	for (size_t s = 0; s < pc->e->npods; s++) {
		uint32_t *row =
			&pc->eset_row[pc->e->pods[s].set[PW_DIR_EGRESS]];

		pc->erow[s] = ROW_ONES;
		if (!pc->e->pods[s].nsel[PW_DIR_EGRESS])
			continue;
		if (!*row) {
			if (new_row(pc, row))
				return -ENOMEM;
			egress_fill(pc, s, pc->rows + *row * pc->e->words);
			(*row)++;
		}
		pc->erow[s] = *row - 1;
	}
	return 0;
}

/*
 * Rows r of strip k of the transposed ingress matrix: for the sources
 * 64k..64k+63, which destinations admit them. Built a 64x64 block at a
 * time from word k of each destination's ingress row.
 */
static void transpose_strip(const struct port_ctx *pc, size_t k,
			    uint64_t *strip)
{
	const struct pw_engine *e = pc->e;
	size_t w = e->words;
	uint64_t blk[64];

	for (size_t j = 0; j < w; j++) {
		for (size_t r = 0; r < 64; r++) {
			size_t d = j * 64 + r;

			blk[r] = d < e->npods ? row_at(pc, pc->irow[d])[k] : 0;
		}
		pw_bits_transpose64(blk);
		for (size_t r = 0; r < 64; r++)
			strip[r * w + j] = blk[r];
	}
}

/*
 * Fills out (npods rows of e->words words; NULL when only counting) with
 * the allowed pairs on the port, from == to left out, and returns how
 * many there are: row s is E[s] & transpose(I)[s]. strip holds 64 rows.
 */
static uint64_t port_pairs(const struct port_ctx *pc, uint64_t *out,
			   uint64_t *strip)
{
	const struct pw_engine *e = pc->e;
	size_t w = e->words;
	uint64_t total = 0;

	for (size_t k = 0; k < w; k++) {
		transpose_strip(pc, k, strip);
		for (size_t r = 0; r < 64 && k * 64 + r < e->npods; r++) {
			size_t s = k * 64 + r;
			uint64_t *row = out ? out + s * w : strip + r * w;

			if (out)
				memcpy(row, strip + r * w, w * sizeof(*row));
			pw_bits_and(row, row_at(pc, pc->erow[s]), w);
			pw_bits_clear(row, s);
			total += pw_bits_count(row, w);
		}
	}
	return total;
}

static int one_port(const struct pw_engine *e, const struct pw_port *port,
		    uint64_t *out, uint64_t *count)
{
	uint64_t *strip = calloc(64 * (e->words + 1), sizeof(*strip));
	struct port_ctx pc;
	int err = -ENOMEM;

	if (!strip)
		return -ENOMEM;
	err = port_ctx_init(&pc, e, port);
	if (err)
		goto out_free_strip;
	err = ingress_rows(&pc);
	if (!err)
		err = egress_rows(&pc);
	if (!err)
		*count = port_pairs(&pc, out, strip);
	port_ctx_clear(&pc);
out_free_strip:
	free(strip);
	return err;
}

PW_EXPORT struct pw_matrix *pw_engine_matrix(const struct pw_engine *e,
					     const struct pw_port *ports,
					     size_t nports)
{
	struct pw_matrix *m = calloc(1, sizeof(*m));
	size_t plane = e->npods * e->words;
	int err = -ENOMEM;

	if (!m)
		goto err_out;
	m->npods = e->npods;
	m->words = e->words;
	m->nports = nports;
	m->bits = calloc(nports * plane + 1, sizeof(uint64_t));
	m->counts = calloc(nports + 1, sizeof(uint64_t));
	if (!m->bits || !m->counts)
		goto err_free_matrix;
	for (size_t p = 0; p < nports; p++) {
		err = one_port(e, &ports[p], m->bits + p * plane,
			       &m->counts[p]);
		if (err)
			goto err_free_matrix;
	}
	return m;

err_free_matrix:
	pw_matrix_free(m);
err_out:
	errno = -err;
	return NULL;
}

PW_EXPORT void pw_matrix_free(struct pw_matrix *m)
{
	if (!m)
		return;
	free(m->bits);
	free(m->counts);
	free(m);
}

PW_EXPORT bool pw_matrix_allowed(const struct pw_matrix *m, size_t p,
				 size_t from, size_t to)
{
	if (p >= m->nports || from >= m->npods || to >= m->npods)
		return false;
	if (from == to)
		return true;
	return pw_bits_test(m->bits + (p * m->npods + from) * m->words, to);
}

PW_EXPORT uint64_t pw_matrix_count_allowed(const struct pw_matrix *m, size_t p)
{
	return p < m->nports ? m->counts[p] : 0;
}

PW_EXPORT int pw_engine_count(const struct pw_engine *e,
			      const struct pw_port *port, uint64_t *allowed,
			      uint64_t *denied)
{
	uint64_t n = e->npods, count = 0;
	int err = one_port(e, port, NULL, &count);

	if (err)
		return err;
	*allowed = count;
	*denied = (n ? n * (n - 1) : 0) - count;
	return 0;
}
