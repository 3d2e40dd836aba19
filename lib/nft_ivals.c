// SPDX-License-Identifier: Apache-2.0
/*
 * Interval arithmetic for the ruleset model (lib/datapath.h): addresses
 * as integers, address intervals and (address, protocol, port) boxes,
 * normalized so that the kernel's interval sets get disjoint elements and
 * equal classes compare byte-equal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "datapath.h"

/* ---- addresses as integers ----------------------------------------- */

enum pw_fam pw_addr_fam(const struct pw_addr *a)
{
	return a->family == 6 ? PW_FAM_V6 : PW_FAM_V4;
}

pw_u128 pw_addr_to_u128(const struct pw_addr *a)
{
	size_t n = a->family == 6 ? 16 : 4;
	pw_u128 v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | a->b[i];
	return v;
}

void pw_u128_to_addr(pw_u128 v, enum pw_fam f, struct pw_addr *out)
{
	size_t n = f == PW_FAM_V6 ? 16 : 4;

	memset(out, 0, sizeof(*out));
	out->family = f == PW_FAM_V6 ? 6 : 4;
	for (size_t i = n; i-- > 0; v >>= 8)
		out->b[i] = (uint8_t)v;
}

struct pw_ival pw_cidr_ival(const struct pw_cidr *c)
{
	enum pw_fam f = pw_addr_fam(&c->addr);
	unsigned bits = f == PW_FAM_V6 ? 128 : 32;
	pw_u128 host = c->len >= bits ? 0 : (pw_fam_max(f) >> c->len);
	struct pw_ival iv;

	iv.lo = pw_addr_to_u128(&c->addr) & ~host;
	iv.hi = iv.lo | host;
	return iv;
}

/* ---- interval sets -------------------------------------------------- */

int pw_ivals_add(struct pw_ivals *s, pw_u128 lo, pw_u128 hi)
{
	struct pw_ival *iv = PW_PUSH(s->v, s->n, s->cap);

	if (!iv)
		return -ENOMEM;
	iv->lo = lo;
	iv->hi = hi;
	return 0;
}

int pw_boxes_add(struct pw_boxes *s, const struct pw_box *b)
{
	struct pw_box *nb = PW_PUSH(s->v, s->n, s->cap);

	if (!nb)
		return -ENOMEM;
	*nb = *b;
	return 0;
}

int pw_ival_cmp(const void *pa, const void *pb)
{
	const struct pw_ival *a = pa, *b = pb;

	return a->lo != b->lo ? pw_u128_cmp(a->lo, b->lo) :
				pw_u128_cmp(a->hi, b->hi);
}

void pw_ivals_normalize(struct pw_ivals *s)
{
	size_t out = 0;

	if (!s->n)
		return;
	pw_sort(s->v, s->n, sizeof(*s->v), pw_ival_cmp);
	for (size_t i = 1; i < s->n; i++) {
		struct pw_ival *last = &s->v[out];

		/* Overlapping or adjacent (hi + 1 cannot wrap: lo > hi). */
		if (s->v[i].lo <= last->hi || s->v[i].lo - 1 == last->hi) {
			if (s->v[i].hi > last->hi)
				last->hi = s->v[i].hi;
			continue;
		}
		s->v[++out] = s->v[i];
	}
	s->n = out + 1;
}

/* Adds [lo, hi] minus the sorted, merged holes h[0..n). */
static int add_minus(struct pw_ivals *s, pw_u128 lo, pw_u128 hi,
		     const struct pw_ival *h, size_t n)
{
	for (size_t i = 0; i < n && lo <= hi; i++) {
		if (h[i].hi < lo || h[i].lo > hi)
			continue;
		if (h[i].lo > lo && pw_ivals_add(s, lo, h[i].lo - 1))
			return -ENOMEM;
		if (h[i].hi >= hi)
			return 0;
		lo = h[i].hi + 1;
	}
	return lo <= hi ? pw_ivals_add(s, lo, hi) : 0;
}

