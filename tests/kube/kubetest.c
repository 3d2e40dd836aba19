// SPDX-License-Identifier: Apache-2.0
/*
 * The test client of the Kubernetes API source (tests/kube/run.py drives
 * it against tests/kube/server.py):
 *
 *   kubetest unit
 *	table-driven checks of the kubeconfig reader, the in-cluster
 *	configuration and the JSON side (list pages, watch lines).
 *   kubetest watch --kubeconfig FILE [--until PREFIX]... [--max-ms N]
 *		    [--backoff-min MS] [--backoff-max MS] [--page-limit N]
 *		    [--watch-timeout S] [--src] [--quiet]
 *	runs the watch and prints one line per source event:
 *	  RESET Pod | SYNCED Pod | DELETE Pod ns/name |
 *	  UPSERT Pod ns/name rv=RV load=ok|<first diagnostic>
 *	where load says whether podwall's strict decoder accepts the text
 *	handed over. Ends with status 0 once, for every PREFIX, a line
 *	starting with it was printed (UPSERT lines are matched even when
 *	--quiet leaves them out); 3 when --max-ms pass first. --src runs it
 *	through kube_src_new() (its thread, default backoff) instead.
 *	Without --src it also prints "FAILING" when some kind's requests
 *	start to keep failing (kube_watch_failing) and "WORKING" when they
 *	all work again.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <podwall/podwall.h>

#include "kube.h"
#include "../check.h"

/* ---- what podwall's decoder says about a text --------------------- */

static void load_check(const char *kind, const char *text, size_t len,
		       char *out, size_t outlen)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	int ret;

	snprintf(out, outlen, "ok");
	if (!c || !d) {
		snprintf(out, outlen, "nomem");
		goto out;
	}
	ret = pw_cluster_load_buffer(c, "event", text, len, d);
	if (pw_diags_error_count(d))
		pw_diag_format(pw_diags_get(d, 0), out, outlen);
	else if (ret)
		snprintf(out, outlen, "load error %d", ret);
	else if (pw_cluster_count(c, !strcmp(kind, "Pod") ?
					     PW_KIND_POD :
				     !strcmp(kind, "Namespace") ?
					     PW_KIND_NAMESPACE :
					     PW_KIND_NETWORK_POLICY) != 1)
		snprintf(out, outlen, "not loaded as a %s", kind);
out:
	pw_diags_free(d);
	pw_cluster_free(c);
}

/* ---- watch mode --------------------------------------------------- */

static const char *event_names[] = {
	[SRC_UPSERT] = "UPSERT",
	[SRC_DELETE] = "DELETE",
	[SRC_SYNCED] = "SYNCED",
	[SRC_RESET] = "RESET",
};

#define MAX_UNTIL 8

struct run {
	const char *until[MAX_UNTIL];
	bool seen[MAX_UNTIL];
	size_t nuntil;
	bool done;
	bool quiet; /* --quiet: no UPSERT lines, no load check */
	unsigned long upserts;
	int donefd; /* eventfd, for --src (emit runs in the source's thread) */
	pthread_mutex_t lock;
};

static void match_until(struct run *r, const char *line);

static void print_event(struct run *r, enum src_event ev,
			const struct src_object *o)
{
	char line[1024], load[512] = "";
	json_t *obj, *rv;

	if (ev == SRC_UPSERT && r->quiet) {
		r->upserts++;
		snprintf(line, sizeof(line), "UPSERT %s %s%s%s", o->kind, o->ns,
			 o->ns[0] ? "/" : "", o->name);
	} else if (ev == SRC_UPSERT) {
		obj = json_loadb(o->text, o->len, 0, NULL);
		rv = json_object_get(json_object_get(obj, "metadata"),
				     "resourceVersion");
		load_check(o->kind, o->text, o->len, load, sizeof(load));
		snprintf(line, sizeof(line), "UPSERT %s %s%s%s rv=%s load=%s",
			 o->kind, o->ns, o->ns[0] ? "/" : "", o->name,
			 json_string_value(rv) ? json_string_value(rv) : "-",
			 load);
		json_decref(obj);
	} else if (ev == SRC_DELETE) {
		snprintf(line, sizeof(line), "DELETE %s %s%s%s", o->kind, o->ns,
			 o->ns[0] ? "/" : "", o->name);
	} else {
		snprintf(line, sizeof(line), "%s %s", event_names[ev], o->kind);
	}
	if (!r->quiet || ev == SRC_SYNCED || ev == SRC_RESET)
		printf("%s\n", line);
	fflush(stdout);
	match_until(r, line);
}

