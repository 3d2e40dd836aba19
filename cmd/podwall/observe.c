// SPDX-License-Identifier: Apache-2.0
/*
 * podwall observe: reads podwalld's flow log, prints the lines that match
 * the filters, and follows the file as `tail -F` does (a rotated or
 * truncated log is reopened or reread from its start).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "podwall.h"

const char observe_usage[] =
	"usage: podwall observe [--file F] [--pod P] [--namespace N]\n"
	"                       [--verdict allowed|denied] [--since T]\n"
	"                       [-o text|json] [--no-follow]\n"
	"\n"
	"Prints the lines of podwalld's flow log that match every filter\n"
	"given, then follows the log for new lines (through rotation and\n"
	"truncation; a log not there yet is waited for) until interrupted.\n"
	"\n"
	"  -f, --file F        the flow log (default " PW_FLOW_LOG_PATH ");\n"
	"                      '-' reads standard input (not followed)\n"
	"  -p, --pod P         lines whose source or destination is pod P:\n"
	"                      'ns/name', or 'name' in --namespace (default\n"
	"                      namespace 'default')\n"
	"  -n, --namespace N   lines with a pod of namespace N on either end\n"
	"      --verdict V     allowed or denied\n"
	"      --since T       lines from time T on: RFC 3339\n"
	"                      (2026-11-26T06:00:00Z, 2026-11-26T07:00:00+01:00)\n"
	"                      or a duration back from now (30s, 5m, 2h, 1h30m, 1d)\n"
	"  -o, --output FMT    text (default: one readable line per event) or\n"
	"                      json (the log's lines as they are)\n"
	"      --no-follow     stop at the end of the file\n"
	"  -h, --help          this text\n"
	"\n"
	"Lines that are not flow records are reported on standard error and\n"
	"skipped. Exit status: 0, 1 when some line was malformed, 2 on a\n"
	"usage error or when the file cannot be read.\n";

/* How often a followed file is looked at again, in milliseconds. */
#define FOLLOW_MS 200

struct filter {
	const char *pod; /* "ns/name" (pod_buf) */
	const char *ns;
	int verdict; /* -1: any */
	int64_t since; /* Unix seconds; INT64_MIN: any */
	uint32_t since_us;
	char pod_buf[512];
};

struct observe {
	const char *path;
	enum out_fmt fmt;
	bool follow;
	struct filter flt;
	unsigned long lineno;
	size_t bad;
};

enum {
	OPT_VERDICT = 1000,
	OPT_SINCE,
	OPT_NO_FOLLOW,
};

static const struct option observe_opts[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "pod", required_argument, NULL, 'p' },
	{ "namespace", required_argument, NULL, 'n' },
	{ "verdict", required_argument, NULL, OPT_VERDICT },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "no-follow", no_argument, NULL, OPT_NO_FOLLOW },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ---- --since --------------------------------------------------------- */

/* "30s", "5m", "2h", "1d", and sums of them ("1h30m"). */
static bool parse_duration(const char *s, int64_t *out)
{
	static const struct {
		char unit;
		int64_t sec;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	int64_t total = 0;

	if (!*s)
		return false;
	while (*s) {
		char *end;
		long long v;
		size_t u;

		if (*s < '0' || *s > '9')
			return false;
		errno = 0;
		v = strtoll(s, &end, 10);
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (*end == units[u].unit)
				break;
		if (errno || u == sizeof(units) / sizeof(units[0]) ||
		    v > INT32_MAX)
			return false;
		total += v * units[u].sec;
		if (total > (int64_t)100 * 365 * 86400)
			return false;
		s = end + 1;
	}
	*out = total;
	return true;
}

static bool two(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

/* The fraction and zone after "YYYY-MM-DDTHH:MM:SS": 0 or -1. */
static int zone(const char *s, uint32_t *us, int64_t *offset)
{
	int hh, mm, sign;
	uint32_t scale = 100000;

	*us = 0;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return -1;
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			*us += (uint32_t)(*s - '0') * scale;
	}
	*offset = 0;
	if ((*s == 'Z' || *s == 'z') && !s[1])
		return 0;
	if ((*s != '+' && *s != '-') || !two(s + 1, &hh) || s[3] != ':' ||
	    !two(s + 4, &mm) || s[6] || hh > 23 || mm > 59)
		return -1;
	sign = *s == '-' ? -1 : 1;
	*offset = sign * (hh * 3600 + mm * 60);
	return 0;
}

/* RFC 3339: "2026-11-26T06:00:00Z", "...T06:00:00.5+01:00". */
static bool parse_rfc3339(const char *s, int64_t *sec, uint32_t *us)
{
	struct tm tm = { .tm_isdst = 0 };
	int64_t offset;
	char *end;

	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || (*end != 'T' && *end != 't' && *end != ' '))
		return false;
	end = strptime(end + 1, "%H:%M:%S", &tm);
	if (!end || zone(end, us, &offset) || s[4] != '-')
		return false;
	*sec = (int64_t)timegm(&tm) - offset;
	return true;
}

