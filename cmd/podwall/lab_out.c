// SPDX-License-Identifier: Apache-2.0
/*
 * What a probe found, for a program (the JSON of spec/cli.md, the same
 * object as `matrix -o json` with the traffic's answers) and for a person
 * (one table per port with the engine's answer folded in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "lab.h"

size_t lab_result_mismatches(const struct lab_result *r)
{
	size_t n = 0, cells = r->nports * r->npods * r->npods;

	for (size_t i = 0; r->expected && i < cells; i++)
		n += r->observed[i] != r->expected[i];
	return n;
}

void lab_result_free(struct lab_result *r)
{
	free(r->ports);
	free(r->skips);
	free(r->observed);
	free(r->expected);
	memset(r, 0, sizeof(*r));
}

static void port_name(const struct lab_result *r, size_t p, char *buf,
		      size_t len)
{
	pw_port_format(&r->ports[p], buf, len);
}

static void json_matrix(struct json *w, const char *key,
			const struct lab_plan *plan, const struct lab_result *r,
			const bool *m)
{
	char pn[32];

	json_obj_open(w, key);
	for (size_t p = 0; p < r->nports; p++) {
		port_name(r, p, pn, sizeof(pn));
		json_obj_open(w, pn);
		for (size_t i = 0; i < r->npods; i++) {
			json_inline(w);
			json_obj_open(w, plan->pods[i].name);
			for (size_t j = 0; j < r->npods; j++)
				if (i != j)
					json_bool(w, plan->pods[j].name,
						  m[lab_cell(r, p, i, j)]);
			json_obj_close(w);
		}
		json_obj_close(w);
	}
	json_obj_close(w);
}

/* Calls fn for every cell where the traffic and the engine differ, in
 * the order of the output: port, then source, then destination. */
typedef void mismatch_fn(const char *port, const char *from, const char *to,
			 bool expected, bool observed, void *arg);

static void each_mismatch(const struct lab_plan *plan,
			  const struct lab_result *r, mismatch_fn *fn,
			  void *arg)
{
	char pn[32];
	size_t c;

	for (size_t p = 0; p < r->nports; p++) {
		port_name(r, p, pn, sizeof(pn));
		for (size_t i = 0; i < r->npods * r->npods; i++) {
			c = lab_cell(r, p, i / r->npods, i % r->npods);
			if (r->observed[c] != r->expected[c])
				fn(pn, plan->pods[i / r->npods].name,
				   plan->pods[i % r->npods].name,
				   r->expected[c], r->observed[c], arg);
		}
	}
}

static void mismatch_json(const char *port, const char *from, const char *to,
			  bool expected, bool observed, void *arg)
{
	struct json *w = arg;

	json_inline(w);
	json_obj_open(w, NULL);
	json_str(w, "port", port);
	json_str(w, "from", from);
	json_str(w, "to", to);
	json_bool(w, "expected", expected);
	json_bool(w, "observed", observed);
	json_obj_close(w);
}

static void json_mismatches(struct json *w, const struct lab_plan *plan,
			    const struct lab_result *r)
{
	json_arr_open(w, "mismatches");
	each_mismatch(plan, r, mismatch_json, w);
	json_arr_close(w);
}

static void json_skipped(struct json *w, const struct lab_result *r)
{
	char pn[32];

	json_arr_open(w, "skipped");
	for (size_t i = 0; i < r->nskips; i++) {
		pw_port_format(&r->skips[i].port, pn, sizeof(pn));
		json_inline(w);
		json_obj_open(w, NULL);
		json_str(w, "port", pn);
		json_str(w, "reason", r->skips[i].why);
		json_obj_close(w);
	}
	json_arr_close(w);
}

