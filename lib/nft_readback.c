// SPDX-License-Identifier: Apache-2.0
/*
 * Reading podwall's table back from the kernel as an image
 * (nft_image.h), so that `podwall apply`, which has no memory of the last
 * run, can send only the difference.
 *
 * Netlink dumps of the table's sets (in creation order), of each set's
 * elements, and of its chains. Everything the diff compares is stored in
 * the kernel objects themselves: a set's role is its flags and key type,
 * an element is its key, end, flags, verdict and userdata (the comment,
 * nft's open-interval flag), a chain is its name, hook and comment, and a
 * class chain's rules follow from the sets named after it. A table that
 * holds anything else was not made by this podwall and is replaced whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nft_image.h"
#include "nft_netlink.h"
#include "nlkeep.h"
#include "util.h"

/* Flags and key type of each set role: the same as nft_netlink.c's
 * specs (a table made by podwall has exactly these). */
static const struct {
	uint32_t flags, ktype;
} roles[PW_SK_NR] = {
	[PW_SK_IVAL_V4] = { NFT_SET_INTERVAL, 7 },
	[PW_SK_IVAL_V6] = { NFT_SET_INTERVAL, 8 },
	[PW_SK_ADDR_V4] = { 0, 7 },
	[PW_SK_ADDR_V6] = { 0, 8 },
	[PW_SK_PAIR_V4] = { 0, 7 << 6 | 7 },
	[PW_SK_PAIR_V6] = { 0, 8 << 6 | 8 },
	[PW_SK_PORTS_V4] = { NFT_SET_INTERVAL | NFT_SET_CONCAT,
			     (7 << 6 | 12) << 6 | 13 },
	[PW_SK_PORTS_V6] = { NFT_SET_INTERVAL | NFT_SET_CONCAT,
			     (8 << 6 | 12) << 6 | 13 },
	[PW_SK_VMAP_V4] = { NFT_SET_MAP, 7 },
	[PW_SK_VMAP_V6] = { NFT_SET_MAP, 8 },
	[PW_SK_IFNAME] = { 0, 41 },
	[PW_SK_IFVMAP_V4] = { NFT_SET_MAP, 41 << 6 | 7 },
	[PW_SK_IFVMAP_V6] = { NFT_SET_MAP, 41 << 6 | 8 },
};

struct rd {
	struct mnl_socket *nl;
	uint32_t seq, portid;
	struct pw_nft_image *img;
	struct pw_nft_set *set; /* whose elements are being read */
	size_t *nrules; /* per chain of img, rules found */
	int err; /* -EPROTO: not podwall's */
	char buf[65536];
};

typedef int (*rd_cb)(const struct nlmsghdr *nlh, void *data);

