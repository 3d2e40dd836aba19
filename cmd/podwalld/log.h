/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structured logs: one line per event on stderr,
 *   ts=2026-11-26T08:00:00.123Z level=info event=apply chains=12 ...
 * Keys are fixed words from the code; values are copied as data (quoted
 * and escaped when they hold anything but [A-Za-z0-9_./:@+-]), never
 * used as a format, so a manifest string cannot forge a line or a field.
 */
#ifndef PODWALLD_LOG_H
#define PODWALLD_LOG_H

#include <stdarg.h>

/*
 * alog("info", "apply", "chains", "12", "file", path, NULL): pairs of
 * key and value (a NULL value prints as "-"), ending with a NULL key.
 * Thread-safe: each line is written with one write(2).
 */
void alog(const char *level, const char *event, ...);
void valog(const char *level, const char *event, va_list ap);

#endif
