// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of the nftables datapath without a kernel: the interval and box
 * arithmetic (tables, and random boxes against a brute-force point
 * check), the text of intervals and comments, the golden rulesets of
 * tests/golden/nft/, and random clusters where the compiled ruleset,
 * evaluated here as the kernel would walk it, must decide every pod pair
 * exactly as the engine's matrix does.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "datapath.h"
#include "engine.h"
#include "engine_fixture.h"
#include "nft_image.h"
#include "nft_netlink.h"

/* ---- intervals ---------------------------------------------------------- */

static const struct {
	const char *in, *out; /* "lo-hi lo-hi ..." in decimal */
} ival_cases[] = {
	{ "", "" },
	{ "5-5", "5-5" },
	{ "5-9 1-3", "1-3 5-9" },
	{ "1-3 4-6", "1-6" }, /* adjacent */
	{ "1-5 3-4", "1-5" }, /* inside */
	{ "1-5 3-8 10-12 0-0", "0-8 10-12" },
	{ "7-7 7-7 7-7", "7-7" },
	{ "0-4294967295 3-9", "0-4294967295" },
};

static void ivals_parse(const char *text, struct pw_ivals *s)
{
	unsigned long lo, hi;
	int used;

	s->n = 0;
	while (sscanf(text, " %lu-%lu%n", &lo, &hi, &used) == 2) {
		pw_ivals_add(s, lo, hi);
		text += used;
	}
}

static void ivals_text(const struct pw_ivals *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%lu-%lu",
				      i ? " " : "", (unsigned long)s->v[i].lo,
				      (unsigned long)s->v[i].hi);
}

static void test_ivals(void)
{
	struct pw_ivals s = { 0 };
	char buf[256];

	for (size_t i = 0; i < PW_ARRAY_SIZE(ival_cases); i++) {
		ivals_parse(ival_cases[i].in, &s);
		pw_ivals_normalize(&s);
		ivals_text(&s, buf, sizeof(buf));
		CHECK(!strcmp(buf, ival_cases[i].out), "normalize '%s': '%s'",
		      ival_cases[i].in, buf);
	}
	free(s.v);
}

/* ipBlocks: cidr minus except, as formatted intervals. */
static const struct {
	const char *cidr, *except, *out;
} block_cases[] = {
	{ "10.0.0.0/24", NULL, "10.0.0.0/24" },
	{ "10.0.0.0/24", "10.0.0.0/25", "10.0.0.128/25" },
	{ "10.0.0.0/24", "10.0.0.128/25", "10.0.0.0/25" },
	{ "10.0.0.0/24", "10.0.0.16/28", "10.0.0.0/28 10.0.0.32-10.0.0.255" },
	{ "10.0.0.0/24", "10.0.0.0/24", "" },
	{ "10.0.0.0/16", "10.0.1.0/24,10.0.0.0/23,10.0.4.0/22",
	  "10.0.2.0/23 10.0.8.0-10.0.255.255" },
	{ "0.0.0.0/0", "10.0.0.0/8",
	  "0.0.0.0-9.255.255.255 11.0.0.0-255.255.255.255" },
	{ "0.0.0.0/0", "255.255.255.255/32", "0.0.0.0-255.255.255.254" },
	{ "::/0", "::/1", "8000::/1" },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	  "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe" },
	{ "fd00::/64", "fd00::100/120",
	  "fd00::/120 fd00::200-fd00::ffff:ffff:ffff:ffff" },
	{ "10.0.0.7/32", NULL, "10.0.0.7" },
};

static void block_text(const char *cidr, const char *except, char *buf,
		       size_t len)
{
	struct pw_rule r = { 0 };
	struct pw_ivals s = { 0 };
	enum pw_fam f;
	size_t n = 0;

	fx_peer_ip(&r, cidr, except);
	f = pw_addr_fam(&r.peers[0].ipblock.cidr.addr);
	CHECK(!pw_ivals_add_ipblock(&s, &r.peers[0].ipblock), "ipblock %s",
	      cidr);
	pw_ivals_normalize(&s);
	buf[0] = '\0';
	for (size_t i = 0; i < s.n && n < len; i++) {
		if (i)
			buf[n++] = ' ';
		n += (size_t)pw_ival_format(&s.v[i], f, buf + n, len - n);
	}
	free(s.v);
	for (size_t i = 0; i < r.npeers; i++)
		free(r.peers[i].ipblock.cidr_text);
	for (size_t i = 0; i < r.peers[0].ipblock.nexcept; i++)
		free(r.peers[0].ipblock.except[i].text);
	free(r.peers[0].ipblock.except);
	free(r.peers);
}

static void test_ipblocks(void)
{
	char buf[512];

	for (size_t i = 0; i < PW_ARRAY_SIZE(block_cases); i++) {
		block_text(block_cases[i].cidr, block_cases[i].except, buf,
			   sizeof(buf));
		CHECK(!strcmp(buf, block_cases[i].out), "%s except %s: '%s'",
		      block_cases[i].cidr,
		      block_cases[i].except ? block_cases[i].except : "-", buf);
	}
}

static const struct {
	const char *addr;
	unsigned len; /* 0: single address */
	const char *hi; /* NULL: a prefix */
	const char *out;
} fmt_cases[] = {
	{ "10.1.2.3", 0, NULL, "10.1.2.3" },
	{ "10.1.2.0", 24, NULL, "10.1.2.0/24" },
	{ "0.0.0.0", 0, "255.255.255.255", "0.0.0.0/0" },
	{ "10.1.2.4", 0, "10.1.2.5", "10.1.2.4/31" },
	{ "10.1.2.5", 0, "10.1.2.6", "10.1.2.5-10.1.2.6" },
	{ "10.1.2.0", 0, "10.1.2.2", "10.1.2.0-10.1.2.2" },
	{ "::", 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0" },
	{ "fd00::", 0, "fd00::ff", "fd00::/120" },
	{ "fd00::1", 0, NULL, "fd00::1" },
};

static void test_format(void)
{
	char buf[128];

	for (size_t i = 0; i < PW_ARRAY_SIZE(fmt_cases); i++) {
		struct pw_addr a, b;
		struct pw_ival iv;
		enum pw_fam f;

		pw_addr_parse(fmt_cases[i].addr, &a);
		f = pw_addr_fam(&a);
		iv.lo = iv.hi = pw_addr_to_u128(&a);
		if (fmt_cases[i].hi) {
			pw_addr_parse(fmt_cases[i].hi, &b);
			iv.hi = pw_addr_to_u128(&b);
		} else if (fmt_cases[i].len) {
			struct pw_cidr c = { a, (uint8_t)fmt_cases[i].len };

			iv = pw_cidr_ival(&c);
		}
		pw_ival_format(&iv, f, buf, sizeof(buf));
		CHECK(!strcmp(buf, fmt_cases[i].out), "format: '%s' not '%s'",
		      buf, fmt_cases[i].out);
	}
}

static const struct {
	const char *in;
	size_t len;
	const char *out;
} san_cases[] = {
	{ "shop/web", 64, "shop/web" },
	{ "a\"b;c d", 64, "a_b_c_d" },
	{ "x\ny}{", 64, "x_y__" },
	{ "ns/a-very-long-name", 10, "ns/a-v..." },
	{ "", 8, "" },
	{ "k8s.io:x_y-z", 64, "k8s.io:x_y-z" },
};

static void test_hints(void)
{
	CHECK(strstr(pw_datapath_hint(-EPERM), "root") != NULL, "EPERM hint");
	CHECK(strstr(pw_datapath_hint(EPERM), "root") != NULL, "EPERM > 0");
	CHECK(strstr(pw_datapath_hint(-EOPNOTSUPP), "kernel") != NULL,
	      "EOPNOTSUPP hint");
	CHECK(strstr(pw_datapath_hint(-EPROTONOSUPPORT), "--ct-mark-mask 0") !=
		      NULL,
	      "EPROTONOSUPPORT: the verdict cache's purge, and how to go on");
	CHECK(strstr(pw_datapath_hint(-EIO), "unchanged") != NULL, "EIO hint");
}

/* ---- the kernel's form (nft_image.c) ----------------------------------- */

/*
 * An interval set as nft encodes it for the kernel's rbtree: a start
 * element per interval, an INTERVAL_END element at hi + 1, one at 0 when
 * the first interval starts later, and no end but an "open" start for an
 * interval reaching the top of the space. Elements written "s10" (start),
 * "e21" (end), "o5" (open start), IPv4 keys in decimal.
 */
static const struct {
	const char *ivals, *elems;
} encode_cases[] = {
	{ "", "" },
	{ "10-20", "e0 s10 e21" },
	{ "0-5", "s0 e6" },
	{ "0-4294967295", "o0" },
	{ "5-4294967295", "e0 o5" },
	{ "1-1 3-4", "e0 s1 e2 s3 e5" },
};

static void elems_text(const struct pw_nft_set *s, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && at < len; i++) {
		const uint8_t *k = s->v[i].key;
		unsigned long v = (unsigned long)k[0] << 24 | k[1] << 16 |
				  k[2] << 8 | k[3];
		char kind = s->v[i].interval_end ? 'e' :
			    s->v[i].open	 ? 'o' :
						   's';

		at += (size_t)snprintf(buf + at, len - at, "%s%c%lu",
				       i ? " " : "", kind, v);
	}
}

