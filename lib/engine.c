// SPDX-License-Identifier: Apache-2.0
/*
 * Compiling a finalized cluster into the engine's index: the matrix pods,
 * the policies selecting each pod, and the pods each peer admits. The
 * design is explained next to the structures in engine.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "bitset.h"
#include "engine.h"
#include "labels.h"

long pw_engine_ns_index(const struct pw_cluster *c, const char *name)
{
	size_t lo = 0, hi = c->nnss;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(c->nss[mid].name, name);

		if (!d)
			return (long)mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

long pw_engine_pod_index(const struct pw_engine *e, const char *name)
{
	size_t lo = 0, hi = e->npods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(e->pods[mid].name, name);

		if (!d)
			return (long)mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- matrix pods ------------------------------------------------------ */

bool pw_pod_in_matrix(const struct pw_pod *p)
{
	return !p->host_network && p->phase != PW_PHASE_SUCCEEDED &&
	       p->phase != PW_PHASE_FAILED;
}

char *pw_pod_matrix_name(const struct pw_pod *p)
{
	char *s;
	int n;

	if (p->kind)
		n = asprintf(&s, "%s/%s[%s]", p->ns, p->name, p->kind);
	else
		n = asprintf(&s, "%s/%s", p->ns, p->name);
	return n < 0 ? NULL : s;
}

static int eng_pod_cmp(const void *a, const void *b)
{
	const struct pw_eng_pod *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int collect_pods(struct pw_engine *e)
{
	const struct pw_cluster *c = e->c;

	e->pods = calloc(c->npods ? c->npods : 1, sizeof(*e->pods));
	if (!e->pods)
		return -ENOMEM;
	for (size_t i = 0; i < c->npods; i++) {
		struct pw_eng_pod *ep = &e->pods[e->npods];
		long ns = pw_engine_ns_index(c, c->pods[i].ns);

		if (!pw_pod_in_matrix(&c->pods[i]))
			continue;
		if (ns < 0)
			return -EINVAL; /* finalize adds every namespace */
		ep->pod = &c->pods[i];
		ep->ns_idx = (uint32_t)ns;
		ep->ns = &c->nss[ns];
		ep->name = pw_pod_matrix_name(ep->pod);
		if (!ep->name)
			return -ENOMEM;
		e->npods++;
	}
	qsort(e->pods, e->npods, sizeof(*e->pods), eng_pod_cmp);
	e->words = pw_bits_words(e->npods);
	e->ones = calloc(e->words ? e->words : 1, sizeof(uint64_t));
	if (!e->ones)
		return -ENOMEM;
	pw_bits_fill(e->ones, e->npods);
	return 0;
}

static int addr_pod_cmp(const void *pa, const void *pb)
{
	const struct pw_addr_pod *a = pa, *b = pb;
	int c = pw_addr_cmp(&a->a, &b->a);

	return c ? c : (a->pod > b->pod) - (a->pod < b->pod);
}

/* Every address of every matrix pod, sorted (struct pw_addr_pod). */
static int index_addresses(struct pw_engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->npods; i++)
		n += e->pods[i].pod->nips;
	e->addr_pods = calloc(n ? n : 1, sizeof(*e->addr_pods));
	if (!e->addr_pods)
		return -ENOMEM;
	for (size_t i = 0; i < e->npods; i++) {
		const struct pw_pod *p = e->pods[i].pod;

		for (size_t k = 0; k < p->nips; k++) {
			e->addr_pods[e->naddr_pods].a = p->ips[k];
			e->addr_pods[e->naddr_pods++].pod = (uint32_t)i;
		}
	}
	qsort(e->addr_pods, e->naddr_pods, sizeof(*e->addr_pods), addr_pod_cmp);
	return 0;
}

