// SPDX-License-Identifier: Apache-2.0
/* podwall explain: whether one connection is allowed, and why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "podwall.h"

const char explain_usage[] =
	"usage: podwall explain --from X --to Y --port P [-o text|json]\n"
	"                       [--exit-code] [-f PATH]... [PATH...]\n"
	"\n"
	"Says whether a new connection from X to Y on port P is allowed, which\n"
	"policies isolate each side and which rule, peer and port admitted it.\n"
	"\n"
	"  --from X, --to Y    a pod (ns/name), a workload template\n"
	"                      (ns/name[Kind]), a service (ns/svc/name: each of\n"
	"                      its backend pods) or an IP address\n"
	"  --port P            80, 80/TCP, 53/UDP, 9000/SCTP (when --to is a\n"
	"                      service, one of the ports it defines)\n"
	"  -o, --output FMT    text (default) or json\n"
	"  --exit-code         exit 1 when the connection (any of them) is denied\n"
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help          this text\n"
	"\n"
	"JSON: the object of spec/cli.md, \"podwall explain -o json\", when the\n"
	"endpoints name one pair. When a service stands for several backends,\n"
	"one object per pair without \"version\", in a list:\n"
	"{\"version\": 1, \"verdicts\": [{\"from\", \"to\", ...}, ...]}.\n"
	"\n"
	"Exit status: 0 whatever the verdict (1 with --exit-code when denied),\n"
	"1 when the manifests hold errors, 2 for usage, I/O or parse errors and\n"
	"for endpoints that do not exist or a port the --to service does not\n"
	"define.\n";

enum {
	OPT_FROM = 1000,
	OPT_TO,
	OPT_PORT,
	OPT_EXIT_CODE,
};

struct explain_args {
	const char *from, *to, *port_text;
	struct pw_port port;
	bool exit_code;
};

struct pairs {
	struct pw_endpoints *from, *to;
	struct pw_verdict **v;
	size_t n;
};

/* Text for what one side of a verdict says, e.g. "isolated by 2 policies". */
static void side_head(const struct pw_verdict *v, enum pw_dir d,
		      const char *who)
{
	size_t n = pw_verdict_policy_count(v, d);

	printf("  %s (%s): ", pw_dir_name(d), who);
	if (pw_verdict_isolated(v, d))
		printf("isolated by %zu %s, ", n,
		       n == 1 ? "policy" : "policies");
	else
		printf("not isolated, ");
	printf("%s\n", pw_verdict_side_allowed(v, d) ? "allowed" : "denied");
}

static void policy_line(const struct pw_verdict *v, enum pw_dir d, size_t i)
{
	unsigned line = 0, col = 0;
	const char *file = pw_verdict_policy_where(v, d, i, &line, &col);
	int rule, peer, port;

	printf("    %s/%s", pw_verdict_policy_namespace(v, d, i),
	       pw_verdict_policy_name(v, d, i));
	if (file && file[0] && line && col)
		printf(" at %s:%u:%u", file, line, col);
	else if (file && file[0] && line)
		printf(" at %s:%u", file, line);
	else if (file && file[0])
		printf(" in %s", file);
	pw_verdict_policy_match(v, d, i, &rule, &peer, &port);
	if (rule < 0) {
		printf(": no %s rule admits it\n", pw_dir_name(d));
		return;
	}
	printf(": allowed by %s rule %d, ", pw_dir_name(d), rule);
	if (peer < 0)
		printf("every peer, ");
	else
		printf("peer %d, ", peer);
	if (port < 0)
		printf("every port\n");
	else
		printf("port %d\n", port);
}

/* Why a denied side denied, in one sentence. */
static void side_hint(const struct pw_verdict *v, enum pw_dir d,
		      const char *port)
{
	size_t n = pw_verdict_policy_count(v, d);
	const char *peer = d == PW_DIR_INGRESS ? pw_verdict_from(v) :
						 pw_verdict_to(v);

	if (!pw_verdict_isolated(v, d) || pw_verdict_side_allowed(v, d))
		return;
	printf("  hint: no %s rule of ", pw_dir_name(d));
	if (n == 1)
		printf("policy %s/%s", pw_verdict_policy_namespace(v, d, 0),
		       pw_verdict_policy_name(v, d, 0));
	else
		printf("these %zu policies", n);
	printf(" %s %s on %s\n",
	       d == PW_DIR_INGRESS ? "admits" : "lets it reach", peer, port);
}

static const char *reason_text(enum pw_reason r)
{
	static const char *const text[] = {
		[PW_REASON_POLICY] = "decided by the policies below",
		[PW_REASON_NOT_ISOLATED] = "neither side is isolated",
		[PW_REASON_NODE_TRAFFIC] =
			"traffic from the pod's own node is never blocked",
		[PW_REASON_SAME_POD] = "a pod can always reach itself",
	};

	return (unsigned)r < sizeof(text) / sizeof(text[0]) && text[r] ?
		       text[r] :
		       pw_reason_name(r);
}

