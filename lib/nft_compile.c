// SPDX-License-Identifier: Apache-2.0
/*
 * The nftables ruleset model, compiled from the engine (lib/datapath.h
 * describes the model, docs/DATAPATH.md the table it becomes).
 *
 * First the interval arithmetic: address intervals and (address, protocol,
 * port) boxes, normalized so that the kernel's interval sets get disjoint
 * elements and equal classes compare byte-equal. Then the compiler: per
 * local pod and direction, the class of what that side admits, shared by
 * every pod that admits the same traffic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "bitset.h"
#include "datapath.h"
#include "engine.h"

/* IP protocol numbers of enum pw_proto. */
static const uint8_t proto_num[PW_PROTO_NR] = {
	[PW_PROTO_TCP] = 6,
	[PW_PROTO_UDP] = 17,
	[PW_PROTO_SCTP] = 132,
};

/* qsort, which must not see a NULL array even when it is empty. */
static void sort(void *v, size_t n, size_t size,
		 int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

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

static int u128_cmp(pw_u128 a, pw_u128 b)
{
	return a < b ? -1 : a > b;
}

static int ival_cmp(const void *pa, const void *pb)
{
	const struct pw_ival *a = pa, *b = pb;

	return a->lo != b->lo ? u128_cmp(a->lo, b->lo) : u128_cmp(a->hi, b->hi);
}

void pw_ivals_normalize(struct pw_ivals *s)
{
	size_t out = 0;

	if (!s->n)
		return;
	sort(s->v, s->n, sizeof(*s->v), ival_cmp);
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

static int box_cmp(const void *pa, const void *pb)
{
	const struct pw_box *a = pa, *b = pb;

	if (a->lo != b->lo)
		return u128_cmp(a->lo, b->lo);
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
	return box_cmp(a, b);
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

static int u128_qcmp(const void *pa, const void *pb)
{
	return u128_cmp(*(const pw_u128 *)pa, *(const pw_u128 *)pb);
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
	sort(w->cuts, w->ncuts, sizeof(*w->cuts), u128_qcmp);
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
	sort(w->ports, w->nactive, sizeof(*w->ports), port_ival_cmp);
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
	sort(s->v, s->n, sizeof(*s->v), box_sweep_cmp);
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
	sort(out.v, out.n, sizeof(*out.v), box_cmp);
	free(s->v);
	*s = out;
	return 0;
}

/* ---- classes -------------------------------------------------------- */

static void class_clear(struct pw_nft_class *k)
{
	for (int f = 0; f < PW_FAM_NR; f++) {
		free(k->addr[f].v);
		free(k->ports[f].v);
	}
	free(k->comment);
	memset(k, 0, sizeof(*k));
}

static int size_cmp(size_t a, size_t b)
{
	return a < b ? -1 : a > b;
}

/* A total order on the elements (equal: 0), for the tie-break of
 * classes whose identities hash alike. */
static int class_cmp(const struct pw_nft_class *a, const struct pw_nft_class *b)
{
	int r = 0;

	for (int f = 0; f < PW_FAM_NR && !r; f++) {
		r = size_cmp(a->addr[f].n, b->addr[f].n);
		if (!r)
			r = size_cmp(a->ports[f].n, b->ports[f].n);
		for (size_t i = 0; !r && i < a->addr[f].n; i++)
			r = ival_cmp(&a->addr[f].v[i], &b->addr[f].v[i]);
		for (size_t i = 0; !r && i < a->ports[f].n; i++)
			r = box_cmp(&a->ports[f].v[i], &b->ports[f].v[i]);
	}
	return r;
}

static uint64_t class_hash(const struct pw_nft_class *k)
{
	uint64_t h = PW_HASH_INIT;

	for (int f = 0; f < PW_FAM_NR; f++) {
		h = pw_hash_bytes(h, &k->addr[f].n, sizeof(k->addr[f].n));
		h = pw_hash_bytes(h, k->addr[f].v,
				  k->addr[f].n * sizeof(*k->addr[f].v));
		for (size_t i = 0; i < k->ports[f].n; i++) {
			const struct pw_box *b = &k->ports[f].v[i];

			h = pw_hash_bytes(h, &b->lo, sizeof(b->lo));
			h = pw_hash_bytes(h, &b->hi, sizeof(b->hi));
			h = pw_hash_bytes(h, &b->proto, sizeof(b->proto));
			h = pw_hash_bytes(h, &b->plo, sizeof(b->plo));
			h = pw_hash_bytes(h, &b->phi, sizeof(b->phi));
		}
	}
	return h;
}

/* Whether [lo, hi] lies inside one of the sorted, merged intervals. */
static bool ivals_cover(const struct pw_ivals *s, pw_u128 lo, pw_u128 hi)
{
	size_t a = 0, b = s->n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (s->v[m].hi < lo)
			a = m + 1;
		else
			b = m;
	}
	return a < s->n && s->v[a].lo <= lo && s->v[a].hi >= hi;
}

/* Normal form: merged addresses, disjoint boxes, and no box that the
 * every-port addresses already admit. */
static int class_normalize(struct pw_nft_class *k)
{
	for (int f = 0; f < PW_FAM_NR; f++) {
		struct pw_boxes *p = &k->ports[f];
		size_t out = 0;

		pw_ivals_normalize(&k->addr[f]);
		for (size_t i = 0; i < p->n; i++)
			if (!ivals_cover(&k->addr[f], p->v[i].lo, p->v[i].hi))
				p->v[out++] = p->v[i];
		p->n = out;
		if (pw_boxes_normalize(p, (enum pw_fam)f))
			return -ENOMEM;
	}
	k->hash = class_hash(k);
	return 0;
}

/* ---- the compiler --------------------------------------------------- */

/* A port span of a rule: protocol number and [lo, hi]. */
struct span {
	uint8_t proto;
	uint16_t lo, hi;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

/* An engine class key (selection list class, and port class for
 * ingress) and the ruleset class it became. */
struct key_map {
	uint64_t key;
	uint32_t cls;
};

/*
 * The addresses of one engine peer set, merged: computed on first use
 * and shared by every rule naming that set. Policies that differ only in
 * the pods they select often share their peers (`namespaceSelector: {}`
 * in every namespace), and one sort of the set's pods then serves every
 * class instead of one sort per class and rule.
 */
struct peer_addrs {
	bool done;
	struct pw_ivals v[PW_FAM_NR];
};

struct compiler {
	const struct pw_engine *e;
	struct pw_ruleset *rs;
	struct key_map *keys[PW_DIR_NR];
	size_t nkeys[PW_DIR_NR], cap_keys[PW_DIR_NR];
	struct pw_ivals peer[PW_FAM_NR]; /* one rule's peers */
	struct spans spans; /* one rule's ports */
	struct peer_addrs *sets; /* by engine peer set, e->nsets */
};

static int span_add(struct spans *s, enum pw_proto proto, int64_t lo,
		    int64_t hi)
{
	struct span *sp = PW_PUSH(s->v, s->n, s->cap);

	if (!sp)
		return -ENOMEM;
	sp->proto = proto_num[proto];
	sp->lo = (uint16_t)lo;
	sp->hi = (uint16_t)hi;
	return 0;
}

/* The ports of entry pp on destination pod dst (NULL: numeric ports
 * only; named ones are resolved per destination by the caller). */
static int port_spans(struct spans *s, const struct pw_np_port *pp,
		      const struct pw_pod *dst)
{
	if (!pp->has_port)
		return span_add(s, pp->proto, 0, 65535);
	if (!pp->named)
		return span_add(s, pp->proto, pp->port,
				pp->has_end ? pp->end_port : pp->port);
	for (size_t i = 0; dst && i < dst->nports; i++) {
		const struct pw_cport *cp = &dst->ports[i];

		if (cp->name && cp->proto == pp->proto &&
		    !strcmp(cp->name, pp->name) &&
		    span_add(s, pp->proto, cp->port, cp->port))
			return -ENOMEM;
	}
	return 0;
}

static int add_pod_addrs(struct pw_ivals *v, const struct pw_pod *p)
{
	for (size_t j = 0; j < p->nips; j++) {
		pw_u128 a = pw_addr_to_u128(&p->ips[j]);

		if (pw_ivals_add(&v[pw_addr_fam(&p->ips[j])], a, a))
			return -ENOMEM;
	}
	return 0;
}

static int add_bits_addrs(const struct pw_engine *e, struct pw_ivals *v,
			  const uint64_t *bits)
{
	for (size_t w = 0; w < e->words; w++) {
		for (uint64_t m = bits[w]; m; m &= m - 1) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(m);

			if (add_pod_addrs(v, e->pods[i].pod))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The merged addresses of engine peer set si (peer_addrs). */
static const struct peer_addrs *set_addrs(struct compiler *c, uint32_t si)
{
	struct peer_addrs *pa = &c->sets[si];

	if (pa->done)
		return pa;
	if (add_bits_addrs(c->e, pa->v, c->e->sets[si].bits[PW_VIEW_FIRST]))
		return NULL;
	for (int f = 0; f < PW_FAM_NR; f++)
		pw_ivals_normalize(&pa->v[f]);
	pa->done = true;
	return pa;
}

static int ivals_append(struct pw_ivals *to, const struct pw_ivals *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (pw_ivals_add(to, from->v[i].lo, from->v[i].hi))
			return -ENOMEM;
	return 0;
}

/*
 * Every address a rule's peers admit into c->peer, merged (so that the
 * boxes crossed with the ports are few: a peer of 10k pods with
 * consecutive addresses is one interval). No peers: all.
 */
static int rule_peers(struct compiler *c, const struct pw_erule *er)
{
	const struct pw_engine *e = c->e;
	int ret = 0;

	for (int f = 0; f < PW_FAM_NR; f++)
		c->peer[f].n = 0;
	if (!er->r->npeers) {
		if (pw_ivals_add(&c->peer[PW_FAM_V4], 0, pw_fam_max(PW_FAM_V4)))
			return -ENOMEM;
		return pw_ivals_add(&c->peer[PW_FAM_V6], 0,
				    pw_fam_max(PW_FAM_V6));
	}
	for (size_t k = 0; k < er->r->npeers && !ret; k++) {
		const struct pw_peer *p = &er->r->peers[k];
		const struct peer_addrs *pa;

		if (p->has_ipblock) {
			ret = pw_ivals_add_ipblock(
				&c->peer[pw_addr_fam(&p->ipblock.cidr.addr)],
				&p->ipblock);
			continue;
		}
		pa = set_addrs(c, e->peer_set[er->peer_base + k]);
		for (int f = 0; f < PW_FAM_NR && !ret; f++)
			ret = pa ? ivals_append(&c->peer[f], &pa->v[f]) :
				   -ENOMEM;
	}
	for (int f = 0; f < PW_FAM_NR && !ret && er->r->npeers > 1; f++)
		pw_ivals_normalize(&c->peer[f]);
	return ret;
}

/* Appends c->peer x c->spans to the class's boxes. */
static int cross(struct compiler *c, struct pw_nft_class *k)
{
	for (int f = 0; f < PW_FAM_NR; f++) {
		for (size_t i = 0; i < c->peer[f].n; i++) {
			for (size_t j = 0; j < c->spans.n; j++) {
				struct pw_box b = {
					.lo = c->peer[f].v[i].lo,
					.hi = c->peer[f].v[i].hi,
					.proto = c->spans.v[j].proto,
					.plo = c->spans.v[j].lo,
					.phi = c->spans.v[j].hi,
				};

				if (pw_boxes_add(&k->ports[f], &b))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static int append_peers(struct compiler *c, struct pw_nft_class *k)
{
	for (int f = 0; f < PW_FAM_NR; f++)
		for (size_t i = 0; i < c->peer[f].n; i++)
			if (pw_ivals_add(&k->addr[f], c->peer[f].v[i].lo,
					 c->peer[f].v[i].hi))
				return -ENOMEM;
	return 0;
}

/* Whether rule er's peer k admits address j of pod q. */
static bool peer_admits(const struct pw_engine *e, const struct pw_erule *er,
			size_t k, size_t q, size_t j)
{
	const struct pw_peer *p = &er->r->peers[k];
	const struct pw_peerset *ps = &e->sets[e->peer_set[er->peer_base + k]];

	if (p->has_ipblock)
		return pw_ipblock_matches(&p->ipblock, &e->pods[q].pod->ips[j]);
	return pw_bits_test(ps->bits[PW_VIEW_FIRST], q);
}

static bool rule_admits(const struct pw_engine *e, const struct pw_erule *er,
			size_t q, size_t j)
{
	if (!er->r->npeers)
		return true;
	for (size_t k = 0; k < er->r->npeers; k++)
		if (peer_admits(e, er, k, q, j))
			return true;
	return false;
}

/*
 * A named port of an egress rule resolves on each destination pod: the
 * elements are that pod's admitted addresses with its own port number.
 */
static int egress_named(struct compiler *c, const struct pw_erule *er,
			const struct pw_np_port *pp, struct pw_nft_class *k)
{
	const struct pw_engine *e = c->e;

	for (size_t q = 0; q < e->npods; q++) {
		const struct pw_pod *dst = e->pods[q].pod;

		c->spans.n = 0;
		if (!dst->nips)
			continue;
		if (port_spans(&c->spans, pp, dst))
			return -ENOMEM;
		for (size_t j = 0; j < dst->nips && c->spans.n; j++) {
			pw_u128 a = pw_addr_to_u128(&dst->ips[j]);
			enum pw_fam f = pw_addr_fam(&dst->ips[j]);

			if (!rule_admits(e, er, q, j))
				continue;
			for (size_t s = 0; s < c->spans.n; s++) {
				struct pw_box b = { .lo = a,
						    .hi = a,
						    .proto =
							    c->spans.v[s].proto,
						    .plo = c->spans.v[s].lo,
						    .phi = c->spans.v[s].hi };

				if (pw_boxes_add(&k->ports[f], &b))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

/* One rule of direction d into class k; dst is the local pod for
 * ingress (named ports resolve on it), NULL for egress (named ports
 * resolve on each destination). */
static int add_rule(struct compiler *c, const struct pw_erule *er,
		    const struct pw_pod *dst, struct pw_nft_class *k)
{
	const struct pw_rule *r = er->r;
	int ret = rule_peers(c, er);

	if (ret || !r->nports)
		return ret ? ret : append_peers(c, k);
	for (size_t i = 0; i < r->nports && !ret && !dst; i++)
		if (r->ports[i].named)
			ret = egress_named(c, er, &r->ports[i], k);
	c->spans.n = 0;
	for (size_t i = 0; i < r->nports && !ret; i++)
		if (dst || !r->ports[i].named)
			ret = port_spans(&c->spans, &r->ports[i], dst);
	return ret ? ret : cross(c, k);
}

/* The names of the policies that select pod i on side d, sanitized,
 * as the class chain's comment. */
static int class_comment(const struct compiler *c, size_t i, enum pw_dir d,
			 struct pw_nft_class *k)
{
	const struct pw_eng_pod *ep = &c->e->pods[i];
	const uint32_t *pols = c->e->sel + ep->sel_off[d];
	char buf[PW_NFT_COMMENT_MAX] = "", raw[512];
	/* One name always fits whole or cut, with room for " ...". */
	char name[PW_NFT_COMMENT_MAX - 8];
	size_t len = 0;

	for (size_t n = 0; n < ep->nsel[d]; n++) {
		const struct pw_policy *p = &c->e->c->pols[pols[n]];
		size_t l;

		snprintf(raw, sizeof(raw), "%s/%s", p->ns, p->name);
		pw_nft_sanitize(raw, name, sizeof(name));
		l = strlen(name);
		if (len + l + 1 + 4 >= sizeof(buf)) {
			memcpy(buf + len, len ? " ..." : "...", 5);
			break;
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
					len ? " " : "", name);
	}
	k->comment = strdup(buf);
	return k->comment ? 0 : -ENOMEM;
}

static int build_class(struct compiler *c, size_t i, enum pw_dir d,
		       struct pw_nft_class *k)
{
	const struct pw_engine *e = c->e;
	const struct pw_eng_pod *ep = &e->pods[i];
	const uint32_t *pols = e->sel + ep->sel_off[d];
	int ret = 0;

	for (size_t n = 0; n < ep->nsel[d] && !ret; n++) {
		const struct pw_policy *p = &e->c->pols[pols[n]];
		uint32_t base = e->rule_base[pols[n]][d];

		for (size_t r = 0; r < p->nrules[d] && !ret; r++)
			ret = add_rule(c, &e->rules[base + r],
				       d == PW_DIR_INGRESS ? ep->pod : NULL, k);
	}
	if (!ret)
		ret = class_normalize(k);
	return ret ? ret : class_comment(c, i, d, k);
}

/* ---- class identity ------------------------------------------------ */

/* Spreads an FNV hash over all 64 bits (the splitmix64 finalizer), so
 * that a sum of such hashes does not cancel out by structure. */
static uint64_t mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* Hashes the strings a and b and the number v, each with its NUL as a
 * separator. */
static uint64_t part_hash(const char *tag, const char *a, const char *b,
			  int64_t v)
{
	uint64_t h = PW_HASH_INIT;

	h = pw_hash_bytes(h, tag, strlen(tag) + 1);
	h = pw_hash_bytes(h, a, strlen(a) + 1);
	h = pw_hash_bytes(h, b, strlen(b) + 1);
	for (int i = 0; i < 8; i++) {
		/* Byte by byte, so that ids do not depend on endianness. */
		uint8_t b8 = (uint8_t)((uint64_t)v >> (8 * i));

		h = pw_hash_bytes(h, &b8, 1);
	}
	return mix64(h);
}

/* Whether a rule port of policy p on side d names container port cp. */
static bool names_port(const struct pw_policy *p, enum pw_dir d,
		       const struct pw_cport *cp)
{
	for (size_t r = 0; r < p->nrules[d]; r++) {
		const struct pw_rule *ru = &p->rules[d][r];

		for (size_t k = 0; k < ru->nports; k++)
			if (ru->ports[k].named &&
			    ru->ports[k].proto == cp->proto &&
			    !strcmp(ru->ports[k].name, cp->name))
				return true;
	}
	return false;
}

/*
 * The identity of local pod i's side d (see struct pw_nft_class): sums,
 * so that the order of policies and container ports does not matter, of
 * the hashes of the selecting policies' names and, for ingress, of every
 * named container port (name, protocol, number) that one of their rules
 * names. It does not depend on which pods exist elsewhere, so a pod
 * added or removed leaves every other class's id alone.
 */
static uint64_t class_ident(const struct compiler *c, size_t i, enum pw_dir d)
{
	const struct pw_eng_pod *ep = &c->e->pods[i];
	const uint32_t *pols = c->e->sel + ep->sel_off[d];
	uint64_t h = mix64((uint64_t)d + 1);

	for (size_t n = 0; n < ep->nsel[d]; n++) {
		const struct pw_policy *p = &c->e->c->pols[pols[n]];

		h += part_hash("policy", p->ns, p->name, 0);
	}
	for (size_t j = 0; d == PW_DIR_INGRESS && j < ep->pod->nports; j++) {
		const struct pw_cport *cp = &ep->pod->ports[j];
		bool named = false;

		for (size_t n = 0; cp->name && !named && n < ep->nsel[d]; n++)
			named = names_port(&c->e->c->pols[pols[n]], d, cp);
		if (named)
			h += part_hash("port", cp->name, "",
				       (int64_t)proto_num[cp->proto] << 32 |
					       cp->port);
	}
	return h;
}

/* Finds or builds the class of local pod i's side d, into *cls. What a
 * side admits depends only on the engine's class of its selection list
 * (and, for ingress, of its container ports, which named ports resolve
 * against), so each such key is built once; keys that turn out to admit
 * the same traffic share the class. */
static int class_of(struct compiler *c, size_t i, enum pw_dir d, uint32_t *cls)
{
	const struct pw_eng_pod *ep = &c->e->pods[i];
	struct pw_ruleset *rs = c->rs;
	uint64_t key = (uint64_t)ep->set[d] << 32 |
		       (d == PW_DIR_INGRESS ? ep->pclass : 0);
	struct pw_nft_class k = { 0 }, *nk = NULL;
	struct key_map *km;
	size_t j;
	int ret;

	for (j = 0; j < c->nkeys[d]; j++)
		if (c->keys[d][j].key == key) {
			*cls = c->keys[d][j].cls;
			return 0;
		}
	ret = build_class(c, i, d, &k);
	k.ident = class_ident(c, i, d);
	for (j = 0; !ret && j < rs->ncls[d]; j++)
		if (rs->cls[d][j].hash == k.hash &&
		    rs->cls[d][j].ident == k.ident &&
		    !class_cmp(&rs->cls[d][j], &k))
			break;
	if (!ret && j == rs->ncls[d]) {
		nk = PW_PUSH(rs->cls[d], rs->ncls[d], rs->cap_cls[d]);
		if (!nk)
			ret = -ENOMEM;
	}
	if (nk) {
		*nk = k;
		memset(&k, 0, sizeof(k)); /* now owned by the ruleset */
	}
	km = ret ? NULL : PW_PUSH(c->keys[d], c->nkeys[d], c->cap_keys[d]);
	if (!ret && !km)
		ret = -ENOMEM;
	if (km)
		*km = (struct key_map){ .key = key, .cls = (uint32_t)j };
	*cls = (uint32_t)j;
	class_clear(&k);
	return ret;
}

static int addrs_add(struct pw_addrs *s, pw_u128 a)
{
	pw_u128 *p = PW_PUSH(s->v, s->n, s->cap);

	if (!p)
		return -ENOMEM;
	*p = a;
	return 0;
}

static int vmap_add(struct pw_ruleset *rs, enum pw_dir d,
		    const struct pw_eng_pod *ep, size_t i, uint32_t cls)
{
	char name[PW_NFT_COMMENT_MAX];

	pw_nft_sanitize(ep->name, name, sizeof(name));
	for (size_t j = 0; j < ep->pod->nips; j++) {
		const struct pw_addr *a = &ep->pod->ips[j];
		struct pw_nft_vmaps *m = &rs->vmap[d][pw_addr_fam(a)];
		struct pw_nft_vmap *v = PW_PUSH(m->v, m->n, m->cap);

		if (!v)
			return -ENOMEM;
		v->addr = pw_addr_to_u128(a);
		v->cls = cls;
		v->pod = (uint32_t)i;
		v->comment = strdup(name);
		if (!v->comment)
			return -ENOMEM;
	}
	return 0;
}

static bool is_local(const struct pw_ruleset *rs, const struct pw_pod *p)
{
	return !rs->node || (p->node && !strcmp(p->node, rs->node));
}

/* Pod i: known by its addresses; when local, its sides are enforced. */
static int add_pod(struct compiler *c, size_t i)
{
	const struct pw_eng_pod *ep = &c->e->pods[i];
	struct pw_ruleset *rs = c->rs;
	bool local = is_local(rs, ep->pod);
	uint32_t cls;
	int ret = 0;

	for (size_t j = 0; j < ep->pod->nips && !ret; j++) {
		const struct pw_addr *a = &ep->pod->ips[j];

		ret = addrs_add(&rs->known[pw_addr_fam(a)], pw_addr_to_u128(a));
		if (!ret && local)
			ret = addrs_add(&rs->self[pw_addr_fam(a)],
					pw_addr_to_u128(a));
	}
	if (ret || !local)
		return ret;
	if (!ep->pod->nips) {
		rs->nskipped++;
		return 0;
	}
	rs->nlocal++;
	for (int d = 0; d < PW_DIR_NR && !ret; d++) {
		if (!ep->nsel[d])
			continue; /* not isolated: no entry, nothing to check */
		ret = class_of(c, i, (enum pw_dir)d, &cls);
		if (!ret) /* the index, until classes get their ids */
			ret = vmap_add(rs, (enum pw_dir)d, ep, i, cls);
	}
	return ret;
}

/* ---- the ruleset ---------------------------------------------------- */

static int vmap_cmp(const void *pa, const void *pb)
{
	const struct pw_nft_vmap *a = pa, *b = pb;

	if (a->addr != b->addr)
		return u128_cmp(a->addr, b->addr);
	return a->pod < b->pod ? -1 : a->pod > b->pod;
}

/* Sorted by address; an address twice (two pods claiming one IP, which
 * the API server would not allow at once) keeps the first pod in matrix
 * order, since a map holds one verdict per key. */
static void vmap_sort(struct pw_nft_vmaps *m)
{
	size_t out = 0;

	sort(m->v, m->n, sizeof(*m->v), vmap_cmp);
	for (size_t i = 0; i < m->n; i++) {
		if (out && m->v[i].addr == m->v[out - 1].addr) {
			free(m->v[i].comment);
			continue;
		}
		m->v[out++] = m->v[i];
	}
	m->n = out;
}

static void addrs_sort(struct pw_addrs *s)
{
	size_t out = 0;

	sort(s->v, s->n, sizeof(*s->v), u128_qcmp);
	for (size_t i = 0; i < s->n; i++)
		if (!out || s->v[i] != s->v[out - 1])
			s->v[out++] = s->v[i];
	s->n = out;
}

/* This node's pod ranges: where an address that is no known pod is
 * dropped (fail-closed). */
static int node_ranges(struct pw_ruleset *rs, const struct pw_cluster *c)
{
	for (size_t i = 0; rs->node && i < c->nnodes; i++) {
		const struct pw_node *n = &c->nodes[i];

		if (strcmp(n->name, rs->node))
			continue;
		for (size_t j = 0; j < n->npod_cidrs; j++) {
			struct pw_ival iv = pw_cidr_ival(&n->pod_cidrs[j]);
			enum pw_fam f = pw_addr_fam(&n->pod_cidrs[j].addr);

			if (pw_ivals_add(&rs->ranges[f], iv.lo, iv.hi))
				return -ENOMEM;
		}
	}
	for (int f = 0; f < PW_FAM_NR; f++)
		pw_ivals_normalize(&rs->ranges[f]);
	return 0;
}

PW_EXPORT int pw_ruleset_add_pod_cidr(struct pw_ruleset *rs, const char *cidr)
{
	struct pw_cidr c;
	struct pw_ival iv;
	enum pw_fam f;

	if (pw_cidr_parse(cidr, &c, NULL, NULL))
		return -EINVAL;
	iv = pw_cidr_ival(&c);
	f = pw_addr_fam(&c.addr);
	if (pw_ivals_add(&rs->ranges[f], iv.lo, iv.hi))
		return -ENOMEM;
	pw_ivals_normalize(&rs->ranges[f]);
	/* The cached kernel image no longer matches. */
	pw_nft_image_free(rs->image);
	rs->image = NULL;
	return 0;
}

const struct pw_nft_vmap *pw_nft_vmap_find(const struct pw_nft_vmaps *m,
					   pw_u128 addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].addr == addr)
			return &m->v[mid];
		if (m->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

PW_EXPORT int pw_ruleset_set_flow_log(struct pw_ruleset *rs, unsigned int flags,
				      uint16_t group)
{
	if (flags & ~(unsigned int)(PW_FLOW_LOG_DENIED | PW_FLOW_LOG_ALLOWED))
		return -EINVAL;
	rs->flow_log = flags;
	rs->flow_group = flags ? group : 0;
	pw_nft_image_free(rs->image);
	rs->image = NULL;
	return 0;
}

/* Orders classes by identity, then elements (the tie-break). */
static int class_order(const void *pa, const void *pb)
{
	const struct pw_nft_class *a = pa, *b = pb;

	if (a->ident != b->ident)
		return a->ident < b->ident ? -1 : 1;
	return class_cmp(a, b);
}

/*
 * Gives side d's classes their ids and sorts them by id, which is the
 * order they are rendered in: the identity, or the next id after the
 * previous class's when a collision took it. The vmap entries, which
 * hold class indices until now, then get the ids.
 */
static int class_ids(struct pw_ruleset *rs, enum pw_dir d)
{
	size_t n = rs->ncls[d];
	uint64_t *ids = calloc(n + 1, sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	for (size_t j = 0; j < n; j++)
		rs->cls[d][j].id = j; /* remember the index across the sort */
	sort(rs->cls[d], n, sizeof(*rs->cls[d]), class_order);
	for (size_t j = 0; j < n; j++) {
		struct pw_nft_class *k = &rs->cls[d][j];
		uint64_t id = k->ident;

		if (j && id <= rs->cls[d][j - 1].id)
			id = rs->cls[d][j - 1].id + 1;
		ids[k->id] = id;
		k->id = id;
	}
	for (int f = 0; f < PW_FAM_NR; f++)
		for (size_t i = 0; i < rs->vmap[d][f].n; i++)
			rs->vmap[d][f].v[i].cls = ids[rs->vmap[d][f].v[i].cls];
	free(ids);
	return 0;
}

static int compile(struct compiler *c)
{
	struct pw_ruleset *rs = c->rs;
	int ret = node_ranges(rs, c->e->c);

	for (size_t i = 0; i < c->e->npods && !ret; i++)
		ret = add_pod(c, i);
	for (int d = 0; d < PW_DIR_NR && !ret; d++)
		ret = class_ids(rs, (enum pw_dir)d);
	for (int f = 0; f < PW_FAM_NR && !ret; f++) {
		for (int d = 0; d < PW_DIR_NR; d++)
			vmap_sort(&rs->vmap[d][f]);
		addrs_sort(&rs->known[f]);
		addrs_sort(&rs->self[f]);
	}
	return ret;
}

/* The compiler's working memory (not the ruleset it fills). */
static void compiler_free(struct compiler *c)
{
	for (int d = 0; d < PW_DIR_NR; d++)
		free(c->keys[d]);
	for (int f = 0; f < PW_FAM_NR; f++)
		free(c->peer[f].v);
	free(c->spans.v);
	for (size_t i = 0; c->sets && i < c->e->nsets; i++)
		for (int f = 0; f < PW_FAM_NR; f++)
			free(c->sets[i].v[f].v);
	free(c->sets);
}

PW_EXPORT struct pw_ruleset *pw_ruleset_new(const struct pw_engine *e,
					    const char *node)
{
	struct compiler c = { .e = e };
	int ret = -EINVAL;

	if (!e)
		goto err;
	ret = -ENOMEM;
	c.rs = calloc(1, sizeof(*c.rs));
	c.sets = calloc(e->nsets ? e->nsets : 1, sizeof(*c.sets));
	if (!c.rs || !c.sets) {
		free(c.sets);
		free(c.rs);
		goto err;
	}
	c.rs->node = pw_strdup(node);
	ret = node && !c.rs->node ? -ENOMEM : compile(&c);
	compiler_free(&c);
	if (ret)
		goto err_free_rs;
	return c.rs;
err_free_rs:
	pw_ruleset_free(c.rs);
err:
	errno = -ret;
	return NULL;
}

PW_EXPORT void pw_ruleset_free(struct pw_ruleset *rs)
{
	if (!rs)
		return;
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t i = 0; i < rs->ncls[d]; i++)
			class_clear(&rs->cls[d][i]);
		free(rs->cls[d]);
		for (int f = 0; f < PW_FAM_NR; f++) {
			for (size_t i = 0; i < rs->vmap[d][f].n; i++)
				free(rs->vmap[d][f].v[i].comment);
			free(rs->vmap[d][f].v);
		}
	}
	for (int f = 0; f < PW_FAM_NR; f++) {
		free(rs->ranges[f].v);
		free(rs->known[f].v);
		free(rs->self[f].v);
		free(rs->spoof[f].v);
	}
	pw_nft_image_free(rs->image);
	free(rs->node);
	free(rs);
}

PW_EXPORT size_t pw_ruleset_local_count(const struct pw_ruleset *rs)
{
	return rs->nlocal;
}

PW_EXPORT size_t pw_ruleset_skipped_count(const struct pw_ruleset *rs)
{
	return rs->nskipped;
}

PW_EXPORT size_t pw_ruleset_range_count(const struct pw_ruleset *rs)
{
	return rs->ranges[PW_FAM_V4].n + rs->ranges[PW_FAM_V6].n;
}