long pw_engine_addr_pod(const struct pw_engine *e, const struct pw_addr *a)
{
	size_t lo = 0, hi = e->naddr_pods;

	/* The first entry not below a: the lowest pod with that address. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pw_addr_cmp(&e->addr_pods[mid].a, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < e->naddr_pods && !pw_addr_cmp(&e->addr_pods[lo].a, a))
		return e->addr_pods[lo].pod;
	return -1;
}

/* ---- namespaces: pod ranges and the label index -------------------------- */

static int index_namespaces(struct pw_engine *e)
{
	const struct pw_cluster *c = e->c;

	e->ns_lo = calloc(c->nnss + 1, sizeof(*e->ns_lo));
	e->ns_hi = calloc(c->nnss + 1, sizeof(*e->ns_hi));
	if (!e->ns_lo || !e->ns_hi)
		return -ENOMEM;
	for (size_t i = e->npods; i-- > 0;)
		e->ns_lo[e->pods[i].ns_idx] = (uint32_t)i;
	for (size_t i = 0; i < e->npods; i++)
		e->ns_hi[e->pods[i].ns_idx] = (uint32_t)i + 1;
	for (size_t i = 0; i < c->nnss; i++)
		if (pw_nsindex_add(&e->nsx, &c->nss[i].labels, (uint32_t)i))
			return -ENOMEM;
	pw_nsindex_sort(&e->nsx);
	return 0;
}

/* ---- which policies select which pods ---------------------------------- */

/* Records policy i in pod ep's lists, if it selects the pod. */
static void select_pod(struct pw_engine *e, size_t i, struct pw_eng_pod *ep,
		       bool fill)
{
	const struct pw_policy *p = &e->c->pols[i];

	if (!pw_selector_matches(&p->pod_sel, &ep->pod->labels))
		return;
	for (int d = 0; d < PW_DIR_NR; d++) {
		if (!p->affects[d])
			continue;
		if (fill)
			e->sel[ep->sel_off[d] + ep->nsel[d]] = (uint32_t)i;
		ep->nsel[d]++;
	}
}

/* Two passes over each namespace's policies and pods: count, then fill,
 * so that every pod's list is one contiguous run of sel[]. */
static void select_pass(struct pw_engine *e, bool fill)
{
	const struct pw_cluster *c = e->c;

	for (size_t i = 0; i < c->npols; i++) {
		long ns = pw_engine_ns_index(c, c->pols[i].ns);

		if (ns < 0)
			continue;
		for (size_t k = e->ns_lo[ns]; k < e->ns_hi[ns]; k++)
			select_pod(e, i, &e->pods[k], fill);
	}
}

static int select_policies(struct pw_engine *e)
{
	size_t total = 0;

	select_pass(e, false);
	for (size_t k = 0; k < e->npods; k++) {
		for (int d = 0; d < PW_DIR_NR; d++) {
			e->pods[k].sel_off[d] = (uint32_t)total;
			total += e->pods[k].nsel[d];
			e->pods[k].nsel[d] = 0;
		}
	}
	e->sel = calloc(total ? total : 1, sizeof(*e->sel));
	if (!e->sel)
		return -ENOMEM;
	e->nsel = total;
	select_pass(e, true);
	return 0;
}

/* ---- classes of pods the matrix treats alike ------------------------- */

/*
 * Items 0..n-1 (pods) put in classes of equal items, numbered in order of
 * first appearance; the matrix computes one row per class instead of one
 * per pod.
 */
struct interner {
	const struct pw_engine *e;
	int dir;
	uint64_t (*hash)(const struct interner *in, size_t i);
	bool (*eq)(const struct interner *in, size_t a, size_t b);
};

static long intern(const struct interner *in, size_t n, uint32_t *ids)
{
	size_t size = 16, nclasses = 0;
	uint32_t *slot;

	while (size < 2 * n)
		size *= 2;
	slot = calloc(size, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t at = in->hash(in, i) & (size - 1);

		while (slot[at] && !in->eq(in, slot[at] - 1, i))
			at = (at + 1) & (size - 1);
		if (!slot[at]) {
			slot[at] = (uint32_t)i + 1;
			ids[i] = (uint32_t)nclasses++;
		} else {
			ids[i] = ids[slot[at] - 1];
		}
	}
	free(slot);
	return (long)nclasses;
}

static const uint32_t *sel_list(const struct pw_engine *e, size_t k, int d)
{
	return e->sel + e->pods[k].sel_off[d];
}

static uint64_t sel_hash(const struct interner *in, size_t k)
{
	size_t n = in->e->pods[k].nsel[in->dir];

	return pw_hash_bytes(PW_HASH_INIT, sel_list(in->e, k, in->dir),
			     n * sizeof(uint32_t));
}

static bool sel_eq(const struct interner *in, size_t a, size_t b)
{
	size_t n = in->e->pods[a].nsel[in->dir];

	return n == in->e->pods[b].nsel[in->dir] &&
	       !memcmp(sel_list(in->e, a, in->dir), sel_list(in->e, b, in->dir),
		       n * sizeof(uint32_t));
}

static uint64_t cports_hash(const struct interner *in, size_t k)
{
	const struct pw_pod *p = in->e->pods[k].pod;
	uint64_t h = PW_HASH_INIT;

	for (size_t i = 0; i < p->nports; i++) {
		const struct pw_cport *cp = &p->ports[i];
		const char *name = cp->name ? cp->name : "";

		h = pw_hash_bytes(h, name, strlen(name) + 1);
		h = pw_hash_bytes(h, &cp->port, sizeof(cp->port));
		h = pw_hash_bytes(h, &cp->proto, sizeof(cp->proto));
	}
	return h;
}

static bool cports_eq(const struct interner *in, size_t a, size_t b)
{
	return pw_cports_same(in->e->pods[a].pod, in->e->pods[b].pod);
}

/* Selection lists per direction, and container ports (which decide named
 * ports), each interned into class numbers. */
static int classify_pods(struct pw_engine *e)
{
	struct interner in = { .e = e, .hash = sel_hash, .eq = sel_eq };
	uint32_t *ids = calloc(e->npods + 1, sizeof(*ids));
	int err = -ENOMEM;
	long n;

	if (!ids)
		return -ENOMEM;
	for (in.dir = 0; in.dir < PW_DIR_NR; in.dir++) {
		n = intern(&in, e->npods, ids);
		if (n < 0)
			goto out_free_ids;
		e->nset_ids[in.dir] = (size_t)n;
		for (size_t k = 0; k < e->npods; k++)
			e->pods[k].set[in.dir] = ids[k];
	}
	in.hash = cports_hash;
	in.eq = cports_eq;
	n = intern(&in, e->npods, ids);
	if (n < 0)
		goto out_free_ids;
	for (size_t k = 0; k < e->npods; k++)
		e->pods[k].pclass = ids[k];
	err = 0;
out_free_ids:
	free(ids);
	return err;
}

/* ---- peer sets ---------------------------------------------------------- */

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	return pw_hash_bytes(h, &v, sizeof(v));
}

