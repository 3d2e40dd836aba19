/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protocols and ports as podwall names them: "80/TCP", "53/UDP".
 *
 * struct pw_port is a plain value (like struct in_addr), the one kind of
 * public struct that is not opaque: callers build arrays of them.
 */
#ifndef PODWALL_PORT_H
#define PODWALL_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pw_proto {
	PW_PROTO_TCP,
	PW_PROTO_UDP,
	PW_PROTO_SCTP,
	PW_PROTO_NR,
};

struct pw_port {
	uint16_t num; /* 1..65535 */
	uint8_t proto; /* enum pw_proto */
};

/* "TCP", "UDP", "SCTP"; NULL for an out-of-range value. */
const char *pw_proto_name(enum pw_proto p);
/* Exact, upper-case names as the API spells them; -EINVAL otherwise. */
int pw_proto_parse(const char *s, enum pw_proto *out);

/*
 * Parses "80" (TCP), "80/TCP", "53/UDP", "9000/SCTP" (protocol names
 * case-insensitive here, since people type them). 0 or -EINVAL.
 */
int pw_port_parse(const char *s, struct pw_port *out);
/* "80/TCP" into buf; returns the length like snprintf. */
int pw_port_format(const struct pw_port *p, char *buf, size_t len);
/* Orders by protocol, then number. */
int pw_port_cmp(const struct pw_port *a, const struct pw_port *b);

#ifdef __cplusplus
}
#endif
#endif
