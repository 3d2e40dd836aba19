// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the fast YAML reader: on any input it must read
 * what libyaml reads, node for node with positions, or decline; and
 * loading a manifest with it must give the records and objects that
 * libyaml's reading gives. A difference is a crash, so libFuzzer keeps it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <podwall/podwall.h>

#include "../tests/yaml_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Most random bytes make input the fast reader declines at once; the
 * same bytes spelled in the characters block YAML is made of reach it. */
static const char yaml_chars[] = "      \n\n\n\n--::#'\"abcab01.{}[]";

static void check(const char *buf, size_t size)
{
	bool fast;

	if (!readers_agree(buf, size, PW_YAML_FAST, &fast) ||
	    !readers_agree(buf, size, PW_YAML_AUTO, &fast) ||
	    !loads_agree(buf, size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spelled = malloc(size ? size : 1);

	check((const char *)data, size);
	if (!spelled)
		return 0;
	for (size_t i = 0; i < size; i++)
		spelled[i] = yaml_chars[data[i] % (sizeof(yaml_chars) - 1)];
	check(spelled, size);
	free(spelled);
	return 0;
}