static uint64_t hash_cidr(uint64_t h, const struct pw_cidr *c)
{
	h = pw_hash_bytes(h, &c->addr.family, 1);
	h = pw_hash_bytes(h, c->addr.b, sizeof(c->addr.b));
	return pw_hash_bytes(h, &c->len, 1);
}

static uint64_t peer_hash(const struct pw_peer *p, uint32_t ns)
{
	uint64_t h = PW_HASH_INIT;

	if (p->has_ipblock) {
		h = hash_cidr(hash_u64(h, 1), &p->ipblock.cidr);
		for (size_t i = 0; i < p->ipblock.nexcept; i++)
			h = hash_cidr(h, &p->ipblock.except[i].cidr);
		return h;
	}
	if (p->has_ns_sel)
		h = hash_u64(hash_u64(h, 2), pw_selector_hash(&p->ns_sel));
	else
		h = hash_u64(hash_u64(h, 3), ns);
	return hash_u64(h, pw_selector_hash(&p->pod_sel));
}

/* Whether two peers (of policies in namespaces na, nb) admit the same
 * pods, judged on their canonical form. */
static bool peer_eq(const struct pw_peer *a, uint32_t na,
		    const struct pw_peer *b, uint32_t nb)
{
	if (a->has_ipblock || b->has_ipblock)
		return a->has_ipblock && b->has_ipblock &&
		       pw_ipblock_same(&a->ipblock, &b->ipblock);
	if (a->has_ns_sel != b->has_ns_sel)
		return false;
	if (a->has_ns_sel ? !pw_selector_equal(&a->ns_sel, &b->ns_sel) :
			    na != nb)
		return false;
	return pw_selector_equal(&a->pod_sel, &b->pod_sel);
}