/* Sends a request built in rd->buf and runs cb on every answer. */
static int rd_run(struct rd *rd, struct nlmsghdr *nlh, rd_cb cb)
{
	int ret;

	if (mnl_socket_sendto(rd->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = (int)mnl_socket_recvfrom(rd->nl, rd->buf,
					       sizeof(rd->buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(rd->buf, (size_t)ret, rd->seq, rd->portid, cb,
				 rd);
	} while (ret > 0);
	return ret < 0 ? -errno : rd->err;
}

static int set_role(const struct nftnl_set *s)
{
	uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	uint32_t ktype = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);

	for (int k = 0; k < PW_SK_NR; k++)
		if (roles[k].flags == flags && roles[k].ktype == ktype)
			return k;
	return -1;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *rd = data;
	struct nftnl_set *s = nftnl_set_alloc();
	int role;

	if (!s || nftnl_set_nlmsg_parse(nlh, s) < 0) {
		rd->err = -ENOMEM;
		goto out;
	}
	if (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS)
		goto out;
	role = set_role(s);
	if (role < 0)
		rd->err = -EPROTO;
	else if (!pw_nft_image_add_set(rd->img,
				       nftnl_set_get_str(s, NFTNL_SET_NAME),
				       (enum pw_nft_setkind)role))
		rd->err = -ENOMEM;
out:
	nftnl_set_free(s);
	return rd->err ? MNL_CB_ERROR : MNL_CB_OK;
}

/* The element's userdata: the comment and nft's open-interval flag. */
static int elem_udata(struct pw_nft_elem *e, const uint8_t *p, uint32_t n)
{
	uint32_t flags;

	while (n >= 2 && (uint32_t)p[1] + 2 <= n) {
		if (p[0] == 0 && p[1] && !p[p[1] + 1]) {
			free(e->comment);
			e->comment = pw_strdup((const char *)p + 2);
			if (!e->comment)
				return -ENOMEM;
		} else if (p[0] == 1 && p[1] == 4) {
			memcpy(&flags, p + 2, 4);
			e->open = flags & 1;
		}
		n -= (uint32_t)p[1] + 2;
		p += p[1] + 2;
	}
	return 0;
}

/* A map element's verdict as the image has it; one podwall never
 * writes (accept, drop) makes the element differ from every new one. */
static uint8_t elem_verdict(int v)
{
	switch (v) {
	case NFT_JUMP:
		return PW_NFT_V_JUMP;
	case NFT_GOTO:
		return PW_NFT_V_GOTO;
	case NFT_RETURN:
		return PW_NFT_V_RETURN;
	default:
		return 0xff;
	}
}

static int elem_read(struct pw_nft_set *s, struct nftnl_set_elem *x)
{
	struct pw_nft_elem e = { 0 };
	uint32_t len = 0;
	const void *p;

	p = nftnl_set_elem_get(x, NFTNL_SET_ELEM_KEY, &len);
	if (!p || len > PW_NFT_KEY_MAX)
		return -EPROTO;
	memcpy(e.key, p, len);
	e.klen = (uint8_t)len;
	p = nftnl_set_elem_get(x, NFTNL_SET_ELEM_KEY_END, &len);
	if (p && len == e.klen) {
		memcpy(e.kend, p, len);
		e.has_kend = true;
	}
	if (nftnl_set_elem_is_set(x, NFTNL_SET_ELEM_FLAGS))
		e.interval_end =
			nftnl_set_elem_get_u32(x, NFTNL_SET_ELEM_FLAGS) &
			NFT_SET_ELEM_INTERVAL_END;
	if (nftnl_set_elem_is_set(x, NFTNL_SET_ELEM_VERDICT))
		e.verdict = elem_verdict(
			(int)nftnl_set_elem_get_u32(x, NFTNL_SET_ELEM_VERDICT));
	if (nftnl_set_elem_is_set(x, NFTNL_SET_ELEM_CHAIN) &&
	    !(e.jump = pw_strdup(
		      nftnl_set_elem_get_str(x, NFTNL_SET_ELEM_CHAIN))))
		return -ENOMEM;
	p = nftnl_set_elem_get(x, NFTNL_SET_ELEM_USERDATA, &len);
	if ((p && elem_udata(&e, p, len)) || pw_nft_set_push(s, &e)) {
		free(e.jump);
		free(e.comment);
		return -ENOMEM;
	}
	return 0;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *rd = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *x;

	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0 ||
	    !(it = nftnl_set_elems_iter_create(s))) {
		rd->err = -ENOMEM;
		goto out;
	}
	while (!rd->err && (x = nftnl_set_elems_iter_next(it)))
		rd->err = elem_read(rd->set, x);
out:
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return rd->err ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Whether name is prefix and an id in 16 lowercase hex digits, as
 * PW_NFT_CLASS_FMT writes it. */
static bool class_name(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n) || strlen(name + n) != 16)
		return false;
	return strspn(name + n, "0123456789abcdef") == 16;
}

static int chain_kind(const struct nftnl_chain *c, const char *name)
{
	bool base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);

	static const struct {
		const char *name;
		bool base;
		enum pw_nft_chainkind kind;
	} fixed[] = {
		{ "forward", true, PW_CK_FORWARD },
		{ "input", true, PW_CK_INPUT },
		{ "fwd_v4", false, PW_CK_FWD_V4 },
		{ "fwd_v6", false, PW_CK_FWD_V6 },
		{ "src_v4", false, PW_CK_SRC_V4 },
		{ "src_v6", false, PW_CK_SRC_V6 },
	};

	for (size_t i = 0; i < PW_ARRAY_SIZE(fixed); i++)
		if (base == fixed[i].base && !strcmp(name, fixed[i].name))
			return fixed[i].kind;
	if (!base && class_name(name, "in_c"))
		return PW_CK_CLASS_IN;
	if (!base && class_name(name, "eg_c"))
		return PW_CK_CLASS_EG;
	return -1;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *rd = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const uint8_t *ud;
	const char *name, *comment = NULL;
	uint32_t n = 0;
	int kind;

	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		rd->err = -ENOMEM;
		goto out;
	}
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	kind = chain_kind(c, name);
	ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &n);
	if (ud && n >= 3 && ud[0] == 0 && ud[1] + 2u == n && !ud[n - 1])
		comment = (const char *)ud + 2;
	if (kind < 0)
		rd->err = -EPROTO;
	else if (!pw_nft_image_add_chain(
			 rd->img, name, (enum pw_nft_chainkind)kind,
			 pw_nft_class_mask(rd->img, name), comment))
		rd->err = -ENOMEM;
