// SPDX-License-Identifier: Apache-2.0
/* The agent's object store (see store.h): a chained hash table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/cluster.h>

#include "store.h"

#define STORE_MIN_BUCKETS 256

struct store {
	struct store_entry **b;
	size_t nb, n;
	size_t nrejected; /* entries whose latest version was rejected */
	/* The entries with a good version, sorted (store_list), kept from
	 * one reconcile to the next: a new version of an object changes its
	 * unit, not the order, so only a new or deleted good entry sorts
	 * again. NULL: to be sorted. */
	const struct store_entry **sorted;
	size_t nsorted;
};

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return (h ^ 0xff) * 1099511628211u; /* separates the parts */
}

static size_t bucket(const struct store *st, const char *kind, const char *ns,
		     const char *name)
{
	uint64_t h = 14695981039346656037u;

	h = hash_str(h, kind);
	h = hash_str(h, ns);
	h = hash_str(h, name);
	return (size_t)(h % st->nb);
}

struct store *store_new(void)
{
	struct store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->nb = STORE_MIN_BUCKETS;
	st->b = calloc(st->nb, sizeof(*st->b));
	if (!st->b) {
		free(st);
		return NULL;
	}
	return st;
}

static void entry_free(struct store_entry *e)
{
	if (!e)
		return;
	free(e->kind);
	free(e->ns);
	free(e->name);
	free(e->origin);
	pw_unit_free(e->unit);
	free(e);
}

void store_free(struct store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nb; i++) {
		struct store_entry *e = st->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(st->b);
	free(st->sorted);
	free(st);
}

static struct store_entry **find(const struct store *st, const char *kind,
				 const char *ns, const char *name)
{
	struct store_entry **p = &st->b[bucket(st, kind, ns, name)];

	for (; *p; p = &(*p)->next)
		if (!strcmp((*p)->kind, kind) && !strcmp((*p)->ns, ns) &&
		    !strcmp((*p)->name, name))
			return p;
	return p;
}

/* Doubles the buckets when chains get long; failure only costs speed. */
static void grow(struct store *st)
{
	struct store old = *st;

	if (st->n < 2 * st->nb)
		return;
	st->nb = old.nb * 2;
	st->b = calloc(st->nb, sizeof(*st->b));
	if (!st->b) {
		*st = old;
		return;
	}
	for (size_t i = 0; i < old.nb; i++) {
		struct store_entry *e = old.b[i], *next;

		for (; e; e = next) {
			size_t h = bucket(st, e->kind, e->ns, e->name);

			next = e->next;
			e->next = st->b[h];
			st->b[h] = e;
		}
	}
	free(old.b);
}

static struct store_entry *entry_new(const struct src_object *o)
{
	struct store_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->kind = strdup(o->kind);
	e->ns = strdup(o->ns ? o->ns : "");
	e->name = strdup(o->name ? o->name : "");
	if (!e->kind || !e->ns || !e->name) {
		entry_free(e);
		return NULL;
	}
	return e;
}

static void set_rejected(struct store *st, struct store_entry *e, bool r)
{
	st->nrejected += (size_t)r - (size_t)e->rejected;
	e->rejected = r;
}

/* The set of good entries changed: store_list sorts again. */
static void unsort(struct store *st)
{
	free(st->sorted);
	st->sorted = NULL;
}

/*
 * The version's text parsed and validated on its own: a unit (1), or NULL
 * with 0 when it is not valid (*diags kept), or -ENOMEM.
 */
static int parse(const struct src_object *o, struct pw_unit **unit,
		 struct pw_diags **diags)
{
	struct pw_diags *d = pw_diags_new();
	int ret;

	if (!d)
		return -ENOMEM;
	*unit = pw_unit_new(o->origin, o->text ? o->text : "", o->len, d);
	ret = *unit ? 1 : errno == ENOMEM ? -ENOMEM : 0;
	if (!ret && diags) {
		*diags = d;
		d = NULL;
	}
	pw_diags_free(d);
	return ret;
}

static int set_good(struct store *st, struct store_entry *e,
		    const struct src_object *o, struct pw_unit *unit,
		    const uint8_t *digest)
{
	char *origin = strdup(o->origin);

	if (!origin) {
		pw_unit_free(unit);
		return -ENOMEM;
	}
	if (!e->unit)
		unsort(st);
	pw_unit_free(e->unit);
	free(e->origin);
	e->unit = unit;
	memcpy(e->digest, digest, sizeof(e->digest));
	e->origin = origin;
	set_rejected(st, e, false);
	return STORE_CHANGED;
}