int pw_ivals_add_ipblock(struct pw_ivals *s, const struct pw_ipblock *b)
{
	struct pw_ivals holes = { 0 };
	struct pw_ival all = pw_cidr_ival(&b->cidr);
	int ret = 0;

	for (size_t i = 0; i < b->nexcept && !ret; i++) {
		struct pw_ival h = pw_cidr_ival(&b->except[i].cidr);

		if (b->except[i].ok &&
		    b->except[i].cidr.addr.family == b->cidr.addr.family)
			ret = pw_ivals_add(&holes, h.lo, h.hi);
	}
	if (!ret) {
		pw_ivals_normalize(&holes);
		ret = add_minus(s, all.lo, all.hi, holes.v, holes.n);
	}
	free(holes.v);
	return ret;
}

/* ---- boxes ---------------------------------------------------------- */

int pw_box_cmp(const void *pa, const void *pb)
{
	const struct pw_box *a = pa, *b = pb;

	if (a->lo != b->lo)
		return pw_u128_cmp(a->lo, b->lo);
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->plo != b->plo)
		return a->plo < b->plo ? -1 : 1;
	return a->phi < b->phi ? -1 : a->phi > b->phi;
}

/* Orders by protocol first, then address: the sweep's order. */
static int box_sweep_cmp(const void *pa, const void *pb)
{
	const struct pw_box *a = pa, *b = pb;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return pw_box_cmp(a, b);
}

static int port_ival_cmp(const void *pa, const void *pb)
{
	const uint32_t *a = pa, *b = pb;

	return a[0] != b[0] ? (a[0] < b[0] ? -1 : 1) :
			      (a[1] > b[1]) - (a[1] < b[1]);
}

/* The sweep over one protocol's boxes: the cut points, the boxes that
 * cover the current piece, its merged port list and the previous one. */
struct sweep {
	const struct pw_box *b;
	size_t n;
	pw_u128 *cuts;
	size_t ncuts, cap_cuts;
	const struct pw_box **active;
	size_t nactive;
	uint32_t (*ports)[2], (*prev)[2];
	size_t nports, nprev;
	pw_u128 prev_lo, prev_hi;
	struct pw_boxes *out;
};

int pw_u128_qcmp(const void *pa, const void *pb)
{
	return pw_u128_cmp(*(const pw_u128 *)pa, *(const pw_u128 *)pb);
}

static int sweep_cuts(struct sweep *w, enum pw_fam f)
{
	size_t out = 0;

	for (size_t i = 0; i < w->n; i++) {
		pw_u128 *c;

		if (pw_grow((void **)&w->cuts, &w->cap_cuts, w->ncuts + 2,
			    sizeof(*w->cuts)))
			return -ENOMEM;
		c = &w->cuts[w->ncuts];
		c[0] = w->b[i].lo;
		w->ncuts++;
		if (w->b[i].hi != pw_fam_max(f)) {
			c[1] = w->b[i].hi + 1;
			w->ncuts++;
		}
	}
	pw_sort(w->cuts, w->ncuts, sizeof(*w->cuts), pw_u128_qcmp);
	for (size_t i = 0; i < w->ncuts; i++)
		if (!out || w->cuts[i] != w->cuts[out - 1])
			w->cuts[out++] = w->cuts[i];
	w->ncuts = out;
	return 0;
}

/* The merged port intervals of the active boxes into w->ports. */
static void sweep_ports(struct sweep *w)
{
	size_t out = 0;

	for (size_t i = 0; i < w->nactive; i++) {
		w->ports[i][0] = w->active[i]->plo;
		w->ports[i][1] = w->active[i]->phi;
	}
	pw_sort(w->ports, w->nactive, sizeof(*w->ports), port_ival_cmp);
	for (size_t i = 0; i < w->nactive; i++) {
		if (out && w->ports[i][0] <= w->ports[out - 1][1] + 1) {
			if (w->ports[i][1] > w->ports[out - 1][1])
				w->ports[out - 1][1] = w->ports[i][1];
			continue;
		}
		w->ports[out][0] = w->ports[i][0];
		w->ports[out][1] = w->ports[i][1];
		out++;
	}
	w->nports = out;
}