static void add_ns_pods(const struct pw_engine *e, uint32_t ns,
			const struct pw_selector *pod_sel, uint64_t *bits)
{
	for (size_t k = e->ns_lo[ns]; k < e->ns_hi[ns]; k++)
		if (pw_selector_matches(pod_sel, &e->pods[k].pod->labels))
			pw_bits_set(bits, k);
}

static void add_if_ns_matches(const struct pw_engine *e, uint32_t ns,
			      const struct pw_peer *p, uint64_t *bits)
{
	if (pw_selector_matches(&p->ns_sel, &e->c->nss[ns].labels))
		add_ns_pods(e, ns, &p->pod_sel, bits);
}

/* A namespace the index names as a candidate of the peer being filled. */
struct fill {
	const struct pw_engine *e;
	const struct pw_peer *p;
	uint64_t *bits;
};

static void fill_candidate(void *ctx, uint32_t ns)
{
	const struct fill *f = ctx;

	add_if_ns_matches(f->e, ns, f->p, f->bits);
}

static void fill_selector_set(const struct pw_engine *e,
			      const struct pw_peer *p, uint32_t ns,
			      uint64_t *bits)
{
	struct fill f = { .e = e, .p = p, .bits = bits };

	if (!p->has_ns_sel) {
		add_ns_pods(e, ns, &p->pod_sel, bits);
		return;
	}
	if (!pw_nsindex_each(&e->nsx, &p->ns_sel, fill_candidate, &f))
		for (size_t i = 0; i < e->c->nnss; i++)
			add_if_ns_matches(e, (uint32_t)i, p, bits);
}

/* The pod's address of a family (0: its first), or NULL. */
static const struct pw_addr *pod_addr(const struct pw_pod *p, int family)
{
	for (size_t i = 0; i < p->nips; i++)
		if (!family || p->ips[i].family == family)
			return &p->ips[i];
	return NULL;
}

static void fill_ipblock_set(const struct pw_engine *e,
			     const struct pw_ipblock *b, uint64_t *bits)
{
	static const int fam[PW_VIEW_NR] = { 4, 6, 0 };

	for (size_t k = 0; k < e->npods; k++) {
		for (int v = 0; v < PW_VIEW_NR; v++) {
			const struct pw_addr *a =
				pod_addr(e->pods[k].pod, fam[v]);

			if (a && pw_ipblock_matches(b, a))
				pw_bits_set(bits + v * e->words, k);
		}
	}
}

static int new_set(struct pw_engine *e, const struct pw_peer *p, uint32_t ns,
		   uint64_t h)
{
	size_t views = p->has_ipblock ? PW_VIEW_NR : 1;
	size_t words = e->words ? e->words : 1;
	struct pw_peerset *s = PW_PUSH(e->sets, e->nsets, e->cap_sets);

	if (!s)
		return -ENOMEM;
	s->own = calloc(views * words, sizeof(uint64_t));
	if (!s->own) {
		e->nsets--;
		return -ENOMEM;
	}
	s->rep = p;
	s->ns = ns;
	s->hash = h;
	for (int v = 0; v < PW_VIEW_NR; v++)
		s->bits[v] = s->own + (views > 1 ? v * words : 0);
	if (p->has_ipblock)
		fill_ipblock_set(e, &p->ipblock, s->own);
	else
		fill_selector_set(e, p, ns, s->own);
	return 0;
}

static int memo_grow(struct pw_engine *e)
{
	size_t size = e->memo_size ? e->memo_size * 2 : 1024;
	uint32_t *m = calloc(size, sizeof(*m));

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < e->nsets; i++) {
		size_t at = e->sets[i].hash & (size - 1);

		while (m[at])
			at = (at + 1) & (size - 1);
		m[at] = (uint32_t)i + 1;
	}
	free(e->memo);
	e->memo = m;
	e->memo_size = size;
	return 0;
}