static void match_until(struct run *r, const char *line)
{
	r->done = r->nuntil > 0;
	for (size_t i = 0; i < r->nuntil; i++) {
		if (!strncmp(line, r->until[i], strlen(r->until[i])))
			r->seen[i] = true;
		r->done = r->done && r->seen[i];
	}
}

static void emit(void *ctx, enum src_event ev, const struct src_object *o)
{
	struct run *r = ctx;
	uint64_t one = 1;

	pthread_mutex_lock(&r->lock);
	print_event(r, ev, o);
	if (r->done && r->donefd >= 0 &&
	    write(r->donefd, &one, sizeof(one)) != sizeof(one))
		perror("kubetest: eventfd");
	pthread_mutex_unlock(&r->lock);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tlog(void *ctx, int level, const char *msg)
{
	fprintf(stderr, "kube[%d]: %s\n", level, msg);
}

static int watch_loop(struct kube_watch *w, struct run *r, long long max_ms)
{
	long long end = now_ms() + max_ms;
	struct pollfd p = { .fd = kube_watch_fd(w), .events = POLLIN };

	unsigned failing = 0;

	kube_watch_start(w, emit, r);
	while (!r->done && now_ms() < end) {
		if (poll(&p, 1, 50) < 0 && errno != EINTR)
			return 2;
		if (kube_watch_dispatch(w))
			return 2;
		if (!kube_watch_failing(w) != !failing) {
			failing = kube_watch_failing(w);
			printf("%s\n", failing ? "FAILING" : "WORKING");
			match_until(r, failing ? "FAILING" : "WORKING");
		}
	}
	return r->done ? 0 : 3;
}

static int src_loop(const char *kubeconfig, struct run *r, long long max_ms)
{
	struct src_config cfg = { .kubeconfig = kubeconfig };
	struct pollfd p;
	struct src *s;
	int ret = 3;

	r->donefd = eventfd(0, EFD_CLOEXEC);
	s = kube_src_new(&cfg);
	if (!s || r->donefd < 0)
		return 2;
	if (s->ops->start(s, emit, r)) {
		s->ops->free(s);
		return 2;
	}
	p = (struct pollfd){ .fd = r->donefd, .events = POLLIN };
	if (poll(&p, 1, (int)max_ms) == 1)
		ret = 0;
	s->ops->stop(s);
	s->ops->free(s);
	close(r->donefd);
	return ret;
}

static int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "until", required_argument, NULL, 'u' },
		{ "max-ms", required_argument, NULL, 'm' },
		{ "backoff-min", required_argument, NULL, 'b' },
		{ "backoff-max", required_argument, NULL, 'B' },
		{ "page-limit", required_argument, NULL, 'p' },
		{ "watch-timeout", required_argument, NULL, 't' },
		{ "src", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct kube_watch_opts o = { .log = tlog };
	struct run r = { .donefd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *path = NULL;
	char err[KUBE_ERR_MAX] = "";
	long long max_ms = 20000;
	struct kube_config *kc;
	struct kube_watch *w;
	bool src = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			path = optarg;
			break;
		case 'u':
			if (r.nuntil == MAX_UNTIL)
				return 2;
			r.until[r.nuntil++] = optarg;
			break;
		case 'm':
			max_ms = atoll(optarg);
			break;
		case 'b':
			o.backoff_min_ms = (unsigned)atoi(optarg);
			break;
		case 'B':
			o.backoff_max_ms = (unsigned)atoi(optarg);
			break;
		case 'p':
			o.page_limit = (unsigned)atoi(optarg);
			break;
		case 't':
			o.watch_timeout_s = (unsigned)atoi(optarg);
			break;
		case 'q':
			r.quiet = true;
			break;
		case 's':
			src = true;
			break;
		default:
			return 2;
		}
	}
	if (!path)
		return 2;
	if (src)
		return src_loop(path, &r, max_ms);
	kc = kube_config_load(path, err, sizeof(err));
	if (!kc) {
		fprintf(stderr, "kubetest: %s\n", err);
		return 2;
	}
	w = kube_watch_new(kc, &o);
	ret = w ? watch_loop(w, &r, max_ms) : 2;
	kube_watch_free(w);
	kube_config_free(kc);
	return ret;
}

