/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lint: checks of a cluster's NetworkPolicies built on the engine's
 * semantics (which pods a selector really selects, which connections a
 * rule really opens), not on the shape of the YAML.
 *
 * The rules form a fixed catalogue with stable ids (PW001...); each
 * finding names its rule, a severity, the position it is about, a
 * message and, where there is one, a witness: two endpoints and a port
 * that show the problem. Findings can be suppressed per object with the
 * annotation
 *
 *   podwall.io/lint-ignore: "PW003: reason; PW011: other reason"
 *
 * or per namespace with pw_lint_exclude_namespace(). A suppressed finding
 * is kept, marked, with its reason: nothing is dropped silently.
 * docs/LINT.md describes every rule.
 */
#ifndef PODWALL_LINT_H
#define PODWALL_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <podwall/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_lint;
struct pw_finding;

/* Ordered from the most to the least severe. */
enum pw_lint_severity {
	PW_LINT_ERROR,
	PW_LINT_WARNING,
	PW_LINT_INFO,
	PW_LINT_SEV_NR,
};

/* "error", "warning", "info"; NULL out of range. */
const char *pw_lint_severity_name(enum pw_lint_severity s);
/* The inverse; 0 or -EINVAL. */
int pw_lint_severity_parse(const char *s, enum pw_lint_severity *out);

/* The annotation that suppresses findings on an object. */
#define PW_LINT_IGNORE_ANNOTATION "podwall.io/lint-ignore"

/* ---- the catalogue ------------------------------------------------ */

/* Rules, in id order. Every string is static. */
size_t pw_lint_rule_count(void);
/* "PW001". NULL when i is out of range (as for the others). */
const char *pw_lint_rule_id(size_t i);
/* A short CamelCase name, "NamespaceOrPodSelector". */
const char *pw_lint_rule_name(size_t i);
enum pw_lint_severity pw_lint_rule_severity(size_t i);
/* One line: what the rule finds. */
const char *pw_lint_rule_summary(size_t i);
/* A paragraph: why it matters and how to fix it. */
const char *pw_lint_rule_help(size_t i);
/* The index of the rule with that id; -1 when there is none. */
long pw_lint_rule_find(const char *id);

/* ---- a run -------------------------------------------------------- */

/* Options with their defaults and no findings; NULL and errno ENOMEM. */
struct pw_lint *pw_lint_new(void);
/* NULL is a no-op. */
void pw_lint_free(struct pw_lint *l);

/*
 * The cluster DNS pods of PW005: pods of namespace ns whose labels match
 * selector (kubectl syntax, "k8s-app=kube-dns", the default in
 * "kube-system"). Both are copied. 0, -EINVAL for a selector that does
 * not parse, -ENOMEM.
 */
int pw_lint_set_dns(struct pw_lint *l, const char *ns, const char *selector);

/* Findings about objects of namespace ns are suppressed, with the reason
 * that the namespace is excluded (repeatable). 0 or -ENOMEM. */
int pw_lint_exclude_namespace(struct pw_lint *l, const char *ns);

/*
 * Runs every rule on e and the cluster it was compiled from. The findings
 * own their strings: e and the cluster may be freed afterwards. Findings
 * of an earlier run are replaced. Suppression annotations are read again
 * from the manifest files the cluster was loaded from, as they are now (a
 * cluster read from standard input or a buffer cannot carry them). The
 * findings are sorted by file, line, column and rule. 0, or -ENOMEM (then
 * there are no findings).
 */
int pw_lint_run(struct pw_lint *l, const struct pw_engine *e);

size_t pw_lint_count(const struct pw_lint *l);
/* Borrowed; NULL when i is out of range. */
const struct pw_finding *pw_lint_get(const struct pw_lint *l, size_t i);
/* Findings that are not suppressed, at or above sev. */
size_t pw_lint_count_at(const struct pw_lint *l, enum pw_lint_severity sev);

/* Index of the finding's rule in the catalogue. */
size_t pw_finding_rule(const struct pw_finding *f);
const char *pw_finding_rule_id(const struct pw_finding *f);
enum pw_lint_severity pw_finding_severity(const struct pw_finding *f);
/* File as loaded; never NULL ("" when the finding has no place). Lines
 * and columns are 1-based, 0 when unknown. */
const char *pw_finding_file(const struct pw_finding *f);
unsigned pw_finding_line(const struct pw_finding *f);
unsigned pw_finding_column(const struct pw_finding *f);
/* Field path in the object ("spec.ingress[0].from[1]"); "" if none. */
const char *pw_finding_path(const struct pw_finding *f);
/* "Kind ns/name" of the object the finding is about; never NULL. */
const char *pw_finding_object(const struct pw_finding *f);
const char *pw_finding_message(const struct pw_finding *f);
/* The witness: false when there is none; otherwise the source and
 * destination as pw_engine_pod_name() names pods (or an address) and
 * the port ("53/UDP"), borrowed. */
bool pw_finding_witness(const struct pw_finding *f, const char **from,
			const char **to, const char **port);
/* Whether the finding is suppressed, and why (borrowed; NULL if not). */
bool pw_finding_suppressed(const struct pw_finding *f);
const char *pw_finding_reason(const struct pw_finding *f);

#ifdef __cplusplus
}
#endif
#endif