static void test_encode(void)
{
	char got[256];

	for (size_t i = 0; i < PW_ARRAY_SIZE(encode_cases); i++) {
		struct pw_ruleset rs = { 0 };
		struct pw_nft_image img;
		const struct pw_nft_set *set;

		ivals_parse(encode_cases[i].ivals, &rs.ranges[PW_FAM_V4]);
		CHECK(!pw_nft_image_build(&img, &rs, NULL), "image %zu", i);
		set = pw_nft_image_set(&img, "pod_ranges_v4");
		CHECK(set != NULL, "pod_ranges_v4 in the image");
		if (set) {
			elems_text(set, got, sizeof(got));
			CHECK(!strcmp(got, encode_cases[i].elems),
			      "encode '%s': '%s', want '%s'",
			      encode_cases[i].ivals, got,
			      encode_cases[i].elems);
		}
		/* Objects in the order the text declares them. */
		CHECK(img.nsets == 13 &&
			      !strcmp(img.sets[0].name, "pod_ranges_v4") &&
			      !strcmp(img.sets[12].name, "ingress_v6") &&
			      !strcmp(img.sets[7].name, "egress_if_v4") &&
			      img.nchains == 6 &&
			      !strcmp(img.chains[0].name, "forward") &&
			      !strcmp(img.chains[5].name, "src_v6") &&
			      img.counters == 0xf && !img.flow_log,
		      "base objects in text order");
		pw_nft_image_release(&img);
		free(rs.ranges[PW_FAM_V4].v);
	}
}

/*
 * The source lookup: an address bound to its interface goes to its pod's
 * egress class (goto), or returns to the destination's check when its
 * egress is not isolated; flow-log flags add the allowed counters and are
 * checked.
 */
static void test_egress_if(void)
{
	struct pw_nft_vmap vm = { .addr = 0x0a000002, .cls = 0xabcu };
	struct pw_nft_spoof sp[2] = { { "veth1", 0x0a000002 },
				      { "veth2", 0x0a000003 } };
	struct pw_ruleset rs = { 0 };
	struct pw_nft_image img;
	const struct pw_nft_set *set;

	vm.comment = (char *)"";
	rs.vmap[PW_DIR_EGRESS][PW_FAM_V4] =
		(struct pw_nft_vmaps){ .v = &vm, .n = 1 };
	rs.spoof[PW_FAM_V4] = (struct pw_nft_spoofs){ .v = sp, .n = 2 };
	CHECK(pw_ruleset_set_flow_log(&rs, 4, 1) == -EINVAL,
	      "flow log: an unknown flag is refused");
	CHECK(!pw_ruleset_set_flow_log(&rs, PW_FLOW_LOG_ALLOWED, 9),
	      "flow log: allowed");
	CHECK(!pw_nft_image_build(&img, &rs, NULL), "image with egress_if");
	set = pw_nft_image_set(&img, "egress_if_v4");
	CHECK(set && set->n == 2 && set->v[0].verdict == PW_NFT_V_GOTO &&
		      set->v[0].jump &&
		      !strcmp(set->v[0].jump, "eg_c0000000000000abc") &&
		      !memcmp(set->v[0].key, "veth1", 5) &&
		      set->v[1].verdict == PW_NFT_V_RETURN && !set->v[1].jump,
	      "egress_if_v4: goto the egress class, or return");
	CHECK(img.counters == 0x3f && img.flow_log == PW_FLOW_LOG_ALLOWED &&
		      img.flow_group == 9,
	      "flow log allowed: six counters, group 9");
	pw_nft_image_release(&img);
}

static const struct {
	struct pw_apply_stats st;
	const char *text;
} stats_cases[] = {
	{ { 0 }, "0 unchanged sets" },
	{ { .elems_added = 3,
	    .elems_removed = 1,
	    .chains_replaced = 1,
	    .sets_unchanged = 12 },
	  "+3 elements, -1 element, 1 chain replaced, 12 unchanged sets" },
	{ { .full = 1, .elems_added = 29, .sets_added = 16, .chains_added = 6 },
	  "full load: +29 elements, 16 sets added, 6 chains added" },
	{ { .sets_removed = 1,
	    .chains_removed = 2,
	    .chains_added = 1,
	    .sets_unchanged = 1 },
	  "1 set removed, 1 chain added, 2 chains removed, 1 unchanged set" },
	{ { .elems_added = 1, .sets_unchanged = 3, .ct_purged = 2 },
	  "+1 element, 3 unchanged sets, 2 unanswered connections to judge "
	  "again" },
};

static void test_stats(void)
{
	char buf[128], small[8];

	for (size_t i = 0; i < PW_ARRAY_SIZE(stats_cases); i++) {
		int n = pw_apply_stats_format(&stats_cases[i].st, buf,
					      sizeof(buf));

		CHECK(!strcmp(buf, stats_cases[i].text) &&
			      n == (int)strlen(buf),
		      "stats %zu: '%s'", i, buf);
		n = pw_apply_stats_format(&stats_cases[i].st, small,
					  sizeof(small));
		CHECK(n == (int)strlen(stats_cases[i].text) &&
			      !strncmp(small, stats_cases[i].text,
				       sizeof(small) - 1),
		      "stats %zu cut at 8 bytes: '%s' (%d)", i, small, n);
	}
}

