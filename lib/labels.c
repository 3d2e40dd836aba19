// SPDX-License-Identifier: Apache-2.0
/*
 * Label sets, label selectors and the syntax rules of names and labels.
 *
 * The syntax rules follow k8s.io/apimachinery/pkg/util/validation: the
 * messages are the API server's, so that a user who knows kubectl's
 * errors recognises ours.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

/* ---- label sets ---------------------------------------------------- */

/* Index of key in l, or of the slot where it belongs (*found false). */
static size_t labels_find(const struct pw_labels *l, const char *key,
			  bool *found)
{
	size_t lo = 0, hi = l->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(l->v[mid].key, key);

		if (!r) {
			*found = true;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *pw_labels_get(const struct pw_labels *l, const char *key)
{
	bool found;
	size_t i;

	if (!l || !l->n)
		return NULL;
	i = labels_find(l, key, &found);
	return found ? l->v[i].value : NULL;
}

static int labels_insert(struct pw_labels *l, size_t at, char *key, char *value)
{
	struct pw_label *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	l->v = nv;
	memmove(&nv[at + 1], &nv[at], (l->n - at) * sizeof(*nv));
	memset(&nv[at], 0, sizeof(*nv));
	nv[at].key = key;
	nv[at].value = value;
	l->n++;
	return 0;
}

int pw_labels_set(struct pw_labels *l, const char *key, const char *value)
{
	char *v = strdup(value);
	char *k;
	bool found;
	size_t i;

	if (!v)
		return -ENOMEM;
	i = labels_find(l, key, &found);
	if (found) {
		free(l->v[i].value);
		l->v[i].value = v;
		return 0;
	}
	k = strdup(key);
	if (!k || labels_insert(l, i, k, v)) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	return 0;
}

static int label_cmp(const void *pa, const void *pb)
{
	const struct pw_label *a = pa, *b = pb;

	return strcmp(a->key, b->key);
}

void pw_labels_sort(struct pw_labels *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), label_cmp);
}

/* ---- selectors ----------------------------------------------------- */

static const char *const op_names[] = {
	[PW_SEL_IN] = "In",
	[PW_SEL_NOT_IN] = "NotIn",
	[PW_SEL_EXISTS] = "Exists",
	[PW_SEL_DOES_NOT_EXIST] = "DoesNotExist",
};

const char *pw_sel_op_name(enum pw_sel_op op)
{
	return (unsigned)op < PW_ARRAY_SIZE(op_names) ? op_names[op] : NULL;
}

enum pw_sel_op pw_sel_op_parse(const char *s)
{
	for (size_t i = 0; s && i < PW_ARRAY_SIZE(op_names); i++)
		if (!strcmp(s, op_names[i]))
			return (enum pw_sel_op)i;
	return PW_SEL_INVALID;
}

static bool values_have(char *const *values, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(values[i], v))
			return true;
	return false;
}

/* An invalid operator matches nothing: validation rejects it anyway, and
 * failing closed is the safe reading. */
static bool req_matches(const struct pw_sel_req *r, const struct pw_labels *l)
{
	const char *v = pw_labels_get(l, r->key);

	switch (r->op) {
	case PW_SEL_IN:
		return v && values_have(r->values, r->nvalues, v);
	case PW_SEL_NOT_IN:
		return !v || !values_have(r->values, r->nvalues, v);
	case PW_SEL_EXISTS:
		return v != NULL;
	case PW_SEL_DOES_NOT_EXIST:
		return v == NULL;
	default:
		return false;
	}
}

bool pw_selector_matches(const struct pw_selector *s, const struct pw_labels *l)
{
	for (size_t i = 0; i < s->match_labels.n; i++) {
		const struct pw_label *m = &s->match_labels.v[i];
		const char *v = pw_labels_get(l, m->key);

		if (!v || strcmp(v, m->value))
			return false;
	}
	for (size_t i = 0; i < s->nreqs; i++)
		if (!req_matches(&s->reqs[i], l))
			return false;
	return true;
}

bool pw_selector_is_empty(const struct pw_selector *s)
{
	return !s->match_labels.n && !s->nreqs;
}

/*
 * The canonical form of a selector is a set of terms (key, op, set of
 * values): a matchLabels entry k: v is the term (k, In, {v}), exactly what
 * the API server turns it into. Order and repetition of terms and values
 * do not matter. Selectors are small, so equality compares the sets
 * pairwise instead of building sorted copies, and the hash adds up the
 * hashes of distinct terms, which does not depend on order.
 */
