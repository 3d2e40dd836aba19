// SPDX-License-Identifier: Apache-2.0
/* Bitset helpers: fill, count, and the 64x64 bit-matrix transpose. */
#include <string.h>

#include "bitset.h"

void pw_bits_fill(uint64_t *b, size_t nbits)
{
	size_t words = pw_bits_words(nbits);

	if (!words)
		return;
	memset(b, 0xff, words * sizeof(*b));
	if (nbits % 64)
		b[words - 1] = (1ULL << (nbits % 64)) - 1;
}

uint64_t pw_bits_count(const uint64_t *b, size_t words)
{
	uint64_t n = 0;

	for (size_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(b[i]);
	return n;
}

/*
 * Swap the off-diagonal 32x32 quadrants, then the 16x16 ones inside every
 * quadrant, and so on down to single bits (Hacker's Delight, 7-3), all
 * rows at once with masks: mask[lg] selects the high half of every group
 * of 2 << lg bits.
 */
void pw_bits_transpose64(uint64_t a[64])
{
	static const uint64_t mask[] = {
		0xaaaaaaaaaaaaaaaaULL, 0xccccccccccccccccULL,
		0xf0f0f0f0f0f0f0f0ULL, 0xff00ff00ff00ff00ULL,
		0xffff0000ffff0000ULL, 0xffffffff00000000ULL,
	};

	for (int lg = 5; lg >= 0; lg--) {
		unsigned j = 1u << lg;
		uint64_t m = mask[lg];

		for (unsigned k = 0; k < 64; k = ((k | j) + 1) & ~j) {
			uint64_t t = (a[k] ^ (a[k | j] << j)) & m;

			a[k] ^= t;
			a[k | j] ^= t >> j;
		}
	}
}
