// SPDX-License-Identifier: Apache-2.0
/* The library's version, reported by `podwall version`. */
#include <podwall/podwall.h>

#include "util.h"

PW_EXPORT const char *pw_version(void)
{
	return "0.1.0";
}