struct term {
	const char *key;
	enum pw_sel_op op;
	char *const *values;
	size_t nvalues;
};

static size_t term_count(const struct pw_selector *s)
{
	return s->match_labels.n + s->nreqs;
}

static struct term term_get(const struct pw_selector *s, size_t i)
{
	struct term t;

	if (i < s->match_labels.n) {
		t.key = s->match_labels.v[i].key;
		t.op = PW_SEL_IN;
		t.values = &s->match_labels.v[i].value;
		t.nvalues = 1;
		return t;
	}
	i -= s->match_labels.n;
	t.key = s->reqs[i].key;
	t.op = s->reqs[i].op;
	t.values = s->reqs[i].values;
	t.nvalues = s->reqs[i].nvalues;
	if (t.op == PW_SEL_EXISTS || t.op == PW_SEL_DOES_NOT_EXIST)
		t.nvalues = 0;
	return t;
}

/* Every value of a is among b's. */
static bool values_subset(const struct term *a, const struct term *b)
{
	for (size_t i = 0; i < a->nvalues; i++)
		if (!values_have(b->values, b->nvalues, a->values[i]))
			return false;
	return true;
}

static bool term_equal(const struct term *a, const struct term *b)
{
	return a->op == b->op && !strcmp(a->key, b->key) &&
	       values_subset(a, b) && values_subset(b, a);
}

/* Every term of a has an equal term in b. */
static bool terms_subset(const struct pw_selector *a,
			 const struct pw_selector *b)
{
	size_t na = term_count(a), nb = term_count(b);

	for (size_t i = 0; i < na; i++) {
		struct term ta = term_get(a, i);
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++) {
			struct term tb = term_get(b, j);

			found = term_equal(&ta, &tb);
		}
		if (!found)
			return false;
	}
	return true;
}

bool pw_selector_equal(const struct pw_selector *a, const struct pw_selector *b)
{
	return terms_subset(a, b) && terms_subset(b, a);
}

static uint64_t str_hash(const char *s)
{
	return pw_hash_bytes(PW_HASH_INIT, s, strlen(s) + 1);
}

static uint64_t term_hash(const struct term *t)
{
	uint64_t h = str_hash(t->key), vh = 0;
	uint8_t op = (uint8_t)t->op;

	h = pw_hash_bytes(h, &op, 1);
	for (size_t i = 0; i < t->nvalues; i++) {
		if (values_have(t->values, i, t->values[i]))
			continue; /* a repeated value adds nothing */
		vh += str_hash(t->values[i]);
	}
	return pw_hash_bytes(h, &vh, sizeof(vh));
}

uint64_t pw_selector_hash(const struct pw_selector *s)
{
	size_t n = term_count(s);
	uint64_t h = 0;

	for (size_t i = 0; i < n; i++) {
		struct term t = term_get(s, i);
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++) {
			struct term u = term_get(s, j);

			seen = term_equal(&t, &u);
		}
		if (!seen)
			h += term_hash(&t);
	}
	return pw_hash_bytes(PW_HASH_INIT, &h, sizeof(h));
}

/* ---- syntax of names and labels ------------------------------------ */

