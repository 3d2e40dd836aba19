// SPDX-License-Identifier: Apache-2.0
/*
 * The ruleset in nft syntax: what `podwall compile` prints and what
 * `podwall apply` hands to libnftables.
 *
 * Every identifier is generated here (chains in_c<ID> / eg_c<ID>, sets named
 * after them and after their role); nothing from a manifest reaches the
 * nft parser except inside comment strings, sanitized to
 * [A-Za-z0-9_./:-] and cut to a bounded length. Elements come sorted
 * from the compiler, so the text is the same for the same cluster.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "datapath.h"
#include "nft_image.h"

/* Per family: the address type and the match expressions. */
static const struct {
	const char *type;
	const char *ip; /* payload protocol of the match */
	const char *suffix;
} fams[PW_FAM_NR] = {
	[PW_FAM_V4] = { "ipv4_addr", "ip", "v4" },
	[PW_FAM_V6] = { "ipv6_addr", "ip6", "v6" },
};

/* Per direction: which address of the packet names the local pod, and
 * what a class chain does with admitted traffic. Both return: egress
 * because the destination's ingress must still be checked, ingress to
 * the base chain, which stamps the verdict cache (or accepts by its
 * policy). */
static const struct {
	const char *chain; /* class chain prefix */
	const char *map;
	const char *local; /* the local pod's address */
	const char *peer; /* the other end's */
	const char *verdict;
} dirs[PW_DIR_NR] = {
	[PW_DIR_INGRESS] = { "in", "ingress", "daddr", "saddr", "return" },
	[PW_DIR_EGRESS] = { "eg", "egress", "saddr", "daddr", "return" },
};

static const struct {
	uint8_t num;
	const char *name;
} protos[] = {
	{ 6, "tcp" },
	{ 17, "udp" },
	{ 132, "sctp" },
};

static const char nd_types[] =
	"nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
	"nd-neighbor-advert, nd-redirect";

