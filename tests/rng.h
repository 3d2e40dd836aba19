/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tests' random numbers: xorshift64 (13, 7, 17), deterministic, so a
 * failure replays. Each test chooses its sequence by defining
 * TEST_RNG_SEED (non-zero) before including this; tests that restart a
 * sequence save and restore rng_state.
 */
#ifndef PW_TESTS_RNG_H
#define PW_TESTS_RNG_H

#include <stdint.h>

#ifndef TEST_RNG_SEED
#error "define TEST_RNG_SEED before including rng.h"
#endif

static uint64_t rng_state = TEST_RNG_SEED;

static inline uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A number in [0, n). */
static inline unsigned pick(unsigned n)
{
	return (unsigned)(rng() % n);
}

#endif