static int opt_since(const struct cmd *cmd, struct filter *f, const char *arg)
{
	int64_t d;

	if (parse_rfc3339(arg, &f->since, &f->since_us))
		return 0;
	if (!parse_duration(arg, &d))
		return cmd_fail(cmd,
				"--since takes an RFC 3339 time "
				"(2026-11-26T06:00:00Z) or a duration (30s, "
				"5m, 2h), not '%s'",
				arg);
	f->since = (int64_t)time(NULL) - d;
	f->since_us = 0;
	return 0;
}

/* ---- options ---------------------------------------------------------- */

static int opt_verdict(const struct cmd *cmd, struct filter *f, const char *arg)
{
	static const enum pw_flow_verdict vs[] = { PW_FLOW_ALLOWED,
						   PW_FLOW_DENIED };

	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		if (!strcmp(arg, pw_flow_verdict_name(vs[i]))) {
			f->verdict = (int)vs[i];
			return 0;
		}
	}
	return cmd_fail(cmd, "--verdict takes allowed or denied, not '%s'",
			arg);
}

static int own_opt(const struct cmd *cmd, struct observe *o, int c,
		   const char *arg)
{
	switch (c) {
	case 'f':
		o->path = arg;
		return 0;
	case 'p':
		o->flt.pod = arg;
		return 0;
	case 'n':
		o->flt.ns = arg;
		return 0;
	case OPT_VERDICT:
		return opt_verdict(cmd, &o->flt, arg);
	case OPT_SINCE:
		return opt_since(cmd, &o->flt, arg);
	case OPT_NO_FOLLOW:
		o->follow = false;
		return 0;
	}
	return -1;
}

/* --pod NAME is NAME in --namespace, or in "default" as kubectl has it. */
static int finish_pod(const struct cmd *cmd, struct filter *f)
{
	if (!f->pod)
		return 0;
	if (!*f->pod || (f->ns && !*f->ns))
		return cmd_fail(cmd, "--pod and --namespace take a name");
	if (strchr(f->pod, '/'))
		return 0;
	snprintf(f->pod_buf, sizeof(f->pod_buf), "%s/%s",
		 f->ns ? f->ns : "default", f->pod);
	f->pod = f->pod_buf;
	return 0;
}

static int parse(const struct cmd *cmd, struct observe *o, int argc,
		 char **argv)
{
	struct inputs in = { .fmts = OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) };
	int c, ret = 0;

	optind = 1;
	while (!ret && (c = getopt_long(argc, argv, ":f:p:n:o:h", observe_opts,
					NULL)) != -1) {
		ret = own_opt(cmd, o, c, optarg);
		if (ret == -1)
			ret = common_opt(cmd, &in, c, argv);
	}
	o->fmt = in.fmt;
	inputs_free(&in);
	if (ret)
		return ret;
	if (optind < argc)
		return cmd_fail(cmd, "unexpected argument '%s'", argv[optind]);
	return finish_pod(cmd, &o->flt);
}

/* ---- matching and printing --------------------------------------------- */

