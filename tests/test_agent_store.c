// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of podwalld's pieces that need no kernel: the store (last
 * good version, rejections, relists), the event queue (deep copies, order
 * across threads) and the structured log (values cannot forge a line or a
 * field). The agent's sources are compiled in directly: podwalld is a
 * program, not a library.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <podwall/podwall.h>

#include "check.h"
#include "../cmd/podwalld/evq.c"
#include "../cmd/podwalld/log.c"
#include "../cmd/podwalld/store.c"

static const char deny[] = "apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: deny, namespace: t}\n"
			   "spec: {podSelector: {}}\n";
static const char deny_bad[] = "apiVersion: networking.k8s.io/v1\n"
			       "kind: NetworkPolicy\n"
			       "metadata: {name: deny, namespace: t}\n"
			       "spec: {podSelector: {}, policyTypes: [Up]}\n";
static const char allow[] = "apiVersion: networking.k8s.io/v1\n"
			    "kind: NetworkPolicy\n"
			    "metadata: {name: deny, namespace: t}\n"
			    "spec: {podSelector: {}, ingress: [{}]}\n";
static const char broken_yaml[] = "kind: NetworkPolicy\nmetadata: {name: x\n";

static struct src_object obj(const char *kind, const char *ns, const char *name,
			     const char *text)
{
	struct src_object o = {
		.kind = kind,
		.ns = ns,
		.name = name,
		.text = text,
		.len = text ? strlen(text) : 0,
		.origin = "test.yaml",
	};
	return o;
}

static const struct store_entry *get(struct store *st, const char *kind,
				     const char *ns, const char *name)
{
	return *find(st, kind, ns, name);
}

/* Whether e's good version is text. */
static bool is_text(const struct store_entry *e, const char *text)
{
	uint8_t digest[PW_SHA256_LEN];

	pw_sha256(text, strlen(text), digest);
	return e && e->unit && !memcmp(e->digest, digest, sizeof(digest));
}

static void test_last_good(void)
{
	struct store *st = store_new();
	struct src_object o = obj("NetworkPolicy", "t", "deny", deny);
	struct pw_diags *d = NULL;
	const struct store_entry *e;

	CHECK(store_upsert(st, &o, NULL) == STORE_CHANGED, "first version");
	CHECK(store_upsert(st, &o, NULL) == STORE_UNCHANGED, "same again");
	o.text = deny_bad;
	o.len = strlen(deny_bad);
	CHECK(store_upsert(st, &o, &d) == STORE_REJECTED, "invalid version");
	CHECK(d && pw_diags_error_count(d) > 0, "its diagnostics");
	if (d && pw_diags_count(d)) {
		const struct pw_diag *r = pw_diags_get(d, 0);

		CHECK(pw_diag_line(r) == 4 &&
			      !strcmp(pw_diag_file(r), "test.yaml"),
		      "position test.yaml:%u", pw_diag_line(r));
	}
	pw_diags_free(d);
	e = get(st, "NetworkPolicy", "t", "deny");
	CHECK(e && e->unit && is_text(e, deny), "the last good version stays");
	CHECK(store_rejected(st) == 1, "counted as rejected");
	o.text = deny;
	o.len = strlen(deny);
	CHECK(store_upsert(st, &o, NULL) == STORE_UNCHANGED,
	      "back to the good text: nothing to apply");
	CHECK(store_rejected(st) == 0, "and no longer rejected");
	o.text = allow;
	o.len = strlen(allow);
	CHECK(store_upsert(st, &o, NULL) == STORE_CHANGED, "a new good one");
	CHECK(is_text(get(st, "NetworkPolicy", "t", "deny"), allow),
	      "replaces the version");
	store_free(st);
}

