// SPDX-License-Identifier: Apache-2.0
/*
 * Lint: the catalogue of rules, findings, suppressions, and the helpers
 * every rule family (lib/lint_*.c) uses. docs/LINT.md explains each rule.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bitset.h"
#include "lint_rules.h"

/* ---- the catalogue -------------------------------------------------- */

struct lint_rule {
	const char *id;
	const char *name;
	enum pw_lint_severity sev;
	const char *summary;
	const char *help;
	int (*check)(struct lint_ctx *x);
	bool needs_pods; /* judges selectors by the pods they match */
};

/* Ids are stable: a rule that goes away leaves a hole, never a reuse. */
static const struct lint_rule rules[] = {
	{ "PW001", "NamespaceOrPodSelector", PW_LINT_WARNING,
	  "a namespaceSelector peer next to a podSelector peer that were "
	  "most likely meant as one peer",
	  "Two peers of one from/to list are ORed: the rule admits every pod "
	  "of the selected namespaces, and the matching pods of the policy's "
	  "own namespace. Written as one peer (namespaceSelector and "
	  "podSelector in the same list item, without a '-' before the "
	  "second) they are ANDed: matching pods of the selected namespaces.",
	  lint_or_and, true },
	{ "PW002", "PolicySelectsNoPod", PW_LINT_WARNING,
	  "a policy that selects no pod",
	  "The policy's podSelector matches no pod of its namespace, so it "
	  "isolates nothing and allows nothing. Check the labels against the "
	  "pods' labels, and the policy's namespace.",
	  lint_empty_policy, true },
	{ "PW003", "PeerSelectsNothing", PW_LINT_WARNING,
	  "a peer that selects nothing",
	  "No pod (or no namespace) matches the peer's selectors, so the "
	  "rule allows nothing through it. Check the labels, and that a "
	  "namespaceSelector matches namespace labels, not pod labels.",
	  lint_empty_peer, true },
	{ "PW004", "NotDefaultDeny", PW_LINT_INFO,
	  "pods or namespaces not covered by a default deny (ingress and "
	  "egress separately)",
	  "A pod that no policy selects for a direction accepts (or opens) "
	  "every connection in that direction; in a namespace without a "
	  "policy that selects every pod, the next pod deployed will. A "
	  "policy with an empty podSelector and that policyType, and no "
	  "rules, isolates every pod of the namespace, present and future.",
	  lint_coverage, true },
	{ "PW005", "EgressBlocksDNS", PW_LINT_ERROR,
	  "egress isolation that blocks DNS",
	  "An egress-isolated pod may only open the connections its policies "
	  "allow; when none allows UDP and TCP port 53 to the cluster DNS "
	  "pods, name lookups fail (TCP is needed for large answers). Add an "
	  "egress rule to the DNS pods on 53/UDP and 53/TCP.",
	  lint_dns, true },
	{ "PW006", "AllowAllVoidsPolicies", PW_LINT_WARNING,
	  "an allow-all rule that voids the other policies on the same pods",
	  "Policies only add allowances: a rule that allows every peer on "
	  "every port (no from/to, an empty namespaceSelector, 0.0.0.0/0 or "
	  "::/0, and no ports) makes every other policy of the same pods "
	  "and direction meaningless.",
	  lint_allow_all, true },
	{ "PW007", "Redundant", PW_LINT_INFO,
	  "a rule or policy whose removal changes no verdict",
	  "Every connection the rule (or policy) allows is also allowed by "
	  "another rule on every pod it applies to, with the same isolation: "
	  "removing it changes no verdict on this cluster. Remove it, or "
	  "narrow the other rule if that one is too wide.",
	  lint_redundant, true },
	{ "PW008", "ProtocolDefaultsToTCP", PW_LINT_WARNING,
	  "a port without protocol (TCP) on a port the destinations serve "
	  "over UDP only",
	  "A NetworkPolicyPort without protocol means TCP. The destination "
	  "pods declare that port over UDP only, so the rule most likely "
	  "meant protocol: UDP.",
	  lint_proto_default, true },
	{ "PW009", "UndefinedNamedPort", PW_LINT_WARNING,
	  "a named port that no destination pod defines",
	  "A named port matches a destination pod's container port of that "
	  "name and protocol. No pod the rule applies to declares it, so the "
	  "entry opens nothing. Check the name against the containers' "
	  "ports.",
	  lint_named_port, true },
	{ "PW010", "IPBlockCoversPods", PW_LINT_WARNING,
	  "an ipBlock that covers pod, pod network or service addresses",
	  "ipBlock is meant for addresses outside the cluster. Whether it "
	  "matches pod traffic depends on the network plugin (addresses may "
	  "be rewritten), and Service cluster IPs are translated before "
	  "policy applies. Select pods with podSelector and "
	  "namespaceSelector, or add the pod network to except.",
	  lint_ipblock_pods, false },
	{ "PW011", "GeneratedLabel", PW_LINT_WARNING,
	  "a selector on a label the platform generates",
	  "Labels such as pod-template-hash or controller-revision-hash "
	  "change with every rollout, and the others name one pod or job "
	  "run: a policy that selects on them stops matching. Select on "
	  "labels of the pod template.",
	  lint_generated_labels, false },
	{ "PW012", "CrossNamespacePodSelector", PW_LINT_WARNING,
	  "a podSelector-only peer that matches pods only in other "
	  "namespaces",
	  "A podSelector without namespaceSelector selects pods of the "
	  "policy's own namespace. The peer matches none there but matches "
	  "pods elsewhere: add a namespaceSelector in the same peer.",
	  lint_cross_ns, true },
	{ "PW014", "NoNamespace", PW_LINT_WARNING,
	  "an object without metadata.namespace",
	  "The object was read as being in namespace \"default\", but "
	  "`kubectl apply -n NS` (or a kustomization) puts it elsewhere: the "
	  "analysis may not be of the cluster you deploy. Write the "
	  "namespace.",
	  lint_no_namespace, false },
};

