// SPDX-License-Identifier: Apache-2.0
/* Label sets, selector matching, hashing, syntax rules and the parser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "labels.h"

/* The model's destructors live with the decoder; the tests free what
 * pw_selector_parse and pw_labels_set built themselves. */
static void labels_free(struct pw_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void sel_free(struct pw_selector *s)
{
	for (size_t i = 0; i < s->nreqs; i++) {
		struct pw_sel_req *r = &s->reqs[i];

		for (size_t j = 0; j < r->nvalues; j++)
			free(r->values[j]);
		free(r->values);
		free(r->value_pos);
		free(r->key);
		free(r->op_text);
	}
	free(s->reqs);
	labels_free(&s->match_labels);
	memset(s, 0, sizeof(*s));
}

/* "k=v,k2=v2" into a label set; "" is empty. */
static void labels_from(struct pw_labels *l, const char *text)
{
	char *dup = strdup(text), *save = NULL;

	memset(l, 0, sizeof(*l));
	for (char *kv = strtok_r(dup, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		*eq = '\0';
		pw_labels_set(l, kv, eq + 1);
	}
	free(dup);
}

static void test_labels_set_get(void)
{
	struct pw_labels l = { 0 };
	static const char *const keys[] = { "m", "b", "z", "a", "q", "b" };

	for (size_t i = 0; i < PW_ARRAY_SIZE(keys); i++)
		CHECK(pw_labels_set(&l, keys[i], keys[i]) == 0, "set %s",
		      keys[i]);
	CHECK(l.n == 5, "5 distinct keys, got %zu", l.n);
	for (size_t i = 1; i < l.n; i++)
		CHECK(strcmp(l.v[i - 1].key, l.v[i].key) < 0, "sorted at %zu",
		      i);
	CHECK(pw_labels_set(&l, "q", "new") == 0, "overwrite");
	CHECK(!strcmp(pw_labels_get(&l, "q"), "new"), "overwritten value");
	CHECK(!strcmp(pw_labels_get(&l, "a"), "a"), "get first");
	CHECK(!strcmp(pw_labels_get(&l, "z"), "z"), "get last");
	CHECK(pw_labels_get(&l, "c") == NULL, "absent key");
	CHECK(pw_labels_get(&l, "") == NULL, "empty key");
	labels_free(&l);
	CHECK(pw_labels_get(&l, "a") == NULL, "empty set");
}

static void test_labels_sort(void)
{
	struct pw_label v[3] = {
		{ .key = "tier", .value = "web" },
		{ .key = "app", .value = "shop" },
		{ .key = "env", .value = "prod" },
	};
	struct pw_labels l = { .v = v, .n = 3 };

	pw_labels_sort(&l);
	CHECK(!strcmp(v[0].key, "app") && !strcmp(v[2].key, "tier"),
	      "sorted by key");
	CHECK(!strcmp(pw_labels_get(&l, "env"), "prod"), "get after sort");
}

/* Selector (kubectl syntax), labels, expected match. */
static const struct {
	const char *sel, *labels;
	bool match;
} match_cases[] = {
	{ "", "", true },
	{ "", "app=web", true },
	{ "app=web", "app=web", true },
	{ "app=web", "app=web,tier=fe", true },
	{ "app=web", "app=db", false },
	{ "app=web", "", false },
	{ "app=web", "App=web", false },
	{ "app==web", "app=web", true },
	{ "app!=web", "app=db", true },
	{ "app!=web", "app=web", false },
	{ "app!=web", "", true },
	{ "app in (web,db)", "app=db", true },
	{ "app in (web,db)", "app=cache", false },
	{ "app in (web,db)", "tier=web", false },
	{ "app notin (web,db)", "app=cache", true },
	{ "app notin (web,db)", "app=web", false },
	{ "app notin (web,db)", "", true },
	{ "app", "app=", true },
	{ "app", "app=x", true },
	{ "app", "tier=x", false },
	{ "!app", "tier=x", true },
	{ "!app", "app=", false },
	{ "app=web,tier in (fe),!legacy", "app=web,tier=fe", true },
	{ "app=web,tier in (fe),!legacy", "app=web,tier=fe,legacy=1", false },
	{ "app=web,tier in (fe),!legacy", "app=web,tier=be", false },
	{ "app=", "app=", true },
	{ "app=", "app=x", false },
	{ "a in (x,)", "a=", true },
};

static void test_matching(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(match_cases); i++) {
		struct pw_selector s;
		struct pw_labels l;
		char err[256];
		int ret = pw_selector_parse(match_cases[i].sel, &s, err,
					    sizeof(err));

		CHECK(ret == 0, "parse '%s': %s", match_cases[i].sel, err);
		labels_from(&l, match_cases[i].labels);
		CHECK(pw_selector_matches(&s, &l) == match_cases[i].match,
		      "'%s' on {%s}: expected %d", match_cases[i].sel,
		      match_cases[i].labels, match_cases[i].match);
		labels_free(&l);
		sel_free(&s);
	}
}

static void test_match_labels(void)
{
	struct pw_label ml[2] = {
		{ .key = "app", .value = "web" },
		{ .key = "env", .value = "prod" },
	};
	char *vals[] = { "fe", "be" };
	struct pw_sel_req req = {
		.key = "tier", .op = PW_SEL_IN, .values = vals, .nvalues = 2
	};
	struct pw_selector s = { .match_labels = { ml, 2 } };
	struct pw_labels l;

	labels_from(&l, "app=web,env=prod");
	CHECK(pw_selector_matches(&s, &l), "matchLabels all present");
	CHECK(!pw_selector_is_empty(&s), "not empty");
	s.reqs = &req;
	s.nreqs = 1;
	CHECK(!pw_selector_matches(&s, &l), "AND with a failing requirement");
	pw_labels_set(&l, "tier", "be");
	CHECK(pw_selector_matches(&s, &l), "AND with a passing requirement");
	req.op = PW_SEL_INVALID;
	CHECK(!pw_selector_matches(&s, &l), "an invalid operator matches none");
	labels_free(&l);
}

/* Pairs of selectors and whether they are the same set of terms. */
static const struct {
	const char *a, *b;
	bool equal;
} equal_cases[] = {
	{ "", "", true },
	{ "a=b", "a=b", true },
	{ "a=b,c=d", "c=d,a=b", true },
	{ "a in (x,y)", "a in (y,x)", true },
	{ "a in (x,y)", "a in (y,x,x)", true },
	{ "a=b,a=b", "a=b", true },
	{ "a=b", "a in (b)", true },
	{ "a=b", "a!=b", false },
	{ "a=b", "a=c", false },
	{ "a", "!a", false },
	{ "a", "", false },
	{ "a in (x,y)", "a in (x)", false },
	{ "a,b", "b,a", true },
};

static void test_equal_hash(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(equal_cases); i++) {
		struct pw_selector a, b;
		char err[256];

		CHECK(!pw_selector_parse(equal_cases[i].a, &a, err,
					 sizeof(err)),
		      "%s", err);
		CHECK(!pw_selector_parse(equal_cases[i].b, &b, err,
					 sizeof(err)),
		      "%s", err);
		CHECK(pw_selector_equal(&a, &b) == equal_cases[i].equal,
		      "'%s' == '%s': expected %d", equal_cases[i].a,
		      equal_cases[i].b, equal_cases[i].equal);
		if (equal_cases[i].equal)
			CHECK(pw_selector_hash(&a) == pw_selector_hash(&b),
			      "hash '%s' == hash '%s'", equal_cases[i].a,
			      equal_cases[i].b);
		else
			CHECK(pw_selector_hash(&a) != pw_selector_hash(&b),
			      "hash '%s' != hash '%s'", equal_cases[i].a,
			      equal_cases[i].b);
		sel_free(&a);
		sel_free(&b);
	}
}

