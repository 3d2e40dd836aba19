/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's store: for every (kind, namespace, name) a source reported,
 * the last version that decoded and validated on its own ("good"), and
 * whether the latest version was rejected.
 *
 * Why keep the last good version: a policy that stops validating must not
 * stop being enforced (a broken default-deny would open the pods it
 * protected), and an object that never validated must change nothing.
 * So an upsert that fails validation leaves the good version in place and
 * only marks the entry rejected; the reconciler builds the cluster from
 * good versions alone.
 *
 * Each version is parsed once, when it arrives: the store keeps the good
 * version as a parsed unit (pw_unit), which a reconcile adds to the
 * cluster by reference, and the SHA-256 of its text to recognize the same
 * text again (a rewritten file, a relisted object) without keeping it.
 */
#ifndef PODWALLD_STORE_H
#define PODWALLD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/assert.h>
#include <podwall/cluster.h>
#include <podwall/diag.h>
#include "source.h"

struct store;

struct store_entry {
	char *kind, *ns, *name;
	char *origin; /* of the good version */
	struct pw_unit *unit; /* last good version, NULL when never valid */
	uint8_t digest[PW_SHA256_LEN]; /* of the good version's text */
	bool rejected; /* the latest version did not validate */
	bool stale; /* reset, not seen again since */
	struct store_entry *next; /* hash chain */
};

enum store_result {
	STORE_UNCHANGED,
	STORE_CHANGED, /* the good version changed: reconcile */
	STORE_REJECTED, /* diags say why; the good version stays */
};

struct store *store_new(void);
void store_free(struct store *st);

/*
 * Parses and validates o->text alone and records it. Returns a
 * store_result or -ENOMEM. *diags (when not NULL) gets the diagnostics of
 * a rejected version, owned by the caller (pw_diags_free).
 */
int store_upsert(struct store *st, const struct src_object *o,
		 struct pw_diags **diags);
/* true when an entry with a good version went away (reconcile). */
bool store_delete(struct store *st, const char *kind, const char *ns,
		  const char *name);
/* Marks every entry of kind stale. */
void store_reset(struct store *st, const char *kind);
/* Deletes the entries of kind still stale; how many had a good version. */
size_t store_sweep(struct store *st, const char *kind);

/* Entries with a good version, sorted by kind, namespace, name; the
 * array is malloc'd (the entries are borrowed). The order is kept
 * between calls and sorted again only when a good entry came or went.
 * NULL + errno on failure. */
const struct store_entry **store_list(struct store *st, size_t *n);
size_t store_size(const struct store *st);
size_t store_rejected(const struct store *st);
/* Entries of one kind (good or not); for metrics. */
size_t store_count_kind(const struct store *st, const char *kind);

#endif