/* The set index of peer p of a policy in namespace ns, shared with every
 * equal peer seen before. */
static int peer_set_of(struct pw_engine *e, const struct pw_peer *p,
		       uint32_t ns, uint32_t *out)
{
	uint64_t h = peer_hash(p, ns);
	size_t at;
	int err;

	if ((e->nsets + 1) * 2 > e->memo_size && (err = memo_grow(e)))
		return err;
	for (at = h & (e->memo_size - 1); e->memo[at];
	     at = (at + 1) & (e->memo_size - 1)) {
		const struct pw_peerset *s = &e->sets[e->memo[at] - 1];

		if (s->hash == h && peer_eq(s->rep, s->ns, p, ns)) {
			*out = e->memo[at] - 1;
			return 0;
		}
	}
	err = new_set(e, p, ns, h);
	if (err)
		return err;
	e->memo[at] = (uint32_t)e->nsets;
	*out = (uint32_t)e->nsets - 1;
	return 0;
}

static int add_rule(struct pw_engine *e, const struct pw_rule *r, uint32_t ns)
{
	struct pw_erule *er = PW_PUSH(e->rules, e->nrules, e->cap_rules);
	int err;

	if (!er)
		return -ENOMEM;
	er->r = r;
	er->peer_base = (uint32_t)e->npeers;
	if (pw_grow((void **)&e->peer_set, &e->cap_peers, e->npeers + r->npeers,
		    sizeof(*e->peer_set)))
		return -ENOMEM;
	for (size_t k = 0; k < r->npeers; k++) {
		err = peer_set_of(e, &r->peers[k], ns, &e->peer_set[e->npeers]);
		if (err)
			return err;
		e->npeers++;
	}
	return 0;
}

static int compile_rules(struct pw_engine *e)
{
	const struct pw_cluster *c = e->c;
	int err;

	e->rule_base = calloc(c->npols ? c->npols : 1, sizeof(*e->rule_base));
	if (!e->rule_base)
		return -ENOMEM;
	for (size_t i = 0; i < c->npols; i++) {
		const struct pw_policy *p = &c->pols[i];
		long ns = pw_engine_ns_index(c, p->ns);

		for (int d = 0; d < PW_DIR_NR; d++) {
			e->rule_base[i][d] = (uint32_t)e->nrules;
			for (size_t k = 0; k < p->nrules[d] && ns >= 0; k++) {
				err = add_rule(e, &p->rules[d][k],
					       (uint32_t)ns);
				if (err)
					return err;
			}
		}
	}
	return 0;
}

/* ---- default ports ------------------------------------------------------ */

static int port_cmp(const void *a, const void *b)
{
	const struct pw_port *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (int)x->num - (int)y->num;
}

static int add_port(struct pw_engine *e, size_t *cap, int64_t num,
		    enum pw_proto proto)
{
	struct pw_port *p;

	if (num < 1 || num > 65535)
		return 0;
	p = PW_PUSH(e->defports, e->ndefports, *cap);
	if (!p)
		return -ENOMEM;
	p->num = (uint16_t)num;
	p->proto = (uint8_t)proto;
	return 0;
}