/*
 * The verdict cache without a kernel: which masks are taken, how the
 * generation counts and wraps, and what a plan does with it: nothing to
 * change keeps the generation and sends nothing, a change moves it and
 * writes the base chains' rules again (without counting them as chains
 * replaced), a new mask rewrites the fixed chains.
 */
static void test_verdict_cache(void)
{
	static const uint32_t bad[] = { 0x0f0f0000, 0x5, 0x80000001 };
	static const uint32_t good[] = { 0, 0x3, 0x0fff0000, 0xffffffff,
					 0x80000000 };
	struct pw_nft_vmap vm = { .addr = 0x0a000002, .cls = 0xabcu };
	struct pw_ruleset rs = { 0 };
	struct pw_apply_stats st;
	struct pw_nft_image a, b;
	uint32_t g = 0, seq[5];
	bool wrapped[5];

	static const struct {
		const char *text;
		int ret;
		uint32_t mask;
	} texts[] = {
		{ "0x0fff0000", 0, 0x0fff0000 },
		{ "0", 0, 0 },
		{ "3", 0, 3 },
		{ "0xffffffff", 0, 0xffffffff },
		{ "0x0f0f0000", -EINVAL, 0 },
		{ "0x100000000", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "0x3 ", -EINVAL, 0 },
		{ "mask", -EINVAL, 0 },
	};
	uint32_t got;

	for (size_t i = 0; i < PW_ARRAY_SIZE(texts); i++) {
		got = 0x5a5a5a5a;
		CHECK(pw_ct_mark_mask_parse(texts[i].text, &got) ==
				      texts[i].ret &&
			      (texts[i].ret || got == texts[i].mask),
		      "ct mark mask text '%s'", texts[i].text);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(bad); i++)
		CHECK(pw_ruleset_set_ct_mark_mask(&rs, bad[i]) == -EINVAL,
		      "ct mark mask 0x%08x refused", (unsigned)bad[i]);
	for (size_t i = 0; i < PW_ARRAY_SIZE(good); i++)
		CHECK(!pw_ruleset_set_ct_mark_mask(&rs, good[i]) &&
			      rs.ct_mask == good[i] &&
			      rs.ct_gen == (good[i] & (~good[i] + 1)),
		      "ct mark mask 0x%08x: the first generation is its lowest "
		      "bit",
		      (unsigned)good[i]);
	for (int i = 0; i < 5; i++)
		g = seq[i] = pw_nft_gen_next(0x3, g, &wrapped[i]);
	CHECK(seq[0] == 1 && wrapped[0] && seq[1] == 2 && !wrapped[1] &&
		      seq[2] == 3 && !wrapped[2] && seq[3] == 1 && wrapped[3] &&
		      seq[4] == 2 && !wrapped[4],
	      "mask 0x3: generations 1 2 3, then 1 again in a new cycle");
	CHECK(pw_nft_gen_next(0x0fff0000, 0x4, &wrapped[0]) == 0x00010000 &&
		      wrapped[0] &&
		      pw_nft_gen_next(0x0fff0000, 0x0fff0000, &wrapped[1]) ==
			      0x00010000 &&
		      wrapped[1] &&
		      pw_nft_gen_next(0x0fff0000, 0x00ff0000, &wrapped[2]) ==
			      0x01000000 &&
		      !wrapped[2],
	      "mask 0x0fff0000: a stamp of another mask or the last "
	      "generation begins a cycle");

	vm.comment = (char *)"";
	rs.vmap[PW_DIR_INGRESS][PW_FAM_V4] =
		(struct pw_nft_vmaps){ .v = &vm, .n = 1 };
	CHECK(!pw_ruleset_set_ct_mark_mask(&rs, 0x0fff0000) &&
		      !pw_nft_image_build(&a, &rs, NULL) &&
		      !pw_nft_image_build(&b, &rs, NULL),
	      "two images of one ruleset");
	a.ct_gen = 0x00050000; /* what the kernel holds */
	CHECK(!pw_nft_diff_plan(&a, &b, &st) && st.generation == 0x00050000 &&
		      b.ct_gen == 0x00050000 && !st.chains_replaced,
	      "nothing changes: the generation stays");
	pw_nft_image_release(&b);
	vm.addr = 0x0a000003;
	CHECK(!pw_nft_image_build(&b, &rs, NULL) &&
		      !pw_nft_diff_plan(&a, &b, &st) &&
		      st.generation == 0x00060000 && st.elems_added == 1 &&
		      st.elems_removed == 1 && !st.chains_replaced,
	      "a change: the next generation, base chains not counted");
	pw_nft_image_release(&b);
	/* a class chain in both, whose rules only the mask makes rewrite */
	CHECK(!pw_ruleset_set_ct_mark_mask(&rs, 0x3) &&
		      !pw_nft_image_build(&b, &rs, NULL) &&
		      pw_nft_image_add_chain(&a, "in_c0000000000000abc",
					     PW_CK_CLASS_IN, 0, "t/x") &&
		      pw_nft_image_add_chain(&b, "in_c0000000000000abc",
					     PW_CK_CLASS_IN, 0, "t/x"),
	      "another mask: images with a class chain");
	pw_nft_image_seal(&a);
	pw_nft_image_seal(&b);
	CHECK(!pw_nft_diff_plan(&a, &b, &st) && st.generation == 0x1 &&
		      st.chains_replaced == 7 && b.nchains == 7,
	      "another mask: a new cycle, every chain rewritten, the class "
	      "chain too");
	pw_nft_image_release(&b);
	pw_nft_image_release(&a);
	pw_nft_image_free(rs.image);
}

static void test_pod_cidr(void)
{
	struct pw_ruleset rs = { 0 };
	static const char *const bad[] = { "10.0.0.0/33", "10.0.0.0", "x/8", "",
					   "fd00::/129" };

	for (size_t i = 0; i < PW_ARRAY_SIZE(bad); i++)
		CHECK(pw_ruleset_add_pod_cidr(&rs, bad[i]) == -EINVAL,
		      "--pod-cidr '%s' refused", bad[i]);
	CHECK(!pw_ruleset_add_pod_cidr(&rs, "10.1.0.0/24") &&
		      !pw_ruleset_add_pod_cidr(&rs, "10.1.1.0/24") &&
		      !pw_ruleset_add_pod_cidr(&rs, "fd00::/64") &&
		      pw_ruleset_range_count(&rs) == 2 &&
		      rs.ranges[PW_FAM_V4].v[0].lo == 0x0a010000u &&
		      rs.ranges[PW_FAM_V4].v[0].hi == 0x0a0101ffu,
	      "--pod-cidr ranges merged per family");
	for (int f = 0; f < PW_FAM_NR; f++)
		free(rs.ranges[f].v);
}

static void test_sanitize(void)
{
	char buf[64];

	for (size_t i = 0; i < PW_ARRAY_SIZE(san_cases); i++) {
		pw_nft_sanitize(san_cases[i].in, buf, san_cases[i].len);
		CHECK(!strcmp(buf, san_cases[i].out), "sanitize: '%s'", buf);
	}
}

/* ---- boxes -------------------------------------------------------------- */

#define TEST_RNG_SEED 0x2545f4914f6cdd1dULL
#include "rng.h"