static bool same_version(const struct store_entry *e,
			 const struct src_object *o, const uint8_t *digest)
{
	return e->unit && !memcmp(e->digest, digest, sizeof(e->digest)) &&
	       !strcmp(e->origin, o->origin);
}

static struct store_entry *add_entry(struct store *st, struct store_entry **p,
				     const struct src_object *o)
{
	struct store_entry *e = entry_new(o);

	if (!e)
		return NULL;
	*p = e;
	st->n++;
	grow(st);
	return e;
}

int store_upsert(struct store *st, const struct src_object *o,
		 struct pw_diags **diags)
{
	struct store_entry **p = find(st, o->kind, o->ns, o->name), *e = *p;
	uint8_t digest[PW_SHA256_LEN];
	struct pw_unit *unit = NULL;
	int valid;

	if (diags)
		*diags = NULL;
	pw_sha256(o->text ? o->text : "", o->len, digest);
	if (e) {
		e->stale = false;
		if (same_version(e, o, digest)) {
			set_rejected(st, e, false);
			return STORE_UNCHANGED;
		}
	}
	valid = parse(o, &unit, diags);
	if (valid < 0)
		return valid;
	if (!e && !(e = add_entry(st, p, o))) {
		pw_unit_free(unit);
		return -ENOMEM;
	}
	if (!valid) {
		set_rejected(st, e, true);
		return STORE_REJECTED;
	}
	return set_good(st, e, o, unit, digest);
}

static bool unlink_entry(struct store *st, struct store_entry **p)
{
	struct store_entry *e = *p;
	bool had_unit = e->unit != NULL;

	set_rejected(st, e, false);
	if (had_unit)
		unsort(st);
	*p = e->next;
	entry_free(e);
	st->n--;
	return had_unit;
}

bool store_delete(struct store *st, const char *kind, const char *ns,
		  const char *name)
{
	struct store_entry **p = find(st, kind, ns ? ns : "", name ? name : "");

	return *p ? unlink_entry(st, p) : false;
}

void store_reset(struct store *st, const char *kind)
{
	for (size_t i = 0; i < st->nb; i++)
		for (struct store_entry *e = st->b[i]; e; e = e->next)
			if (!strcmp(e->kind, kind))
				e->stale = true;
}

size_t store_sweep(struct store *st, const char *kind)
{
	size_t gone = 0;

	for (size_t i = 0; i < st->nb; i++) {
		struct store_entry **p = &st->b[i];

		while (*p) {
			if ((*p)->stale && !strcmp((*p)->kind, kind))
				gone += unlink_entry(st, p);
			else
				p = &(*p)->next;
		}
	}
	return gone;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct store_entry *x = *(const struct store_entry *const *)a;
	const struct store_entry *y = *(const struct store_entry *const *)b;
	int r = strcmp(x->kind, y->kind);

	if (!r)
		r = strcmp(x->ns, y->ns);
	return r ? r : strcmp(x->name, y->name);
}

static int sort_entries(struct store *st)
{
	size_t k = 0;

	st->sorted = malloc((st->n + 1) * sizeof(*st->sorted));
	if (!st->sorted)
		return -ENOMEM;
	for (size_t i = 0; i < st->nb; i++)
		for (struct store_entry *e = st->b[i]; e; e = e->next)
			if (e->unit)
				st->sorted[k++] = e;
	qsort(st->sorted, k, sizeof(*st->sorted), cmp_entry);
	st->nsorted = k;
	return 0;
}

const struct store_entry **store_list(struct store *st, size_t *n)
{
	const struct store_entry **v;

	if (!st->sorted && sort_entries(st))
		return NULL;
	v = malloc((st->nsorted + 1) * sizeof(*v));
	if (!v)
		return NULL;
	memcpy(v, st->sorted, st->nsorted * sizeof(*v));
	*n = st->nsorted;
	return v;
}

size_t store_size(const struct store *st)
{
	return st->n;
}

size_t store_rejected(const struct store *st)
{
	return st->nrejected;
}

size_t store_count_kind(const struct store *st, const char *kind)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nb; i++)
		for (struct store_entry *e = st->b[i]; e; e = e->next)
			n += !strcmp(e->kind, kind);
	return n;
}