/* ---- unit mode ---------------------------------------------------- */

static char tmpdir[] = "/tmp/kubetest.XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		perror(path);
}

static struct kube_config *load_text(const char *text, char *err, size_t n)
{
	char path[256];

	write_file("config", text);
	snprintf(path, sizeof(path), "%s/config", tmpdir);
	err[0] = '\0';
	return kube_config_load(path, err, n);
}

#define KC_HEAD                                                        \
	"apiVersion: v1\nkind: Config\ncurrent-context: c1\n"          \
	"contexts:\n- name: other\n  context: {cluster: x, user: x}\n" \
	"- name: c1\n  context: {cluster: k1, user: u1, namespace: shop}\n"

/* Kubeconfigs that load, and what they must give. */
static const struct {
	const char *text;
	const char *server, *ca_file, *ca_data, *token, *cert_data, *key_file;
	bool insecure;
} good_configs[] = {
	{ KC_HEAD "clusters:\n- name: k1\n  cluster:\n    server: "
		  "https://10.0.0.1:6443/\n    certificate-authority: ca.pem\n"
		  "users:\n- name: u1\n  user: {token: abc.def}\n",
	  "https://10.0.0.1:6443", "/ca.pem", NULL, "abc.def", NULL, NULL,
	  false },
	{ KC_HEAD "clusters:\n- name: k1\n  cluster:\n    server: "
		  "http://127.0.0.1:8080\n    insecure-skip-tls-verify: true\n"
		  "    certificate-authority-data: aGVsbG8=\n"
		  "users:\n- name: u1\n  user:\n    client-certificate-data: "
		  "Y2VydA\n    client-key: /etc/k.pem\n",
	  "http://127.0.0.1:8080", NULL, "hello", NULL, "cert", "/etc/k.pem",
	  true },
};