out:
	nftnl_chain_free(c);
	return rd->err ? MNL_CB_ERROR : MNL_CB_OK;
}

static struct nlmsghdr *request(struct rd *rd, uint16_t type)
{
	return nftnl_nlmsg_build_hdr(rd->buf, type, NFPROTO_INET,
				     NLM_F_DUMP | NLM_F_ACK, ++rd->seq);
}

static int read_sets(struct rd *rd)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, PW_NFT_TABLE);
	nlh = request(rd, NFT_MSG_GETSET);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	ret = rd_run(rd, nlh, set_cb);
	for (size_t i = 0; !ret && i < rd->img->nsets; i++) {
		s = nftnl_set_alloc();
		if (!s)
			return -ENOMEM;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, PW_NFT_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, rd->img->sets[i].name);
		nlh = request(rd, NFT_MSG_GETSETELEM);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		rd->set = &rd->img->sets[i];
		ret = rd_run(rd, nlh, elem_cb);
		pw_nft_set_sort(rd->set);
	}
	return ret;
}

static int read_chains(struct rd *rd)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, PW_NFT_TABLE);
	nlh = request(rd, NFT_MSG_GETCHAIN);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return rd_run(rd, nlh, chain_cb);
}

/*
 * The flow log the rules carry: a log statement with one of podwall's
 * prefixes says which flag is on, and its group. Rules are otherwise not
 * compared (below); a table whose log statements disagree with
 * themselves was not written by podwall in one transaction, and the
 * update rewriting every chain when the flow log differs makes it right.
 */
static int log_cb(struct nftnl_expr *e, void *data)
{
	static const struct {
		const char *prefix;
		unsigned flag;
	} kinds[] = {
		{ "podwall:denied:", PW_FLOW_LOG_DENIED },
		{ "podwall:allowed:", PW_FLOW_LOG_ALLOWED },
	};
	struct pw_nft_image *img = data;
	const char *prefix;

	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "log") ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_LOG_PREFIX))
		return 0;
	prefix = nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX);
	for (size_t i = 0; i < PW_ARRAY_SIZE(kinds); i++) {
		if (strncmp(prefix, kinds[i].prefix, strlen(kinds[i].prefix)))
			continue;
		img->flow_log |= kinds[i].flag;
		if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_GROUP))
			img->flow_group =
				nftnl_expr_get_u16(e, NFTNL_EXPR_LOG_GROUP);
	}
	return 0;
}

/*
 * The verdict cache's generation: the rule `ct mark and M == G accept` of
 * the forward chain, seen as its expressions go by (ct load of the mark,
 * bitwise with mask M and no xor, cmp eq G). Only a well-formed pair (M
 * contiguous, G a generation of it) is taken; anything else leaves the
 * image without a cache, so the rule counts disagree and the table is
 * loaded whole.
 */
struct gen_scan {
	struct pw_nft_image *img;
	int step;
	uint32_t mask;
};

static uint32_t expr_u32(const struct nftnl_expr *e, uint16_t type, bool *ok)
{
	uint32_t len = 0, v = 0;
	const void *p = nftnl_expr_get(e, type, &len);

	*ok = p && len == sizeof(v);
	if (*ok)
		memcpy(&v, p, sizeof(v));
	return v;
}

static int gen_cb(struct nftnl_expr *e, void *data)
{
	struct gen_scan *g = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	bool ok = true, ok2 = true;
	uint32_t v;

	if (!strcmp(name, "ct")) {
		v = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY);
		g->step = v == NFT_CT_MARK &&
			  nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG);
	} else if (g->step == 1 && !strcmp(name, "bitwise")) {
		g->mask = expr_u32(e, NFTNL_EXPR_BITWISE_MASK, &ok);
		v = expr_u32(e, NFTNL_EXPR_BITWISE_XOR, &ok2);
		g->step = ok && ok2 && !v ? 2 : 0;
	} else if (g->step == 2 && !strcmp(name, "cmp") &&
		   nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) == NFT_CMP_EQ) {
		v = expr_u32(e, NFTNL_EXPR_CMP_DATA, &ok);
		if (ok && v && !(v & ~g->mask) && pw_nft_mask_ok(g->mask)) {
			g->img->ct_mask = g->mask;
			g->img->ct_gen = v;
		}
		g->step = 0;
	} else {
		g->step = 0;
	}
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *rd = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct gen_scan g = { .img = rd->img };
	const char *chain;

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		rd->err = -ENOMEM;
	} else {
		chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
		for (size_t i = 0; chain && i < rd->img->nchains; i++)
			if (!strcmp(rd->img->chains[i].name, chain))
				rd->nrules[i]++;
		nftnl_expr_foreach(r, log_cb, rd->img);
		if (chain && !strcmp(chain, "forward"))
			nftnl_expr_foreach(r, gen_cb, &g);
	}
	nftnl_rule_free(r);
	return rd->err ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Named counters: only podwall's, whose values are not read. */