static void test_never_valid(void)
{
	struct store *st = store_new();
	struct src_object o = obj("File", "", "/m/x.yaml", broken_yaml);
	const struct store_entry **v;
	size_t n = 99;

	CHECK(store_upsert(st, &o, NULL) == STORE_REJECTED, "rejected");
	CHECK(store_rejected(st) == 1, "counted");
	v = store_list(st, &n);
	CHECK(v && n == 0, "changes nothing: %zu entries to apply", n);
	free(v);
	CHECK(!store_delete(st, "File", "", "/m/x.yaml"),
	      "deleting it changes nothing either");
	CHECK(store_rejected(st) == 0 && store_size(st) == 0, "but forgets it");
	store_free(st);
}

static void test_relist(void)
{
	struct store *st = store_new();
	struct src_object a = obj("NetworkPolicy", "t", "a", deny);
	struct src_object b = obj("NetworkPolicy", "t", "b", deny);
	struct src_object ns = obj("Namespace", "", "t",
				   "apiVersion: v1\nkind: Namespace\n"
				   "metadata: {name: t}\n");

	store_upsert(st, &a, NULL);
	store_upsert(st, &b, NULL);
	store_upsert(st, &ns, NULL);
	store_reset(st, "NetworkPolicy");
	CHECK(store_upsert(st, &a, NULL) == STORE_UNCHANGED,
	      "relisted, unchanged");
	CHECK(store_sweep(st, "NetworkPolicy") == 1, "b was not relisted");
	CHECK(get(st, "NetworkPolicy", "t", "a") &&
		      !get(st, "NetworkPolicy", "t", "b"),
	      "a stays, b goes");
	CHECK(get(st, "Namespace", "", "t"), "other kinds untouched");
	CHECK(store_count_kind(st, "NetworkPolicy") == 1, "count by kind");
	store_free(st);
}

static void test_many(void)
{
	struct store *st = store_new();
	const struct store_entry **v;
	char name[32], text[256];
	size_t n = 0;
	bool sorted = true;

	for (int i = 0; i < 1500; i++) {
		struct src_object o;

		snprintf(name, sizeof(name), "p%04d", (i * 7919) % 1500);
		snprintf(text, sizeof(text),
			 "apiVersion: v1\nkind: Pod\n"
			 "metadata: {name: %s, namespace: ns1}\n"
			 "spec: {containers: [{name: c}]}\n",
			 name);
		o = obj("Pod", "ns1", name, text);
		store_upsert(st, &o, NULL);
	}
	CHECK(st->nb > STORE_MIN_BUCKETS, "the table grew: %zu", st->nb);
	v = store_list(st, &n);
	CHECK(v && n == 1500, "every entry listed: %zu", n);
	for (size_t i = 1; v && i < n; i++)
		sorted &= strcmp(v[i - 1]->name, v[i]->name) < 0;
	CHECK(sorted, "sorted by name");
	free(v);
	CHECK(store_delete(st, "Pod", "ns1", "p0042"), "delete one");
	CHECK(!get(st, "Pod", "ns1", "p0042") && get(st, "Pod", "ns1", "p0043"),
	      "found after growing");
	store_free(st);
}

/* The names store_list gives, joined, and whether they are sorted (by
 * kind, then name: one namespace here). */
static bool listed(struct store *st, char *out, size_t len)
{
	const struct store_entry **v;
	size_t n = 0, at = 0;
	bool sorted = true;

	out[0] = 0;
	v = store_list(st, &n);
	for (size_t i = 0; v && i < n; i++) {
		at += (size_t)snprintf(out + at, len - at, "%s ", v[i]->name);
		sorted &= !i || strcmp(v[i - 1]->kind, v[i]->kind) < 0 ||
			  (!strcmp(v[i - 1]->kind, v[i]->kind) &&
			   strcmp(v[i - 1]->name, v[i]->name) < 0);
	}
	free(v);
	return v && sorted;
}

/* The listing is kept between reconciles: new versions keep it, good
 * entries coming or going (and a first good version) change it. */