static const char long63[] =
	"a23456789012345678901234567890123456789012345678901234567890123";
static const char long64[] =
	"a234567890123456789012345678901234567890123456789012345678901234";

/* Label keys and values: NULL why means valid. */
static const struct {
	const char *s;
	const char *why;
} key_cases[] = {
	{ "app", NULL },
	{ "App.Name_1-x", NULL },
	{ "example.com/app", NULL },
	{ "kubernetes.io/metadata.name", NULL },
	{ "a", NULL },
	{ "1", NULL },
	{ long63, NULL },
	{ long64, "name part must be no more than 63 characters" },
	{ "", "name part must be non-empty" },
	{ "example.com/", "name part must be non-empty" },
	{ "/app", "prefix part must be non-empty" },
	{ "Example.com/app", "prefix part a lowercase RFC 1123 subdomain" },
	{ "a/b/c", "a qualified name must consist" },
	{ "-app", "name part must consist of alphanumeric" },
	{ "app-", "name part must consist" },
	{ "a pp", "name part must consist" },
	{ "app!", "name part must consist" },
	{ "ex_ample.com/app", "prefix part a lowercase RFC 1123" },
};

static const struct {
	const char *s;
	const char *why;
} value_cases[] = {
	{ "", NULL },
	{ "web", NULL },
	{ "Web_1.2-x", NULL },
	{ "1", NULL },
	{ long63, NULL },
	{ long64, "must be no more than 63 characters" },
	{ "-web", "a valid label must be an empty string or consist" },
	{ "web.", "a valid label must" },
	{ "a/b", "a valid label must" },
	{ "a b", "a valid label must" },
};

