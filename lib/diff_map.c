// SPDX-License-Identifier: Apache-2.0
/*
 * A small hash map from 64-bit keys to indexes, open addressing with
 * linear probing: what the diff looks workloads, entries and address rows
 * up with.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "diff.h"

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t u64map_slot(const struct u64map *m, uint64_t key)
{
	size_t mask = m->size - 1;
	size_t at = pw_hash_bytes(PW_HASH_INIT, &key, sizeof(key)) & mask;

	while (m->vals[at] && m->keys[at] != key)
		at = (at + 1) & mask;
	return at;
}

static int u64map_grow(struct u64map *m)
{
	struct u64map n = { .size = m->size ? 2 * m->size : 64 };

	n.keys = calloc(n.size, sizeof(*n.keys));
	n.vals = calloc(n.size, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		u64map_free(&n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->size; i++) {
		size_t at;

		if (!m->vals[i])
			continue;
		at = u64map_slot(&n, m->keys[i]);
		n.keys[at] = m->keys[i];
		n.vals[at] = m->vals[i];
	}
	n.used = m->used;
	u64map_free(m);
	*m = n;
	return 0;
}

long u64map_get(const struct u64map *m, uint64_t key)
{
	size_t at;

	if (!m->size)
		return -1;
	at = u64map_slot(m, key);
	return m->vals[at] ? (long)m->vals[at] - 1 : -1;
}

int u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	size_t at;

	if (2 * (m->used + 1) > m->size && u64map_grow(m))
		return -ENOMEM;
	at = u64map_slot(m, key);
	if (!m->vals[at])
		m->used++;
	m->keys[at] = key;
	m->vals[at] = val + 1;
	return 0;
}