static void test_list_cached(void)
{
	static const char *const names[] = { "c", "a", "d", "b" };
	struct src_object bad = obj("NetworkPolicy", "ns1", "e", broken_yaml);
	struct src_object good = obj("NetworkPolicy", "ns1", "e", deny);
	struct store *st = store_new();
	char got[256], text[256];

	for (size_t i = 0; i < 4; i++) {
		struct src_object o;

		snprintf(text, sizeof(text),
			 "apiVersion: v1\nkind: Pod\n"
			 "metadata: {name: %s, namespace: ns1}\n"
			 "spec: {containers: [{name: c}]}\n",
			 names[i]);
		o = obj("Pod", "ns1", names[i], text);
		store_upsert(st, &o, NULL);
		if (i == 1)
			CHECK(listed(st, got, sizeof(got)) &&
				      !strcmp(got, "a c "),
			      "two: %s", got);
	}
	CHECK(listed(st, got, sizeof(got)) && !strcmp(got, "a b c d "),
	      "four, sorted again after growing: %s", got);
	store_upsert(st, &bad, NULL);
	CHECK(listed(st, got, sizeof(got)) && !strcmp(got, "a b c d "),
	      "a never valid entry is not listed: %s", got);
	CHECK(store_rejected(st) == 1, "one rejected");
	store_upsert(st, &good, NULL);
	CHECK(listed(st, got, sizeof(got)) && !strcmp(got, "e a b c d "),
	      "its first good version is (NetworkPolicy first): %s", got);
	CHECK(store_rejected(st) == 0, "none rejected");
	store_upsert(st, &bad, NULL);
	CHECK(store_delete(st, "Pod", "ns1", "b"), "delete b");
	CHECK(listed(st, got, sizeof(got)) && !strcmp(got, "e a c d "),
	      "b gone, e kept (last good): %s", got);
	CHECK(store_rejected(st) == 1, "e rejected again");
	CHECK(store_delete(st, "NetworkPolicy", "ns1", "e"), "delete e");
	CHECK(store_rejected(st) == 0, "a deleted rejected entry uncounts");
	store_reset(st, "Pod");
	CHECK(store_sweep(st, "Pod") == 3, "relisted to nothing");
	CHECK(listed(st, got, sizeof(got)) && !strcmp(got, ""),
	      "nothing listed: '%s'", got);
	store_free(st);
}

/* ---- parsed units: the cluster a reconcile assembles ---------------- */