/* Emits the previous piece, one box per port interval. */
static int sweep_flush(struct sweep *w, uint8_t proto)
{
	for (size_t i = 0; i < w->nprev; i++) {
		struct pw_box b = { .lo = w->prev_lo,
				    .hi = w->prev_hi,
				    .proto = proto,
				    .plo = (uint16_t)w->prev[i][0],
				    .phi = (uint16_t)w->prev[i][1] };

		if (pw_boxes_add(w->out, &b))
			return -ENOMEM;
	}
	w->nprev = 0;
	return 0;
}

/* One piece [lo, hi]: join it to the previous one or emit that. */
static int sweep_piece(struct sweep *w, pw_u128 lo, pw_u128 hi, uint8_t proto)
{
	uint32_t(*t)[2];

	sweep_ports(w);
	if (w->nprev && w->nports == w->nprev && w->prev_hi + 1 == lo &&
	    !memcmp(w->ports, w->prev, w->nports * sizeof(*w->ports))) {
		w->prev_hi = hi;
		return 0;
	}
	if (sweep_flush(w, proto))
		return -ENOMEM;
	t = w->prev;
	w->prev = w->ports;
	w->ports = t;
	w->nprev = w->nports;
	w->prev_lo = lo;
	w->prev_hi = hi;
	return 0;
}

/* Sweeps the boxes of one protocol, sorted by address. */
static int sweep_proto(struct sweep *w, enum pw_fam f)
{
	size_t next = 0;
	uint8_t proto = w->b[0].proto;
	int ret = sweep_cuts(w, f);

	for (size_t c = 0; !ret && c < w->ncuts; c++) {
		pw_u128 lo = w->cuts[c];
		pw_u128 hi = c + 1 < w->ncuts ? w->cuts[c + 1] - 1 :
						pw_fam_max(f);
		size_t keep = 0;

		for (size_t i = 0; i < w->nactive; i++)
			if (w->active[i]->hi >= lo)
				w->active[keep++] = w->active[i];
		w->nactive = keep;
		while (next < w->n && w->b[next].lo <= lo)
			w->active[w->nactive++] = &w->b[next++];
		if (w->nactive)
			ret = sweep_piece(w, lo, hi, proto);
	}
	return ret ? ret : sweep_flush(w, proto);
}

int pw_boxes_normalize(struct pw_boxes *s, enum pw_fam f)
{
	struct pw_boxes out = { 0 };
	struct sweep w = { .out = &out };
	int ret = 0;

	if (!s->n)
		return 0;
	pw_sort(s->v, s->n, sizeof(*s->v), box_sweep_cmp);
	w.active = calloc(s->n, sizeof(*w.active));
	w.ports = calloc(s->n, sizeof(*w.ports));
	w.prev = calloc(s->n, sizeof(*w.prev));
	if (!w.active || !w.ports || !w.prev)
		ret = -ENOMEM;
	for (size_t i = 0, j; !ret && i < s->n; i = j) {
		for (j = i; j < s->n && s->v[j].proto == s->v[i].proto; j++)
			;
		w.b = &s->v[i];
		w.n = j - i;
		w.ncuts = w.nactive = w.nprev = 0;
		ret = sweep_proto(&w, f);
	}
	free(w.cuts);
	free(w.active);
	free(w.ports);
	free(w.prev);
	if (ret) {
		free(out.v);
		return ret;
	}
	pw_sort(out.v, out.n, sizeof(*out.v), pw_box_cmp);
	free(s->v);
	*s = out;
	return 0;
}
