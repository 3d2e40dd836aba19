// SPDX-License-Identifier: Apache-2.0
/*
 * Slots and slot maps of the incremental compiler (nft_live.h): objects
 * live in arrays whose freed slots are reused, and are found by hash
 * through open addressing over their slot numbers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nft_live.h"

/* ---- hashing -------------------------------------------------------- */

uint64_t lv_hash_str(uint64_t h, const char *s)
{
	return pw_hash_bytes(h, s, strlen(s));
}

/* ---- slot maps -------------------------------------------------------- */

static int lmap_grow(struct lmap *m, const struct pw_live *l, slot_hash_fn hf)
{
	size_t size = m->size ? 2 * m->size : 64;
	uint32_t *v = calloc(size, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->size; i++) {
		size_t at;

		if (!m->v[i])
			continue;
		for (at = hf(l, m->v[i] - 1) & (size - 1); v[at];
		     at = (at + 1) & (size - 1))
			;
		v[at] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->size = size;
	return 0;
}

/* Room for one more entry (at most half full). */
int lv_map_reserve(struct lmap *m, const struct pw_live *l, slot_hash_fn hf)
{
	return 2 * (m->n + 1) > m->size ? lmap_grow(m, l, hf) : 0;
}

void lv_map_put(struct lmap *m, uint64_t h, uint32_t s)
{
	size_t at;

	for (at = h & (m->size - 1); m->v[at]; at = (at + 1) & (m->size - 1))
		;
	m->v[at] = s + 1;
	m->n++;
}

void lv_map_del(struct lmap *m, const struct pw_live *l, slot_hash_fn hf,
		uint64_t h, uint32_t s)
{
	size_t mask = m->size - 1, at, next;

	for (at = h & mask; m->v[at] != s + 1; at = (at + 1) & mask)
		;
	m->v[at] = 0;
	m->n--;
	/* Moves back the entries that probed past the hole. */
	for (next = (at + 1) & mask; m->v[next]; next = (next + 1) & mask) {
		size_t home = hf(l, m->v[next] - 1) & mask;

		if (((next - home) & mask) >= ((next - at) & mask)) {
			m->v[at] = m->v[next];
			m->v[next] = 0;
			at = next;
		}
	}
}

/* Iterates the candidate slots of hash h: `for (s = first; s != NONE; s =
 * next)`. */
uint32_t lv_map_first(const struct lmap *m, uint64_t h, size_t *at)
{
	if (!m->size)
		return NONE;
	*at = h & (m->size - 1);
	return m->v[*at] ? m->v[*at] - 1 : NONE;
}

uint32_t lv_map_next(const struct lmap *m, size_t *at)
{
	*at = (*at + 1) & (m->size - 1);
	return m->v[*at] ? m->v[*at] - 1 : NONE;
}

uint64_t lv_pod_hash_of(const struct pw_live *l, uint32_t s)
{
	return l->pods[s].hash;
}

uint64_t lv_ns_hash_of(const struct pw_live *l, uint32_t s)
{
	return l->nss[s].hash;
}

uint64_t lv_pol_hash_of(const struct pw_live *l, uint32_t s)
{
	return l->pols[s].hash;
}

uint64_t lv_peer_hash_of(const struct pw_live *l, uint32_t s)
{
	return l->peers[s].hash;
}

uint64_t lv_cls_hash_of(const struct pw_live *l, uint32_t s)
{
	return l->cls[s].hash;
}

/* ---- slots ------------------------------------------------------------ */

int lv_push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
	uint32_t *p = PW_PUSH(*v, *n, *cap);

	if (!p)
		return -ENOMEM;
	*p = x;
	return 0;
}

/* Removes x from an unordered list. */
void lv_drop_u32(uint32_t *v, size_t *n, uint32_t x)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i] == x) {
			v[i] = v[--*n];
			return;
		}
}

/* A free slot of an array of elem-sized objects, zeroed: a freed one or
 * a new one at the end. NONE on ENOMEM. */
uint32_t lv_slot_new(void **arr, size_t *n, size_t *cap, size_t elem,
		     uint32_t *free_v, size_t *nfree)
{
	uint32_t s;

	if (*nfree) {
		s = free_v[--*nfree];
	} else {
		if (!pw_push(arr, n, cap, elem))
			return NONE;
		s = (uint32_t)(*n - 1);
	}
	memset((char *)*arr + (size_t)s * elem, 0, elem);
	return s;
}

/* Reserves room in a free list for every slot of its array, so that
 * freeing never fails. */
int lv_reserve_free(uint32_t **v, size_t *cap, size_t n)
{
	return pw_grow((void **)v, cap, n + 1, sizeof(**v));
}

int lv_reserve_all_free(struct pw_live *l)
{
	if (lv_reserve_free(&l->free_pods, &l->cap_free_pods, l->npods) ||
	    lv_reserve_free(&l->free_peers, &l->cap_free_peers, l->npeers) ||
	    lv_reserve_free(&l->free_cls, &l->cap_free_cls, l->ncls) ||
	    lv_reserve_free(&l->free_nss, &l->cap_free_nss, l->nnss) ||
	    lv_reserve_free(&l->free_pols, &l->cap_free_pols, l->npols))
		return -ENOMEM;
	return 0;
}
