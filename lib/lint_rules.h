/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What lint's rule families (lib/lint_*.c) share with the framework
 * (lib/lint.c): the context a check runs in, how it reports, and the
 * checks themselves.
 *
 * A check walks the cluster and the engine's compiled index (struct
 * pw_engine, lib/engine.h) and calls lint_report() for each finding. It
 * says where the finding is (a position and field path in an object)
 * and which object it belongs to: suppression annotations and excluded
 * namespaces are applied per object by the framework afterwards, so a
 * check never filters its own findings.
 */
#ifndef PW_LINT_RULES_H
#define PW_LINT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <podwall/lint.h>

#include "engine.h"
#include "labels.h"
#include "model.h"

struct lint_ctx;
struct lint_source;

/* Where a finding is and whose it is. */
struct lint_where {
	const struct pw_pos *pos; /* may be NULL */
	const char *path; /* may be NULL */
	const char *kind; /* "NetworkPolicy", "Namespace", ... */
	const char *ns; /* the namespace the finding is about */
	bool cluster_scoped; /* the object itself has no namespace */
	const char *name;
	const struct pw_pos *obj; /* the object's document: its
					 * annotations suppress */
};

/* A witness: matrix pod indexes, or an address for `to` (to < 0). */
struct lint_witness {
	long from, to;
	const char *to_text; /* when to < 0 */
	struct pw_port port;
	bool any_port; /* the rule opens every port */
};

struct lint_ctx {
	struct pw_lint *lint;
	const struct pw_engine *e;
	const struct pw_cluster *c;
	size_t rule; /* the catalogue index being checked */
	const char *dns_ns;
	const struct pw_selector *dns_sel;
	const struct lint_source *src; /* the manifests' text */
	int err; /* first error (-ENOMEM) of a report */
};

/*
 * Records a finding of the current rule. w may be NULL (no witness).
 * fmt is always a literal of ours; manifest strings only go in as %s.
 * Returns 0 or -ENOMEM (also kept in x->err).
 */
int lint_report(struct lint_ctx *x, const struct lint_where *at,
		const struct lint_witness *w, const char *fmt, ...)
	PW_PRINTF(4, 5);

/* A where for policy p at pos with path (NULL for the policy itself). */
struct lint_where lint_at_policy(const struct pw_policy *p,
				 const struct pw_pos *pos, const char *path);

/* ---- walking the rules --------------------------------------------- */

/* One rule of one policy, as lint_each_rule() hands it to a check. */
struct lint_rule_ref {
	size_t pi; /* cluster policy index */
	const struct pw_policy *p;
	int d;
	size_t k; /* rule within the policy and direction */
	const struct pw_rule *r;
	size_t erule; /* engine rule index */
};

typedef int (*lint_rule_fn)(struct lint_ctx *x, const struct lint_rule_ref *rr,
			    void *arg);

/* Calls fn on every rule of every policy, in cluster order (only in the
 * directions a policy affects when `affecting`); stops at the first
 * error and returns it. */
int lint_each_rule(struct lint_ctx *x, bool affecting, lint_rule_fn fn,
		   void *arg);

/* ---- helpers over the engine ------------------------------------- */

/* The matrix pods of namespace ns: [*lo, *hi); false when none. */
bool lint_ns_pods(const struct pw_engine *e, const char *ns, size_t *lo,
		  size_t *hi);
/* Whether policy p (of cluster index pi) selects matrix pod k. */
bool lint_selects(const struct pw_engine *e, const struct pw_policy *p,
		  size_t k);
/* The first matrix pod policy p selects; -1 when none. */
long lint_first_selected(const struct pw_engine *e, const struct pw_policy *p);
/* The engine's pod set of peer j of rule r (engine index of the rule). */
const struct pw_peerset *lint_peer_set(const struct pw_engine *e, size_t erule,
				       size_t j);
/* Engine rule index of rule k of policy pi in direction d. */
size_t lint_erule(const struct pw_engine *e, size_t pi, int d, size_t k);
/* The first set bit of a bitset of e->words words, from `from` on;
 * -1 when none. */
long lint_first_bit(const struct pw_engine *e, const uint64_t *b);
/*
 * A port the rule opens towards destination pod dst (NULL: not a pod),
 * for a witness: its first numeric port, or the named port resolved on
 * dst, or the first container port of dst; any_port when the rule has
 * no ports. false when none can be named.
 */
bool lint_rule_port(const struct pw_rule *r, const struct pw_pod *dst,
		    struct lint_witness *w);
/* "spec.ingress[1]" / "spec.egress[0].to[2]" into p (peer < 0: the rule;
 * port >= 0: ".ports[port]" instead of the peer). */
void lint_rule_path(struct pw_path *p, int d, size_t rule, long peer,
		    long port);

/* ---- the checks, one per rule, in catalogue order --------------- */

int lint_or_and(struct lint_ctx *x); /* PW001 lint_peers.c */
int lint_empty_policy(struct lint_ctx *x); /* PW002 */
int lint_empty_peer(struct lint_ctx *x); /* PW003 */
int lint_coverage(struct lint_ctx *x); /* PW004 lint_isolation.c */
int lint_dns(struct lint_ctx *x); /* PW005 */
int lint_allow_all(struct lint_ctx *x); /* PW006 */
int lint_redundant(struct lint_ctx *x); /* PW007 lint_redundant.c */
int lint_proto_default(struct lint_ctx *x); /* PW008 lint_ports.c */
int lint_named_port(struct lint_ctx *x); /* PW009 */
int lint_ipblock_pods(struct lint_ctx *x); /* PW010 lint_ipblock.c */
int lint_generated_labels(struct lint_ctx *x); /* PW011 lint_peers.c */
int lint_cross_ns(struct lint_ctx *x); /* PW012 */
int lint_no_namespace(struct lint_ctx *x); /* PW014 lint_source.c */

/* ---- per-object facts (lint_source.c) ---------------------------- */

/*
 * An index from each object's position to what lint needs beyond its
 * semantics: the suppression annotation (podwall.io/lint-ignore) and
 * whether metadata.namespace was written. Built once per run from the
 * model, so it works for standard input as for files.
 */
struct lint_source;

/* NULL and errno ENOMEM. */
struct lint_source *lint_source_new(const struct pw_cluster *c);
void lint_source_free(struct lint_source *s);
/* The annotation's text for the object at obj; NULL when none. */
const char *lint_source_ignore(const struct lint_source *s,
			       const struct pw_pos *obj);
/* Whether the object at obj was read and wrote no metadata.namespace. */
bool lint_source_no_ns(const struct lint_source *s, const struct pw_pos *obj);

#endif
