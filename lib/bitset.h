/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dense bitsets over the engine's pods, 64 pods per word, bit i of word
 * i / 64 for pod i. Bits past the last pod are always zero, so counting a
 * row needs no mask.
 */
#ifndef PW_BITSET_H
#define PW_BITSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline size_t pw_bits_words(size_t nbits)
{
	return (nbits + 63) / 64;
}

static inline bool pw_bits_test(const uint64_t *b, size_t i)
{
	return (b[i / 64] >> (i % 64)) & 1;
}

static inline void pw_bits_set(uint64_t *b, size_t i)
{
	b[i / 64] |= 1ULL << (i % 64);
}

static inline void pw_bits_clear(uint64_t *b, size_t i)
{
	b[i / 64] &= ~(1ULL << (i % 64));
}

static inline void pw_bits_or(uint64_t *d, const uint64_t *s, size_t words)
{
	for (size_t i = 0; i < words; i++)
		d[i] |= s[i];
}

/* d |= a & b */
static inline void pw_bits_or_and(uint64_t *d, const uint64_t *a,
				  const uint64_t *b, size_t words)
{
	for (size_t i = 0; i < words; i++)
		d[i] |= a[i] & b[i];
}

static inline void pw_bits_and(uint64_t *d, const uint64_t *s, size_t words)
{
	for (size_t i = 0; i < words; i++)
		d[i] &= s[i];
}

/* Sets bits 0..nbits-1 and clears the rest of the last word. */
void pw_bits_fill(uint64_t *b, size_t nbits);
uint64_t pw_bits_count(const uint64_t *b, size_t words);

/* Transposes a 64x64 bit matrix in place, element (r, c) being bit c of
 * a[r]: afterwards bit c of a[r] is what bit r of a[c] was. */
void pw_bits_transpose64(uint64_t a[64]);

#endif