/* Kubeconfigs that do not, and a word the message must hold. */
static const struct {
	const char *text;
	const char *why;
} bad_configs[] = {
	{ "apiVersion: v1\nkind: Config\n", "current-context" },
	{ KC_HEAD "clusters: []\nusers: []\n", "names no defined cluster" },
	{ KC_HEAD "clusters:\n- name: k1\n  cluster: {server: ftp://x}\n"
		  "users:\n- name: u1\n  user: {token: t}\n",
	  "https://" },
	{ KC_HEAD "clusters:\n- name: k1\n  cluster: {server: https://x}\n"
		  "users:\n- name: u1\n  user: {exec: {command: sh}}\n",
	  "\"exec\" is not supported" },
	{ KC_HEAD "clusters:\n- name: k1\n  cluster: {server: https://x, "
		  "certificate-authority-data: \"!!\"}\n"
		  "users:\n- name: u1\n  user: {token: t}\n",
	  "not valid base64" },
	{ KC_HEAD "clusters:\n- name: k1\n  cluster: {server: https://x}\n"
		  "users:\n- name: u1\n  user: {client-key: k.pem}\n",
	  "needs its key" },
	{ "a: [b\n", "config:" },
	{ KC_HEAD "clusters:\n- name: k1\n  cluster: {server: https://x}\n"
		  "users: []\n",
	  "user that is not defined" },
};

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void test_kubeconfig(void)
{
	char err[KUBE_ERR_MAX], want[256];
	struct kube_config *kc;

	for (size_t i = 0; i < KUBE_ARRAY_SIZE(good_configs); i++) {
		kc = load_text(good_configs[i].text, err, sizeof(err));
		CHECK(kc, "good config %zu: %s", i, err);
		if (!kc)
			continue;
		snprintf(want, sizeof(want), "%s%s", tmpdir,
			 good_configs[i].ca_file ? good_configs[i].ca_file :
						   "");
		CHECK(str_eq(kc->server, good_configs[i].server),
		      "config %zu server %s", i, kc->server);
		CHECK(good_configs[i].ca_file ? str_eq(kc->ca_file, want) :
						!kc->ca_file,
		      "config %zu ca_file %s", i, kc->ca_file);
		CHECK(str_eq(kc->ca_data, good_configs[i].ca_data),
		      "config %zu ca_data", i);
		CHECK(str_eq(kc->token, good_configs[i].token),
		      "config %zu token", i);
		CHECK(str_eq(kc->cert_data, good_configs[i].cert_data),
		      "config %zu cert_data", i);
		CHECK(str_eq(kc->key_file, good_configs[i].key_file),
		      "config %zu key_file", i);
		CHECK(kc->insecure == good_configs[i].insecure,
		      "config %zu insecure", i);
		CHECK(str_eq(kc->ns, "shop"), "config %zu namespace", i);
		kube_config_free(kc);
	}
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(bad_configs); i++) {
		kc = load_text(bad_configs[i].text, err, sizeof(err));
		CHECK(!kc && strstr(err, bad_configs[i].why),
		      "bad config %zu: got \"%s\", want \"%s\"", i, err,
		      bad_configs[i].why);
		kube_config_free(kc);
	}
	kc = kube_config_load("/nonexistent/kubeconfig", err, sizeof(err));
	CHECK(!kc && errno == ENOENT && strstr(err, "No such file"),
	      "missing kubeconfig: %s", err);
}

static void test_in_cluster(void)
{
	char err[KUBE_ERR_MAX] = "", *tok;
	struct kube_config *kc;

	unsetenv("KUBERNETES_SERVICE_HOST");
	kc = kube_config_in_cluster(tmpdir, err, sizeof(err));
	CHECK(!kc && strstr(err, "--kubeconfig"), "outside: %s", err);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	write_file("token", "tok-1\n");
	write_file("ca.crt", "x");
	write_file("namespace", "kube-system\n");
	kc = kube_config_in_cluster(tmpdir, err, sizeof(err));
	CHECK(kc, "in-cluster: %s", err);
	if (!kc)
		return;
	CHECK(str_eq(kc->server, "https://[fd00::1]:443"), "server %s",
	      kc->server);
	CHECK(str_eq(kc->ns, "kube-system"), "namespace %s", kc->ns);
	tok = kube_config_token(kc);
	CHECK(str_eq(tok, "tok-1"), "token %s", tok);
	free(tok);
	/* a rotated token is read afresh; one that would split the header
	 * is refused */
	write_file("token", "tok-2");
	tok = kube_config_token(kc);
	CHECK(str_eq(tok, "tok-2"), "rotated token %s", tok);
	free(tok);
	write_file("token", "a\r\nX-Evil: 1");
	tok = kube_config_token(kc);
	CHECK(!tok && errno == EINVAL, "header injection accepted");
	free(tok);
	kube_config_free(kc);
}