void lab_out_json(const struct lab_plan *plan, const struct lab_result *r,
		  bool run)
{
	struct json w;
	char pn[32];

	json_init(&w, stdout);
	json_obj_open(&w, NULL);
	json_int(&w, "version", 1);
	json_inline(&w);
	json_arr_open(&w, "pods");
	for (size_t i = 0; i < r->npods; i++)
		json_str(&w, NULL, plan->pods[i].name);
	json_arr_close(&w);
	json_inline(&w);
	json_arr_open(&w, "ports");
	for (size_t p = 0; p < r->nports; p++) {
		port_name(r, p, pn, sizeof(pn));
		json_str(&w, NULL, pn);
	}
	json_arr_close(&w);
	json_matrix(&w, "matrix", plan, r, r->observed);
	if (run && r->expected) {
		json_matrix(&w, "expected", plan, r, r->expected);
		json_mismatches(&w, plan, r);
		json_skipped(&w, r);
	}
	json_obj_close(&w);
	json_end(&w);
}

/* '+' / '.': the traffic did what the engine says (allowed / denied);
 * 'A': allowed although the engine denies it; 'D': dropped although the
 * engine allows it; '-': the pod itself. */
static char text_cell(const struct lab_result *r, size_t p, size_t i, size_t j)
{
	size_t c = lab_cell(r, p, i, j);
	bool o = r->observed[c];

	if (i == j)
		return '-';
	if (r->expected && o != r->expected[c])
		return o ? 'A' : 'D';
	return o ? '+' : '.';
}

/* Beyond this many pods, tables are too wide to read: totals only. */
#define TABLE_MAX_PODS 60

static void text_rows(const struct lab_plan *plan, const struct lab_result *r,
		      size_t p, int wn)
{
	printf("%*s", wn + 6, "");
	for (size_t j = 0; j < r->npods; j++)
		printf(" %3zu", j + 1);
	putchar('\n');
	for (size_t i = 0; i < r->npods; i++) {
		printf("%3zu  %-*s ", i + 1, wn, plan->pods[i].name);
		for (size_t j = 0; j < r->npods; j++)
			printf(" %3c", text_cell(r, p, i, j));
		putchar('\n');
	}
}

static void text_table(const struct lab_plan *plan, const struct lab_result *r,
		       size_t p, int wn)
{
	size_t allowed = 0, wrong = 0, pairs = r->npods * (r->npods - 1);
	char pn[32], ch;

	port_name(r, p, pn, sizeof(pn));
	if (r->npods <= TABLE_MAX_PODS) {
		if (p)
			putchar('\n');
		printf("%s (rows: from, columns: to)\n", pn);
		text_rows(plan, r, p, wn);
	}
	for (size_t i = 0; i < r->npods; i++)
		for (size_t j = 0; j < r->npods; j++) {
			ch = text_cell(r, p, i, j);
			allowed += ch == '+' || ch == 'A';
			wrong += ch == 'A' || ch == 'D';
		}
	printf("%s: %zu of %zu pairs connected", pn, allowed, pairs);
	if (r->expected)
		printf(", %zu differ from the engine", wrong);
	putchar('\n');
}

static void mismatch_text(const char *port, const char *from, const char *to,
			  bool expected, bool observed, void *arg)
{
	(void)arg;
	printf("mismatch %s %s -> %s: engine %s, traffic %s\n", port, from, to,
	       expected ? "allows" : "denies",
	       observed ? "connected" : "dropped");
}

static void text_mismatches(const struct lab_plan *plan,
			    const struct lab_result *r)
{
	each_mismatch(plan, r, mismatch_text, NULL);
}

void lab_out_text(const struct lab_plan *plan, const struct lab_result *r)
{
	char pn[32];
	int wn = 1;

	for (size_t i = 0; i < r->npods; i++)
		if ((int)strlen(plan->pods[i].name) > wn)
			wn = (int)strlen(plan->pods[i].name);
	for (size_t p = 0; p < r->nports && r->npods; p++)
		text_table(plan, r, p, wn);
	for (size_t i = 0; i < r->nskips; i++) {
		pw_port_format(&r->skips[i].port, pn, sizeof(pn));
		printf("skipped %s: %s\n", pn, r->skips[i].why);
	}
	for (size_t i = 0; i < plan->nnotes; i++)
		printf("not built %s: %s\n", plan->notes[i].pod,
		       plan->notes[i].why);
	if (r->expected)
		text_mismatches(plan, r);
	printf("legend: + connected, . dropped%s, - the pod itself\n",
	       r->expected ? " (as the engine says); A connected although "
			     "the engine denies, D dropped although it "
			     "allows" :
			     "");
}