static void test_syntax(void)
{
	const char *msgs[PW_NAME_MAX_ERRS];

	for (size_t i = 0; i < PW_ARRAY_SIZE(key_cases); i++) {
		size_t n = pw_label_key_errors(key_cases[i].s, msgs,
					       PW_ARRAY_SIZE(msgs));

		if (!key_cases[i].why) {
			CHECK(n == 0, "key '%s' rejected: %s", key_cases[i].s,
			      msgs[0]);
			continue;
		}
		CHECK(n >= 1 && strstr(msgs[0], key_cases[i].why),
		      "key '%s': got '%s'", key_cases[i].s,
		      n ? msgs[0] : "(valid)");
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(value_cases); i++) {
		size_t n = pw_label_value_errors(value_cases[i].s, msgs,
						 PW_ARRAY_SIZE(msgs));

		if (!value_cases[i].why) {
			CHECK(n == 0, "value '%s' rejected", value_cases[i].s);
			continue;
		}
		CHECK(n >= 1 && strstr(msgs[0], value_cases[i].why),
		      "value '%s': got '%s'", value_cases[i].s,
		      n ? msgs[0] : "(valid)");
	}
}

static void test_dns_names(void)
{
	char long254[256];
	const char *msgs[PW_NAME_MAX_ERRS];

	memset(long254, 'a', 254);
	long254[254] = '\0';
	long254[100] = '.';
	CHECK(!pw_dns_subdomain_errors("web-1.example", msgs, 4), "subdomain");
	CHECK(!pw_dns_subdomain_errors("1abc", msgs, 4), "leading digit ok");
	CHECK(pw_dns_subdomain_errors("Web", msgs, 4) == 1, "upper case");
	CHECK(pw_dns_subdomain_errors("a..b", msgs, 4) == 1, "empty label");
	CHECK(pw_dns_subdomain_errors("", msgs, 4) == 1, "empty");
	CHECK(pw_dns_subdomain_errors("a_b", msgs, 4) == 1, "underscore");
	CHECK(pw_dns_subdomain_errors(long254, msgs, 4) == 1 &&
		      strstr(msgs[0], "no more than 253"),
	      "254 characters");
	CHECK(!pw_dns_label_errors("kube-system", msgs, 4), "dns label");
	CHECK(pw_dns_label_errors("kube.system", msgs, 4) == 1, "dot in label");
	CHECK(pw_dns_label_errors("-a", msgs, 4) == 1, "leading hyphen");
	CHECK(pw_dns_label_errors(long64, msgs, 4) == 1 &&
		      strstr(msgs[0], "no more than 63"),
	      "64-character label");
	CHECK(pw_sel_op_parse("NotIn") == PW_SEL_NOT_IN, "NotIn");
	CHECK(pw_sel_op_parse("notin") == PW_SEL_INVALID, "case matters");
	CHECK(pw_sel_op_parse(NULL) == PW_SEL_INVALID, "NULL");
	CHECK(!strcmp(pw_sel_op_name(PW_SEL_DOES_NOT_EXIST), "DoesNotExist"),
	      "name");
	CHECK(pw_sel_op_name(PW_SEL_INVALID) == NULL, "invalid has no name");
}

