// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for pw_addr_parse and pw_cidr_parse: what parses
 * formats to a canonical text that parses back to the same value, and
 * agrees with the C library's inet_pton.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_addr(const char *text, const struct pw_addr *a)
{
	char buf[PW_ADDR_STRLEN], again[PW_ADDR_STRLEN];
	struct pw_addr b;
	uint8_t raw[16];
	int n = pw_addr_format(a, buf, sizeof(buf));

	if (n <= 0 || (size_t)n >= sizeof(buf))
		abort();
	if (pw_addr_parse(buf, &b) || pw_addr_cmp(a, &b) ||
	    memcmp(a, &b, sizeof(b)))
		abort();
	pw_addr_format(&b, again, sizeof(again));
	if (strcmp(buf, again))
		abort();
	/* What we accept, the C library accepts, with the same bytes. */
	if (inet_pton(a->family == 4 ? AF_INET : AF_INET6, text, raw) != 1 ||
	    memcmp(raw, a->b, a->family == 4 ? 4 : 16))
		abort();
}

static void check_cidr(const struct pw_cidr *c)
{
	char buf[PW_ADDR_STRLEN];
	struct pw_cidr d;
	bool host_bits = true;
	const char *why = NULL;

	pw_cidr_format(c, buf, sizeof(buf));
	if (pw_cidr_parse(buf, &d, &host_bits, &why) || host_bits)
		abort();
	if (d.len != c->len || pw_addr_cmp(&d.addr, &c->addr))
		abort();
	if (!pw_cidr_contains(c, &c->addr) || !pw_cidr_within(c, c))
		abort();
	if (pw_addr_has_host_bits(&c->addr, c->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	const char *why = NULL;
	struct pw_addr a;
	struct pw_cidr c;
	bool host_bits;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!pw_addr_parse_why(text, &a, &why))
		check_addr(text, &a);
	else if (!why)
		abort();
	why = NULL;
	if (!pw_cidr_parse(text, &c, &host_bits, &why))
		check_cidr(&c);
	else if (!why)
		abort();
	free(text);
	return 0;
}