static void verdict_text(const struct pw_verdict *v)
{
	struct pw_port p = pw_verdict_port(v);
	static const enum pw_dir order[] = { PW_DIR_EGRESS, PW_DIR_INGRESS };
	char port[32];

	pw_port_format(&p, port, sizeof(port));
	printf("%s -> %s on %s: %s (%s)\n", pw_verdict_from(v),
	       pw_verdict_to(v), port,
	       pw_verdict_allowed(v) ? "allowed" : "DENIED",
	       reason_text(pw_verdict_reason(v)));
	for (size_t k = 0; k < 2; k++) {
		enum pw_dir d = order[k];

		side_head(v, d,
			  d == PW_DIR_EGRESS ? pw_verdict_from(v) :
					       pw_verdict_to(v));
		for (size_t i = 0; i < pw_verdict_policy_count(v, d); i++)
			policy_line(v, d, i);
	}
	/* The sides may deny what the verdict allows (same pod, node
	 * traffic): hints are for denied connections only. */
	for (size_t k = 0; k < 2 && !pw_verdict_allowed(v); k++)
		side_hint(v, order[k], port);
}

/* One side of a verdict as explain -o json prints it (assert's
 * counterexamples too). */
void verdict_side_json(struct json *w, const struct pw_verdict *v,
		       enum pw_dir d)
{
	int rule, peer, port;

	json_obj_open(w, pw_dir_name(d));
	json_bool(w, "isolated", pw_verdict_isolated(v, d));
	json_bool(w, "allowed", pw_verdict_side_allowed(v, d));
	json_arr_open(w, "policies");
	for (size_t i = 0; i < pw_verdict_policy_count(v, d); i++) {
		pw_verdict_policy_match(v, d, i, &rule, &peer, &port);
		json_inline(w);
		json_obj_open(w, NULL);
		json_str(w, "namespace", pw_verdict_policy_namespace(v, d, i));
		json_str(w, "name", pw_verdict_policy_name(v, d, i));
		json_index(w, "rule", rule);
		json_index(w, "peer", rule < 0 ? -1 : peer);
		json_index(w, "port", rule < 0 ? -1 : port);
		json_obj_close(w);
	}
	json_arr_close(w);
	json_obj_close(w);
}

static void verdict_json(struct json *w, const struct pw_verdict *v,
			 bool version)
{
	struct pw_port p = pw_verdict_port(v);
	char port[32];

	pw_port_format(&p, port, sizeof(port));
	json_obj_open(w, NULL);
	if (version)
		json_int(w, "version", 1);
	json_str(w, "from", pw_verdict_from(v));
	json_str(w, "to", pw_verdict_to(v));
	json_str(w, "port", port);
	json_bool(w, "allowed", pw_verdict_allowed(v));
	json_str(w, "reason", pw_reason_name(pw_verdict_reason(v)));
	verdict_side_json(w, v, PW_DIR_EGRESS);
	verdict_side_json(w, v, PW_DIR_INGRESS);
	json_obj_close(w);
}

static void pairs_json(const struct pairs *ps)
{
	struct json w;

	json_init(&w, stdout);
	if (ps->n == 1) {
		verdict_json(&w, ps->v[0], true);
	} else {
		json_obj_open(&w, NULL);
		json_int(&w, "version", 1);
		json_arr_open(&w, "verdicts");
		for (size_t i = 0; i < ps->n; i++)
			verdict_json(&w, ps->v[i], false);
		json_arr_close(&w);
		json_obj_close(&w);
	}
	json_end(&w);
}

static struct pw_endpoints *resolve(const struct cmd *cmd,
				    const struct pw_engine *e, const char *text)
{
	struct pw_endpoints *eps = pw_engine_resolve(e, text);

	if (!eps && errno == ENOENT)
		cmd_fail(cmd, "no pod or service '%s'", text);
	else if (!eps && errno == EINVAL)
		cmd_fail(cmd,
			 "'%s' is not a pod (ns/name), a service "
			 "(ns/svc/name) or an IP address",
			 text);
	else if (!eps)
		cmd_fail(cmd, "'%s': %s", text, strerror(errno));
	else if (!pw_endpoints_count(eps))
		cmd_fail(cmd, "'%s' has no backend pods", text);
	else
		return eps;
	pw_endpoints_free(eps);
	return NULL;
}

static void pairs_free(struct pairs *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		pw_verdict_free(ps->v[i]);
	free(ps->v);
	pw_endpoints_free(ps->from);
	pw_endpoints_free(ps->to);
}