PW_EXPORT size_t pw_lint_rule_count(void)
{
	return PW_ARRAY_SIZE(rules);
}

static const struct lint_rule *rule_at(size_t i)
{
	return i < PW_ARRAY_SIZE(rules) ? &rules[i] : NULL;
}

PW_EXPORT const char *pw_lint_rule_id(size_t i)
{
	return rule_at(i) ? rules[i].id : NULL;
}

PW_EXPORT const char *pw_lint_rule_name(size_t i)
{
	return rule_at(i) ? rules[i].name : NULL;
}

PW_EXPORT enum pw_lint_severity pw_lint_rule_severity(size_t i)
{
	return rule_at(i) ? rules[i].sev : PW_LINT_INFO;
}

PW_EXPORT const char *pw_lint_rule_summary(size_t i)
{
	return rule_at(i) ? rules[i].summary : NULL;
}

PW_EXPORT const char *pw_lint_rule_help(size_t i)
{
	return rule_at(i) ? rules[i].help : NULL;
}

PW_EXPORT long pw_lint_rule_find(const char *id)
{
	for (size_t i = 0; id && i < PW_ARRAY_SIZE(rules); i++)
		if (!strcasecmp(rules[i].id, id))
			return (long)i;
	return -1;
}

static const char *const sev_names[PW_LINT_SEV_NR] = {
	[PW_LINT_ERROR] = "error",
	[PW_LINT_WARNING] = "warning",
	[PW_LINT_INFO] = "info",
};

PW_EXPORT const char *pw_lint_severity_name(enum pw_lint_severity s)
{
	return (unsigned)s < PW_LINT_SEV_NR ? sev_names[s] : NULL;
}

