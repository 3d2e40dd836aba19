// SPDX-License-Identifier: Apache-2.0
/* Structured key=value logging to stderr (see log.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 4096

struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 2 - l->len; /* keep room for "\n" */

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static bool bare(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_./:@+-",
			    *v))
			return false;
	return true;
}

/* A value in double quotes, with \" \\ and control bytes escaped. */
static void put_quoted(struct line *l, const char *v)
{
	char esc[8];

	put(l, "\"", 1);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			put(l, esc, 4);
		} else {
			put(l, v, 1);
		}
	}
	put(l, "\"", 1);
}

static void put_pair(struct line *l, const char *key, const char *val)
{
	put(l, " ", 1);
	put(l, key, strlen(key));
	put(l, "=", 1);
	if (!val)
		put(l, "-", 1);
	else if (bare(val))
		put(l, val, strlen(val));
	else
		put_quoted(l, val);
}

static void put_time(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(buf, sizeof(buf),
		     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (n > 0)
		put(l, buf, (size_t)n);
}

void valog(const char *level, const char *event, va_list ap)
{
	struct line l = { .len = 0 };
	const char *key;

	put_time(&l);
	put_pair(&l, "level", level);
	put_pair(&l, "event", event);
	while ((key = va_arg(ap, const char *))) {
		const char *val = va_arg(ap, const char *);

		put_pair(&l, key, val);
	}
	l.buf[l.len++] = '\n';
	if (write(STDERR_FILENO, l.buf, l.len) < 0)
		return; /* nowhere left to complain */
}

void alog(const char *level, const char *event, ...)
{
	va_list ap;

	va_start(ap, event);
	valog(level, event, ap);
	va_end(ap);
}