/* Longest comment the kernel stores is 256 bytes; ours stay well below. */
void pw_nft_sanitize(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return;
	for (; *s && n + 1 < len; s++, n++) {
		unsigned char ch = (unsigned char)*s;
		bool ok = (ch >= 'a' && ch <= 'z') ||
			  (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || strchr("_./:-", ch);

		buf[n] = ok && ch ? (char)ch : '_';
	}
	buf[n] = '\0';
	if (*s && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

static unsigned popcount128(pw_u128 v)
{
	return (unsigned)(__builtin_popcountll((uint64_t)v) +
			  __builtin_popcountll((uint64_t)(v >> 64)));
}

int pw_ival_format(const struct pw_ival *iv, enum pw_fam f, char *buf,
		   size_t len)
{
	char lo[PW_ADDR_STRLEN], hi[PW_ADDR_STRLEN];
	pw_u128 host = iv->hi - iv->lo;
	unsigned bits = f == PW_FAM_V6 ? 128 : 32;
	struct pw_addr a;

	pw_u128_to_addr(iv->lo, f, &a);
	pw_addr_format(&a, lo, sizeof(lo));
	if (!host)
		return snprintf(buf, len, "%s", lo);
	if (!(host & (host + 1)) && !(iv->lo & host))
		return snprintf(buf, len, "%s/%u", lo,
				bits - popcount128(host));
	pw_u128_to_addr(iv->hi, f, &a);
	pw_addr_format(&a, hi, sizeof(hi));
	return snprintf(buf, len, "%s-%s", lo, hi);
}

static const char *proto_name(uint8_t num)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(protos); i++)
		if (protos[i].num == num)
			return protos[i].name;
	return "tcp"; /* the compiler only makes the three above */
}

/* ---- anti-spoofing -------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t pw_nft_ifnames(const struct pw_ruleset *rs, const char ***out)
{
	size_t n = rs->spoof[PW_FAM_V4].n + rs->spoof[PW_FAM_V6].n, k = 0;
	const char **v = malloc((n + 1) * sizeof(*v));

	if (out)
		*out = v;
	if (!v)
		return 0;
	for (int f = 0; f < PW_FAM_NR; f++)
		for (size_t i = 0; i < rs->spoof[f].n; i++)
			v[k++] = rs->spoof[f].v[i].ifname;
	if (k > 1)
		qsort(v, k, sizeof(*v), name_cmp);
	n = 0;
	for (size_t i = 0; i < k; i++)
		if (!n || strcmp(v[n - 1], v[i]))
			v[n++] = v[i];
	if (!out)
		free(v);
	return n;
}

/* ---- sizes ---------------------------------------------------------- */

/* Sets every table has, whatever the cluster: the four verdict maps and
 * pod ranges, known pods and local pods per family. */
#define BASE_SETS (2 * PW_DIR_NR + 4 * PW_FAM_NR + 1)
#define BASE_CHAINS 6 /* forward, input, fwd_v4/6, src_v4/6 */

PW_EXPORT size_t pw_ruleset_chain_count(const struct pw_ruleset *rs)
{
	return BASE_CHAINS + rs->ncls[PW_DIR_INGRESS] + rs->ncls[PW_DIR_EGRESS];
}

PW_EXPORT size_t pw_ruleset_set_count(const struct pw_ruleset *rs)
{
	size_t n = BASE_SETS;

	for (int d = 0; d < PW_DIR_NR; d++)
		for (size_t i = 0; i < rs->ncls[d]; i++)
			for (int f = 0; f < PW_FAM_NR; f++)
				n += (rs->cls[d][i].addr[f].n > 0) +
				     (rs->cls[d][i].ports[f].n > 0);
	return n;
}

PW_EXPORT size_t pw_ruleset_element_count(const struct pw_ruleset *rs)
{
	size_t n = 0;

	n += pw_nft_ifnames(rs, NULL);
	for (int f = 0; f < PW_FAM_NR; f++) {
		n += rs->ranges[f].n + rs->known[f].n + rs->self[f].n +
		     rs->spoof[f].n;
		for (int d = 0; d < PW_DIR_NR; d++) {
			n += rs->vmap[d][f].n;
			for (size_t i = 0; i < rs->ncls[d]; i++)
				n += rs->cls[d][i].addr[f].n +
				     rs->cls[d][i].ports[f].n;
		}
	}
	return n;
}

/* ---- sets ----------------------------------------------------------- */

/* "\t\telements = {\n" ... "\t\t}\n" around n lines; nothing when n is 0. */
static void elems_open(FILE *o, size_t n)
{
	if (n)
		fputs("\t\telements = {\n", o);
}

static void elem_sep(FILE *o, size_t i, size_t n)
{
	fputs(i + 1 < n ? ",\n" : "\n\t\t}\n", o);
}

static void set_head(FILE *o, const char *name, const char *type, bool interval)
{
	fprintf(o, "\tset %s {\n\t\ttype %s\n", name, type);
	if (interval)
		fputs("\t\tflags interval\n", o);
}

static void render_ivals(FILE *o, const char *name, enum pw_fam f,
			 const struct pw_ivals *s)
{
	char buf[2 * PW_ADDR_STRLEN];

	set_head(o, name, fams[f].type, true);
	elems_open(o, s->n);
	for (size_t i = 0; i < s->n; i++) {
		pw_ival_format(&s->v[i], f, buf, sizeof(buf));
		fprintf(o, "\t\t\t%s", buf);
		elem_sep(o, i, s->n);
	}
	fputs("\t}\n\n", o);
}

static void render_boxes(FILE *o, const char *name, enum pw_fam f,
			 const struct pw_boxes *s)
{
	char buf[2 * PW_ADDR_STRLEN], type[64];

	snprintf(type, sizeof(type), "%s . inet_proto . inet_service",
		 fams[f].type);
	set_head(o, name, type, true);
	elems_open(o, s->n);
	for (size_t i = 0; i < s->n; i++) {
		const struct pw_box *b = &s->v[i];
		struct pw_ival iv = { b->lo, b->hi };

		pw_ival_format(&iv, f, buf, sizeof(buf));
		fprintf(o, "\t\t\t%s . %s . %u", buf, proto_name(b->proto),
			b->plo);
		if (b->phi != b->plo)
			fprintf(o, "-%u", b->phi);
		elem_sep(o, i, s->n);
	}
	fputs("\t}\n\n", o);
}

static void render_addrs(FILE *o, const char *name, enum pw_fam f,
			 const struct pw_addrs *s, bool pair)
{
	char buf[PW_ADDR_STRLEN], type[64];
	struct pw_addr a;

	snprintf(type, sizeof(type), pair ? "%s . %s" : "%s", fams[f].type,
		 fams[f].type);
	set_head(o, name, type, false);
	elems_open(o, s->n);
	for (size_t i = 0; i < s->n; i++) {
		pw_u128_to_addr(s->v[i], f, &a);
		pw_addr_format(&a, buf, sizeof(buf));
		fprintf(o, pair ? "\t\t\t%s . %s" : "\t\t\t%s", buf, buf);
		elem_sep(o, i, s->n);
	}
	fputs("\t}\n\n", o);
}

static void render_vmap(FILE *o, const struct pw_ruleset *rs, enum pw_dir d,
			enum pw_fam f)
{
	const struct pw_nft_vmaps *m = &rs->vmap[d][f];
	char buf[PW_ADDR_STRLEN];
	struct pw_addr a;

	fprintf(o, "\tmap %s_%s {\n\t\ttype %s : verdict\n", dirs[d].map,
		fams[f].suffix, fams[f].type);
	elems_open(o, m->n);
	for (size_t i = 0; i < m->n; i++) {
		pw_u128_to_addr(m->v[i].addr, f, &a);
		pw_addr_format(&a, buf, sizeof(buf));
		fprintf(o, "\t\t\t%s comment \"%s\" : goto " PW_NFT_CLASS_FMT,
			buf, m->v[i].comment, dirs[d].chain, m->v[i].cls);
		elem_sep(o, i, m->n);
	}
	fputs("\t}\n\n", o);
}

/*
 * Anti-spoofing and the source's egress in one lookup: every address
 * bound to a local pod's interface, with where its packets go next: the
 * pod's egress class, or back to the destination's side (return) when
 * its egress is not isolated. A packet from a pod interface that misses
 * is spoofed.
 */
static void render_spoof(FILE *o, const struct pw_ruleset *rs)
{
	char buf[PW_ADDR_STRLEN];
	const char **names;
	size_t n = pw_nft_ifnames(rs, &names);
	struct pw_addr a;

	set_head(o, "pod_ifaces", "ifname", false);
	elems_open(o, n);
	for (size_t i = 0; i < n; i++) {
		fprintf(o, "\t\t\t\"%s\"", names[i]);
		elem_sep(o, i, n);
	}
	fputs("\t}\n\n", o);
	free(names);
	for (int f = 0; f < PW_FAM_NR; f++) {
		const struct pw_nft_spoofs *s = &rs->spoof[f];

		fprintf(o,
			"\tmap egress_if_%s {\n\t\ttype ifname . %s : verdict\n",
			fams[f].suffix, fams[f].type);
		elems_open(o, s->n);
		for (size_t i = 0; i < s->n; i++) {
			const struct pw_nft_vmap *m = pw_nft_vmap_find(
				&rs->vmap[PW_DIR_EGRESS][f], s->v[i].addr);

			pw_u128_to_addr(s->v[i].addr, (enum pw_fam)f, &a);
			pw_addr_format(&a, buf, sizeof(buf));
			fprintf(o, "\t\t\t\"%s\" . %s : ", s->v[i].ifname, buf);
			if (m)
				fprintf(o, "goto " PW_NFT_CLASS_FMT, "eg",
					m->cls);
			else
				fputs("return", o);
			elem_sep(o, i, s->n);
		}
		fputs("\t}\n\n", o);
	}
}

/* ---- chains --------------------------------------------------------- */

static void class_sets(FILE *o, enum pw_dir d, const struct pw_nft_class *k)
{
	char name[64];

	for (int f = 0; f < PW_FAM_NR; f++) {
		if (k->ports[f].n) {
			snprintf(name, sizeof(name),
				 PW_NFT_CLASS_FMT "_ports_%s", dirs[d].chain,
				 k->id, fams[f].suffix);
			render_boxes(o, name, (enum pw_fam)f, &k->ports[f]);
		}
		if (k->addr[f].n) {
			snprintf(name, sizeof(name), PW_NFT_CLASS_FMT "_%s",
				 dirs[d].chain, k->id, fams[f].suffix);
			render_ivals(o, name, (enum pw_fam)f, &k->addr[f]);
		}
	}
}

/* " [counter name ...] [log ...]" before an admitting verdict of side d
 * (the allowed counters follow PW_DIR_* in enum pw_nft_counter). */
static void admitted(FILE *o, const struct pw_ruleset *rs, enum pw_dir d)
{
	enum pw_nft_counter c =
		(enum pw_nft_counter)(PW_CNT_ALLOWED_INGRESS + d);

	if (pw_nft_counters(rs->flow_log) & (1u << c))
		fprintf(o, " counter name \"%s\"", pw_nft_counter_names[c]);
	if (rs->flow_log & PW_FLOW_LOG_ALLOWED)
		fprintf(o, " log prefix \"%s\" group %u",
			pw_nft_log_prefixes[c], rs->flow_group);
}

/* "counter name ... [log ...] drop": a drop counted by check c. */
static void dropped(FILE *o, const struct pw_ruleset *rs, enum pw_nft_counter c)
{
	fprintf(o, "counter name \"%s\"", pw_nft_counter_names[c]);
	if (rs->flow_log & PW_FLOW_LOG_DENIED)
		fprintf(o, " log prefix \"%s\" group %u",
			pw_nft_log_prefixes[c], rs->flow_group);
	fputs(" drop\n", o);
}

/*
 * One lookup with ports, one without, per family; a pod to itself (only
 * packets about to be dropped pay for that lookup); then the drop.
 */
static void class_chain(FILE *o, const struct pw_ruleset *rs, enum pw_dir d,
			const struct pw_nft_class *k)
{
	const char *peer = dirs[d].peer, *c = dirs[d].chain;

	fprintf(o, "\tchain " PW_NFT_CLASS_FMT " {\n", c, k->id);
	if (*k->comment)
		fprintf(o, "\t\tcomment \"%s\"\n", k->comment);
	for (int f = 0; f < PW_FAM_NR; f++) {
		const char *ip = fams[f].ip, *sfx = fams[f].suffix;

		if (k->ports[f].n) {
			fprintf(o,
				"\t\t%s %s . meta l4proto . th dport "
				"@" PW_NFT_CLASS_FMT "_ports_%s",
				ip, peer, c, k->id, sfx);
			admitted(o, rs, d);
			fprintf(o, " %s\n", dirs[d].verdict);
		}
		if (k->addr[f].n) {
			fprintf(o, "\t\t%s %s @" PW_NFT_CLASS_FMT "_%s", ip,
				peer, c, k->id, sfx);
			admitted(o, rs, d);
			fprintf(o, " %s\n", dirs[d].verdict);
		}
	}
	for (int f = 0; f < PW_FAM_NR; f++)
		fprintf(o, "\t\t%s saddr . %s daddr @self_%s accept\n",
			fams[f].ip, fams[f].ip, fams[f].suffix);
	fputs("\t\t", o);
	dropped(o, rs,
		d == PW_DIR_INGRESS ? PW_CNT_DENIED_INGRESS :
				      PW_CNT_DENIED_EGRESS);
	fputs("\t}\n", o);
}

/* An address inside this node's pod ranges that is no known pod: a pod
 * the network plugin made before podwall knew it. Never open. */
static void fail_closed(FILE *o, const struct pw_ruleset *rs, enum pw_fam f,
			const char *which)
{
	fprintf(o, "\t\t%s %s @pod_ranges_%s %s %s != @pods_%s ", fams[f].ip,
		which, fams[f].suffix, fams[f].ip, which, fams[f].suffix);
	dropped(o, rs, PW_CNT_DENIED_UNKNOWN);
}

/* The head of a base chain: established first, then (with the verdict
 * cache) a connection this generation admitted already. */
static void base_head(FILE *o, const struct pw_ruleset *rs, const char *hook)
{
	fprintf(o,
		"\tchain %s {\n"
		"\t\ttype filter hook %s priority filter; policy accept;\n",
		hook, hook);
	fputs("\t\tct state established,related accept\n", o);
	if (rs->ct_mask)
		fprintf(o,
			"\t\tct mark and 0x%08" PRIx32 " == 0x%08" PRIx32
			" accept\n",
			rs->ct_mask, rs->ct_gen);
}

/* The family dispatch (a jump when the base chain stamps what comes
 * back, else a goto), then the stamp: everything that returned was
 * admitted by every check. */
static void base_tail(FILE *o, const struct pw_ruleset *rs, const char *to)
{
	for (int f = 0; f < PW_FAM_NR; f++)
		fprintf(o, "\t\tmeta nfproto %s %s %s_%s\n",
			f == PW_FAM_V4 ? "ipv4" : "ipv6",
			rs->ct_mask ? "jump" : "goto", to, fams[f].suffix);
	if (rs->ct_mask)
		fprintf(o,
			"\t\tct mark set ct mark and 0x%08" PRIx32
			" or 0x%08" PRIx32 "\n",
			~rs->ct_mask, rs->ct_gen);
	fputs("\t}\n", o);
}

/*
 * The base chains dispatch once by family; see docs/DATAPATH.md for the
 * walk. fwd_v4 checks the source (src_v4, which returns when the source
 * may send), then the destination. src_v4 is shared with input, where a
 * local pod talks to the node: only its egress applies there.
 */
static void base_chains(FILE *o, const struct pw_ruleset *rs)
{
	base_head(o, rs, "forward");
	base_tail(o, rs, "fwd");
	fputs("\n", o);

	/* The node's own traffic to itself (lo) may use a gateway address
	 * inside the pod ranges, so it is let through first. */
	base_head(o, rs, "input");
	fputs("\t\tiif \"lo\" accept\n", o);
	base_tail(o, rs, "src");

	for (int f = 0; f < PW_FAM_NR; f++) {
		fprintf(o, "\n\tchain fwd_%s {\n\t\tjump src_%s\n",
			fams[f].suffix, fams[f].suffix);
		fprintf(o, "\t\t%s daddr vmap @ingress_%s\n", fams[f].ip,
			fams[f].suffix);
		fail_closed(o, rs, (enum pw_fam)f, "daddr");
		fputs("\t}\n", o);
	}
	for (int f = 0; f < PW_FAM_NR; f++) {
		const char *ip = fams[f].ip, *sfx = fams[f].suffix;

		fprintf(o, "\n\tchain src_%s {\n", sfx);
		/* ND uses link-local sources: before anti-spoofing. */
		if (f == PW_FAM_V6)
			fprintf(o, "\t\ticmpv6 type { %s } accept\n", nd_types);
		fprintf(o, "\t\tiifname . %s saddr vmap @egress_if_%s\n", ip,
			sfx);
		fputs("\t\tiifname @pod_ifaces ", o);
		dropped(o, rs, PW_CNT_DENIED_SPOOF);
		fprintf(o, "\t\t%s saddr vmap @egress_%s\n", ip, sfx);
		fail_closed(o, rs, (enum pw_fam)f, "saddr");
		fputs("\t}\n", o);
	}
}

/* Named counters: the drops of each check, whatever the flow log. */
static void render_counters(FILE *o, const struct pw_ruleset *rs)
{
	unsigned have = pw_nft_counters(rs->flow_log);

	for (int c = 0; c < PW_CNT_NR; c++)
		if (have & (1u << c))
			fprintf(o, "\tcounter %s {\n\t}\n\n",
				pw_nft_counter_names[c]);
}

/* ---- the table ------------------------------------------------------ */

static void header(FILE *o, const struct pw_ruleset *rs)
{
	char node[96];

	if (rs->node) {
		pw_nft_sanitize(rs->node, node, sizeof(node));
		fprintf(o, "# podwall ruleset of node %s\n", node);
	} else {
		fputs("# podwall ruleset: every pod is local\n", o);
	}
	if (rs->node && !pw_ruleset_range_count(rs))
		fputs("# no spec.podCIDRs for this node: fail-closed is off\n",
		      o);
	fprintf(o, "# %zu local pods enforced", rs->nlocal);
	if (rs->nskipped)
		fprintf(o,
			"; %zu without an address not enforced "
			"(workload templates are no real pods)",
			rs->nskipped);
	fprintf(o, "\n# %zu chains, %zu sets, %zu elements\n",
		pw_ruleset_chain_count(rs), pw_ruleset_set_count(rs),
		pw_ruleset_element_count(rs));
}

static void render(FILE *o, const struct pw_ruleset *rs)
{
	char name[32];

	header(o, rs);
	fputs("table inet podwall {\n", o);
	render_counters(o, rs);
	for (int f = 0; f < PW_FAM_NR; f++) {
		snprintf(name, sizeof(name), "pod_ranges_%s", fams[f].suffix);
		render_ivals(o, name, (enum pw_fam)f, &rs->ranges[f]);
		snprintf(name, sizeof(name), "pods_%s", fams[f].suffix);
		render_addrs(o, name, (enum pw_fam)f, &rs->known[f], false);
		snprintf(name, sizeof(name), "self_%s", fams[f].suffix);
		render_addrs(o, name, (enum pw_fam)f, &rs->self[f], true);
	}
	render_spoof(o, rs);
	/* The fixed objects first, the classes last: the kernel keeps
	 * creation order, and an update appends (nft_update.c). */
	for (int d = PW_DIR_NR; d-- > 0;)
		for (int f = 0; f < PW_FAM_NR; f++)
			render_vmap(o, rs, (enum pw_dir)d, (enum pw_fam)f);
	base_chains(o, rs);
	for (int d = PW_DIR_NR; d-- > 0;) {
		for (size_t i = 0; i < rs->ncls[d]; i++) {
			fputc('\n', o);
			class_sets(o, (enum pw_dir)d, &rs->cls[d][i]);
			class_chain(o, rs, (enum pw_dir)d, &rs->cls[d][i]);
		}
	}
	fputs("}\n", o);
}

PW_EXPORT int pw_ruleset_render(const struct pw_ruleset *rs, char **out)
{
	size_t len;
	FILE *o;
	int bad;

	*out = NULL;
	o = open_memstream(out, &len);
	if (!o)
		return -ENOMEM;
	render(o, rs);
	bad = ferror(o);
	if (fclose(o) || bad) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