PW_EXPORT int pw_lint_severity_parse(const char *s, enum pw_lint_severity *out)
{
	for (unsigned i = 0; s && i < PW_LINT_SEV_NR; i++) {
		if (!strcmp(s, sev_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- findings ---------------------------------------------------------- */

struct pw_finding {
	size_t rule;
	struct pw_pos pos; /* pos.file borrowed from the cluster until copied */
	char *file;
	char *path;
	char *object;
	char *ns; /* NULL for cluster-scoped objects */
	char *msg;
	struct pw_pos obj; /* the object's document, for annotations */
	bool has_witness;
	char *from, *to;
	char port[24];
	bool suppressed;
	char *reason;
	size_t seq;
};

struct pw_lint {
	char *dns_ns;
	struct pw_selector dns_sel;
	char **excluded;
	size_t nexcluded, cap_excluded;
	struct pw_finding *v;
	size_t n, cap;
};

static void finding_clear(struct pw_finding *f)
{
	free(f->file);
	free(f->path);
	free(f->object);
	free(f->ns);
	free(f->msg);
	free(f->from);
	free(f->to);
	free(f->reason);
}

static void findings_clear(struct pw_lint *l)
{
	for (size_t i = 0; i < l->n; i++)
		finding_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

PW_EXPORT struct pw_lint *pw_lint_new(void)
{
	struct pw_lint *l = calloc(1, sizeof(*l));

	if (!l || pw_lint_set_dns(l, "kube-system", "k8s-app=kube-dns")) {
		pw_lint_free(l);
		errno = ENOMEM;
		return NULL;
	}
	return l;
}

PW_EXPORT void pw_lint_free(struct pw_lint *l)
{
	if (!l)
		return;
	findings_clear(l);
	for (size_t i = 0; i < l->nexcluded; i++)
		free(l->excluded[i]);
	free(l->excluded);
	free(l->dns_ns);
	pw_selector_clear(&l->dns_sel);
	free(l);
}

PW_EXPORT int pw_lint_set_dns(struct pw_lint *l, const char *ns,
			      const char *selector)
{
	struct pw_selector sel = { 0 };
	char err[128], *copy;

	if (!ns || !selector)
		return -EINVAL;
	if (pw_selector_parse(selector, &sel, err, sizeof(err))) {
		pw_selector_clear(&sel);
		return -EINVAL;
	}
	copy = strdup(ns);
	if (!copy) {
		pw_selector_clear(&sel);
		return -ENOMEM;
	}
	free(l->dns_ns);
	pw_selector_clear(&l->dns_sel);
	l->dns_ns = copy;
	l->dns_sel = sel;
	return 0;
}

PW_EXPORT int pw_lint_exclude_namespace(struct pw_lint *l, const char *ns)
{
	char **slot = PW_PUSH(l->excluded, l->nexcluded, l->cap_excluded);

	if (!slot)
		return -ENOMEM;
	*slot = strdup(ns);
	if (!*slot) {
		l->nexcluded--;
		return -ENOMEM;
	}
	return 0;
}

/* ---- reporting ------------------------------------------------------------ */

static char *object_text(const struct lint_where *at)
{
	bool ns = at->ns && !at->cluster_scoped;
	char *s;

	if (asprintf(&s, "%s %s%s%s", at->kind, ns ? at->ns : "", ns ? "/" : "",
		     at->name) < 0)
		return NULL;
	return s;
}

static const char *pod_name(const struct lint_ctx *x, long k)
{
	return x->e->pods[k].name;
}

static int witness_set(struct lint_ctx *x, struct pw_finding *f,
		       const struct lint_witness *w)
{
	f->has_witness = true;
	f->from = strdup(pod_name(x, w->from));
	f->to = strdup(w->to >= 0 ? pod_name(x, w->to) : w->to_text);
	if (w->any_port)
		snprintf(f->port, sizeof(f->port), "any");
	else
		pw_port_format(&w->port, f->port, sizeof(f->port));
	return f->from && f->to ? 0 : -ENOMEM;
}

static int finding_fill(struct lint_ctx *x, struct pw_finding *f,
			const struct lint_where *at,
			const struct lint_witness *w, const char *fmt,
			va_list ap) PW_PRINTF(5, 0);

static int finding_fill(struct lint_ctx *x, struct pw_finding *f,
			const struct lint_where *at,
			const struct lint_witness *w, const char *fmt,
			va_list ap)
{
	f->rule = x->rule;
	if (at->pos)
		f->pos = *at->pos;
	if (at->obj)
		f->obj = *at->obj;
	f->file = strdup(f->pos.file ? f->pos.file : "");
	f->path = strdup(at->path ? at->path : "");
	f->object = object_text(at);
	f->ns = at->ns ? strdup(at->ns) : NULL;
	if (vasprintf(&f->msg, fmt, ap) < 0)
		f->msg = NULL;
	if (!f->file || !f->path || !f->object || !f->msg || (at->ns && !f->ns))
		return -ENOMEM;
	return w ? witness_set(x, f, w) : 0;
}

int lint_report(struct lint_ctx *x, const struct lint_where *at,
		const struct lint_witness *w, const char *fmt, ...)
{
	struct pw_lint *l = x->lint;
	struct pw_finding *f = PW_PUSH(l->v, l->n, l->cap);
	va_list ap;
	int err;

	if (!f)
		return x->err = -ENOMEM;
	f->seq = l->n - 1;
	va_start(ap, fmt);
	err = finding_fill(x, f, at, w, fmt, ap);
	va_end(ap);
	if (err) {
		finding_clear(f);
		l->n--;
		x->err = err;
	}
	return err;
}

struct lint_where lint_at_policy(const struct pw_policy *p,
				 const struct pw_pos *pos, const char *path)
{
	return (struct lint_where){
		.pos = pos && pos->line ? pos : &p->pos,
		.path = path,
		.kind = "NetworkPolicy",
		.ns = p->ns,
		.name = p->name,
		.obj = &p->pos,
	};
}

/* ---- suppressions ------------------------------------------------------- */

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/*
 * The reason text gives for suppressing rule id, from an annotation
 * "ID: reason; ID2: reason2" (copied, trimmed; "" when the entry has no
 * reason). NULL when text does not name id, or without memory.
 */
static char *ignore_reason(const char *text, const char *id)
{
	char *copy = strdup(text), *save = NULL, *found = NULL;

	if (!copy)
		return NULL;
	for (char *e = strtok_r(copy, ";", &save); e && !found;
	     e = strtok_r(NULL, ";", &save)) {
		char *colon = strchr(e, ':');

		if (colon)
			*colon = '\0';
		if (strcasecmp(trim(e), id))
			continue;
		found = strdup(colon ? trim(colon + 1) : "");
	}
	free(copy);
	return found;
}

static bool excluded(const struct pw_lint *l, const char *ns)
{
	for (size_t i = 0; ns && i < l->nexcluded; i++)
		if (!strcmp(l->excluded[i], ns))
			return true;
	return false;
}

static int suppress_one(struct pw_lint *l, const struct lint_source *src,
			struct pw_finding *f)
{
	const char *text = lint_source_ignore(src, &f->obj);
	char *why = text ? ignore_reason(text, rules[f->rule].id) : NULL;
	int n;

	if (why) {
		n = asprintf(&f->reason, "%s: %s", PW_LINT_IGNORE_ANNOTATION,
			     *why ? why : "(no reason given)");
		free(why);
	} else if (excluded(l, f->ns)) {
		n = asprintf(&f->reason, "namespace \"%s\" is excluded", f->ns);
	} else {
		return 0;
	}
	if (n < 0) {
		f->reason = NULL;
		return -ENOMEM;
	}
	f->suppressed = true;
	return 0;
}

static int finding_cmp(const void *pa, const void *pb)
{
	const struct pw_finding *a = pa, *b = pb;
	int r = strcmp(a->file, b->file);

	if (r)
		return r;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	if (a->pos.col != b->pos.col)
		return a->pos.col < b->pos.col ? -1 : 1;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- a run ---------------------------------------------------------------- */

static int run_rules(struct lint_ctx *x)
{
	int err;

	for (x->rule = 0; x->rule < PW_ARRAY_SIZE(rules); x->rule++) {
		if (rules[x->rule].needs_pods && !x->e->npods)
			continue;
		err = rules[x->rule].check(x);
		if (err || x->err)
			return err ? err : x->err;
	}
	return 0;
}

PW_EXPORT int pw_lint_run(struct pw_lint *l, const struct pw_engine *e)
{
	struct lint_ctx x = {
		.lint = l,
		.e = e,
		.c = e->c,
		.dns_ns = l->dns_ns,
		.dns_sel = &l->dns_sel,
	};
	struct lint_source *src;
	int err;

	findings_clear(l);
	src = lint_source_new(e->c);
	if (!src)
		return -ENOMEM;
	x.src = src;
	err = run_rules(&x);
	for (size_t i = 0; !err && i < l->n; i++)
		err = suppress_one(l, src, &l->v[i]);
	lint_source_free(src);
	if (err) {
		findings_clear(l);
		return err;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), finding_cmp);
	return 0;
}

PW_EXPORT size_t pw_lint_count(const struct pw_lint *l)
{
	return l->n;
}

PW_EXPORT const struct pw_finding *pw_lint_get(const struct pw_lint *l,
					       size_t i)
{
	return i < l->n ? &l->v[i] : NULL;
}

PW_EXPORT size_t pw_lint_count_at(const struct pw_lint *l,
				  enum pw_lint_severity sev)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += !l->v[i].suppressed && rules[l->v[i].rule].sev <= sev;
	return n;
}

PW_EXPORT size_t pw_finding_rule(const struct pw_finding *f)
{
	return f->rule;
}

PW_EXPORT const char *pw_finding_rule_id(const struct pw_finding *f)
{
	return rules[f->rule].id;
}

PW_EXPORT enum pw_lint_severity pw_finding_severity(const struct pw_finding *f)
{
	return rules[f->rule].sev;
}

PW_EXPORT const char *pw_finding_file(const struct pw_finding *f)
{
	return f->file;
}

PW_EXPORT unsigned pw_finding_line(const struct pw_finding *f)
{
	return f->pos.line;
}

PW_EXPORT unsigned pw_finding_column(const struct pw_finding *f)
{
	return f->pos.col;
}

PW_EXPORT const char *pw_finding_path(const struct pw_finding *f)
{
	return f->path;
}

PW_EXPORT const char *pw_finding_object(const struct pw_finding *f)
{
	return f->object;
}

PW_EXPORT const char *pw_finding_message(const struct pw_finding *f)
{
	return f->msg;
}

PW_EXPORT bool pw_finding_witness(const struct pw_finding *f, const char **from,
				  const char **to, const char **port)
{
	if (!f->has_witness)
		return false;
	*from = f->from;
	*to = f->to;
	*port = f->port;
	return true;
}

PW_EXPORT bool pw_finding_suppressed(const struct pw_finding *f)
{
	return f->suppressed;
}

PW_EXPORT const char *pw_finding_reason(const struct pw_finding *f)
{
	return f->reason;
}

/* ---- walking the rules ------------------------------------------------ */

static int policy_each_rule(struct lint_ctx *x, size_t pi, bool affecting,
			    lint_rule_fn fn, void *arg)
{
	struct lint_rule_ref rr = { .pi = pi, .p = &x->c->pols[pi] };
	int err;

	for (rr.d = 0; rr.d < PW_DIR_NR; rr.d++) {
		if (affecting && !rr.p->affects[rr.d])
			continue;
		for (rr.k = 0; rr.k < rr.p->nrules[rr.d]; rr.k++) {
			rr.r = &rr.p->rules[rr.d][rr.k];
			rr.erule = lint_erule(x->e, pi, rr.d, rr.k);
			err = fn(x, &rr, arg);
			if (err)
				return err;
		}
	}
	return 0;
}

int lint_each_rule(struct lint_ctx *x, bool affecting, lint_rule_fn fn,
		   void *arg)
{
	int err = 0;

	for (size_t pi = 0; !err && pi < x->c->npols; pi++)
		err = policy_each_rule(x, pi, affecting, fn, arg);
	return err;
}

/* ---- helpers for the rules ------------------------------------------------ */

bool lint_ns_pods(const struct pw_engine *e, const char *ns, size_t *lo,
		  size_t *hi)
{
	long i = pw_engine_ns_index(e->c, ns);

	if (i < 0 || e->ns_hi[i] <= e->ns_lo[i])
		return false;
	*lo = e->ns_lo[i];
	*hi = e->ns_hi[i];
	return true;
}

bool lint_selects(const struct pw_engine *e, const struct pw_policy *p,
		  size_t k)
{
	return !strcmp(e->pods[k].pod->ns, p->ns) &&
	       pw_selector_matches(&p->pod_sel, &e->pods[k].pod->labels);
}

long lint_first_selected(const struct pw_engine *e, const struct pw_policy *p)
{
	size_t lo, hi;

	if (!lint_ns_pods(e, p->ns, &lo, &hi))
		return -1;
	for (size_t k = lo; k < hi; k++)
		if (pw_selector_matches(&p->pod_sel, &e->pods[k].pod->labels))
			return (long)k;
	return -1;
}

size_t lint_erule(const struct pw_engine *e, size_t pi, int d, size_t k)
{
	return e->rule_base[pi][d] + k;
}

const struct pw_peerset *lint_peer_set(const struct pw_engine *e, size_t erule,
				       size_t j)
{
	return &e->sets[e->peer_set[e->rules[erule].peer_base + j]];
}

long lint_first_bit(const struct pw_engine *e, const uint64_t *b)
{
	for (size_t w = 0; w < e->words; w++)
		if (b[w])
			return (long)(w * 64 + (size_t)__builtin_ctzll(b[w]));
	return -1;
}

/* The container port of dst with that name and protocol, or 0. */
static int64_t named_port(const struct pw_pod *dst, const char *name,
			  enum pw_proto proto)
{
	for (size_t i = 0; dst && i < dst->nports; i++)
		if (dst->ports[i].name && dst->ports[i].proto == proto &&
		    !strcmp(dst->ports[i].name, name))
			return dst->ports[i].port;
	return 0;
}

/* The first container port of dst of protocol proto, or 0. */
static int64_t first_cport(const struct pw_pod *dst, enum pw_proto proto)
{
	for (size_t i = 0; dst && i < dst->nports; i++)
		if (dst->ports[i].proto == proto)
			return dst->ports[i].port;
	return 0;
}

static int64_t entry_port(const struct pw_np_port *pp, const struct pw_pod *dst)
{
	if (!pp->has_port)
		return first_cport(dst, pp->proto);
	if (pp->named)
		return named_port(dst, pp->name, pp->proto);
	return pp->port;
}

bool lint_rule_port(const struct pw_rule *r, const struct pw_pod *dst,
		    struct lint_witness *w)
{
	int64_t num;

	w->any_port = !r->nports;
	if (!r->nports)
		return true;
	for (size_t j = 0; j < r->nports; j++) {
		num = entry_port(&r->ports[j], dst);
		if (num >= 1 && num <= 65535) {
			w->port.num = (uint16_t)num;
			w->port.proto = (uint8_t)r->ports[j].proto;
			return true;
		}
	}
	return false;
}

void lint_rule_path(struct pw_path *p, int d, size_t rule, long peer, long port)
{
	pw_path_init(p);
	pw_path_index(p, d == PW_DIR_INGRESS ? "spec.ingress" : "spec.egress",
		      rule);
	if (port >= 0)
		pw_path_index(p, "ports", (size_t)port);
	else if (peer >= 0)
		pw_path_index(p, d == PW_DIR_INGRESS ? "from" : "to",
			      (size_t)peer);
}
