/* SPDX-License-Identifier: Apache-2.0 */
/* Port names and numbers as the API server checks them. */
#ifndef PW_PORTS_H
#define PW_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/port.h>

#define PW_PORT_MAX_ERRS 5

/*
 * IANA_SVC_NAME (RFC 6335): 1-15 characters of [a-z0-9-], at least one
 * letter, no '-' at either end, no "--". Writes up to max static messages
 * in the API server's words into msgs and returns how many problems there
 * are (0: valid).
 */
size_t pw_port_name_errors(const char *name, const char **msgs, size_t max);
bool pw_port_name_valid(const char *name);

/* 1..65535. */
bool pw_port_num_valid(int64_t port);
#define PW_PORT_NUM_MSG "must be between 1 and 65535, inclusive"

#endif