static int policy_ports(struct pw_engine *e, size_t *cap,
			const struct pw_policy *p)
{
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t k = 0; k < p->nrules[d]; k++) {
			const struct pw_rule *r = &p->rules[d][k];

			for (size_t j = 0; j < r->nports; j++) {
				const struct pw_np_port *pp = &r->ports[j];

				if (!pp->has_port || pp->named)
					continue;
				if (add_port(e, cap, pp->port, pp->proto))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static int default_ports(struct pw_engine *e)
{
	size_t cap = 0, n = 0;

	for (size_t k = 0; k < e->npods; k++) {
		const struct pw_pod *p = e->pods[k].pod;

		for (size_t j = 0; j < p->nports; j++)
			if (add_port(e, &cap, p->ports[j].port,
				     p->ports[j].proto))
				return -ENOMEM;
	}
	for (size_t i = 0; i < e->c->npols; i++)
		if (policy_ports(e, &cap, &e->c->pols[i]))
			return -ENOMEM;
	if (!e->ndefports)
		return 0;
	qsort(e->defports, e->ndefports, sizeof(*e->defports), port_cmp);
	for (size_t i = 1; i < e->ndefports; i++)
		if (port_cmp(&e->defports[n], &e->defports[i]))
			e->defports[++n] = e->defports[i];
	e->ndefports = n + 1;
	return 0;
}

/* ---- the engine --------------------------------------------------------- */

PW_EXPORT struct pw_engine *pw_engine_new(const struct pw_cluster *c)
{
	static int (*const steps[])(struct pw_engine *) = {
		collect_pods,	 index_addresses, index_namespaces,
		select_policies, classify_pods,	  compile_rules,
		default_ports,
	};
	struct pw_engine *e;
	int err = 0;

	if (!c || !c->finalized || !c->valid) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->c = c;
	for (size_t i = 0; !err && i < PW_ARRAY_SIZE(steps); i++)
		err = steps[i](e);
	if (err) {
		pw_engine_free(e);
		errno = -err;
		return NULL;
	}
	return e;
}

PW_EXPORT void pw_engine_free(struct pw_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->npods; i++)
		free(e->pods[i].name);
	for (size_t i = 0; i < e->nsets; i++)
		free(e->sets[i].own);
	free(e->pods);
	free(e->ns_lo);
	free(e->ns_hi);
	pw_nsindex_clear(&e->nsx);
	free(e->sel);
	free(e->rule_base);
	free(e->rules);
	free(e->peer_set);
	free(e->sets);
	free(e->memo);
	free(e->defports);
	free(e->ones);
	free(e->addr_pods);
	free(e);
}

PW_EXPORT size_t pw_engine_pod_count(const struct pw_engine *e)
{
	return e->npods;
}

PW_EXPORT const char *pw_engine_pod_name(const struct pw_engine *e, size_t i)
{
	return i < e->npods ? e->pods[i].name : NULL;
}

/* The cluster index of matrix pod i, for the cluster's accessors; the
 * count of pods (out of range for them) when i is out of range. */
static size_t cluster_index(const struct pw_engine *e, size_t i)
{
	return i < e->npods ? (size_t)(e->pods[i].pod - e->c->pods) :
			      e->c->npods;
}

PW_EXPORT const char *pw_engine_pod_node(const struct pw_engine *e, size_t i)
{
	return pw_cluster_pod_node(e->c, cluster_index(e, i));
}

PW_EXPORT size_t pw_engine_pod_addrs(const struct pw_engine *e, size_t i,
				     struct pw_addr *out, size_t max)
{
	return pw_cluster_pod_addrs(e->c, cluster_index(e, i), out, max);
}

PW_EXPORT size_t pw_engine_pod_ports(const struct pw_engine *e, size_t i,
				     struct pw_port *out, size_t max)
{
	return pw_cluster_pod_ports(e->c, cluster_index(e, i), out, max);
}

PW_EXPORT size_t pw_engine_default_ports(const struct pw_engine *e,
					 struct pw_port *out, size_t max)
{
	for (size_t i = 0; i < e->ndefports && i < max; i++)
		out[i] = e->defports[i];
	return e->ndefports;
}

bool pw_np_port_matches(const struct pw_np_port *pp, const struct pw_port *port,
			const struct pw_pod *dst)
{
	if (pp->proto != port->proto)
		return false;
	if (!pp->has_port)
		return true;
	if (pp->named) {
		for (size_t i = 0; dst && i < dst->nports; i++) {
			const struct pw_cport *cp = &dst->ports[i];

			if (cp->name && cp->proto == pp->proto &&
			    cp->port == port->num &&
			    !strcmp(cp->name, pp->name))
				return true;
		}
		return false;
	}
	if (pp->has_end)
		return port->num >= pp->port && port->num <= pp->end_port;
	return port->num == pp->port;
}
