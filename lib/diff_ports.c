// SPDX-License-Identifier: Apache-2.0
/*
 * Port classes, the first step of the diff (lib/diff.h): the answer on a
 * port depends only on which policy port entries (numbers and ranges)
 * contain it and on which container ports with a name some policy uses
 * sit on it, so the elementary intervals between those bounds, grouped by
 * the set of entries that contain them, are the classes; one
 * representative port per class stands for all its ports. Ports that
 * nothing names behave alike on every protocol unless some entry names a
 * protocol without a port, so they share one class across protocols.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bitset.h"
#include "util.h"
#include "diff.h"

static int add_feat(struct ports *ps, uint8_t proto, int64_t lo, int64_t hi)
{
	struct feat *f = PW_PUSH(ps->feats, ps->nfeats, ps->cap_feats);

	if (!f)
		return -ENOMEM;
	f->proto = proto;
	f->lo = (uint16_t)lo;
	f->hi = (uint16_t)hi;
	return 0;
}

static int entry_feat(struct ports *ps, const struct pw_np_port *pp)
{
	const struct pw_np_port **n;

	if (!pp->has_port) {
		ps->portless[pp->proto] = true;
		return 0;
	}
	if (!pp->named)
		return add_feat(ps, pp->proto, pp->port,
				pp->has_end ? pp->end_port : pp->port);
	n = PW_PUSH(ps->names, ps->nnames, ps->cap_names);
	if (!n)
		return -ENOMEM;
	*n = pp;
	return 0;
}

static int policy_feats(struct ports *ps, const struct pw_policy *p)
{
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t k = 0; k < p->nrules[d]; k++) {
			const struct pw_rule *r = &p->rules[d][k];

			for (size_t j = 0; j < r->nports; j++) {
				int err = entry_feat(ps, &r->ports[j]);

				if (err)
					return err;
			}
		}
	}
	return 0;
}

static bool name_used(const struct ports *ps, const struct pw_cport *cp)
{
	for (size_t i = 0; i < ps->nnames; i++)
		if (ps->names[i]->proto == cp->proto &&
		    !strcmp(ps->names[i]->name, cp->name))
			return true;
	return false;
}

/* A container port matters only when some entry uses its name. */
static int pod_feats(struct ports *ps, const struct pw_pod *p)
{
	for (size_t i = 0; i < p->nports; i++) {
		const struct pw_cport *cp = &p->ports[i];

		if (!cp->name || cp->port < 1 || cp->port > 65535 ||
		    !name_used(ps, cp))
			continue;
		if (add_feat(ps, cp->proto, cp->port, cp->port))
			return -ENOMEM;
	}
	return 0;
}

static int cluster_feats(struct ports *ps, const struct pw_cluster *const *cs)
{
	int err = 0;

	for (int v = 0; v < V_NR && !err; v++)
		for (size_t i = 0; i < cs[v]->npols && !err; i++)
			err = policy_feats(ps, &cs[v]->pols[i]);
	for (int v = 0; v < V_NR && !err; v++)
		for (size_t i = 0; i < cs[v]->npods && !err; i++)
			err = pod_feats(ps, &cs[v]->pods[i]);
	return err;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The class of the features in sig, a new one when no class has them. */
static int class_of(struct ports *ps, const uint64_t *sig, bool shared,
		    uint8_t proto, uint16_t lo, uint32_t *cls)
{
	size_t w = ps->sig_words;
	struct pw_port *rep;

	for (size_t c = 0; c < ps->ncls; c++) {
		if (memcmp(ps->sigs + c * w, sig, w * sizeof(*sig)))
			continue;
		if (ps->reps[c].proto == proto ||
		    (shared && !ps->portless[ps->reps[c].proto])) {
			*cls = (uint32_t)c;
			return 0;
		}
	}
	if (pw_grow((void **)&ps->sigs, &ps->cap_sigs, (ps->ncls + 1) * w,
		    sizeof(*sig)))
		return -ENOMEM;
	rep = PW_PUSH(ps->reps, ps->ncls, ps->cap_cls);
	if (!rep)
		return -ENOMEM;
	memcpy(ps->sigs + (ps->ncls - 1) * w, sig, w * sizeof(*sig));
	rep->proto = proto;
	rep->num = lo;
	*cls = (uint32_t)(ps->ncls - 1);
	return 0;
}

static int add_interval(struct ports *ps, uint8_t proto, uint32_t lo,
			uint32_t hi, uint64_t *sig)
{
	bool empty = true, shared;
	struct piv *iv;
	uint32_t cls;

	memset(sig, 0, ps->sig_words * sizeof(*sig));
	for (size_t f = 0; f < ps->nfeats; f++) {
		if (ps->feats[f].proto == proto && ps->feats[f].lo <= lo &&
		    lo <= ps->feats[f].hi) {
			pw_bits_set(sig, f);
			empty = false;
		}
	}
	shared = empty && !ps->portless[proto];
	if (class_of(ps, sig, shared, proto, (uint16_t)lo, &cls))
		return -ENOMEM;
	iv = PW_PUSH(ps->ivs, ps->nivs, ps->cap_ivs);
	if (!iv)
		return -ENOMEM;
	iv->proto = proto;
	iv->lo = (uint16_t)lo;
	iv->hi = (uint16_t)hi;
	iv->cls = cls;
	return 0;
}

/* Cuts one protocol's ports 1-65535 at every feature's bounds. */
static int proto_intervals(struct ports *ps, uint8_t proto, uint64_t *sig)
{
	uint32_t *cuts = malloc((2 * ps->nfeats + 2) * sizeof(*cuts));
	size_t n = 0, m = 0;
	int err = 0;

	if (!cuts)
		return -ENOMEM;
	cuts[n++] = 1;
	cuts[n++] = 65536;
	for (size_t f = 0; f < ps->nfeats; f++) {
		if (ps->feats[f].proto != proto)
			continue;
		cuts[n++] = ps->feats[f].lo;
		cuts[n++] = (uint32_t)ps->feats[f].hi + 1;
	}
	qsort(cuts, n, sizeof(*cuts), u32_cmp);
	for (size_t i = 1; i < n; i++)
		if (cuts[i] != cuts[m])
			cuts[++m] = cuts[i];
	for (size_t i = 0; i < m && !err; i++)
		err = add_interval(ps, proto, cuts[i], cuts[i + 1] - 1, sig);
	free(cuts);
	return err;
}

void diff_ports_free(struct ports *ps)
{
	free(ps->feats);
	free(ps->names);
	free(ps->ivs);
	free(ps->reps);
	free(ps->sigs);
}

int diff_ports_build(struct ports *ps, const struct pw_cluster *const *cs)
{
	uint64_t *sig;
	int err;

	memset(ps, 0, sizeof(*ps));
	err = cluster_feats(ps, cs);
	if (err)
		return err;
	ps->sig_words = pw_bits_words(ps->nfeats) + 1;
	sig = calloc(ps->sig_words, sizeof(*sig));
	if (!sig)
		return -ENOMEM;
	for (uint8_t p = 0; p < PW_PROTO_NR && !err; p++)
		err = proto_intervals(ps, p, sig);
	free(sig);
	return err;
}