static bool boxes_have(const struct pw_boxes *s, unsigned a, uint8_t proto,
		       unsigned port, size_t *hits)
{
	*hits = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].lo <= a && a <= s->v[i].hi &&
		    s->v[i].proto == proto && s->v[i].plo <= port &&
		    port <= s->v[i].phi)
			(*hits)++;
	return *hits > 0;
}

/* Random boxes on a small grid: the normal form holds the same points,
 * each exactly once, sorted, and is no bigger than the input. */
static void random_boxes(void)
{
	struct pw_boxes in = { 0 }, out = { 0 };
	unsigned bad = 0;

	for (unsigned round = 0; round < 300; round++) {
		in.n = 0;
		for (unsigned k = pick(8); k > 0; k--) {
			unsigned lo = pick(40), plo = pick(20);
			struct pw_box b = { .lo = lo,
					    .hi = lo + pick(12),
					    .proto = pick(2) ? 6 : 17,
					    .plo = (uint16_t)plo,
					    .phi = (uint16_t)(plo + pick(6)) };

			pw_boxes_add(&in, &b);
		}
		out.n = 0;
		for (size_t i = 0; i < in.n; i++)
			pw_boxes_add(&out, &in.v[i]);
		CHECK(!pw_boxes_normalize(&out, PW_FAM_V4), "normalize");
		for (unsigned a = 0; a < 56; a++)
			for (unsigned p = 0; p < 28; p++)
				for (int t = 0; t < 2; t++) {
					uint8_t proto = t ? 17 : 6;
					size_t hin, hout;
					bool want = boxes_have(&in, a, proto, p,
							       &hin);

					if (want != boxes_have(&out, a, proto,
							       p, &hout) ||
					    hout > 1)
						bad++;
				}
		for (size_t i = 1; i < out.n; i++)
			if (out.v[i - 1].lo > out.v[i].lo)
				bad++;
		if (out.n > in.n * 3)
			bad++;
	}
	CHECK(!bad, "random boxes: %u wrong points", bad);
	free(in.v);
	free(out.v);
}

static void test_boxes(void)
{
	struct pw_boxes s = { 0 };
	static const struct pw_box in[] = {
		{ 10, 19, 6, 80, 80 },		{ 15, 29, 6, 80, 90 },
		{ 20, 29, 6, 443, 443 },	{ 20, 29, 6, 91, 100 },
		{ 0, 4294967295u, 17, 53, 53 },
	};
	static const struct pw_box want[] = {
		{ 0, 4294967295u, 17, 53, 53 }, { 10, 14, 6, 80, 80 },
		{ 15, 19, 6, 80, 90 },		{ 20, 29, 6, 80, 100 },
		{ 20, 29, 6, 443, 443 },
	};
	bool same;

	for (size_t i = 0; i < PW_ARRAY_SIZE(in); i++)
		pw_boxes_add(&s, &in[i]);
	CHECK(!pw_boxes_normalize(&s, PW_FAM_V4), "normalize");
	same = s.n == PW_ARRAY_SIZE(want);
	for (size_t i = 0; same && i < s.n; i++)
		same = s.v[i].lo == want[i].lo && s.v[i].hi == want[i].hi &&
		       s.v[i].proto == want[i].proto &&
		       s.v[i].plo == want[i].plo && s.v[i].phi == want[i].phi;
	CHECK(same, "boxes: %zu elements, not the expected 5", s.n);
	free(s.v);

	/* The whole IPv6 space: the last cut must not wrap around, and the
	 * top address's ports 1-2 and 3 join into 1-3. */
	s = (struct pw_boxes){ 0 };
	{
		struct pw_box all = { 0, ~(pw_u128)0, 6, 1, 2 };
		struct pw_box top = { ~(pw_u128)0, ~(pw_u128)0, 6, 3, 3 };

		pw_boxes_add(&s, &all);
		pw_boxes_add(&s, &top);
	}
	CHECK(!pw_boxes_normalize(&s, PW_FAM_V6) && s.n == 2 &&
		      s.v[0].hi == ~(pw_u128)0 - 1 &&
		      s.v[1].lo == ~(pw_u128)0 && s.v[1].plo == 1 &&
		      s.v[1].phi == 3,
	      "v6 top: %zu elements", s.n);
	free(s.v);
	random_boxes();
}

/* ---- the ruleset, walked as the kernel walks it ----------------------- */

static bool ivals_has(const struct pw_ivals *s, pw_u128 a)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].lo <= a && a <= s->v[i].hi)
			return true;
	return false;
}

static bool class_admits(const struct pw_nft_class *k, enum pw_fam f,
			 pw_u128 peer, uint8_t proto, unsigned port)
{
	const struct pw_boxes *b = &k->ports[f];

	if (ivals_has(&k->addr[f], peer))
		return true;
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].lo <= peer && peer <= b->v[i].hi &&
		    b->v[i].proto == proto && b->v[i].plo <= port &&
		    port <= b->v[i].phi)
			return true;
	return false;
}

/* The class a vmap sends addr to, or NULL. */
static const struct pw_nft_class *vmap_class(const struct pw_ruleset *rs,
					     enum pw_dir d, enum pw_fam f,
					     pw_u128 addr)
{
	const struct pw_nft_vmaps *m = &rs->vmap[d][f];

	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].addr == addr)
			for (size_t j = 0; j < rs->ncls[d]; j++)
				if (rs->cls[d][j].id == m->v[i].cls)
					return &rs->cls[d][j];
	return NULL;
}

static const uint8_t proto_nums[PW_PROTO_NR] = { 6, 17, 132 };

/* The self rule of a class chain, before its drop: a local pod to its own
 * address. */
static bool self_pair(const struct pw_ruleset *rs, enum pw_fam f, pw_u128 sa,
		      pw_u128 da)
{
	for (size_t i = 0; sa == da && i < rs->self[f].n; i++)
		if (rs->self[f].v[i] == sa)
			return true;
	return false;
}

/* The forward chain for a new connection, from the vmaps on. */
static bool ruleset_allows(const struct pw_ruleset *rs, const struct pw_addr *s,
			   const struct pw_addr *d, const struct pw_port *port)
{
	enum pw_fam f = pw_addr_fam(d);
	pw_u128 sa = pw_addr_to_u128(s), da = pw_addr_to_u128(d);
	uint8_t proto = proto_nums[port->proto];
	const struct pw_nft_class *k;

	k = vmap_class(rs, PW_DIR_EGRESS, f, sa);
	if (k && !class_admits(k, f, da, proto, port->num))
		return self_pair(rs, f, sa, da);
	k = vmap_class(rs, PW_DIR_INGRESS, f, da);
	return !k || class_admits(k, f, sa, proto, port->num) ||
	       self_pair(rs, f, sa, da);
}

static const struct pw_addr *addr_of(const struct pw_pod *p, int family)
{
	for (size_t i = 0; i < p->nips; i++)
		if (p->ips[i].family == family)
			return &p->ips[i];
	return NULL;
}

static const struct pw_port probe_ports[] = {
	{ 80, PW_PROTO_TCP },	 { 8080, PW_PROTO_TCP }, { 53, PW_PROTO_UDP },
	{ 53, PW_PROTO_TCP },	 { 8000, PW_PROTO_TCP }, { 8040, PW_PROTO_UDP },
	{ 9000, PW_PROTO_SCTP },
};