/* The service's ports as "80/TCP (http), 81/TCP" into buf. */
static void service_ports_text(const struct pw_endpoints *to, char *buf,
			       size_t len)
{
	size_t n = pw_endpoints_service_port_count(to), used = 0;
	const char *name;
	char port[32];
	struct pw_port p;

	snprintf(buf, len, "none");
	for (size_t i = 0; i < n && used < len; i++) {
		p = pw_endpoints_service_port(to, i, &name);
		pw_port_format(&p, port, sizeof(port));
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s%s%s",
					 i ? ", " : "", port, name ? " (" : "",
					 name ? name : "", name ? ")" : "");
	}
}

/*
 * A ClusterIP forwards only the ports its service defines: any other
 * port goes nowhere, so it has no verdict to explain.
 */
static int check_service_port(const struct cmd *cmd,
			      const struct pw_endpoints *to,
			      const struct pw_port *port)
{
	size_t n = pw_endpoints_service_port_count(to);
	char want[32], have[512];
	struct pw_port p;

	if (!pw_endpoints_service_name(to))
		return 0;
	for (size_t i = 0; i < n; i++) {
		p = pw_endpoints_service_port(to, i, NULL);
		if (!pw_port_cmp(&p, port))
			return 0;
	}
	pw_port_format(port, want, sizeof(want));
	service_ports_text(to, have, sizeof(have));
	return cmd_fail(cmd, "service %s/%s has no port %s; its ports: %s",
			pw_endpoints_service_namespace(to),
			pw_endpoints_service_name(to), want, have);
}

/* Explains every pair of endpoints. 0 or an exit status. */
static int pairs_explain(const struct cmd *cmd, const struct pw_engine *e,
			 const struct explain_args *a, struct pairs *ps)
{
	size_t nf, nt;

	ps->from = resolve(cmd, e, a->from);
	ps->to = ps->from ? resolve(cmd, e, a->to) : NULL;
	if (!ps->to || check_service_port(cmd, ps->to, &a->port))
		return EXIT_TROUBLE;
	nf = pw_endpoints_count(ps->from);
	nt = pw_endpoints_count(ps->to);
	ps->v = calloc(nf * nt, sizeof(*ps->v));
	if (!ps->v)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	for (size_t f = 0; f < nf; f++) {
		for (size_t t = 0; t < nt; t++) {
			ps->v[ps->n] = pw_engine_explain(e, ps->from, f, ps->to,
							 t, &a->port);
			if (!ps->v[ps->n])
				return cmd_fail(cmd, "%s", strerror(errno));
			ps->n++;
		}
	}
	return 0;
}

static int explain_opt(const struct cmd *cmd, void *ctx, int opt,
		       const char *arg)
{
	struct explain_args *a = ctx;

	switch (opt) {
	case OPT_FROM:
		a->from = arg;
		return 0;
	case OPT_TO:
		a->to = arg;
		return 0;
	case OPT_PORT:
		a->port_text = arg;
		return port_arg(cmd, arg, &a->port);
	case OPT_EXIT_CODE:
		a->exit_code = true;
		return 0;
	}
	return -1;
}

static int explain_parse(const struct cmd *cmd, struct inputs *in,
			 struct explain_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "exit-code", no_argument, NULL, OPT_EXIT_CODE },
		{ 0 },
	};
	int status = cmd_parse(cmd, in, argc, argv, longopts, explain_opt, a);

	if (!status && (!a->from || !a->to || !a->port_text))
		return cmd_fail(cmd, "--from, --to and --port are required");
	return status;
}

static bool any_denied(const struct pairs *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!pw_verdict_allowed(ps->v[i]))
			return true;
	return false;
}

int cmd_explain(const struct cmd *cmd, int argc, char **argv)
{
	struct inputs in = { .fmts = OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) };
	struct explain_args a = { 0 };
	struct pairs ps = { 0 };
	struct pw_engine *e = NULL;
	struct loaded l = { 0 };
	int status;

	status = explain_parse(cmd, &in, &a, argc, argv);
	if (status)
		goto out_inputs;
	status = loaded_engine(cmd, &l, &in, &e);
	if (status)
		goto out_loaded;
	status = pairs_explain(cmd, e, &a, &ps);
	if (status)
		goto out_pairs;
	if (in.fmt == OUT_JSON) {
		pairs_json(&ps);
	} else {
		for (size_t i = 0; i < ps.n; i++) {
			if (i)
				putchar('\n');
			verdict_text(ps.v[i]);
		}
	}
	if (a.exit_code && any_denied(&ps))
		status = EXIT_PROBLEMS;
out_pairs:
	pairs_free(&ps);
	pw_engine_free(e);
out_loaded:
	loaded_free(&l);
out_inputs:
	inputs_free(&in);
	return status == CMD_DONE ? 0 : status;
}
