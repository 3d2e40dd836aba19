/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The events yaml.c builds its tree from, and the fast reader that makes
 * them for the plain block YAML manifests are written in.
 *
 * libyaml reads any YAML at about 20 MB/s; most manifests use a small part
 * of it (block mappings and sequences of one-line scalars). The fast reader
 * reads that part only, at several times the speed, and gives up
 * (-EAGAIN) on anything else, before or after it has emitted events: the
 * caller then throws its partial tree away and reads the input again with
 * libyaml. So it must never accept an input libyaml rejects, nor read one
 * differently: its events, with their marks, are the ones libyaml emits.
 * It gives up on errors of every kind, which libyaml then reports.
 */
#ifndef PW_YAML_SCAN_H
#define PW_YAML_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "yaml.h"

enum pw_yev_type {
	PW_YEV_DOC_START,
	PW_YEV_DOC_END,
	PW_YEV_SCALAR,
	PW_YEV_ALIAS,
	PW_YEV_SEQ_START,
	PW_YEV_MAP_START,
	PW_YEV_COLL_END, /* of a sequence or a mapping */
};

/* One event. Marks are 0-based, as libyaml's. Strings are borrowed. */
struct pw_yev {
	enum pw_yev_type type;
	uint32_t line, col;
	const char *text; /* scalar: not NUL-terminated */
	size_t len;
	enum pw_scalar_style style;
	const char *tag; /* NUL-terminated or NULL (libyaml only) */
	const char *anchor; /* anchor, or the alias's name (libyaml only) */
};

typedef int (*pw_yev_fn)(void *ctx, const struct pw_yev *ev);

/*
 * Reads buf and hands each event to fn, which returns 0 to go on or an
 * error that ends the scan and is returned. -EAGAIN: buf uses YAML the
 * fast reader does not read (or is not valid YAML).
 */
int pw_yaml_scan(const char *buf, size_t len, pw_yev_fn fn, void *ctx);

#endif