static bool in_ns(const char *name, const char *ns)
{
	size_t n = strlen(ns);

	return !strncmp(name, ns, n) && name[n] == '/';
}

static bool matches(const struct filter *f, const struct pw_flow *r)
{
	const char *src = pw_flow_str(r, PW_FLOW_SRC);
	const char *dst = pw_flow_str(r, PW_FLOW_DST);
	uint32_t us;
	int64_t t = pw_flow_time(r, &us);

	if (f->verdict >= 0 && (int)pw_flow_verdict(r) != f->verdict)
		return false;
	if (t < f->since || (t == f->since && us < f->since_us))
		return false;
	if (f->pod && strcmp(src, f->pod) && strcmp(dst, f->pod))
		return false;
	return !f->ns || in_ns(src, f->ns) || in_ns(dst, f->ns);
}

/* Text from the log, with control bytes shown, not sent to a terminal. */
static void safe(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

/* "t/client:40124", "[fd00::1]:80", "t/client" (no port). */
static void endpoint(FILE *out, const char *name, int64_t port)
{
	bool v6 = strchr(name, ':') != NULL;

	if (port >= 0 && v6)
		fputc('[', out);
	safe(out, name);
	if (port >= 0)
		fprintf(out, "%s:%lld", v6 ? "]" : "", (long long)port);
}

/* Why: the rule that allowed, the policies that isolate, or the check. */
static void reason(FILE *out, const struct pw_flow *r)
{
	const char *check = pw_flow_str(r, PW_FLOW_CHECK);
	const char *policy = pw_flow_str(r, PW_FLOW_POLICY);

	if (check && !strcmp(check, "unknown")) {
		fputs("unknown address in the pod range (fail-closed)", out);
	} else if (check && !strcmp(check, "spoof")) {
		fputs("source address not the pod's own (anti-spoofing)", out);
	} else if (policy) {
		fputs("by ", out);
		safe(out, policy);
		fprintf(out, " rule %lld",
			(long long)pw_flow_num(r, PW_FLOW_RULE));
	} else if (pw_flow_policy_count(r)) {
		fputs("no rule of ", out);
		for (size_t i = 0; i < pw_flow_policy_count(r); i++) {
			fputs(i ? ", " : "", out);
			safe(out, pw_flow_policy(r, i));
		}
	} else {
		fputs(pw_flow_verdict(r) == PW_FLOW_ALLOWED ?
			      "not isolated" :
			      "no isolating policy known",
		      out);
	}
}

static void print_text(FILE *out, const struct pw_flow *r)
{
	int64_t count = pw_flow_num(r, PW_FLOW_COUNT);
	uint32_t us;
	time_t t = (time_t)pw_flow_time(r, &us);
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "%s.%06uZ ", when, (unsigned)us);
	fprintf(out, "%-7s %-7s %-6s ",
		pw_flow_verdict_name(pw_flow_verdict(r)),
		pw_dir_name(pw_flow_direction(r)),
		pw_flow_proto_name(pw_flow_proto(r)));
	endpoint(out, pw_flow_str(r, PW_FLOW_SRC),
		 pw_flow_num(r, PW_FLOW_SPORT));
	fputs(" -> ", out);
	endpoint(out, pw_flow_str(r, PW_FLOW_DST),
		 pw_flow_num(r, PW_FLOW_DPORT));
	fputs(": ", out);
	reason(out, r);
	if (count > 1)
		fprintf(out, " (x%lld)", (long long)count);
	fputc('\n', out);
}

/* One line of the log (without its newline): printed when it matches. */
static void one_line(struct observe *o, const char *line, size_t len)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_flow *r;

	o->lineno++;
	if (!len)
		goto out;
	r = pw_flow_parse(line, len, o->path, (unsigned)o->lineno, d);
	if (!r) {
		o->bad++;
		diags_print(d, stderr);
		goto out;
	}
	if (matches(&o->flt, r)) {
		if (o->fmt == OUT_JSON) {
			fwrite(line, 1, len, stdout);
			fputc('\n', stdout);
		} else {
			print_text(stdout, r);
		}
	}
	pw_flow_free(r);
