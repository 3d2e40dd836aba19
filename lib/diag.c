// SPDX-License-Identifier: Apache-2.0
/*
 * Diagnostics records. Each record owns copies of its strings, so a list
 * outlives the cluster and the buffers it was made from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct pw_diag {
	enum pw_severity sev;
	char *file;
	unsigned line;
	unsigned col;
	char *path;
	char *msg;
	size_t seq; /* insertion order, to keep sorting stable */
};

struct pw_diags {
	struct pw_diag *v;
	size_t n, cap;
	size_t nerrors;
};

PW_EXPORT struct pw_diags *pw_diags_new(void)
{
	return calloc(1, sizeof(struct pw_diags));
}

PW_EXPORT void pw_diags_free(struct pw_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].path);
		free(d->v[i].msg);
	}
	free(d->v);
	free(d);
}

PW_EXPORT size_t pw_diags_count(const struct pw_diags *d)
{
	return d ? d->n : 0;
}

PW_EXPORT size_t pw_diags_error_count(const struct pw_diags *d)
{
	return d ? d->nerrors : 0;
}

PW_EXPORT const struct pw_diag *pw_diags_get(const struct pw_diags *d, size_t i)
{
	return d && i < d->n ? &d->v[i] : NULL;
}

static int diag_cmp(const void *pa, const void *pb)
{
	const struct pw_diag *a = pa, *b = pb;
	int r = strcmp(a->file, b->file);

	if (r)
		return r;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

PW_EXPORT void pw_diags_sort(struct pw_diags *d)
{
	if (d && d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), diag_cmp);
}

int pw_diags_vadd(struct pw_diags *d, enum pw_severity sev,
		  const struct pw_pos *pos, const char *path, const char *fmt,
		  va_list ap)
{
	struct pw_diag r = { .sev = sev };

	if (!d)
		return 0;
	if (vasprintf(&r.msg, fmt, ap) < 0)
		return -ENOMEM;
	r.file = strdup(pos && pos->file ? pos->file : "");
	r.path = strdup(path ? path : "");
	if (!r.file || !r.path ||
	    pw_grow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v)))
		goto err_free;
	r.line = pos ? pos->line : 0;
	r.col = pos ? pos->col : 0;
	r.seq = d->n;
	d->v[d->n++] = r;
	if (sev == PW_SEV_ERROR)
		d->nerrors++;
	return 0;

err_free:
	free(r.msg);
	free(r.file);
	free(r.path);
	return -ENOMEM;
}

int pw_diags_add(struct pw_diags *d, enum pw_severity sev,
		 const struct pw_pos *pos, const char *path, const char *fmt,
		 ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = pw_diags_vadd(d, sev, pos, path, fmt, ap);
	va_end(ap);
	return ret;
}

PW_EXPORT enum pw_severity pw_diag_severity(const struct pw_diag *r)
{
	return r->sev;
}

PW_EXPORT const char *pw_severity_name(enum pw_severity s)
{
	static const char *const names[] = {
		[PW_SEV_ERROR] = "error",
		[PW_SEV_WARNING] = "warning",
		[PW_SEV_NOTE] = "note",
	};

	return (unsigned)s < PW_ARRAY_SIZE(names) ? names[s] : "?";
}

PW_EXPORT const char *pw_diag_file(const struct pw_diag *r)
{
	return r->file;
}

PW_EXPORT unsigned pw_diag_line(const struct pw_diag *r)
{
	return r->line;
}

PW_EXPORT unsigned pw_diag_column(const struct pw_diag *r)
{
	return r->col;
}

PW_EXPORT const char *pw_diag_path(const struct pw_diag *r)
{
	return r->path;
}

PW_EXPORT const char *pw_diag_message(const struct pw_diag *r)
{
	return r->msg;
}

PW_EXPORT int pw_diag_format(const struct pw_diag *r, char *buf, size_t len)
{
	char where[64] = "";
	const char *file = r->file[0] ? r->file : "";

	if (r->line && r->col)
		snprintf(where, sizeof(where), ":%u:%u", r->line, r->col);
	else if (r->line)
		snprintf(where, sizeof(where), ":%u", r->line);
	return snprintf(buf, len, "%s%s%s%s%s%s", file, where,
			file[0] ? ": " : "", r->path, r->path[0] ? ": " : "",
			r->msg);
}