#define MSG_MAX63 "must be no more than 63 characters"
#define MSG_MAX253 "must be no more than 253 characters"
#define QNAME_FMT                                                        \
	"must consist of alphanumeric characters, '-', '_' or '.', and " \
	"must start and end with an alphanumeric character (e.g. "       \
	"'MyName',  or 'my.name',  or '123-abc', regex used for "        \
	"validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define SUBDOMAIN_FMT                                                     \
	"a lowercase RFC 1123 subdomain must consist of lower case "      \
	"alphanumeric characters, '-' or '.', and must start and end "    \
	"with an alphanumeric character (e.g. 'example.com', regex used " \
	"for validation is "                                              \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] on s[0..n), n > 0. */
static bool qname_ok(const char *s, size_t n)
{
	if (!is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_alnum(s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? on s[0..n). */
static bool dns_label_ok(const char *s, size_t n)
{
	if (!n || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* Dot-separated labels on s[0..n). */
static bool dns_subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!dns_label_ok(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

static size_t add_msg(const char **msgs, size_t max, size_t n, const char *msg)
{
	if (n < max)
		msgs[n] = msg;
	return n + 1;
}

size_t pw_dns_subdomain_errors(const char *s, const char **msgs, size_t max)
{
	size_t n = 0, len = strlen(s);

	if (len > 253)
		n = add_msg(msgs, max, n, MSG_MAX253);
	if (!dns_subdomain_ok(s, len))
		n = add_msg(msgs, max, n, SUBDOMAIN_FMT);
	return n;
}

size_t pw_dns_label_errors(const char *s, const char **msgs, size_t max)
{
	size_t n = 0, len = strlen(s);

	if (len > 63)
		n = add_msg(msgs, max, n, MSG_MAX63);
	if (!dns_label_ok(s, len))
		n = add_msg(msgs, max, n,
			    "a lowercase RFC 1123 label must consist of lower "
			    "case alphanumeric characters or '-', and must "
			    "start and end with an alphanumeric character "
			    "(e.g. 'my-name',  or '123-abc', regex used for "
			    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
	return n;
}

size_t pw_dns1035_label_errors(const char *s, const char **msgs, size_t max)
{
	size_t n = 0, len = strlen(s);

	if (len > 63)
		n = add_msg(msgs, max, n, MSG_MAX63);
	if (!dns_label_ok(s, len) || !(s[0] >= 'a' && s[0] <= 'z'))
		n = add_msg(msgs, max, n,
			    "a DNS-1035 label must consist of lower case "
			    "alphanumeric characters or '-', start with an "
			    "alphabetic character, and end with an "
			    "alphanumeric character (e.g. 'my-name',  or "
			    "'abc-123', regex used for validation is "
			    "'[a-z]([-a-z0-9]*[a-z0-9])?')");
	return n;
}

static size_t key_prefix_errors(const char *p, size_t len, const char **msgs,
				size_t max, size_t n)
{
	if (!len)
		return add_msg(msgs, max, n, "prefix part must be non-empty");
	if (len > 253)
		n = add_msg(msgs, max, n, "prefix part " MSG_MAX253);
	if (!dns_subdomain_ok(p, len))
		n = add_msg(msgs, max, n, "prefix part " SUBDOMAIN_FMT);
	return n;
}

size_t pw_label_key_errors(const char *key, const char **msgs, size_t max)
{
	const char *slash = strchr(key, '/');
	const char *name = key;
	size_t n = 0, len;

	if (slash && strchr(slash + 1, '/'))
		return add_msg(msgs, max, 0,
			       "a qualified name " QNAME_FMT
			       " with an optional DNS subdomain prefix and '/' "
			       "(e.g. 'example.com/MyName')");
	if (slash) {
		n = key_prefix_errors(key, (size_t)(slash - key), msgs, max, n);
		name = slash + 1;
	}
	len = strlen(name);
	if (!len)
		return add_msg(msgs, max, n, "name part must be non-empty");
	if (len > 63)
		n = add_msg(msgs, max, n, "name part " MSG_MAX63);
	if (!qname_ok(name, len))
		n = add_msg(msgs, max, n, "name part " QNAME_FMT);
	return n;
}

size_t pw_label_value_errors(const char *v, const char **msgs, size_t max)
{
	size_t n = 0, len = strlen(v);

	if (len > 63)
		n = add_msg(msgs, max, n, MSG_MAX63);
	if (len && !qname_ok(v, len))
		n = add_msg(msgs, max, n,
			    "a valid label must be an empty string or consist "
			    "of alphanumeric characters, '-', '_' or '.', and "
			    "must start and end with an alphanumeric "
			    "character (e.g. 'MyValue',  or 'my_value',  or "
			    "'12345', regex used for validation is "
			    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
	return n;
}

/* ---- kubectl's selector syntax ------------------------------------- */

/*
 * The grammar of k8s.io/apimachinery/pkg/labels (selector.go), without
 * the numeric operators '<' and '>' a LabelSelector cannot express:
 *
 *   selector := [ req { "," req } ]
 *   req      := "!" key | key | key ("=" | "==" | "!=") [ value ]
 *             | key ("in" | "notin") "(" [ value ] { "," [ value ] } ")"
 *
 * Identifiers run until white space or one of "!=,()<>"; white space
 * between tokens is ignored. `a=b` becomes a In (b), `a!=b` a NotIn (b).
 */
enum tok {
	TOK_END,
	TOK_IDENT,
	TOK_NOT, /* ! */
	TOK_EQ, /* = or == */
	TOK_NEQ, /* != */
	TOK_COMMA,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_CMP, /* < or >, not supported */
};

struct lexer {
	const char *s;
	size_t pos; /* after the current token */
	enum tok tok;
	size_t start, len; /* the current token */
	char *err;
	size_t errlen;
};

static bool is_special(char c)
{
	return c && strchr("!=,()<>", c);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Two-character operators first, then single characters. */
static const struct {
	const char *text;
	enum tok tok;
} punct[] = {
	{ "==", TOK_EQ },   { "!=", TOK_NEQ },	{ "!", TOK_NOT },
	{ "=", TOK_EQ },    { ",", TOK_COMMA }, { "(", TOK_OPEN },
	{ ")", TOK_CLOSE }, { "<", TOK_CMP },	{ ">", TOK_CMP },
};

static void lex_next(struct lexer *lx)
{
	const char *s = lx->s;
	size_t p = lx->pos;

	while (is_space(s[p]))
		p++;
	lx->start = p;
	lx->tok = TOK_END;
	if (s[p]) {
		for (size_t i = 0; i < PW_ARRAY_SIZE(punct); i++) {
			size_t n = strlen(punct[i].text);

			if (!strncmp(s + p, punct[i].text, n)) {
				lx->tok = punct[i].tok;
				p += n;
				break;
			}
		}
	}
	if (s[p] && lx->start == p) {
		lx->tok = TOK_IDENT;
		while (s[p] && !is_space(s[p]) && !is_special(s[p]))
			p++;
	}
	lx->len = p - lx->start;
	lx->pos = p;
}

static bool tok_is_word(const struct lexer *lx, const char *w)
{
	return lx->tok == TOK_IDENT && lx->len == strlen(w) &&
	       !strncmp(lx->s + lx->start, w, lx->len);
}

static int lex_error(struct lexer *lx, const char *what)
{
	if (lx->tok == TOK_END)
		snprintf(lx->err, lx->errlen,
			 "column %zu: expected %s, found end of string",
			 lx->start + 1, what);
	else
		snprintf(lx->err, lx->errlen,
			 "column %zu: expected %s, found '%.*s'", lx->start + 1,
			 what, (int)lx->len, lx->s + lx->start);
	return -EINVAL;
}

static void req_clear(struct pw_sel_req *r)
{
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	free(r->value_pos);
	free(r->key);
	free(r->op_text);
	memset(r, 0, sizeof(*r));
}

static int check_syntax(struct lexer *lx, const char *what, const char *text,
			size_t (*check)(const char *, const char **, size_t))
{
	const char *msg;

	if (!check(text, &msg, 1))
		return 0;
	snprintf(lx->err, lx->errlen, "invalid label %s \"%s\": %s", what, text,
		 msg);
	return -EINVAL;
}

/* Appends the current token's text (empty unless an identifier). */
static int req_add_value(struct lexer *lx, struct pw_sel_req *r, bool ident)
{
	char *v = strndup(lx->s + lx->start, ident ? lx->len : 0);
	char **nv;
	struct pw_pos *np;

	if (!v)
		return -ENOMEM;
	nv = realloc(r->values, (r->nvalues + 1) * sizeof(*nv));
	if (nv)
		r->values = nv;
	np = nv ? realloc(r->value_pos, (r->nvalues + 1) * sizeof(*np)) : NULL;
	if (!np) {
		free(v);
		return -ENOMEM;
	}
	r->value_pos = np;
	memset(&np[r->nvalues], 0, sizeof(*np));
	r->values[r->nvalues++] = v;
	return check_syntax(lx, "value", v, pw_label_value_errors);
}

/* After "=", "==" or "!=": one value, possibly empty. */
static int parse_single_value(struct lexer *lx, struct pw_sel_req *r)
{
	int ret;

	lex_next(lx);
	if (lx->tok != TOK_IDENT && lx->tok != TOK_COMMA && lx->tok != TOK_END)
		return lex_error(lx, "a label value");
	ret = req_add_value(lx, r, lx->tok == TOK_IDENT);
	if (!ret && lx->tok == TOK_IDENT)
		lex_next(lx);
	return ret;
}

/* After "in" or "notin": "(" values ")". */
static int parse_value_list(struct lexer *lx, struct pw_sel_req *r)
{
	int ret;

	lex_next(lx);
	if (lx->tok != TOK_OPEN)
		return lex_error(lx, "'('");
	lex_next(lx);
	if (lx->tok == TOK_CLOSE) {
		snprintf(lx->err, lx->errlen,
			 "for 'in', 'notin' operators, values set can't be "
			 "empty");
		return -EINVAL;
	}
	for (;;) {
		bool ident = lx->tok == TOK_IDENT;

		ret = req_add_value(lx, r, ident);
		if (ret)
			return ret;
		if (ident)
			lex_next(lx);
		if (lx->tok == TOK_CLOSE)
			break;
		if (lx->tok != TOK_COMMA)
			return lex_error(lx, "',' or ')'");
		lex_next(lx);
	}
	lex_next(lx);
	return 0;
}

static int req_set_op(struct pw_sel_req *r, enum pw_sel_op op)
{
	r->op = op;
	r->op_text = strdup(pw_sel_op_name(op));
	r->values_present = op == PW_SEL_IN || op == PW_SEL_NOT_IN;
	return r->op_text ? 0 : -ENOMEM;
}

/* The operator and values after a key; the current token follows the key. */
static int parse_op(struct lexer *lx, struct pw_sel_req *r)
{
	int ret;

	if (lx->tok == TOK_END || lx->tok == TOK_COMMA)
		return req_set_op(r, PW_SEL_EXISTS);
	if (lx->tok == TOK_EQ || lx->tok == TOK_NEQ) {
		ret = req_set_op(r,
				 lx->tok == TOK_EQ ? PW_SEL_IN : PW_SEL_NOT_IN);
		return ret ? ret : parse_single_value(lx, r);
	}
	if (tok_is_word(lx, "in") || tok_is_word(lx, "notin")) {
		ret = req_set_op(r, tok_is_word(lx, "in") ? PW_SEL_IN :
							    PW_SEL_NOT_IN);
		return ret ? ret : parse_value_list(lx, r);
	}
	if (lx->tok == TOK_CMP) {
		snprintf(lx->err, lx->errlen,
			 "column %zu: operator '%.*s' cannot be used in a "
			 "label selector (only =, ==, !=, in, notin, exists)",
			 lx->start + 1, (int)lx->len, lx->s + lx->start);
		return -EINVAL;
	}
	return lex_error(lx, "'=', '==', '!=', 'in', 'notin', ',' or end");
}

static int parse_req(struct lexer *lx, struct pw_sel_req *r)
{
	bool negated = lx->tok == TOK_NOT;
	int ret;

	if (negated)
		lex_next(lx);
	if (lx->tok != TOK_IDENT)
		return lex_error(lx, negated ? "a label key" :
					       "'!' or a label key");
	r->key = strndup(lx->s + lx->start, lx->len);
	if (!r->key)
		return -ENOMEM;
	ret = check_syntax(lx, "key", r->key, pw_label_key_errors);
	if (ret)
		return ret;
	lex_next(lx);
	if (!negated)
		return parse_op(lx, r);
	if (lx->tok != TOK_END && lx->tok != TOK_COMMA)
		return lex_error(lx, "',' or end of string after '!key'");
	return req_set_op(r, PW_SEL_DOES_NOT_EXIST);
}

static void reqs_free(struct pw_selector *out)
{
	for (size_t i = 0; i < out->nreqs; i++)
		req_clear(&out->reqs[i]);
	free(out->reqs);
	out->reqs = NULL;
	out->nreqs = 0;
}

static int parse_reqs(struct lexer *lx, struct pw_selector *out)
{
	size_t cap = 0;

	if (lx->tok == TOK_END)
		return 0; /* the empty selector: everything */
	for (;;) {
		struct pw_sel_req *r = PW_PUSH(out->reqs, out->nreqs, cap);
		int ret;

		if (!r)
			return -ENOMEM;
		ret = parse_req(lx, r);
		if (ret)
			return ret;
		if (lx->tok == TOK_END)
			return 0;
		if (lx->tok != TOK_COMMA)
			return lex_error(lx, "',' or end of string");
		lex_next(lx);
	}
}

int pw_selector_parse(const char *s, struct pw_selector *out, char *err,
		      size_t errlen)
{
	char dummy[1];
	struct lexer lx = {
		.s = s,
		.err = err && errlen ? err : dummy,
		.errlen = err && errlen ? errlen : sizeof(dummy),
	};
	int ret;

	memset(out, 0, sizeof(*out));
	lx.err[0] = '\0';
	lex_next(&lx);
	ret = parse_reqs(&lx, out);
	if (ret == -ENOMEM)
		snprintf(lx.err, lx.errlen, "out of memory");
	if (ret)
		reqs_free(out);
	return ret;
}