static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *rd = data;
	struct nftnl_obj *o = nftnl_obj_alloc();
	const char *name;
	int c = PW_CNT_NR;

	if (!o || nftnl_obj_nlmsg_parse(nlh, o) < 0) {
		rd->err = -ENOMEM;
		goto out;
	}
	name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
	if (nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER)
		for (c = 0; name && c < PW_CNT_NR; c++)
			if (!strcmp(name, pw_nft_counter_names[c]))
				break;
	if (c < PW_CNT_NR)
		rd->img->counters |= 1u << c;
	else
		rd->err = -EPROTO;
out:
	nftnl_obj_free(o);
	return rd->err ? MNL_CB_ERROR : MNL_CB_OK;
}

static int read_objects(struct rd *rd)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;

	if (!o)
		return -ENOMEM;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, PW_NFT_TABLE);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nlh = request(rd, NFT_MSG_GETOBJ);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	return rd_run(rd, nlh, obj_cb);
}

/*
 * Rules are not compared one by one: each chain must hold as many rules
 * as podwall writes into a chain of its kind and recipe. A rule added or
 * removed by hand makes the table someone else's, and it is replaced.
 */
static int read_rule_counts(struct rd *rd)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret;

	rd->nrules = calloc(rd->img->nchains + 1, sizeof(*rd->nrules));
	if (!r || !rd->nrules) {
		nftnl_rule_free(r);
		return -ENOMEM;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, PW_NFT_TABLE);
	nlh = request(rd, NFT_MSG_GETRULE);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ret = rd_run(rd, nlh, rule_cb);
	for (size_t i = 0; !ret && i < rd->img->nchains; i++)
		if (rd->nrules[i] !=
		    pw_nl_rule_count(rd->img, &rd->img->chains[i]))
			ret = -EPROTO;
	return ret;
}

/* Whether both base chains are there: a table without them is no
 * podwall table (or a half-made one). */
static bool complete(const struct pw_nft_image *img)
{
	static const char *const fixed[] = { "forward", "input",  "fwd_v4",
					     "fwd_v6",	"src_v4", "src_v6" };

	for (size_t i = 0; i < PW_ARRAY_SIZE(fixed); i++)
		if (!pw_nft_image_chain(img, fixed[i]))
			return false;
	return true;
}

/*
 * Reads podwall's table into img. 0 with img filled; -ENOENT when there
 * is no table; -EPROTO when the table holds objects podwall does not
 * make; other -errno on failure.
 */
int pw_nft_image_read(struct pw_nft_image *img)
{
	struct rd *rd = calloc(1, sizeof(*rd));
	int ret;

	memset(img, 0, sizeof(*img));
	if (!rd)
		return -ENOMEM;
	rd->img = img;
	rd->seq = (uint32_t)time(NULL);
	/* The transactions' socket, kept open (nlkeep.h). */
	rd->nl = pw_nlkeep_borrow(&pw_nft_sock);
	if (!rd->nl) {
		ret = -errno;
		goto out_free;
	}
	rd->portid = mnl_socket_get_portid(rd->nl);
	ret = read_sets(rd);
	if (!ret)
		ret = read_chains(rd);
	if (!ret)
		ret = read_rule_counts(rd);
	if (!ret)
		ret = read_objects(rd);
	if (!ret && !complete(img))
		ret = -EPROTO;
	if (!ret)
		pw_nft_image_seal(img);
out_free:
	if (rd->nl) /* an error may leave a dump unread: closed then */
		pw_nlkeep_return(&pw_nft_sock, !ret);
	free(rd->nrules);
	free(rd);
	if (ret)
		pw_nft_image_release(img);
	return ret;
}

PW_EXPORT int pw_ruleset_sync(const struct pw_ruleset *rs,
			      struct pw_apply_stats *st, char **errmsg)
{
	const struct pw_nft_image *new;
	struct pw_nft_image old;
	int ret, rd;

	if (errmsg)
		*errmsg = NULL;
	if (!pw_nft_may_admin_net())
		return -EPERM;
	new = pw_nft_ruleset_image(rs);
	if (!new)
		return -ENOMEM;
	rd = pw_nft_image_read(&old);
	/* No table, or not ours: a full load replaces it. */
	ret = pw_nft_apply_ruleset(rd ? NULL : &old, rs, new, st, errmsg);
	if (!rd)
		pw_nft_image_release(&old);
	return ret;
}