static const char *const shop[] = {
	"examples/shop/cluster/namespaces.yaml",
	"examples/shop/cluster/nodes.yaml",
	"examples/shop/ingress-nginx/controller.yaml",
	"examples/shop/kube-system/coredns.yaml",
	"examples/shop/shop-dev/pods.yaml",
	"examples/shop/shop-dev/policies.yaml",
	"examples/shop/shop-dev/workloads.yaml",
	"examples/shop/shop-prod/pods.yaml",
	"examples/shop/shop-prod/policies.yaml",
	"examples/shop/shop-prod/workloads.yaml",
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = f ? malloc(1 << 20) : NULL;

	*len = buf ? fread(buf, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

/* The ruleset of node-a as text; NULL when anything fails. */
static char *render(const struct pw_cluster *c)
{
	struct pw_engine *e = pw_engine_new(c);
	struct pw_ruleset *rs = e ? pw_ruleset_new(e, "node-a") : NULL;
	char *out = NULL;

	if (rs && pw_ruleset_render(rs, &out))
		out = NULL;
	pw_ruleset_free(rs);
	pw_engine_free(e);
	return out;
}

/* The example shop, each file stored as one File entry, assembled from
 * the store's units, gives the same cluster and the same ruleset as
 * loading the files; and a unit outlives its entry while a cluster
 * (a published snapshot) holds it. */
static void test_units_assemble(void)
{
	struct pw_cluster *loaded = pw_cluster_new(), *built = pw_cluster_new();
	struct store *st = store_new();
	const struct store_entry **v;
	char *want, *got;
	size_t n = 0, len;
	bool same = true;

	for (size_t i = 0; i < sizeof(shop) / sizeof(*shop); i++) {
		char *text = slurp(shop[i], &len);
		struct src_object o = obj("File", "", shop[i], text);

		o.len = len;
		o.origin = shop[i];
		CHECK(text && store_upsert(st, &o, NULL) == STORE_CHANGED &&
			      !pw_cluster_load_buffer(loaded, shop[i], text,
						      len, NULL),
		      "%s stored", shop[i]);
		free(text);
	}
	v = store_list(st, &n);
	for (size_t i = 0; v && i < n; i++)
		CHECK(!pw_cluster_add_unit(built, v[i]->unit), "added");
	free(v);
	CHECK(!pw_cluster_finalize(loaded, NULL) &&
		      !pw_cluster_finalize(built, NULL),
	      "both valid");
	for (int k = 0; k < PW_KIND_NR; k++)
		same &= pw_cluster_count(loaded, (enum pw_kind)k) ==
			pw_cluster_count(built, (enum pw_kind)k);
	CHECK(same && pw_cluster_count(built, PW_KIND_POD) > 10,
	      "the same objects: %zu pods",
	      pw_cluster_count(built, PW_KIND_POD));
	for (size_t i = 1; i < pw_cluster_count(built, PW_KIND_POD); i++) {
		int r = strcmp(pw_cluster_pod_namespace(built, i - 1),
			       pw_cluster_pod_namespace(built, i));

		if (!r)
			r = strcmp(pw_cluster_pod_name(built, i - 1),
				   pw_cluster_pod_name(built, i));
		same &= r <= 0;
	}
	CHECK(same, "the units' runs merged in order");
	want = render(loaded);
	store_free(st); /* the built cluster keeps what it uses */
	got = render(built);
	CHECK(want && got && !strcmp(want, got), "the same ruleset");
	CHECK(pw_cluster_file_count(built) == sizeof(shop) / sizeof(*shop),
	      "the units' files: %zu", pw_cluster_file_count(built));
	for (n = 0; pw_cluster_pod_kind(built, n) ||
		    pw_cluster_pod_host_network(built, n);
	     n++)
		;
	CHECK(pw_cluster_pod_assign(built, n, "node-a", NULL) == -EBUSY,
	      "a shared pod is not assigned");
	free(want);
	free(got);
	pw_cluster_free(loaded);
	pw_cluster_free(built);
}

static const char pod_v1[] = "apiVersion: v1\nkind: Pod\n"
			     "metadata: {name: p, namespace: t}\n"
			     "spec: {nodeName: n1, containers: [{name: c}]}\n"
			     "status: {podIP: 10.0.0.1}\n";
static const char pod_v2[] = "apiVersion: v1\nkind: Pod\n"
			     "metadata: {name: p, namespace: t}\n"
			     "spec: {nodeName: n1, containers: [{name: c}]}\n"
			     "status: {podIP: 10.0.0.2}\n";

static struct pw_cluster *assemble(struct store *st, struct pw_diags *d,
				   int *ret)
{
	struct pw_cluster *c = pw_cluster_new();
	const struct store_entry **v;
	size_t n = 0;

	v = store_list(st, &n);
	for (size_t i = 0; c && v && i < n; i++)
		pw_cluster_add_unit(c, v[i]->unit);
	free(v);
	*ret = c ? pw_cluster_finalize(c, d) : -ENOMEM;
	return c;
}

/* A newer version, and a delete, leave an assembled cluster as it was. */
static void test_units_immutable(void)
{
	struct store *st = store_new();
	struct src_object o = obj("Pod", "t", "p", pod_v1);
	struct pw_cluster *c1, *c2;
	struct pw_addr a1 = { 0 }, a2 = { 0 };
	int r1, r2;

	store_upsert(st, &o, NULL);
	c1 = assemble(st, NULL, &r1);
	o.text = pod_v2;
	o.len = strlen(pod_v2);
	CHECK(store_upsert(st, &o, NULL) == STORE_CHANGED, "a new address");
	c2 = assemble(st, NULL, &r2);
	CHECK(store_delete(st, "Pod", "t", "p"), "then deleted");
	store_free(st);
	CHECK(!r1 && !r2 && pw_cluster_pod_addrs(c1, 0, &a1, 1) == 1 &&
		      pw_cluster_pod_addrs(c2, 0, &a2, 1) == 1,
	      "both valid, one pod each");
	CHECK(a1.b[3] == 1 && a2.b[3] == 2, "each keeps its version: %u %u",
	      a1.b[3], a2.b[3]);
	CHECK(!strcmp(pw_cluster_pod_namespace(c1, 0), "t") &&
		      pw_cluster_count(c1, PW_KIND_NAMESPACE) == 1,
	      "its implicit namespace");
	pw_cluster_free(c1);
	pw_cluster_free(c2);
}

/* The same policy in two files: each is valid, together they are not,
 * with the diagnostic that loading both gives. */
static void test_units_duplicate(void)
{
	struct store *st = store_new();
	struct src_object a = obj("File", "", "/m/a.yaml", deny);
	struct src_object b = obj("File", "", "/m/b.yaml", allow);
	struct pw_diags *d = pw_diags_new(), *want = pw_diags_new();
	struct pw_cluster *c, *loaded = pw_cluster_new();
	char got_msg[256] = "", want_msg[256] = "";
	int ret;

	a.origin = "/m/a.yaml";
	b.origin = "/m/b.yaml";
	CHECK(store_upsert(st, &a, NULL) == STORE_CHANGED &&
		      store_upsert(st, &b, NULL) == STORE_CHANGED,
	      "each valid alone");
	c = assemble(st, d, &ret);
	pw_cluster_load_buffer(loaded, a.origin, deny, strlen(deny), NULL);
	pw_cluster_load_buffer(loaded, b.origin, allow, strlen(allow), NULL);
	pw_cluster_finalize(loaded, want);
	CHECK(ret == -EINVAL && pw_diags_error_count(d) == 1,
	      "not together: %d", ret);
	if (pw_diags_count(d) && pw_diags_count(want)) {
		pw_diag_format(pw_diags_get(d, 0), got_msg, sizeof(got_msg));
		pw_diag_format(pw_diags_get(want, 0), want_msg,
			       sizeof(want_msg));
	}
	CHECK(got_msg[0] && !strcmp(got_msg, want_msg), "%s", got_msg);
	pw_cluster_free(c);
	pw_cluster_free(loaded);
	pw_diags_free(d);
	pw_diags_free(want);
	store_free(st);
}

/* n one-pod units added in a shuffled order come out sorted: a few runs
 * are merged, many fall back to a full sort. */
static bool sorted_from_units(int n)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_unit *u;
	char text[256];
	bool ok = c != NULL;

	for (int i = 0; ok && i < n; i++) {
		int k = (i * 37) % n; /* n is not a multiple of 37 */

		snprintf(text, sizeof(text),
			 "apiVersion: v1\nkind: Pod\n"
			 "metadata: {name: p%03d, namespace: ns%d}\n"
			 "spec: {containers: [{name: c}]}\n",
			 k, k % 3);
		u = pw_unit_new("p.yaml", text, strlen(text), NULL);
		ok = u && !pw_cluster_add_unit(c, u);
		pw_unit_free(u);
	}
	ok = ok && !pw_cluster_finalize(c, NULL) &&
	     pw_cluster_count(c, PW_KIND_POD) == (size_t)n &&
	     pw_cluster_count(c, PW_KIND_NAMESPACE) == (size_t)(n < 3 ? n : 3);
	for (int i = 1; ok && i < n; i++) {
		int r = strcmp(pw_cluster_pod_namespace(c, i - 1),
			       pw_cluster_pod_namespace(c, i));

		ok = r < 0 || (!r && strcmp(pw_cluster_pod_name(c, i - 1),
					    pw_cluster_pod_name(c, i)) < 0);
	}
	pw_cluster_free(c);
	return ok;
}

static void test_units_order(void)
{
	CHECK(sorted_from_units(2), "2 units");
	CHECK(sorted_from_units(41), "41 units: runs merged");
	CHECK(sorted_from_units(300), "300 units: sorted whole");
}

static void test_unit_errors(void)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_unit *u;

	errno = 0;
	u = pw_unit_new("bad.yaml", deny_bad, strlen(deny_bad), d);
	CHECK(!u && errno == EINVAL && pw_diags_error_count(d) == 1,
	      "invalid: %s", strerror(errno));
	u = pw_unit_new("broken.yaml", broken_yaml, strlen(broken_yaml), d);
	CHECK(!u && errno == EINVAL && pw_diags_error_count(d) == 2,
	      "does not parse: %s", strerror(errno));
	u = pw_unit_new("ok.yaml", deny, strlen(deny), d);
	CHECK(u && pw_unit_count(u, PW_KIND_NETWORK_POLICY) == 1 &&
		      pw_unit_count(u, PW_KIND_NAMESPACE) == 0,
	      "one policy, no namespace of its own");
	CHECK(pw_unit_ref(u) == u, "a second reference");
	pw_unit_free(u);
	pw_unit_free(u);
	pw_diags_free(d);
}