/* Decisions compared, to show the comparison is not vacuous. */
static unsigned long cmp_allowed, cmp_denied;

static bool is_local(const struct pw_pod *p, const char *node)
{
	return !node || (p->node && !strcmp(p->node, node));
}

/*
 * Every pair of pods with addresses, on every probe port: with node
 * NULL the ruleset must decide exactly as the matrix; for one node, the
 * pairs of two local pods exactly, and no pair the matrix allows may be
 * dropped. Returns the number of disagreements.
 */
static unsigned compare_engine(const struct pw_engine *e, const char *node)
{
	size_t n = pw_engine_pod_count(e), np = PW_ARRAY_SIZE(probe_ports);
	struct pw_matrix *m = pw_engine_matrix(e, probe_ports, np);
	struct pw_ruleset *rs = pw_ruleset_new(e, node);
	unsigned bad = 0;

	if (!m || !rs) {
		pw_matrix_free(m);
		pw_ruleset_free(rs);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pw_pod *s = e->pods[i].pod;

		for (size_t j = 0; j < n; j++) {
			const struct pw_pod *d = e->pods[j].pod;
			const struct pw_addr *sa,
				*da = d->nips ? &d->ips[0] : NULL;
			bool exact = is_local(s, node) && is_local(d, node);

			sa = da ? addr_of(s, da->family) : NULL;
			if (!sa)
				continue;
			for (size_t p = 0; p < np; p++) {
				bool want = pw_matrix_allowed(m, p, i, j);
				bool got = ruleset_allows(rs, sa, da,
							  &probe_ports[p]);

				if (exact)
					*(want ? &cmp_allowed : &cmp_denied) +=
						1;

				if (want != got && (exact || want)) {
					if (bad++ < 5)
						printf("  %s -> %s %u/%s: engine %d, nft %d\n",
						       e->pods[i].name,
						       e->pods[j].name,
						       probe_ports[p].num,
						       pw_proto_name(
							       probe_ports[p]
								       .proto),
						       want, got);
				}
			}
		}
	}
	pw_matrix_free(m);
	pw_ruleset_free(rs);
	return bad;
}

/* ---- random clusters ---------------------------------------------------- */

static const char *const labels[] = { "", "app=a", "app=b", "app=a,tier=1",
				      "app=c,tier=2" };
static const char *const sels[] = { "",	     "app=a",	       "app in (a,c)",
				    "!tier", "tier notin (1)", "ml:app=b",
				    "app" };
static const char *const ns_sels[] = { "", "team=x", "team in (x,y)", "!team",
				       "kubernetes.io/metadata.name=n1" };
static const struct {
	const char *cidr, *except;
} blocks[] = {
	{ "10.0.0.0/16", "10.0.1.0/24" },
	{ "10.0.2.0/23", NULL },
	{ "fd00::/120", "fd00::8/125" },
	{ "0.0.0.0/0", "10.0.3.0/24,10.0.0.0/30" },
	{ "::/0", NULL },
	{ "10.0.0.4/30", NULL },
};
static const char *const types[] = { NULL, "Ingress", "Egress",
				     "Ingress,Egress" };
static const int cnums[] = { 80, 8080, 53, 8000, 9000 };

#define PICK(a) (a[pick(PW_ARRAY_SIZE(a))])

static void rand_pod(struct pw_cluster *c, unsigned i)
{
	char name[32], ips[64];
	unsigned what = pick(12), sub = pick(4);
	struct pw_pod *p;

	snprintf(name, sizeof(name), "n%u/p%u", pick(3), i);
	if (what < 4)
		snprintf(ips, sizeof(ips), "10.0.%u.%u", sub, i);
	else if (what < 6)
		snprintf(ips, sizeof(ips), "fd00::%x", i);
	else if (what < 8)
		snprintf(ips, sizeof(ips), "10.0.%u.%u,fd00::%x", sub, i, i);
	else if (what < 10)
		snprintf(ips, sizeof(ips), "fd00::%x,10.0.%u.%u", i, sub, i);
	else
		ips[0] = '\0';
	p = fx_pod(c, name, PICK(labels), ips[0] ? ips : NULL,
		   pick(2) ? "node1" : "node2");
	if (!ips[0])
		p->kind = "Deployment";
	for (unsigned k = pick(3); k > 0; k--)
		fx_cport(p, k == 1 ? (pick(2) ? "http" : "dns") : NULL,
			 PICK(cnums), pick(3) ? PW_PROTO_TCP : PW_PROTO_UDP);
}

static void rand_rule(struct pw_rule *r)
{
	enum pw_proto proto;
	unsigned b;

	for (unsigned j = pick(3); j > 0; j--) {
		switch (pick(4)) {
		case 0:
			fx_peer(r, PICK(sels), NULL);
			break;
		case 1:
			fx_peer(r, PICK(sels), PICK(ns_sels));
			break;
		default:
			b = pick(PW_ARRAY_SIZE(blocks));
			fx_peer_ip(r, blocks[b].cidr, blocks[b].except);
		}
	}
	for (unsigned j = pick(3); j > 0; j--) {
		proto = pick(4) ? (pick(3) ? PW_PROTO_TCP : PW_PROTO_UDP) :
				  PW_PROTO_SCTP;
		switch (pick(4)) {
		case 0:
			fx_port(r, proto, 0, 0);
			break;
		case 1:
			fx_port(r, proto, 8000, 8080);
			break;
		case 2:
			fx_port_named(r, proto, pick(2) ? "http" : "dns");
			break;
		default:
			fx_port(r, proto, PICK(cnums), 0);
		}
	}
}

/* A random cluster; with extra, one more pod, drawn from its own seed
 * and placed first, so that the rest is the cluster drawn without it. */
static struct pw_cluster *rand_cluster_extra(bool extra)
{
	struct pw_cluster *c = fx_new();
	unsigned npods, npols;
	char name[32];

	fx_ns(c, "n0", "team=x");
	fx_ns(c, "n1", "team=y");
	fx_ns(c, "n2", "");
	fx_node(c, "node1", "192.168.0.1");
	fx_node(c, "node2", "192.168.0.2");
	if (extra) {
		uint64_t saved = rng_state;

		rng_state ^= 0x9e3779b97f4a7c15ULL;
		rand_pod(c, 200);
		rng_state = saved;
	}
	npods = 2 + pick(14);
	npols = pick(6);
	for (unsigned i = 0; i < npods; i++)
		rand_pod(c, i);
	for (unsigned i = 0; i < npols; i++) {
		struct pw_policy *p;

		snprintf(name, sizeof(name), "n%u/pol%u", pick(3), i);
		p = fx_pol(c, name, PICK(sels), PICK(types));
		for (int d = 0; d < PW_DIR_NR; d++)
			for (unsigned k = pick(3); k > 0; k--)
				rand_rule(fx_rule(p, (enum pw_dir)d));
	}
	fx_finalize(c);
	return c;
}

static struct pw_cluster *rand_cluster(void)
{
	return rand_cluster_extra(false);
}

/* How many vmap entries of a keep their class id in b; *moved: how many
 * do not. */
