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
	CHECK(e && e->text && !strcmp(e->text, deny),
	      "the last good version stays");
	CHECK(store_rejected(st) == 1, "counted as rejected");
	o.text = deny;
	o.len = strlen(deny);
	CHECK(store_upsert(st, &o, NULL) == STORE_UNCHANGED,
	      "back to the good text: nothing to apply");
	CHECK(store_rejected(st) == 0, "and no longer rejected");
	o.text = allow;
	o.len = strlen(allow);
	CHECK(store_upsert(st, &o, NULL) == STORE_CHANGED, "a new good one");
	CHECK(!strcmp(get(st, "NetworkPolicy", "t", "deny")->text, allow),
	      "replaces the text");
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
	test_evq();
	test_log();
	return check_done("test_agent_store");
}