/* Parser: the expected requirements as "key op v1|v2;..." */
static const struct {
	const char *in;
	const char *reqs;
} parse_cases[] = {
	{ "", "" },
	{ "   ", "" },
	{ "a=b", "a In b;" },
	{ " a = b ", "a In b;" },
	{ "a==b", "a In b;" },
	{ "a!=b", "a NotIn b;" },
	{ "a", "a Exists ;" },
	{ "!a", "a DoesNotExist ;" },
	{ "! a", "a DoesNotExist ;" },
	{ "a in (x,y)", "a In x|y;" },
	{ "a in(x , y )", "a In x|y;" },
	{ "a notin (x)", "a NotIn x;" },
	{ "a=,b", "a In ;b Exists ;" },
	{ "x/y=z,!w,k in (1,2,3)", "x/y In z;w DoesNotExist ;k In 1|2|3;" },
	{ "in=x", "in In x;" },
};

static void req_text(const struct pw_selector *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->nreqs && o < len; i++) {
		const struct pw_sel_req *r = &s->reqs[i];

		o += (size_t)snprintf(buf + o, len - o, "%s %s ", r->key,
				      r->op_text);
		for (size_t j = 0; j < r->nvalues && o < len; j++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
					      j ? "|" : "", r->values[j]);
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, ";");
	}
}

static void test_parse(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(parse_cases); i++) {
		struct pw_selector s;
		char err[256], got[256];
		int ret = pw_selector_parse(parse_cases[i].in, &s, err,
					    sizeof(err));

		CHECK(ret == 0, "'%s': %s", parse_cases[i].in, err);
		req_text(&s, got, sizeof(got));
		CHECK(!strcmp(got, parse_cases[i].reqs),
		      "'%s' -> '%s', not '%s'", parse_cases[i].in, got,
		      parse_cases[i].reqs);
		for (size_t j = 0; j < s.nreqs; j++)
			CHECK(s.reqs[j].op ==
				      pw_sel_op_parse(s.reqs[j].op_text),
			      "op and op_text agree");
		sel_free(&s);
	}
}

/* Errors and a substring of the message. */
static const struct {
	const char *in, *msg;
} error_cases[] = {
	{ ",", "expected '!' or a label key, found ','" },
	{ "a,", "found end of string" },
	{ "a=b c", "expected ',' or end of string, found 'c'" },
	{ "a in x", "expected '(', found 'x'" },
	{ "a in ()", "values set can't be empty" },
	{ "a in (x", "expected ',' or ')', found end of string" },
	{ "a in (x y)", "found 'y'" },
	{ "a>1", "operator '>' cannot be used" },
	{ "a<1", "operator '<' cannot be used" },
	{ "!a=b", "after '!key'" },
	{ "!", "expected a label key, found end of string" },
	{ "a=(b)", "expected a label value, found '('" },
	{ "a b", "found 'b'" },
	{ "-a=b", "invalid label key \"-a\"" },
	{ "a=-b", "invalid label value \"-b\"" },
	{ "a in (x,-y)", "invalid label value \"-y\"" },
	{ "a=b=c", "found '='" },
	{ "(", "found '('" },
};

static void test_parse_errors(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(error_cases); i++) {
		struct pw_selector s;
		char err[256];
		int ret = pw_selector_parse(error_cases[i].in, &s, err,
					    sizeof(err));

		CHECK(ret == -EINVAL, "'%s' accepted", error_cases[i].in);
		CHECK(strstr(err, error_cases[i].msg), "'%s': message '%s'",
		      error_cases[i].in, err);
		CHECK(s.nreqs == 0 && s.reqs == NULL, "'%s': nothing left",
		      error_cases[i].in);
		sel_free(&s);
	}
	{
		struct pw_selector s;
		char tiny[4];

		CHECK(pw_selector_parse("a in", &s, tiny, sizeof(tiny)) ==
			      -EINVAL,
		      "tiny buffer");
		CHECK(strlen(tiny) == 3, "message truncated");
		CHECK(pw_selector_parse("a in", &s, NULL, 0) == -EINVAL,
		      "no buffer");
	}
}

int main(void)
{
	test_labels_set_get();
	test_labels_sort();
	test_matching();
	test_match_labels();
	test_equal_hash();
	test_syntax();
	test_dns_names();
	test_parse();
	test_parse_errors();
	return check_done("labels");
}