static size_t same_ids(const struct pw_ruleset *a, const struct pw_ruleset *b,
		       size_t *moved)
{
	size_t same = 0;

	for (int d = 0; d < PW_DIR_NR; d++) {
		for (int f = 0; f < PW_FAM_NR; f++) {
			const struct pw_nft_vmaps *ma = &a->vmap[d][f];
			const struct pw_nft_vmaps *mb = &b->vmap[d][f];

			for (size_t i = 0, j = 0; i < ma->n; i++) {
				while (j < mb->n &&
				       mb->v[j].addr < ma->v[i].addr)
					j++;
				if (j < mb->n &&
				    mb->v[j].addr == ma->v[i].addr &&
				    mb->v[j].cls == ma->v[i].cls)
					same++;
				else
					(*moved)++;
			}
		}
	}
	return same;
}

/*
 * Class ids do not depend on the walk: a pod added first, before every
 * other pod, leaves every other pod's class id as it was (its policies
 * are the same; only peers changed). Numbering classes in the order met
 * fails this whenever the new pod brings a class of its own.
 */
static void test_stable_ids(void)
{
	size_t same = 0, moved = 0, fresh = 0;

	for (unsigned r = 0; r < 400; r++) {
		uint64_t seed = rng_state;
		struct pw_cluster *c1 = rand_cluster_extra(false), *c2;
		struct pw_engine *e1 = pw_engine_new(c1), *e2;
		struct pw_ruleset *a = e1 ? pw_ruleset_new(e1, NULL) : NULL;
		struct pw_ruleset *b;

		rng_state = seed;
		c2 = rand_cluster_extra(true);
		e2 = pw_engine_new(c2);
		b = e2 ? pw_ruleset_new(e2, NULL) : NULL;
		CHECK(a && b, "stable ids: round %u compiles", r);
		if (a && b) {
			same += same_ids(a, b, &moved);
			fresh += b->ncls[0] + b->ncls[1] - a->ncls[0] -
				 a->ncls[1];
		}
		pw_ruleset_free(a);
		pw_ruleset_free(b);
		pw_engine_free(e1);
		pw_engine_free(e2);
		fx_free(c1);
		fx_free(c2);
	}
	CHECK(!moved, "stable ids: %zu of %zu vmap entries changed class id",
	      moved, moved + same);
	CHECK(same > 1000 && fresh > 20,
	      "stable ids: only %zu entries and %zu new classes compared", same,
	      fresh);
}

/* ---- digests: the update skips a set only when it did not change ------ */

static void test_siphash(void)
{
	/* The reference vectors of SipHash-2-4: key 00..0f, messages
	 * 00 01 .. (n-1) for n = 0, 7, 8 and 15. */
	static const struct {
		size_t n;
		uint64_t want;
	} vec[] = {
		{ 0, 0x726fdb47dd0e0e31ull },
		{ 7, 0xab0200f58b01d137ull },
		{ 8, 0x93f5f5799a932462ull },
		{ 15, 0xa129ca6149be45e5ull },
	};
	const uint64_t k[2] = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };
	uint8_t msg[16];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (size_t i = 0; i < PW_ARRAY_SIZE(vec); i++)
		CHECK(pw_nft_siphash(k, msg, vec[i].n) == vec[i].want,
		      "siphash of %zu bytes: %016llx", vec[i].n,
		      (unsigned long long)pw_nft_siphash(k, msg, vec[i].n));
}

static bool sets_equal(const struct pw_nft_set *a, const struct pw_nft_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (pw_nft_elem_cmp(&a->v[i], &b->v[i]))
			return false;
	return true;
}

/* A one-set image over a copy of s's elements (strings shared), with
 * element i changed by mutation m, sealed. false: m does not apply. */
static bool mutate(const struct pw_nft_set *s, size_t i, int m,
		   struct pw_nft_image *img, struct pw_nft_set *t)
{
	static char other[] = "other";
	struct pw_nft_elem *e;

	*t = *s;
	t->v = malloc((s->n + 1) * sizeof(*t->v));
	if (!t->v)
		return false;
	memcpy(t->v, s->v, s->n * sizeof(*t->v));
	e = &t->v[i];
	switch (m) {
	case 0:
		e->key[e->klen - 1] ^= 1;
		break;
	case 1:
		e->key[0] ^= 0x80;
		break;
	case 2:
		e->interval_end = !e->interval_end;
		break;
	case 3:
		e->open = !e->open;
		break;
	case 4:
		e->verdict ^= 1;
		break;
	case 5:
		e->jump = e->jump && !strcmp(e->jump, other) ? NULL : other;
		break;
	case 6:
		e->comment = e->comment ? NULL : other;
		break;
	case 7:
		memmove(e, e + 1, (--t->n - i) * sizeof(*e));
		break;
	case 8:
		t->v[t->n++] = *e;
		e->key[e->klen - 1] ^= 2;
		break;
	default:
		free(t->v);
		return false;
	}
	memset(img, 0, sizeof(*img));
	img->sets = t;
	img->nsets = 1;
	t->sealed = false; /* edited in place: seal hashes it again */
	pw_nft_image_seal(img);
	return true;
}

/* Every one-element change of every set of img changes its digest. */
static unsigned mutations_seen(const struct pw_nft_image *img, unsigned *tried)
{
	unsigned missed = 0;

	for (size_t s = 0; s < img->nsets; s++) {
		const struct pw_nft_set *set = &img->sets[s];
		struct pw_nft_image one;
		struct pw_nft_set t;

		for (size_t i = 0; i < set->n; i += 1 + set->n / 8)
			for (int m = 0; mutate(set, i, m, &one, &t); m++) {
				(*tried)++;
				if (sets_equal(&t, set))
					(*tried)--; /* a no-op change */
				else if (pw_nft_set_same_digest(&t, set))
					missed++;
				free(t.v);
			}
	}
	return missed;
}

/* A shallow copy of img with nothing sealed: the diff compares elements. */
static void unsealed(const struct pw_nft_image *img, struct pw_nft_image *u)
{
	*u = *img;
	u->sets = malloc((img->nsets + 1) * sizeof(*u->sets));
	u->chains = malloc((img->nchains + 1) * sizeof(*u->chains));
	if (!u->sets || !u->chains)
		abort();
	memcpy(u->sets, img->sets, img->nsets * sizeof(*u->sets));
	memcpy(u->chains, img->chains, img->nchains * sizeof(*u->chains));
	for (size_t i = 0; i < u->nsets; i++)
		u->sets[i].sealed = false;
	for (size_t i = 0; i < u->nchains; i++)
		u->chains[i].sealed = false;
}

static bool same_plan(const struct pw_nft_image *a,
		      const struct pw_nft_image *b)
{
	struct pw_apply_stats x, y;
	struct pw_nft_image ua, ub;
	bool same;

	unsealed(a, &ua);
	unsealed(b, &ub);
	same = !pw_nft_diff_plan(a, b, &x) && !pw_nft_diff_plan(&ua, &ub, &y);
	x.diff_ns = y.diff_ns = 0;
	same = same && !memcmp(&x, &y, sizeof(x));
	free(ua.sets);
	free(ua.chains);
	free(ub.sets);
	free(ub.chains);
	return same;
}

/*
 * A class chain whose comment changes is recreated, and the map entries
 * that jump to it go and come back although the maps did not change:
 * the digest must not skip them. false when img has no class chain that
 * a map entry jumps to.
 */
