// SPDX-License-Identifier: Apache-2.0
/*
 * Address classes: exact classes of a small cluster, prefixes and text
 * of intervals, and the defining property checked by random sampling:
 * every address of a class is treated by every ipBlock of the cluster as
 * its representative is, and no representative is an endpoint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addrclass.h"
#include "check.h"
#include "load.h"
#include "model.h"
#include <podwall/podwall.h>

#define TEST_RNG_SEED 0x2545f4914f6cdd1dULL
#include "rng.h"

static const char base_yaml[] =
	"apiVersion: networking.k8s.io/v1\n"
	"kind: NetworkPolicy\n"
	"metadata: {name: p, namespace: a}\n"
	"spec:\n"
	"  podSelector: {}\n"
	"  egress:\n"
	"  - to:\n"
	"    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n"
	"    - ipBlock: {cidr: 192.168.1.7/32}\n"
	"    - ipBlock: {cidr: 'fd00::/64'}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata: {name: px, namespace: a}\n"
	"spec: {containers: [{name: c, image: i}]}\n"
	"status: {phase: Running, podIP: 192.168.1.7}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata: {name: py, namespace: a}\n"
	"spec: {containers: [{name: c, image: i}]}\n"
	"status: {phase: Running, podIP: 10.0.0.0}\n";

/* The expected classes, as pw_addrclass_format() and the representative. */
static const struct {
	const char *text;
	const char *rep;
} base_want[] = {
	{ "0.0.0.0-9.255.255.255", "0.0.0.0" },
	{ "10.0.0.0/16", "10.0.0.1" }, /* 10.0.0.0 is pod y */
	{ "10.1.0.0/16", "10.1.0.0" },
	{ "10.2.0.0-10.255.255.255", "10.2.0.0" },
	{ "11.0.0.0-192.168.1.6", "11.0.0.0" },
	/* 192.168.1.7/32 is only pod x: no class */
	{ "192.168.1.8-255.255.255.255", "192.168.1.8" },
	{ "::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::" },
	{ "fd00::/64", "fd00::" },
	{ "fd00:0:0:1::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "fd00:0:0:1::" },
};

static void test_exact(void)
{
	struct pw_cluster *c = test_cluster("t.yaml", base_yaml);
	struct pw_addrclass_set *s = NULL;
	char buf[PW_ADDRCLASS_STRLEN], rep[PW_ADDR_STRLEN];
	struct pw_addr a;

	CHECK(pw_addrclass_build_clusters((const struct pw_cluster *const *)&c,
					  1, &s) == 0,
	      "build");
	CHECK(pw_addrclass_count(s) == PW_ARRAY_SIZE(base_want), "count %zu",
	      pw_addrclass_count(s));
	for (size_t i = 0;
	     i < pw_addrclass_count(s) && i < PW_ARRAY_SIZE(base_want); i++) {
		const struct pw_addrclass *cls = pw_addrclass_get(s, i);

		pw_addrclass_format(cls, buf, sizeof(buf));
		pw_addr_format(&cls->rep, rep, sizeof(rep));
		CHECK(!strcmp(buf, base_want[i].text), "class %zu: %s", i, buf);
		CHECK(!strcmp(rep, base_want[i].rep), "rep %zu: %s", i, rep);
		CHECK(pw_addrclass_find(s, &cls->rep) == (long)i, "find %zu",
		      i);
	}
	pw_addr_parse("192.168.1.7", &a);
	CHECK(pw_addrclass_is_endpoint(s, &a), "pod x is an endpoint");
	CHECK(pw_addrclass_find(s, &a) == -1, "an endpoint has no class");
	pw_addr_parse("10.0.0.0", &a);
	CHECK(pw_addrclass_find(s, &a) == -1, "pod y has no class");
	pw_addr_parse("10.0.255.255", &a);
	CHECK(pw_addrclass_find(s, &a) == 1, "last of 10.0.0.0/16");
	pw_addr_parse("255.255.255.255", &a);
	CHECK(pw_addrclass_find(s, &a) == 5, "last IPv4 address");
	pw_addrclass_set_free(s);
	pw_cluster_free(c);
}

/* Extra cuts (an expectation's CIDRs) split the classes they cross. */
static void test_extra(void)
{
	struct pw_cluster *c = test_cluster("t.yaml", base_yaml);
	struct pw_addrclass_set *s = NULL;
	struct pw_cidr extra[2];
	char buf[PW_ADDRCLASS_STRLEN];
	struct pw_addr a;
	long i;

	pw_cidr_parse("10.128.0.0/9", &extra[0], NULL, NULL);
	pw_cidr_parse("fd00::/8", &extra[1], NULL, NULL);
	CHECK(pw_addrclass_build_with((const struct pw_cluster *const *)&c, 1,
				      extra, 2, &s) == 0,
	      "build with extra cuts");
	CHECK(pw_addrclass_count(s) == PW_ARRAY_SIZE(base_want) + 2,
	      "count %zu", pw_addrclass_count(s));
	pw_addr_parse("10.200.0.1", &a);
	i = pw_addrclass_find(s, &a);
	pw_addrclass_format(pw_addrclass_get(s, (size_t)i), buf, sizeof(buf));
	CHECK(!strcmp(buf, "10.128.0.0/9"), "split class: %s", buf);
	pw_addr_parse("10.2.0.0", &a);
	i = pw_addrclass_find(s, &a);
	pw_addrclass_format(pw_addrclass_get(s, (size_t)i), buf, sizeof(buf));
	CHECK(!strcmp(buf, "10.2.0.0-10.127.255.255"), "below it: %s", buf);
	CHECK(pw_addrclass_build_with((const struct pw_cluster *const *)&c, 1,
				      NULL, 1, &s) == -EINVAL,
	      "extra without array");
	pw_addrclass_set_free(s);
	pw_cluster_free(c);
}

static const struct {
	const char *first, *last;
	const char *want; /* prefixes, space-separated */
} prefix_cases[] = {
	{ "10.0.0.0", "10.0.0.0", "10.0.0.0/32" },
	{ "0.0.0.0", "255.255.255.255", "0.0.0.0/0" },
	{ "0.0.0.0", "9.255.255.255", "0.0.0.0/5 8.0.0.0/7" },
	{ "10.0.0.1", "10.0.0.6",
	  "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 "
	  "10.0.0.6/32" },
	{ "192.168.1.8", "255.255.255.255",
	  "192.168.1.8/29 192.168.1.16/28 192.168.1.32/27 192.168.1.64/26 "
	  "192.168.1.128/25 192.168.2.0/23 192.168.4.0/22 192.168.8.0/21 "
	  "192.168.16.0/20 192.168.32.0/19 192.168.64.0/18 192.168.128.0/17 "
	  "192.169.0.0/16 192.170.0.0/15 192.172.0.0/14 192.176.0.0/12 "
	  "192.192.0.0/10 193.0.0.0/8 194.0.0.0/7 196.0.0.0/6 200.0.0.0/5 "
	  "208.0.0.0/4 224.0.0.0/3" },
	{ "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
	  NULL /* 128 prefixes, checked by count */ },
};

static void test_prefixes(void)
{
	struct pw_cidr out[256];

	for (size_t i = 0; i < PW_ARRAY_SIZE(prefix_cases); i++) {
		struct pw_addrclass cls;
		char got[4096] = "", one[PW_ADDR_STRLEN];
		size_t n;

		pw_addr_parse(prefix_cases[i].first, &cls.first);
		pw_addr_parse(prefix_cases[i].last, &cls.last);
		n = pw_addrclass_prefixes(&cls, out, PW_ARRAY_SIZE(out));
		if (!prefix_cases[i].want) {
			CHECK(n == 128, "case %zu: %zu prefixes", i, n);
			continue;
		}
		for (size_t k = 0; k < n && k < PW_ARRAY_SIZE(out); k++) {
			pw_cidr_format(&out[k], one, sizeof(one));
			if (k)
				strcat(got, " ");
			strcat(got, one);
		}
		CHECK(!strcmp(got, prefix_cases[i].want), "case %zu: %s", i,
		      got);
	}
}

/* ---- the property, on random clusters ---------------------------------- */

/* A random prefix near a few bases, so that blocks nest and overlap. */
static void random_cidr(char *buf, size_t len, int family)
{
	unsigned plen;

	if (family == 4) {
		static const unsigned first[] = { 10, 172, 192, 0, 255 };

		plen = (unsigned)(rng() % 33);
		snprintf(buf, len, "%u.%u.%u.%u/%u",
			 first[rng() % PW_ARRAY_SIZE(first)],
			 (unsigned)(rng() % 4), (unsigned)(rng() % 256),
			 (unsigned)(rng() % 256), plen);
	} else {
		plen = (unsigned)(rng() % 129);
		snprintf(buf, len, "fd00:%x::%x:%x/%u", (unsigned)(rng() % 4),
			 (unsigned)(rng() % 65536), (unsigned)(rng() % 65536),
			 plen);
	}
}

/* Clears host bits so the API accepts the text as a cidr. */
static void canonical(char *buf, size_t len)
{
	struct pw_cidr c;

	if (pw_cidr_parse(buf, &c, NULL, NULL) == 0)
		pw_cidr_format(&c, buf, len);
}

static void append(char **s, size_t *len, const char *text)
{
	size_t n = strlen(text);
	char *t = realloc(*s, *len + n + 1);

	if (!t)
		exit(2);
	memcpy(t + *len, text, n + 1);
	*s = t;
	*len += n;
}

static char *random_cluster(void)
{
	char *s = NULL, line[300], cidr[80];
	size_t len = 0;

	append(&s, &len,
	       "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
	       "metadata: {name: p, namespace: a}\n"
	       "spec:\n  podSelector: {}\n  ingress:\n  - from:\n");
	for (int b = 0; b < 8; b++) {
		int fam = rng() % 2 ? 4 : 6;

		random_cidr(cidr, sizeof(cidr), fam);
		canonical(cidr, sizeof(cidr));
		snprintf(line, sizeof(line),
			 "    - ipBlock:\n        cidr: '%s'\n", cidr);
		append(&s, &len, line);
		(void)line;
	}
	for (int p = 0; p < 6; p++) {
		int fam = rng() % 2 ? 4 : 6;
		char *slash;

		random_cidr(cidr, sizeof(cidr), fam);
		slash = strchr(cidr, '/');
		*slash = '\0';
		snprintf(line, sizeof(line),
			 "---\nkind: Pod\napiVersion: v1\n"
			 "metadata: {name: p%d, namespace: a}\n"
			 "spec: {containers: [{name: c, image: i}]}\n"
			 "status: {podIP: '%s'}\n",
			 p, cidr);
		append(&s, &len, line);
	}
	return s;
}

/* An address in [first, last]: a random one of its prefixes with random
 * host bits. */
static struct pw_addr random_member(const struct pw_addrclass *cls)
{
	struct pw_cidr pre[256];
	size_t n = pw_addrclass_prefixes(cls, pre, PW_ARRAY_SIZE(pre));
	struct pw_cidr *c = &pre[rng() % n];
	struct pw_addr a = c->addr;
	unsigned bits = pw_addr_bits(&a);

	for (unsigned i = c->len; i < bits; i++)
		if (rng() & 1)
			a.b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	return a;
}

static bool same_treatment(const struct pw_cluster *c, const struct pw_addr *a,
			   const struct pw_addr *b)
{
	const struct pw_rule *r = &c->pols[0].rules[PW_DIR_INGRESS][0];

	for (size_t k = 0; k < r->npeers; k++)
		if (pw_ipblock_matches(&r->peers[k].ipblock, a) !=
		    pw_ipblock_matches(&r->peers[k].ipblock, b))
			return false;
	return true;
}

static void test_random(void)
{
	unsigned bad_member = 0, bad_rep = 0, bad_find = 0, samples = 0;

	for (int round = 0; round < 40; round++) {
		char *yaml = random_cluster();
		struct pw_cluster *c = test_cluster("t.yaml", yaml);
		struct pw_addrclass_set *s = NULL;

		if (pw_addrclass_build_clusters(
			    (const struct pw_cluster *const *)&c, 1, &s)) {
			CHECK(0, "build round %d", round);
			goto next;
		}
		for (size_t i = 0; i < pw_addrclass_count(s); i++) {
			const struct pw_addrclass *cls = pw_addrclass_get(s, i);

			bad_rep += pw_addrclass_is_endpoint(s, &cls->rep);
			for (int k = 0; k < 20; k++) {
				struct pw_addr a = random_member(cls);
				long f = pw_addrclass_find(s, &a);

				samples++;
				if (pw_addrclass_is_endpoint(s, &a))
					continue;
				bad_find += f != (long)i;
				bad_member += !same_treatment(c, &a, &cls->rep);
			}
		}
next:
		pw_addrclass_set_free(s);
		pw_cluster_free(c);
		free(yaml);
	}
	CHECK(samples > 1000, "sampled %u addresses", samples);
	CHECK(!bad_rep, "%u representatives are endpoints", bad_rep);
	CHECK(!bad_find, "%u addresses found in another class", bad_find);
	CHECK(!bad_member, "%u addresses treated unlike their class",
	      bad_member);
}

int main(void)
{
	test_exact();
	test_extra();
	test_prefixes();
	test_random();
	return check_done("addrclass");
}