struct capture {
	char log[4096];
	size_t n;
};

static void cap_emit(void *ctx, enum src_event ev, const struct src_object *o)
{
	struct capture *c = ctx;
	char load[256] = "-";
	int n;

	if (o->text)
		load_check(o->kind, o->text, o->len, load, sizeof(load));
	n = snprintf(c->log + c->n, sizeof(c->log) - c->n, "%s %s/%s %s %s;",
		     event_names[ev], o->ns, o->name, o->origin, load);
	if (n > 0 && (size_t)n < sizeof(c->log) - c->n)
		c->n += (size_t)n;
}

static const struct kube_kind pod_kind = { "Pod", "v1", "/api/v1/pods", "pods",
					   true };
static const struct kube_kind ns_kind = { "Namespace", "v1",
					  "/api/v1/namespaces", "namespaces",
					  false };

#define POD(ns, name, rv)                                                \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns       \
	"\",\"uid\":\"u\",\"resourceVersion\":\"" rv "\","               \
	"\"managedFields\":[{\"manager\":\"kubelet\",\"fieldsV1\":{}}]," \
	"\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"      \
	"\"name\":\"c\",\"image\":\"nginx\"}]},\"status\":{\"phase\":"   \
	"\"Running\",\"podIP\":\"10.1.0.5\"}}"

/* Watch lines and what they must give. */
static const struct {
	const struct kube_kind *k;
	const char *line;
	enum kube_line want;
	const char *rv; /* after the line, NULL: unchanged ("0") */
	const char *log;
} lines[] = {
	{ &pod_kind, "{\"type\":\"ADDED\",\"object\":" POD("a", "p", "7") "}",
	  KUBE_LINE_OK, "7", "UPSERT a/p kube:pods/a/p ok;" },
	{ &pod_kind,
	  "{\"type\":\"DELETED\",\"object\":" POD("a", "p", "9") "}\r",
	  KUBE_LINE_OK, "9", "DELETE a/p kube:pods/a/p -;" },
	{ &pod_kind,
	  "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
	  "{\"resourceVersion\":\"12\"}}}",
	  KUBE_LINE_OK, "12", "" },
	{ &pod_kind,
	  "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410}}",
	  KUBE_LINE_GONE, NULL, "" },
	{ &pod_kind,
	  "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500}}",
	  KUBE_LINE_ERROR, NULL, "" },
	{ &pod_kind, "  ", KUBE_LINE_OK, NULL, "" },
	{ &pod_kind, "{\"type\":\"ADDED\",\"object\":{\"metadata\":",
	  KUBE_LINE_BAD, NULL, "" },
	{ &pod_kind, "{\"type\":\"ADDED\",\"object\":[]}", KUBE_LINE_BAD, NULL,
	  "" },
	{ &pod_kind, "{\"type\":\"EXPLODED\",\"object\":{}}", KUBE_LINE_BAD,
	  NULL, "" },
	{ &pod_kind,
	  "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}",
	  KUBE_LINE_BAD, NULL, "" },
	{ &pod_kind,
	  "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\","
	  "\"resourceVersion\":\"3\"}}}",
	  KUBE_LINE_BAD, NULL, "" },
	{ &ns_kind,
	  "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"n\","
	  "\"resourceVersion\":\"4\",\"labels\":{\"a\":\"true\"}},"
	  "\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{"
	  "\"phase\":\"Active\"}}}",
	  KUBE_LINE_OK, "4", "UPSERT /n kube:namespaces/n ok;" },
	{ &ns_kind,
	  "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"n\","
	  "\"namespace\":\"x\",\"resourceVersion\":\"4\"}}}",
	  KUBE_LINE_BAD, NULL, "" },
};