static bool renamed_chain_plan(const struct pw_nft_image *img, unsigned *bad)
{
	static char renamed[] = "renamed";
	const struct pw_nft_set *m = pw_nft_image_set(img, "ingress_v4");
	struct pw_apply_stats st;
	struct pw_nft_image u;
	size_t c = 0;

	if (!m || !m->n || !m->v[0].jump)
		return false;
	while (c < img->nchains && strcmp(img->chains[c].name, m->v[0].jump))
		c++;
	if (c == img->nchains)
		return false;
	unsealed(img, &u);
	u.chains[c].comment = renamed;
	pw_nft_image_seal(&u);
	*bad += !same_plan(img, &u);
	*bad += pw_nft_diff_plan(img, &u, &st) || st.chains_added != 1 ||
		st.chains_removed != 1 || !st.elems_added ||
		st.elems_added != st.elems_removed;
	free(u.sets);
	free(u.chains);
	return true;
}

/* Sets of a and b under the same name: skipped by digest exactly when
 * their elements are the same. */
static unsigned digest_agrees(const struct pw_nft_image *a,
			      const struct pw_nft_image *b, unsigned *changed,
			      unsigned *kept)
{
	unsigned bad = 0;

	for (size_t i = 0; i < b->nsets; i++) {
		const struct pw_nft_set *o =
			pw_nft_image_set(a, b->sets[i].name);
		bool eq;

		if (!o)
			continue;
		eq = sets_equal(o, &b->sets[i]);
		bad += eq != pw_nft_set_same_digest(o, &b->sets[i]);
		*changed += !eq;
		*kept += eq;
	}
	return bad;
}

/* Whether two images hold the same sets (names, kinds, elements,
 * digests) and chains, in the same order. */
static bool images_equal(const struct pw_nft_image *a,
			 const struct pw_nft_image *b)
{
	if (a->nsets != b->nsets || a->nchains != b->nchains)
		return false;
	for (size_t i = 0; i < a->nsets; i++)
		if (strcmp(a->sets[i].name, b->sets[i].name) ||
		    a->sets[i].kind != b->sets[i].kind ||
		    !sets_equal(&a->sets[i], &b->sets[i]) ||
		    a->sets[i].sealed != b->sets[i].sealed ||
		    a->sets[i].digest != b->sets[i].digest)
			return false;
	for (size_t i = 0; i < a->nchains; i++)
		if (strcmp(a->chains[i].name, b->chains[i].name) ||
		    !pw_nft_chain_same_ident(&a->chains[i], &b->chains[i]) ||
		    a->chains[i].mask != b->chains[i].mask)
			return false;
	return true;
}

/*
 * An update builds the new ruleset's image copying the sets of equal
 * classes and address lists from the old one's: it must be the image
 * built from nothing, whichever way the rulesets differ (a pod more or
 * less), and the copies must be most of it.
 */
/* Sets of img that from holds with the same elements and that the build
 * copies: class sets and the address lists (the rest is rebuilt). */
static size_t copyable(const struct pw_nft_image *img,
		       const struct pw_nft_image *from)
{
	size_t n = 0;

	for (size_t i = 0; i < img->nsets; i++) {
		const char *name = img->sets[i].name;
		const struct pw_nft_set *o = pw_nft_image_set(from, name);

		n += o && sets_equal(o, &img->sets[i]) &&
		     (!strncmp(name, "in_c", 4) || !strncmp(name, "eg_c", 4) ||
		      !strncmp(name, "pods_", 5) || !strncmp(name, "self_", 5));
	}
	return n;
}

static void image_from(struct pw_ruleset *a, struct pw_ruleset *b,
		       unsigned *bad, unsigned *built, size_t *copied,
		       size_t *copyable_sets)
{
	struct pw_nft_image fresh;
	const struct pw_nft_image *got;

	pw_nft_image_free(b->image); /* so that it is built again, from a */
	b->image = NULL;
	got = pw_nft_ruleset_image_from(b, a);
	if (!got || pw_nft_image_build(&fresh, b, NULL)) {
		(*bad)++;
		return;
	}
	*bad += !images_equal(got, &fresh) || fresh.ncopied;
	*copied += got->ncopied;
	*copyable_sets += copyable(got, a->image);
	(*built)++;
	pw_nft_image_release(&fresh);
}

/*
 * Random clusters, and the same with one pod more: a set is skipped by
 * digest exactly when its elements did not change, the plan of the
 * update is the same as when every element is compared, and every
 * one-element change (key, flags, verdict, jump, comment, one element
 * less or more) of every set changes its digest.
 */
static void test_digest(void)
{
	unsigned bad = 0, plans = 0, missed = 0, tried = 0, changed = 0,
		 kept = 0, renames = 0, from_bad = 0, from_n = 0;
	size_t copied = 0, from_sets = 0;

	test_siphash();
	for (unsigned r = 0; r < 100; r++) {
		uint64_t seed = rng_state;
		struct pw_cluster *c1 = rand_cluster_extra(false), *c2;
		struct pw_engine *e1 = pw_engine_new(c1), *e2;
		struct pw_ruleset *a = e1 ? pw_ruleset_new(e1, "node1") : NULL;
		const struct pw_nft_image *ia, *ib;
		struct pw_ruleset *b;

		rng_state = seed;
		c2 = rand_cluster_extra(true);
		e2 = pw_engine_new(c2);
		b = e2 ? pw_ruleset_new(e2, "node1") : NULL;
		ia = a ? pw_nft_ruleset_image(a) : NULL;
		ib = b ? pw_nft_ruleset_image(b) : NULL;
		CHECK(ia && ib, "digest: round %u builds", r);
		if (ia && ib) {
			image_from(a, b, &from_bad, &from_n, &copied,
				   &from_sets);
			image_from(b, a, &from_bad, &from_n, &copied,
				   &from_sets);
			ia = pw_nft_ruleset_image(a);
			ib = pw_nft_ruleset_image(b);
			bad += digest_agrees(ia, ib, &changed, &kept);
			bad += digest_agrees(ib, ia, &changed, &kept);
			plans += !same_plan(ia, ib) + !same_plan(ib, ia) +
				 !same_plan(ia, ia);
			if (r < 20)
				missed += mutations_seen(ib, &tried);
			renames += renamed_chain_plan(ib, &plans);
		}
		pw_ruleset_free(a);
		pw_ruleset_free(b);
		pw_engine_free(e1);
		pw_engine_free(e2);
		fx_free(c1);
		fx_free(c2);
	}
	CHECK(!from_bad && from_n == 200,
	      "image from the previous ruleset: %u of %u differ from one "
	      "built from nothing",
	      from_bad, from_n);
	/* Every class set and address list left alone is copied. */
	CHECK(copied == from_sets && copied > 100,
	      "image from the previous ruleset: %zu sets copied, %zu copyable",
	      copied, from_sets);
	printf("image from the previous ruleset: %zu sets copied\n", copied);
	CHECK(!bad, "digest: %u sets skipped though changed, or not though not",
	      bad);
	CHECK(!plans, "digest: %u plans differ from comparing every element",
	      plans);
	CHECK(!missed, "digest: %u of %u one-element changes not seen", missed,
	      tried);
	CHECK(changed > 100 && kept > 100 && tried > 1000 && renames > 20,
	      "digest: only %u changed, %u kept sets, %u mutations, %u "
	      "renamed chains",
	      changed, kept, tried, renames);
	printf("digest: %u changed and %u kept sets, %u mutations seen, %u "
	       "renamed chains\n",
	       changed, kept, tried, renames);
}

