// SPDX-License-Identifier: Apache-2.0
/*
 * Lint findings as a SARIF 2.1.0 log. One run; the driver lists every rule
 * of the catalogue (so ruleIndex is the catalogue index), each result
 * points at its file, line and column, and a suppressed finding carries a
 * suppressions[] entry: "inSource" for the object's annotation,
 * "external" for an excluded namespace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sarif.h"
#include <podwall/podwall.h>

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

/* SARIF's levels for ours. */
static const char *const levels[PW_LINT_SEV_NR] = {
	[PW_LINT_ERROR] = "error",
	[PW_LINT_WARNING] = "warning",
	[PW_LINT_INFO] = "note",
};

static void text_obj(struct json *w, const char *key, const char *text)
{
	json_inline(w);
	json_obj_open(w, key);
	json_str(w, "text", text);
	json_obj_close(w);
}

static void rule_json(struct json *w, size_t i)
{
	json_obj_open(w, NULL);
	json_str(w, "id", pw_lint_rule_id(i));
	json_str(w, "name", pw_lint_rule_name(i));
	text_obj(w, "shortDescription", pw_lint_rule_summary(i));
	text_obj(w, "fullDescription", pw_lint_rule_help(i));
	text_obj(w, "help", pw_lint_rule_help(i));
	json_inline(w);
	json_obj_open(w, "defaultConfiguration");
	json_str(w, "level", levels[pw_lint_rule_severity(i)]);
	json_obj_close(w);
	json_obj_close(w);
}

static void driver_json(struct json *w)
{
	json_obj_open(w, "tool");
	json_obj_open(w, "driver");
	json_str(w, "name", "podwall");
	json_str(w, "version", pw_version());
	json_arr_open(w, "rules");
	for (size_t i = 0; i < pw_lint_rule_count(); i++)
		rule_json(w, i);
	json_arr_close(w);
	json_obj_close(w);
	json_obj_close(w);
}

/*
 * A relative URI reference for a file name: characters outside RFC 3986's
 * unreserved set and '/' are percent-encoded. Long names are cut rather
 * than overflowed (they still point into the right directory).
 */
static void uri_of(const char *file, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *s = (const unsigned char *)file;
	     *s && n + 4 < len; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~/", *s)) {
			buf[n++] = (char)*s;
			continue;
		}
		buf[n++] = '%';
		buf[n++] = hex[*s >> 4];
		buf[n++] = hex[*s & 15];
	}
	buf[n] = '\0';
}

static void location_json(struct json *w, const struct pw_finding *f)
{
	char uri[4096];

	json_arr_open(w, "locations");
	json_obj_open(w, NULL);
	json_obj_open(w, "physicalLocation");
	uri_of(pw_finding_file(f), uri, sizeof(uri));
	json_inline(w);
	json_obj_open(w, "artifactLocation");
	json_str(w, "uri", uri);
	json_obj_close(w);
	if (pw_finding_line(f)) {
		json_inline(w);
		json_obj_open(w, "region");
		json_uint(w, "startLine", pw_finding_line(f));
		if (pw_finding_column(f))
			json_uint(w, "startColumn", pw_finding_column(f));
		json_obj_close(w);
	}
	json_obj_close(w);
	json_arr_open(w, "logicalLocations");
	json_inline(w);
	json_obj_open(w, NULL);
	json_str(w, "fullyQualifiedName", pw_finding_object(f));
	json_obj_close(w);
	json_arr_close(w);
	json_obj_close(w);
	json_arr_close(w);
}

static void suppression_json(struct json *w, const struct pw_finding *f)
{
	const char *why = pw_finding_reason(f);
	size_t n = strlen(PW_LINT_IGNORE_ANNOTATION);

	json_arr_open(w, "suppressions");
	json_inline(w);
	json_obj_open(w, NULL);
	json_str(w, "kind",
		 strncmp(why, PW_LINT_IGNORE_ANNOTATION, n) ? "external" :
							      "inSource");
	json_str(w, "justification", why);
	json_obj_close(w);
	json_arr_close(w);
}

bool finding_witness_json(struct json *w, const struct pw_finding *f)
{
	const char *from, *to, *port;

	if (!pw_finding_witness(f, &from, &to, &port))
		return false;
	json_inline(w);
	json_obj_open(w, "witness");
	json_str(w, "from", from);
	json_str(w, "to", to);
	json_str(w, "port", port);
	json_obj_close(w);
	return true;
}

static void properties_json(struct json *w, const struct pw_finding *f)
{
	json_obj_open(w, "properties");
	json_str(w, "path", pw_finding_path(f));
	finding_witness_json(w, f);
	json_obj_close(w);
}

/* The message, with the witness said in words when there is one. */
static void message_json(struct json *w, const struct pw_finding *f)
{
	const char *from, *to, *port;
	char *text = NULL;

	if (pw_finding_witness(f, &from, &to, &port) &&
	    asprintf(&text, "%s (witness: %s -> %s on %s)",
		     pw_finding_message(f), from, to, port) < 0)
		text = NULL;
	text_obj(w, "message", text ? text : pw_finding_message(f));
	free(text);
}

static void result_json(struct json *w, const struct pw_finding *f)
{
	json_obj_open(w, NULL);
	json_str(w, "ruleId", pw_finding_rule_id(f));
	json_uint(w, "ruleIndex", pw_finding_rule(f));
	json_str(w, "level", levels[pw_finding_severity(f)]);
	message_json(w, f);
	location_json(w, f);
	if (pw_finding_suppressed(f))
		suppression_json(w, f);
	properties_json(w, f);
	json_obj_close(w);
}

void sarif_print(const struct pw_lint *l, FILE *f)
{
	struct json w;

	json_init(&w, f);
	json_obj_open(&w, NULL);
	json_str(&w, "$schema", SARIF_SCHEMA);
	json_str(&w, "version", "2.1.0");
	json_arr_open(&w, "runs");
	json_obj_open(&w, NULL);
	driver_json(&w);
	json_arr_open(&w, "results");
	for (size_t i = 0; i < pw_lint_count(l); i++)
		result_json(&w, pw_lint_get(l, i));
	json_arr_close(&w);
	json_obj_close(&w);
	json_arr_close(&w);
	json_obj_close(&w);
	json_end(&w);
}
