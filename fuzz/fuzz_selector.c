// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for pw_selector_parse. Beyond not crashing, a selector
 * that parses must hold only valid keys and values with a known operator,
 * equal itself, and survive a round trip through its text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	memset(s, 0, sizeof(*s));
}

/* Appends to buf as long as there is room; returns false when full. */
static bool put(char *buf, size_t len, size_t *o, const char *s)
{
	int n = snprintf(buf + *o, len - *o, "%s", s);

	if (n < 0 || (size_t)n >= len - *o)
		return false;
	*o += (size_t)n;
	return true;
}

static bool put_req(char *buf, size_t len, size_t *o,
		    const struct pw_sel_req *r)
{
	static const char *const single[] = {
		[PW_SEL_IN] = "=", [PW_SEL_NOT_IN] = "!="
	};
	static const char *const list[] = {
		[PW_SEL_IN] = " in (", [PW_SEL_NOT_IN] = " notin ("
	};
	bool ok = true;

	switch (r->op) {
	case PW_SEL_EXISTS:
		return put(buf, len, o, r->key);
	case PW_SEL_DOES_NOT_EXIST:
		return put(buf, len, o, "!") && put(buf, len, o, r->key);
	default:
		break;
	}
	if (r->nvalues == 1)
		return put(buf, len, o, r->key) &&
		       put(buf, len, o, single[r->op]) &&
		       put(buf, len, o, r->values[0]);
	ok = put(buf, len, o, r->key) && put(buf, len, o, list[r->op]);
	for (size_t i = 0; ok && i < r->nvalues; i++)
		ok = put(buf, len, o, i ? "," : "") &&
		     put(buf, len, o, r->values[i]);
	return ok && put(buf, len, o, ")");
}

static void check_parsed(const struct pw_selector *s)
{
	const char *msg;

	for (size_t i = 0; i < s->nreqs; i++) {
		const struct pw_sel_req *r = &s->reqs[i];

		if (r->op == PW_SEL_INVALID || !r->op_text ||
		    pw_sel_op_parse(r->op_text) != r->op)
			abort();
		if (pw_label_key_errors(r->key, &msg, 1))
			abort();
		if ((r->op == PW_SEL_IN || r->op == PW_SEL_NOT_IN) !=
		    (r->nvalues > 0))
			abort();
		for (size_t j = 0; j < r->nvalues; j++)
			if (pw_label_value_errors(r->values[j], &msg, 1))
				abort();
	}
	if (!pw_selector_equal(s, s) ||
	    pw_selector_hash(s) != pw_selector_hash(s))
		abort();
}

static void round_trip(const struct pw_selector *s, size_t size)
{
	size_t len = 2 * size + 16, o = 0;
	char *buf = malloc(len), err[128];
	struct pw_selector again;
	bool ok = buf != NULL;

	if (ok)
		buf[0] = '\0';

	for (size_t i = 0; ok && i < s->nreqs; i++)
		ok = put(buf, len, &o, i ? "," : "") &&
		     put_req(buf, len, &o, &s->reqs[i]);
	if (ok) {
		if (pw_selector_parse(buf, &again, err, sizeof(err)))
			abort();
		if (!pw_selector_equal(s, &again) ||
		    pw_selector_hash(s) != pw_selector_hash(&again))
			abort();
		sel_free(&again);
	}
	free(buf);
}

/* Matching must not crash on labels made of the selector's own words. */
static void match_own_labels(const struct pw_selector *s)
{
	struct pw_labels l = { 0 };

	for (size_t i = 0; i < s->nreqs; i++)
		pw_labels_set(&l, s->reqs[i].key,
			      s->reqs[i].nvalues ? s->reqs[i].values[0] : "");
	(void)pw_selector_matches(s, &l);
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].key);
		free(l.v[i].value);
	}
	free(l.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[128];
	struct pw_selector s;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!pw_selector_parse(text, &s, err, sizeof(err))) {
		check_parsed(&s);
		round_trip(&s, size);
		match_own_labels(&s);
		sel_free(&s);
	} else if (s.nreqs || s.reqs || !err[0]) {
		abort(); /* a failure leaves nothing behind, and says why */
	}
	free(text);
	return 0;
}
