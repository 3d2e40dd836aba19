// SPDX-License-Identifier: Apache-2.0
/*
 * Classes: what one local pod's side admits, as the normalized elements
 * of its chain's sets, built from the policies that select the pod and
 * the addresses their rules' peers admit. Who answers "which addresses
 * does this peer admit" is the caller's business (struct pw_nft_src):
 * the engine for a compile from scratch (nft_compile.c), the incremental
 * compiler's peer memberships for an agent (nft_live.c). Both must give
 * byte-equal classes for the same cluster, so everything that decides the
 * elements, the identity and the comment lives here, once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "datapath.h"

/* IP protocol numbers of enum pw_proto. */
const uint8_t pw_proto_num[PW_PROTO_NR] = {
	[PW_PROTO_TCP] = 6,
	[PW_PROTO_UDP] = 17,
	[PW_PROTO_SCTP] = 132,
};

/* ---- the normal form ------------------------------------------------ */

void pw_nft_class_clear(struct pw_nft_class *k)
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

int pw_nft_class_cmp(const struct pw_nft_class *a, const struct pw_nft_class *b)
{
	int r = 0;

	for (int f = 0; f < PW_FAM_NR && !r; f++) {
		r = size_cmp(a->addr[f].n, b->addr[f].n);
		if (!r)
			r = size_cmp(a->ports[f].n, b->ports[f].n);
		for (size_t i = 0; !r && i < a->addr[f].n; i++)
			r = pw_ival_cmp(&a->addr[f].v[i], &b->addr[f].v[i]);
		for (size_t i = 0; !r && i < a->ports[f].n; i++)
			r = pw_box_cmp(&a->ports[f].v[i], &b->ports[f].v[i]);
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

int pw_nft_class_copy(struct pw_nft_class *to, const struct pw_nft_class *from)
{
	*to = *from;
	for (int f = 0; f < PW_FAM_NR; f++) {
		to->addr[f].v = NULL;
		to->addr[f].cap = 0;
		to->ports[f].v = NULL;
		to->ports[f].cap = 0;
	}
	to->comment = NULL;
	for (int f = 0; f < PW_FAM_NR; f++) {
		to->addr[f].n = to->ports[f].n = 0;
		for (size_t i = 0; i < from->addr[f].n; i++)
			if (pw_ivals_add(&to->addr[f], from->addr[f].v[i].lo,
					 from->addr[f].v[i].hi))
				goto err;
		for (size_t i = 0; i < from->ports[f].n; i++)
			if (pw_boxes_add(&to->ports[f], &from->ports[f].v[i]))
				goto err;
	}
	to->comment = pw_strdup(from->comment);
	if (from->comment && !to->comment)
		goto err;
	return 0;
err:
	pw_nft_class_clear(to);
	return -ENOMEM;
}

/* ---- elements -------------------------------------------------------- */

void pw_nft_scratch_clear(struct pw_nft_scratch *s)
{
	for (int f = 0; f < PW_FAM_NR; f++)
		free(s->peer[f].v);
	free(s->spans.v);
	memset(s, 0, sizeof(*s));
}

static int span_add(struct pw_nft_spans *s, enum pw_proto proto, int64_t lo,
		    int64_t hi)
{
	struct pw_nft_span *sp = PW_PUSH(s->v, s->n, s->cap);

	if (!sp)
		return -ENOMEM;
	sp->proto = pw_proto_num[proto];
	sp->lo = (uint16_t)lo;
	sp->hi = (uint16_t)hi;
	return 0;
}

/* The ports of entry pp on a destination with container ports cp[0..n)
 * (none: numeric ports only; named ones of egress rules are resolved per
 * destination by the caller). */
static int port_spans(struct pw_nft_spans *s, const struct pw_np_port *pp,
		      const struct pw_cport *cp, size_t n)
{
	if (!pp->has_port)
		return span_add(s, pp->proto, 0, 65535);
	if (!pp->named)
		return span_add(s, pp->proto, pp->port,
				pp->has_end ? pp->end_port : pp->port);
	for (size_t i = 0; i < n; i++)
		if (cp[i].name && cp[i].proto == pp->proto &&
		    !strcmp(cp[i].name, pp->name) &&
		    span_add(s, pp->proto, cp[i].port, cp[i].port))
			return -ENOMEM;
	return 0;
}

static int ivals_append(struct pw_ivals *to, const struct pw_ivals *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (pw_ivals_add(to, from->v[i].lo, from->v[i].hi))
			return -ENOMEM;
	return 0;
}

/* What one rule is, for the builder: rule r of pols[j] on the source's
 * side. */
struct rule_at {
	const struct pw_nft_src *src;
	const struct pw_rule *r;
	size_t j, ri;
};

/*
 * Every address a rule's peers admit into s->peer, merged (so that the
 * boxes crossed with the ports are few: a peer of 10k pods with
 * consecutive addresses is one interval). No peers: all.
 */
static int rule_peers(struct pw_nft_scratch *s, const struct rule_at *at)
{
	const struct pw_nft_src *src = at->src;
	int ret = 0;

	for (int f = 0; f < PW_FAM_NR; f++)
		s->peer[f].n = 0;
	if (!at->r->npeers) {
		if (pw_ivals_add(&s->peer[PW_FAM_V4], 0, pw_fam_max(PW_FAM_V4)))
			return -ENOMEM;
		return pw_ivals_add(&s->peer[PW_FAM_V6], 0,
				    pw_fam_max(PW_FAM_V6));
	}
	for (size_t k = 0; k < at->r->npeers && !ret; k++) {
		const struct pw_peer *p = &at->r->peers[k];
		const struct pw_ivals *pa;

		if (p->has_ipblock) {
			ret = pw_ivals_add_ipblock(
				&s->peer[pw_addr_fam(&p->ipblock.cidr.addr)],
				&p->ipblock);
			continue;
		}
		pa = src->ops->addrs(src->ctx, at->j, at->ri, k);
		for (int f = 0; f < PW_FAM_NR && !ret; f++)
			ret = pa ? ivals_append(&s->peer[f], &pa[f]) : -ENOMEM;
	}
	for (int f = 0; f < PW_FAM_NR && !ret && at->r->npeers > 1; f++)
		pw_ivals_normalize(&s->peer[f]);
	return ret;
}

/* Appends s->peer x s->spans to the class's boxes. */
static int cross(const struct pw_nft_scratch *s, struct pw_nft_class *k)
{
	for (int f = 0; f < PW_FAM_NR; f++) {
		for (size_t i = 0; i < s->peer[f].n; i++) {
			for (size_t j = 0; j < s->spans.n; j++) {
				struct pw_box b = {
					.lo = s->peer[f].v[i].lo,
					.hi = s->peer[f].v[i].hi,
					.proto = s->spans.v[j].proto,
					.plo = s->spans.v[j].lo,
					.phi = s->spans.v[j].hi,
				};

				if (pw_boxes_add(&k->ports[f], &b))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static int append_peers(const struct pw_nft_scratch *s, struct pw_nft_class *k)
{
	for (int f = 0; f < PW_FAM_NR; f++)
		if (ivals_append(&k->addr[f], &s->peer[f]))
			return -ENOMEM;
	return 0;
}

/* Whether the rule admits address a of the pod in slot q. */
static bool rule_admits(const struct rule_at *at, size_t q,
			const struct pw_addr *a)
{
	const struct pw_nft_src *src = at->src;

	if (!at->r->npeers)
		return true;
	for (size_t k = 0; k < at->r->npeers; k++) {
		const struct pw_peer *p = &at->r->peers[k];

		if (p->has_ipblock ?
			    pw_ipblock_matches(&p->ipblock, a) :
			    src->ops->admits(src->ctx, at->j, at->ri, k, q))
			return true;
	}
	return false;
}

static int add_boxes(struct pw_nft_class *k, const struct pw_nft_spans *sp,
		     const struct pw_addr *a)
{
	pw_u128 v = pw_addr_to_u128(a);

	for (size_t s = 0; s < sp->n; s++) {
		struct pw_box b = { .lo = v,
				    .hi = v,
				    .proto = sp->v[s].proto,
				    .plo = sp->v[s].lo,
				    .phi = sp->v[s].hi };

		if (pw_boxes_add(&k->ports[pw_addr_fam(a)], &b))
			return -ENOMEM;
	}
	return 0;
}

/*
 * A named port of an egress rule resolves on each destination pod: the
 * elements are that pod's admitted addresses with its own port number.
 */
static int egress_named(struct pw_nft_scratch *s, const struct rule_at *at,
			const struct pw_np_port *pp, struct pw_nft_class *k)
{
	const struct pw_nft_src *src = at->src;
	size_t n = src->ops->npods(src->ctx);

	for (size_t q = 0; q < n; q++) {
		const struct pw_pod *dst = src->ops->pod(src->ctx, q);

		if (!dst || !dst->nips)
			continue;
		s->spans.n = 0;
		if (port_spans(&s->spans, pp, dst->ports, dst->nports))
			return -ENOMEM;
		for (size_t j = 0; j < dst->nips && s->spans.n; j++)
			if (rule_admits(at, q, &dst->ips[j]) &&
			    add_boxes(k, &s->spans, &dst->ips[j]))
				return -ENOMEM;
	}
	return 0;
}

static int add_rule(struct pw_nft_scratch *s, const struct rule_at *at,
		    struct pw_nft_class *k)
{
	const struct pw_nft_src *src = at->src;
	const struct pw_rule *r = at->r;
	bool in = src->dir == PW_DIR_INGRESS;
	int ret = rule_peers(s, at);

	if (ret || !r->nports)
		return ret ? ret : append_peers(s, k);
	for (size_t i = 0; i < r->nports && !ret && !in; i++)
		if (r->ports[i].named)
			ret = egress_named(s, at, &r->ports[i], k);
	s->spans.n = 0;
	for (size_t i = 0; i < r->nports && !ret; i++)
		if (in || !r->ports[i].named)
			ret = port_spans(&s->spans, &r->ports[i],
					 in ? src->ports : NULL,
					 in ? src->nports : 0);
	return ret ? ret : cross(s, k);
}

/* ---- identity and comment ------------------------------------------ */

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

bool pw_nft_port_named(const struct pw_policy *const *pols, size_t n,
		       enum pw_dir d, const struct pw_cport *cp)
{
	for (size_t j = 0; cp->name && j < n; j++)
		if (names_port(pols[j], d, cp))
			return true;
	return false;
}

/*
 * The identity of a side (see struct pw_nft_class): sums, so that the
 * order of policies and container ports does not matter, of the hashes
 * of the selecting policies' names and, for ingress, of every named
 * container port (name, protocol, number) that one of their rules names.
 * It does not depend on which pods exist elsewhere, so a pod added or
 * removed leaves every other class's id alone.
 */
static uint64_t class_ident(const struct pw_nft_src *src)
{
	uint64_t h = mix64((uint64_t)src->dir + 1);

	for (size_t j = 0; j < src->npols; j++)
		h += part_hash("policy", src->pols[j]->ns, src->pols[j]->name,
			       0);
	for (size_t i = 0; src->dir == PW_DIR_INGRESS && i < src->nports; i++) {
		const struct pw_cport *cp = &src->ports[i];

		if (pw_nft_port_named(src->pols, src->npols, src->dir, cp))
			h += part_hash("port", cp->name, "",
				       (int64_t)pw_proto_num[cp->proto] << 32 |
					       cp->port);
	}
	return h;
}

/* The names of the selecting policies, sanitized, as the class chain's
 * comment. */
static int class_comment(const struct pw_nft_src *src, struct pw_nft_class *k)
{
	char buf[PW_NFT_COMMENT_MAX] = "", raw[512];
	/* One name always fits whole or cut, with room for " ...". */
	char name[PW_NFT_COMMENT_MAX - 8];
	size_t len = 0;

	for (size_t j = 0; j < src->npols; j++) {
		size_t l;

		snprintf(raw, sizeof(raw), "%s/%s", src->pols[j]->ns,
			 src->pols[j]->name);
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

int pw_nft_class_build(const struct pw_nft_src *src, struct pw_nft_scratch *s,
		       struct pw_nft_class *k)
{
	int ret = 0;

	memset(k, 0, sizeof(*k));
	for (size_t j = 0; j < src->npols && !ret; j++) {
		const struct pw_policy *p = src->pols[j];

		for (size_t r = 0; r < p->nrules[src->dir] && !ret; r++) {
			struct rule_at at = { .src = src,
					      .r = &p->rules[src->dir][r],
					      .j = j,
					      .ri = r };

			ret = add_rule(s, &at, k);
		}
	}
	if (!ret)
		ret = class_normalize(k);
	if (!ret)
		ret = class_comment(src, k);
	k->ident = class_ident(src);
	if (ret)
		pw_nft_class_clear(k);
	return ret;
}