static void test_random_clusters(void)
{
	unsigned bad = 0, rounds = 400;

	for (unsigned r = 0; r < rounds; r++) {
		struct pw_cluster *c = rand_cluster();
		struct pw_engine *e = pw_engine_new(c);

		if (!e) {
			bad++;
		} else {
			bad += compare_engine(e, NULL);
			bad += compare_engine(e, "node1");
		}
		pw_engine_free(e);
		fx_free(c);
	}
	CHECK(!bad, "random clusters: %u disagreements with the engine", bad);
	CHECK(cmp_allowed > 10000 && cmp_denied > 10000,
	      "random clusters: only %lu allowed and %lu denied decisions",
	      cmp_allowed, cmp_denied);
	printf("random clusters: %lu allowed, %lu denied decisions agree\n",
	       cmp_allowed, cmp_denied);
}

/* Every comment "..." of the text: at most 128 characters, none of '"'
 * or a newline inside (nft's limit, and nothing to break out of). */
static bool comments_ok(const char *text)
{
	for (const char *p = strstr(text, "comment \""); p;
	     p = strstr(p, "comment \"")) {
		size_t n;

		p += strlen("comment \"");
		n = strcspn(p, "\"\n");
		if (p[n] != '"' || n > 128)
			return false;
		p += n + 1;
	}
	return true;
}

/* Long, hostile names end up as short, harmless comments. */
static void test_long_names(void)
{
	struct pw_cluster *c = fx_new();
	struct pw_engine *e;
	struct pw_ruleset *rs = NULL;
	char name[300], *text = NULL;

	memset(name, 'x', sizeof(name));
	memcpy(name, "n0/", 3);
	name[200] = '\0';
	fx_pod(c, name, "app=a", "10.9.0.1", NULL);
	for (int i = 0; i < 6; i++) {
		snprintf(
			name, sizeof(name),
			"n0/policy-%d-with-a-name-long-enough-to-fill-a-comment"
			"-\"quoted\"-and-more-and-more",
			i);
		fx_rule(fx_pol(c, name, "", "Ingress,Egress"), PW_DIR_INGRESS);
	}
	fx_finalize(c);
	e = pw_engine_new(c);
	if (e)
		rs = pw_ruleset_new(e, NULL);
	CHECK(rs && !pw_ruleset_render(rs, &text) && comments_ok(text),
	      "long names: comments too long or broken");
	CHECK(text && !strchr(strstr(text, "table inet") ?: "", '\\'),
	      "long names: a backslash reached the ruleset");
	free(text);
	pw_ruleset_free(rs);
	pw_engine_free(e);
	fx_free(c);
}

/* ---- golden rulesets ---------------------------------------------------- */

#define GOLDEN_DIR "tests/golden/nft"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *o;
	int ch;

	if (!f)
		return NULL;
	o = open_memstream(&buf, &len);
	while (o && (ch = getc(f)) != EOF)
		putc(ch, o);
	if (o)
		fclose(o);
	fclose(f);
	return buf;
}

/* The optional flow-log file of a case: "denied|all GROUP". */
static void golden_flow_log(const char *dir, unsigned *flags, uint16_t *group)
{
	char path[600], what[16] = "";
	unsigned g = 0;
	FILE *f;

	*flags = 0;
	*group = 0;
	snprintf(path, sizeof(path), "%s/flow-log", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	CHECK(fscanf(f, "%15s %u", what, &g) == 2 && g <= 65535,
	      "%s: \"denied|all GROUP\"", path);
	fclose(f);
	*flags = !strcmp(what, "all") ?
			 PW_FLOW_LOG_DENIED | PW_FLOW_LOG_ALLOWED :
		 !strcmp(what, "denied") ? PW_FLOW_LOG_DENIED :
					   0;
	*group = (uint16_t)g;
}

/* Compiles one case directory; the text, or NULL. */
static char *golden_compile(const char *dir, const char *node)
{
	unsigned flags;
	uint16_t group;
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	struct pw_engine *e = NULL;
	struct pw_ruleset *rs = NULL;
	char *text = NULL;

	if (c && d && !pw_cluster_load_path(c, dir, d) &&
	    !pw_cluster_finalize(c, d))
		e = pw_engine_new(c);
	if (e)
		rs = pw_ruleset_new(e, node);
	golden_flow_log(dir, &flags, &group);
	if (rs && pw_ruleset_set_flow_log(rs, flags, group))
		CHECK(0, "%s: set_flow_log", dir);
	if (rs && pw_ruleset_render(rs, &text))
		text = NULL;
	if (e)
		CHECK(!compare_engine(e, node),
		      "%s: ruleset and engine disagree", dir);
	pw_ruleset_free(rs);
	pw_engine_free(e);
	pw_diags_free(d);
	pw_cluster_free(c);
	return text;
}

static void golden_one(const char *name)
{
	char dir[512], path[600], *node, *want, *got;
	const char *update = getenv("UPDATE_GOLDEN");

	snprintf(dir, sizeof(dir), "%s/%s", GOLDEN_DIR, name);
	snprintf(path, sizeof(path), "%s/node", dir);
	node = slurp(path);
	if (node)
		node[strcspn(node, "\n")] = '\0';
	got = golden_compile(dir, node);
	snprintf(path, sizeof(path), "%s/expected.nft", dir);
	if (got && update && !strcmp(update, "1")) {
		FILE *f = fopen(path, "w");

		CHECK(f && fputs(got, f) >= 0 && !fclose(f), "write %s", path);
	}
	CHECK(got && comments_ok(got), "%s: a comment is too long", name);
	want = slurp(path);
	CHECK(got && want && !strcmp(got, want),
	      "%s: the compiled ruleset differs from expected.nft "
	      "(podwall compile%s%s %s | diff %s -)",
	      name, node ? " --node " : "", node ? node : "", dir, path);
	free(node);
	free(want);
	free(got);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden(void)
{
	DIR *d = opendir(GOLDEN_DIR);
	char *names[64];
	size_t n = 0;
	struct dirent *de;

	CHECK(d != NULL, "%s: %s (run from the repository root)", GOLDEN_DIR,
	      strerror(errno));
	while (d && (de = readdir(d)) && n < PW_ARRAY_SIZE(names)) {
		char path[600];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, de->d_name);
		if (de->d_name[0] != '.' && !stat(path, &st) &&
		    S_ISDIR(st.st_mode))
			names[n++] = strdup(de->d_name);
	}
	if (d)
		closedir(d);
	CHECK(n >= 5, "only %zu golden cases", n);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		golden_one(names[i]);
		free(names[i]);
	}
}

int main(void)
{
	test_ivals();
	test_ipblocks();
	test_format();
	test_sanitize();
	test_hints();
	test_encode();
	test_egress_if();
	test_stats();
	test_pod_cidr();
	test_verdict_cache();
	test_boxes();
	test_random_clusters();
	test_stable_ids();
	test_digest();
	test_long_names();
	test_golden();
	return check_done("test_nft");
}
