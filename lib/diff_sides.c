// SPDX-License-Identifier: Apache-2.0
/*
 * Which sides of which pods can have changed (lib/diff.h).
 *
 * Whether a pod belongs to a peer set depends only on the pod (its labels,
 * its namespace's labels, its addresses) and on the peer; which named
 * ports match, only on the pod's container ports. So for two pods s and d
 * that are alike in both versions, s -> d can only change when the
 * policies that select s for egress, or d for ingress, do: only the rows
 * of changed egress sides and the columns of changed ingress sides need
 * comparing, where a pod that is new, gone or different has both sides
 * changed. Equality here is structural (same.c): a policy rewritten
 * into an equivalent one counts as changed, which costs time, never
 * answers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static bool policy_eq(const struct pw_policy *a, const struct pw_policy *b)
{
	return !strcmp(a->ns, b->ns) && !strcmp(a->name, b->name) &&
	       pw_policy_same(a, b);
}

static bool pod_eq(const struct pw_eng_pod *a, const struct pw_eng_pod *b)
{
	return !strcmp(a->name, b->name) &&
	       pw_labels_same(&a->pod->labels, &b->pod->labels) &&
	       pw_labels_same(&a->ns->labels, &b->ns->labels) &&
	       a->pod->nips == b->pod->nips &&
	       !memcmp(a->pod->ips, b->pod->ips,
		       a->pod->nips * sizeof(*a->pod->ips)) &&
	       pw_cports_same(a->pod, b->pod);
}

/* For each old policy, the index of an equal new policy, or -1. */
static long *policy_matches(const struct pw_cluster *o,
			    const struct pw_cluster *n)
{
	long *m = malloc((o->npols + 1) * sizeof(*m));
	size_t j = 0;

	if (!m)
		return NULL;
	for (size_t i = 0; i < o->npols; i++) {
		const struct pw_policy *p = &o->pols[i];
		int c = 1;

		/* Both lists are sorted by (ns, name). */
		while (j < n->npols &&
		       (c = strcmp(n->pols[j].ns, p->ns) ?
				    strcmp(n->pols[j].ns, p->ns) :
				    strcmp(n->pols[j].name, p->name)) < 0)
			j++;
		m[i] = j < n->npols && !c && policy_eq(p, &n->pols[j]) ?
			       (long)j :
			       -1;
	}
	return m;
}

/* Whether the side d of old pod i and new pod j is selected by the same
 * policies in both versions. */
static bool side_same(const struct ctx *x, const long *m, long i, long j,
		      enum pw_dir d)
{
	const struct pw_eng_pod *a = &x->e[V_OLD]->pods[i];
	const struct pw_eng_pod *b = &x->e[V_NEW]->pods[j];
	const uint32_t *sa = x->e[V_OLD]->sel + a->sel_off[d];
	const uint32_t *sb = x->e[V_NEW]->sel + b->sel_off[d];

	if (a->nsel[d] != b->nsel[d])
		return false;
	for (size_t k = 0; k < a->nsel[d]; k++)
		if (m[sa[k]] != (long)sb[k])
			return false;
	return true;
}

/* Marks the sides of pod u that may have changed: both when the pod is
 * not in both versions alike, else those whose policies differ. */
static void mark_sides(struct ctx *x, const long *m, size_t u)
{
	long i = x->up[u].idx[V_OLD], j = x->up[u].idx[V_NEW];
	bool same = i >= 0 && j >= 0 &&
		    pod_eq(&x->e[V_OLD]->pods[i], &x->e[V_NEW]->pods[j]);

	for (int d = 0; d < PW_DIR_NR; d++)
		x->changed[d][u] = !same || !side_same(x, m, i, j, d);
	if (x->changed[PW_DIR_INGRESS][u])
		x->in_changed[x->nin_changed++] = (uint32_t)u;
}

int diff_find_changed_sides(struct ctx *x)
{
	long *m;

	for (int d = 0; d < PW_DIR_NR; d++) {
		x->changed[d] = calloc(x->nup + 1, sizeof(bool));
		if (!x->changed[d])
			return -ENOMEM;
	}
	x->in_changed = calloc(x->nup + 1, sizeof(*x->in_changed));
	m = policy_matches(x->e[V_OLD]->c, x->e[V_NEW]->c);
	if (!x->in_changed || !m) {
		free(m);
		return -ENOMEM;
	}
	for (size_t u = 0; u < x->nup; u++)
		mark_sides(x, m, u);
	free(m);
	return 0;
}