static void test_watch_lines(void)
{
	struct capture cap;
	struct kube_sink s;
	enum kube_line l;
	char *rv;

	for (size_t i = 0; i < KUBE_ARRAY_SIZE(lines); i++) {
		memset(&cap, 0, sizeof(cap));
		rv = strdup("0");
		s = (struct kube_sink){ .k = lines[i].k,
					.emit = cap_emit,
					.ctx = &cap,
					.rv = &rv };
		l = kube_watch_line(&s, lines[i].line, strlen(lines[i].line));
		CHECK(l == lines[i].want, "line %zu: %d, want %d (%s)", i, l,
		      lines[i].want, s.msg);
		CHECK(str_eq(rv, lines[i].rv ? lines[i].rv : "0"),
		      "line %zu: rv %s", i, rv);
		CHECK(!strcmp(cap.log, lines[i].log), "line %zu: emitted %s", i,
		      cap.log);
		free(rv);
	}
}

/* List pages: items lack kind and apiVersion; the page is all or none. */
static const struct {
	const char *body;
	bool reset;
	int want;
	const char *cont, *rv, *log;
} pages[] = {
	{ "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
	  "\"resourceVersion\":\"20\",\"continue\":\"c/2=\"},\"items\":[" POD(
		  "a", "p", "5") "," POD("b", "q", "6") "]}",
	  true, 0, "c/2=", "20",
	  "RESET / kube:pods -;UPSERT a/p kube:pods/a/p ok;"
	  "UPSERT b/q kube:pods/b/q ok;" },
	{ "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"21\"},"
	  "\"items\":[]}",
	  false, 0, NULL, "21", "" },
	{ "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"22\"},"
	  "\"items\":[" POD("a", "p", "5") ",{\"metadata\":{}}]}",
	  true, -EBADMSG, NULL, "0", "" },
	{ "{\"kind\":\"PodList\"", true, -EBADMSG, NULL, "0", "" },
	{ "{\"kind\":\"PodList\",\"metadata\":{},\"items\":[]}", true, -EBADMSG,
	  NULL, "0", "" },
	{ "{\"kind\":\"Status\",\"code\":500}", true, -EBADMSG, NULL, "0", "" },
};

static void test_list_pages(void)
{
	struct capture cap;
	struct kube_sink s;
	char *rv, *cont;
	int ret;

	for (size_t i = 0; i < KUBE_ARRAY_SIZE(pages); i++) {
		memset(&cap, 0, sizeof(cap));
		rv = strdup("0");
		s = (struct kube_sink){ .k = &pod_kind,
					.emit = cap_emit,
					.ctx = &cap,
					.rv = &rv,
					.reset = pages[i].reset };
		ret = kube_list_page(&s, pages[i].body, strlen(pages[i].body),
				     &cont);
		CHECK(ret == pages[i].want, "page %zu: %d (%s)", i, ret, s.msg);
		CHECK(str_eq(cont, pages[i].cont), "page %zu: continue %s", i,
		      cont);
		CHECK(str_eq(rv, pages[i].rv), "page %zu: rv %s", i, rv);
		CHECK(!strcmp(cap.log, pages[i].log), "page %zu: emitted %s", i,
		      cap.log);
		free(rv);
		free(cont);
	}
}

static int cmd_unit(void)
{
	static const char *const files[] = { "config", "token", "ca.crt",
					     "namespace" };
	char path[256];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_kubeconfig();
	test_in_cluster();
	test_watch_lines();
	test_list_pages();
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	if (rmdir(tmpdir))
		perror(tmpdir);
	return check_done("kube_unit");
}

int main(int argc, char **argv)
{
	int ret;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc > 1 && !strcmp(argv[1], "unit"))
		ret = cmd_unit();
	else if (argc > 1 && !strcmp(argv[1], "watch"))
		ret = cmd_watch(argc - 1, argv + 1);
	else
		ret = 2;
	if (ret == 2 && argc < 2)
		fprintf(stderr, "usage: kubetest unit | watch ...\n");
	curl_global_cleanup();
	return ret;
}