out:
	pw_diags_free(d);
}

/* A growing buffer of what was read and is not a whole line yet. */
struct pending {
	char *buf;
	size_t n, cap;
};

/*
 * Reads what f has now; whole lines are handled, a last partial line
 * waits in p (a writer may be in the middle of it). -errno on a read
 * error, 0 at the end of what there is.
 */
static int drain(struct observe *o, FILE *f, struct pending *p)
{
	char chunk[65536];
	size_t n, start;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (p->n + n > p->cap) {
			size_t cap = (p->n + n) * 2;
			char *b = realloc(p->buf, cap);

			if (!b)
				return -ENOMEM;
			p->buf = b;
			p->cap = cap;
		}
		memcpy(p->buf + p->n, chunk, n);
		p->n += n;
		start = 0;
		for (size_t i = 0; i < p->n; i++) {
			if (p->buf[i] != '\n')
				continue;
			one_line(o, p->buf + start, i - start);
			start = i + 1;
		}
		memmove(p->buf, p->buf + start, p->n - start);
		p->n -= start;
	}
	fflush(stdout);
	if (ferror(f))
		return -EIO;
	clearerr(f); /* at EOF: a followed file may grow */
	return 0;
}

/* Whether the file at the path is no longer the one open (rotated), or
 * was truncated under us. */
static bool moved(const char *path, FILE *f)
{
	struct stat a, b;

	if (stat(path, &a) || fstat(fileno(f), &b))
		return false; /* gone for now: keep what is open */
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return true;
	return a.st_size < ftello(f);
}

static int follow(struct observe *o, FILE **f, struct pending *p)
{
	struct timespec ts = { .tv_nsec = FOLLOW_MS * 1000000L };
	int ret;

	for (;;) {
		ret = drain(o, *f, p);
		if (ret)
			return ret;
		nanosleep(&ts, NULL);
		if (!moved(o->path, *f))
			continue;
		drain(o, *f, p); /* the rest of the old file first */
		p->n = 0;
		fclose(*f);
		*f = fopen(o->path, "re");
		if (!*f) /* between a rename and the new file: wait for it */
			while (!(*f = fopen(o->path, "re")))
				nanosleep(&ts, NULL);
	}
}

/* Following a log that is not there yet waits for it, as tail -F does
 * (the agent makes it when it starts). */
static FILE *open_log(const struct observe *o)
{
	struct timespec ts = { .tv_nsec = FOLLOW_MS * 1000000L };
	FILE *f = fopen(o->path, "re");

	if (f || errno != ENOENT || !o->follow)
		return f;
	fprintf(stderr, "podwall observe: waiting for %s to appear\n", o->path);
	while (!(f = fopen(o->path, "re")) && errno == ENOENT)
		nanosleep(&ts, NULL);
	return f;
}

static int run(const struct cmd *cmd, struct observe *o)
{
	bool in = !strcmp(o->path, "-");
	FILE *f = in ? stdin : open_log(o);
	struct pending p = { .buf = NULL };
	int ret;

	if (!f)
		return cmd_fail(cmd, "%s: %s", o->path, strerror(errno));
	ret = o->follow && !in ? follow(o, &f, &p) : drain(o, f, &p);
	if (!ret && p.n)
		one_line(o, p.buf, p.n); /* a last line without its newline */
	free(p.buf);
	if (f != stdin)
		fclose(f);
	if (ret)
		return cmd_fail(cmd, "%s: %s", o->path, strerror(-ret));
	return o->bad ? EXIT_PROBLEMS : 0;
}

int cmd_observe(const struct cmd *cmd, int argc, char **argv)
{
	struct observe o = {
		.path = PW_FLOW_LOG_PATH,
		.follow = true,
		.flt = { .verdict = -1, .since = INT64_MIN },
	};
	int ret = parse(cmd, &o, argc, argv);

	if (ret)
		return ret == CMD_DONE ? 0 : ret;
	return run(cmd, &o);
}
