/* SPDX-License-Identifier: Apache-2.0 */
/* The flow record's insides, shared by its writer and its parser. */
#ifndef PW_FLOW_IMPL_H
#define PW_FLOW_IMPL_H

#include <podwall/flow.h>

/* 9999-12-31T23:59:59Z: the last second four year digits can write. */
#define FLOW_TIME_MAX 253402300799LL

struct pw_flow {
	char *str[PW_FLOW_STR_NR];
	int64_t num[PW_FLOW_NUM_NR];
	int64_t sec;
	uint32_t usec;
	uint8_t verdict, dir, proto;
	char **pol;
	size_t npol, cappol;
};

/* Whether v is in the range of integer field k. */
bool flow_num_ok(enum pw_flow_num k, int64_t v);

#endif