struct emitter {
	struct evq *q;
	int id;
};

static void *emit_many(void *arg)
{
	struct emitter *em = arg;
	char name[32], text[32];

	for (int i = 0; i < 500; i++) {
		struct src_object o;

		snprintf(name, sizeof(name), "%d-%d", em->id, i);
		snprintf(text, sizeof(text), "%d", i);
		o = obj("Pod", "ns", name, text);
		evq_emit(em->q, SRC_UPSERT, &o);
		memset(text, 'x', sizeof(text) - 1); /* the queue copied it */
	}
	return NULL;
}

static void test_evq(void)
{
	struct evq *q = evq_new();
	struct emitter em[2] = { { q, 0 }, { q, 1 } };
	pthread_t t[2];
	struct evq_item *all;
	int next[2] = { 0, 0 }, count = 0;
	bool ordered = true, copied = true;

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, emit_many, &em[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	all = evq_take(q);
	for (struct evq_item *it = all; it; it = it->next) {
		int id, i;

		if (sscanf(it->o.name, "%d-%d", &id, &i) != 2 || id < 0 ||
		    id > 1) {
			ordered = false;
			continue;
		}
		ordered &= i == next[id]++;
		copied &= atoi(it->o.text) == i &&
			  it->o.len == strlen(it->o.text);
		count++;
	}
	CHECK(count == 1000, "every event: %d", count);
	CHECK(ordered, "each thread's events in emit order");
	CHECK(copied, "texts copied at emit time");
	CHECK(!evq_take(q), "the queue is empty after a take");
	evq_item_free(all);
	evq_free(q);
}

/* What alog writes, captured from stderr. */
static size_t capture(char *buf, size_t len, const char *value)
{
	int p[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	if (saved < 0 || pipe(p))
		return 0;
	dup2(p[1], STDERR_FILENO);
	alog("info", "test", "v", value, "k", "plain", NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, len - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void test_log(void)
{
	char out[4096];
	size_t n = capture(out, sizeof(out), "a\"b\nlevel=error %s%n");

	CHECK(n > 0 && out[n - 1] == '\n' && !memchr(out, '\n', n - 1),
	      "one line: %s", out);
	CHECK(strstr(out, " v=\"a\\\"b\\x0alevel=error %s%n\" k=plain\n"),
	      "quoted and escaped: %s", out);
	capture(out, sizeof(out), "ns/name-1.yaml");
	CHECK(strstr(out, " v=ns/name-1.yaml k=plain"), "bare: %s", out);
	capture(out, sizeof(out), NULL);
	CHECK(strstr(out, " v=- k=plain"), "NULL is -: %s", out);
	capture(out, sizeof(out), "");
	CHECK(strstr(out, " v=\"\" k=plain"), "empty is quoted: %s", out);
}

int main(void)
{
	test_last_good();
	test_never_valid();
	test_relist();
	test_many();
	test_list_cached();
	test_units_assemble();
	test_units_immutable();
	test_units_duplicate();
	test_units_order();
	test_unit_errors();
	test_evq();
	test_log();
	return check_done("test_agent_store");
}
