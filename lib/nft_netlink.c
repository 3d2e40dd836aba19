// SPDX-License-Identifier: Apache-2.0
/*
 * Programming the kernel through netlink (libnftnl + libmnl): the image
 * of a ruleset (nft_image.h) becomes one nf_tables batch, either the
 * whole table or the difference between two images.
 *
 * The objects and expressions are the ones nft itself generates for the
 * text of nft_render.c (nft --debug=netlink shows them), set userdata
 * included, so `nft list table inet podwall` prints the same whichever
 * way the table was loaded; tests/netns/apply.sh compares the two. A
 * batch is one transaction: the kernel commits all of it or nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <sys/socket.h>

#include "nft_image.h"
#include "nft_netlink.h"
#include "nlkeep.h"
#include "util.h"

/* nft's datatype numbers (src/datatype.h), 6 bits per concatenated
 * field. */
enum {
	DT_VERDICT = 1,
	DT_IPADDR = 7,
	DT_IP6ADDR = 8,
	DT_INET_PROTO = 12,
	DT_INET_SERVICE = 13,
	DT_ICMP6_TYPE = 29,
	DT_IFNAME = 41,
	DT_BITS = 6,
};

#define CONCAT2(a, b) ((a) << DT_BITS | (b))
#define CONCAT3(a, b, c) (CONCAT2(a, b) << DT_BITS | (c))

/*
 * Set userdata exactly as nft 1.0.6 writes it for these declarations
 * (read back from sets it made): key byte order, and for maps the data
 * byte order and data interval flag; nft reads them when listing.
 */
static const uint8_t ud_addr[] = { 0, 4, 2, 0, 0, 0 };
static const uint8_t ud_ifname[] = { 0, 4, 1, 0, 0, 0 };
static const uint8_t ud_concat[] = { 0, 4, 0,  0, 0, 0, 3, 8,
				     0, 4, 13, 0, 0, 0, 1, 0 };
static const uint8_t ud_vmap[] = { 0, 4, 2, 0, 0, 0, 1, 4, 0,
				   0, 0, 0, 6, 4, 0, 0, 0, 0 };
static const uint8_t ud_concat_vmap[] = { 0, 4, 0, 0, 0, 0, 1,	4, 0, 0,
					  0, 0, 3, 8, 0, 4, 13, 0, 0, 0,
					  1, 0, 6, 4, 0, 0, 0,	0 };
static const uint8_t ud_icmp6[] = {
	0, 4,  2, 0, 0,	 0, 3, 20, 0, 4, 7, 0, 0, 0,
	1, 12, 0, 4, 14, 0, 0, 0,  1, 4, 1, 0, 0, 0
};

static const struct setspec {
	uint32_t flags, ktype, klen;
	uint8_t fields[3]; /* NFTA_SET_DESC_CONCAT, 0: none */
	const uint8_t *udata;
	uint32_t udlen;
	bool map;
} specs[PW_SK_NR] = {
#define SPEC(f, kt, kl, ud, ...)                                          \
	{                                                                 \
		.flags = (f), .ktype = (kt), .klen = (kl), .udata = (ud), \
		.udlen = sizeof(ud), __VA_ARGS__                          \
	}
	[PW_SK_IVAL_V4] = SPEC(NFT_SET_INTERVAL, DT_IPADDR, 4, ud_addr),
	[PW_SK_IVAL_V6] = SPEC(NFT_SET_INTERVAL, DT_IP6ADDR, 16, ud_addr),
	[PW_SK_ADDR_V4] = SPEC(0, DT_IPADDR, 4, ud_addr),
	[PW_SK_ADDR_V6] = SPEC(0, DT_IP6ADDR, 16, ud_addr),
	[PW_SK_PAIR_V4] = SPEC(0, CONCAT2(DT_IPADDR, DT_IPADDR), 8, ud_concat),
	[PW_SK_PAIR_V6] =
		SPEC(0, CONCAT2(DT_IP6ADDR, DT_IP6ADDR), 32, ud_concat),
	[PW_SK_PORTS_V4] =
		SPEC(NFT_SET_INTERVAL | NFT_SET_CONCAT,
		     CONCAT3(DT_IPADDR, DT_INET_PROTO, DT_INET_SERVICE), 12,
		     ud_concat, .fields = { 4, 1, 2 }),
	[PW_SK_PORTS_V6] =
		SPEC(NFT_SET_INTERVAL | NFT_SET_CONCAT,
		     CONCAT3(DT_IP6ADDR, DT_INET_PROTO, DT_INET_SERVICE), 24,
		     ud_concat, .fields = { 16, 1, 2 }),
	[PW_SK_VMAP_V4] = SPEC(NFT_SET_MAP, DT_IPADDR, 4, ud_vmap, .map = true),
	[PW_SK_VMAP_V6] =
		SPEC(NFT_SET_MAP, DT_IP6ADDR, 16, ud_vmap, .map = true),
	[PW_SK_IFNAME] = SPEC(0, DT_IFNAME, 16, ud_ifname),
	[PW_SK_IFVMAP_V4] = SPEC(NFT_SET_MAP, CONCAT2(DT_IFNAME, DT_IPADDR), 20,
				 ud_concat_vmap, .map = true),
	[PW_SK_IFVMAP_V6] = SPEC(NFT_SET_MAP, CONCAT2(DT_IFNAME, DT_IP6ADDR),
				 32, ud_concat_vmap, .map = true),
#undef SPEC
};

/* Bits of ct state (NF_CT_STATE_BIT of the conntrack states). */
enum {
	CT_ESTABLISHED = 1 << 1,
	CT_RELATED = 1 << 2,
};

/* Userdata TLVs of elements and chains (libnftnl udata.h numbers). */
enum {
	UD_ELEM_COMMENT = 0,
	UD_ELEM_FLAGS = 1,
	UD_CHAIN_COMMENT = 0,
	ELEM_F_INTERVAL_OPEN = 1,
};

/* Elements per NEWSETELEM message: well under a netlink message's room. */
#define ELEMS_PER_MSG 256u

/* ---- the batch ------------------------------------------------------ */

struct pw_nl_batch {
	struct nftnl_batch *b;
	uint32_t seq;
	uint32_t set_id;
	struct nlmsghdr *last; /* asks for the ack that ends the answer */
	int err; /* first error while building */
};

static struct nlmsghdr *hdr(struct pw_nl_batch *bt, uint16_t type,
			    uint16_t flags)
{
	bt->last = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(bt->b), type,
					 NFPROTO_INET, flags, bt->seq++);
	return bt->last;
}

static void next(struct pw_nl_batch *bt)
{
	if (nftnl_batch_update(bt->b) < 0 && !bt->err)
		bt->err = -ENOMEM;
}

int pw_nl_batch_init(struct pw_nl_batch **out)
{
	struct pw_nl_batch *bt = calloc(1, sizeof(*bt));

	*out = NULL;
	if (!bt)
		return -ENOMEM;
	bt->b = nftnl_batch_alloc(1u << 20, 1u << 20);
	if (!bt->b) {
		free(bt);
		return -ENOMEM;
	}
	bt->seq = (uint32_t)time(NULL);
	nftnl_batch_begin(nftnl_batch_buffer(bt->b), bt->seq++);
	next(bt);
	*out = bt;
	return 0;
}

void pw_nl_batch_fail(struct pw_nl_batch *bt, int err)
{
	if (!bt->err)
		bt->err = err;
}

void pw_nl_batch_free(struct pw_nl_batch *bt)
{
	if (!bt)
		return;
	nftnl_batch_free(bt->b);
	free(bt);
}

static void put_table(struct pw_nl_batch *bt, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t) {
		bt->err = -ENOMEM;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, PW_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_nlmsg_build_payload(hdr(bt, type, flags), t);
	nftnl_table_free(t);
	next(bt);
}

void pw_nl_table_new(struct pw_nl_batch *bt)
{
	put_table(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE);
}

void pw_nl_table_del(struct pw_nl_batch *bt)
{
	put_table(bt, NFT_MSG_DELTABLE, 0);
}

/* ---- chains --------------------------------------------------------- */

static const struct {
	uint32_t hooknum;
	const char *name;
} base_hooks[] = {
	[PW_CK_FORWARD] = { NF_INET_FORWARD, "forward" },
	[PW_CK_INPUT] = { NF_INET_LOCAL_IN, "input" },
};

static struct nftnl_chain *chain_obj(const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, PW_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	return c;
}

/* A TLV: type, length, value (what libnftnl's udata.h writes). */
static size_t put_tlv(uint8_t *p, uint8_t type, const void *v, size_t len)
{
	p[0] = type;
	p[1] = (uint8_t)len;
	memcpy(p + 2, v, len);
	return len + 2;
}

void pw_nl_chain_add(struct pw_nl_batch *bt, const struct pw_nft_chain *ch)
{
	struct nftnl_chain *c = chain_obj(ch->name);
	uint8_t ud[PW_NFT_COMMENT_MAX + 4];

	if (!c) {
		bt->err = -ENOMEM;
		return;
	}
	if (ch->kind == PW_CK_FORWARD || ch->kind == PW_CK_INPUT) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM,
				    base_hooks[ch->kind].hooknum);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	if (ch->comment && strlen(ch->comment) < PW_NFT_COMMENT_MAX)
		nftnl_chain_set_data(
			c, NFTNL_CHAIN_USERDATA, ud,
			(uint32_t)put_tlv(ud, UD_CHAIN_COMMENT, ch->comment,
					  strlen(ch->comment) + 1));
	nftnl_chain_nlmsg_build_payload(
		hdr(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL), c);
	nftnl_chain_free(c);
	next(bt);
}

void pw_nl_chain_del(struct pw_nl_batch *bt, const char *name)
{
	struct nftnl_chain *c = chain_obj(name);

	if (!c) {
		bt->err = -ENOMEM;
		return;
	}
	nftnl_chain_nlmsg_build_payload(hdr(bt, NFT_MSG_DELCHAIN, 0), c);
	nftnl_chain_free(c);
	next(bt);
}

/* Deleting the rules of a chain: DELRULE naming the chain alone. */
void pw_nl_chain_flush(struct pw_nl_batch *bt, const char *name)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		bt->err = -ENOMEM;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, PW_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_nlmsg_build_payload(hdr(bt, NFT_MSG_DELRULE, 0), r);
	nftnl_rule_free(r);
	next(bt);
}

/* ---- sets and elements ---------------------------------------------- */

static struct nftnl_set *set_obj(const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, PW_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
}

static void set_spec(struct nftnl_set *s, const struct setspec *sp)
{
	uint32_t nf = 0;

	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, sp->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, sp->ktype);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sp->klen);
	if (sp->map)
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	while (nf < 3 && sp->fields[nf])
		nf++;
	if (nf)
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, sp->fields, nf);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, sp->udata, sp->udlen);
}

void pw_nl_set_add(struct pw_nl_batch *bt, const struct pw_nft_set *set)
{
	struct nftnl_set *s = set_obj(set->name);

	if (!s) {
		bt->err = -ENOMEM;
		return;
	}
	set_spec(s, &specs[set->kind]);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++bt->set_id);
	nftnl_set_nlmsg_build_payload(
		hdr(bt, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL), s);
	nftnl_set_free(s);
	next(bt);
}

void pw_nl_set_del(struct pw_nl_batch *bt, const char *name)
{
	struct nftnl_set *s = set_obj(name);

	if (!s) {
		bt->err = -ENOMEM;
		return;
	}
	nftnl_set_nlmsg_build_payload(hdr(bt, NFT_MSG_DELSET, 0), s);
	nftnl_set_free(s);
	next(bt);
}

static const int elem_verdicts[] = {
	[PW_NFT_V_NONE] = 0,
	[PW_NFT_V_JUMP] = NFT_JUMP,
	[PW_NFT_V_GOTO] = NFT_GOTO,
	[PW_NFT_V_RETURN] = NFT_RETURN,
};

/* ---- named counters ------------------------------------------------ */

static void put_counter(struct pw_nl_batch *bt, const char *name, bool add)
{
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (!o) {
		bt->err = -ENOMEM;
		return;
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, PW_NFT_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	if (add) {
		/* The kernel wants the object's data, even when zero. */
		nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_PKTS, 0);
		nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_BYTES, 0);
	}
	nftnl_obj_nlmsg_build_payload(hdr(bt,
					  add ? NFT_MSG_NEWOBJ : NFT_MSG_DELOBJ,
					  add ? NLM_F_CREATE | NLM_F_EXCL : 0),
				      o);
	nftnl_obj_free(o);
	next(bt);
}

void pw_nl_counter_add(struct pw_nl_batch *bt, const char *name)
{
	put_counter(bt, name, true);
}

void pw_nl_counter_del(struct pw_nl_batch *bt, const char *name)
{
	put_counter(bt, name, false);
}

static struct nftnl_set_elem *elem_obj(const struct pw_nft_elem *e)
{
	struct nftnl_set_elem *x = nftnl_set_elem_alloc();
	uint8_t ud[PW_NFT_COMMENT_MAX + 16];
	uint32_t open = ELEM_F_INTERVAL_OPEN;
	size_t n = 0;

	if (!x)
		return NULL;
	nftnl_set_elem_set(x, NFTNL_SET_ELEM_KEY, e->key, e->klen);
	if (e->has_kend)
		nftnl_set_elem_set(x, NFTNL_SET_ELEM_KEY_END, e->kend, e->klen);
	if (e->interval_end)
		nftnl_set_elem_set_u32(x, NFTNL_SET_ELEM_FLAGS,
				       NFT_SET_ELEM_INTERVAL_END);
	if (e->verdict)
		nftnl_set_elem_set_u32(x, NFTNL_SET_ELEM_VERDICT,
				       (uint32_t)elem_verdicts[e->verdict]);
	if (e->jump)
		nftnl_set_elem_set_str(x, NFTNL_SET_ELEM_CHAIN, e->jump);
	if (e->comment && strlen(e->comment) < PW_NFT_COMMENT_MAX)
		n += put_tlv(ud, UD_ELEM_COMMENT, e->comment,
			     strlen(e->comment) + 1);
	if (e->open)
		n += put_tlv(ud + n, UD_ELEM_FLAGS, &open, sizeof(open));
	if (n)
		nftnl_set_elem_set(x, NFTNL_SET_ELEM_USERDATA, ud, (uint32_t)n);
	return x;
}

/* Elements v[0..n) of set name, ELEMS_PER_MSG to a message. */
void pw_nl_elems(struct pw_nl_batch *bt, bool add, const char *name,
		 const struct pw_nft_elem *const *v, size_t n)
{
	for (size_t at = 0; at < n && !bt->err; at += ELEMS_PER_MSG) {
		struct nftnl_set *s = set_obj(name);
		size_t end = at + ELEMS_PER_MSG < n ? at + ELEMS_PER_MSG : n;

		for (size_t i = at; s && i < end; i++) {
			struct nftnl_set_elem *x = elem_obj(v[i]);

			if (!x) {
				bt->err = -ENOMEM;
				break;
			}
			nftnl_set_elem_add(s, x);
		}
		if (!s || bt->err) {
			bt->err = -ENOMEM;
			nftnl_set_free(s);
			return;
		}
		nftnl_set_elems_nlmsg_build_payload(
			hdr(bt, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			    add ? NLM_F_CREATE : 0),
			s);
		nftnl_set_free(s);
		next(bt);
	}
}

/* ---- rules ---------------------------------------------------------- */

/* Registers as nft allocates them: 16-byte NFT_REG_1.., and 4-byte
 * NFT_REG32_00.. for the fields of a concatenation. */
enum {
	R1 = NFT_REG_1,
	R2 = NFT_REG_2,
	R32_1 = NFT_REG32_01,
	R32_2 = NFT_REG32_02,
	R32_5 = NFT_REG32_05,
};

struct rb {
	struct nftnl_rule *r;
	bool oom;
};

static struct nftnl_expr *ex(struct rb *rb, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		rb->oom = true;
	else
		nftnl_rule_add_expr(rb->r, e);
	return e;
}

static void meta(struct rb *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = ex(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void cmp(struct rb *rb, uint32_t op, const void *v, uint32_t len)
{
	struct nftnl_expr *e = ex(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, R1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, v, len);
}

static void payload(struct rb *rb, uint32_t base, uint32_t off, uint32_t len,
		    uint32_t dreg)
{
	struct nftnl_expr *e = ex(rb, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void lookup(struct rb *rb, const char *set, uint32_t set_id, bool vmap,
		   bool inv)
{
	struct nftnl_expr *e = ex(rb, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, R1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (set_id)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	if (vmap)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS,
				   NFT_LOOKUP_F_INV);
}

static void verdict(struct rb *rb, int v)
{
	struct nftnl_expr *e = ex(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
}

static void jump_to(struct rb *rb, int v, const char *chain)
{
	struct nftnl_expr *e = ex(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

/* counter name "<c>" */
static void named_counter(struct rb *rb, enum pw_nft_counter c)
{
	struct nftnl_expr *e = ex(rb, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME,
			   pw_nft_counter_names[c]);
}

/* log prefix "<prefix of c>" group <group> */
static void log_to(struct rb *rb, enum pw_nft_counter c, uint16_t group)
{
	struct nftnl_expr *e = ex(rb, "log");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, pw_nft_log_prefixes[c]);
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
}

/* counter name "<c>" [log ...] drop: a drop of check c. */
static void counted_drop(struct rb *rb, const struct pw_nft_image *img,
			 enum pw_nft_counter c)
{
	named_counter(rb, c);
	if (img->flow_log & PW_FLOW_LOG_DENIED)
		log_to(rb, c, img->flow_group);
	verdict(rb, NF_DROP);
}

/* meta nfproto ipv4/ipv6: the dependency nft adds in an inet table. */
static void nfproto(struct rb *rb, enum pw_fam f)
{
	uint8_t p = f == PW_FAM_V6 ? NFPROTO_IPV6 : NFPROTO_IPV4;

	meta(rb, NFT_META_NFPROTO, R1);
	cmp(rb, NFT_CMP_EQ, &p, 1);
}

/* Offsets of saddr / daddr in the network header. */
static uint32_t addr_off(enum pw_fam f, bool daddr)
{
	if (f == PW_FAM_V6)
		return daddr ? 24 : 8;
	return daddr ? 16 : 12;
}

static uint32_t alen(enum pw_fam f)
{
	return f == PW_FAM_V6 ? 16 : 4;
}

static void load_addr(struct rb *rb, enum pw_fam f, bool daddr, uint32_t reg)
{
	payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_off(f, daddr), alen(f),
		reg);
}

/* R1 = (R1 & mask) ^ xor, on 4 bytes in host order (ct state, mark). */
static void bitwise(struct rb *rb, uint32_t mask, uint32_t xor)
{
	struct nftnl_expr *e = ex(rb, "bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, R1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, R1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, 4);
}

/* ct <key> into R1 (dir NFTNL_EXPR_CT_DREG), or set from R1 (_SREG). */
static void ct_reg(struct rb *rb, uint32_t key, uint16_t dir)
{
	struct nftnl_expr *e = ex(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, dir, R1);
}

static void ct_established(struct rb *rb)
{
	uint32_t zero = 0;

	ct_reg(rb, NFT_CT_STATE, NFTNL_EXPR_CT_DREG);
	bitwise(rb, CT_ESTABLISHED | CT_RELATED, 0);
	cmp(rb, NFT_CMP_NEQ, &zero, 4);
	verdict(rb, NF_ACCEPT);
}

/* ct mark and <mask> == <gen> accept: admitted by this generation. */
static void ct_cached(struct rb *rb, uint32_t mask, uint32_t gen)
{
	ct_reg(rb, NFT_CT_MARK, NFTNL_EXPR_CT_DREG);
	bitwise(rb, mask, 0);
	cmp(rb, NFT_CMP_EQ, &gen, 4);
	verdict(rb, NF_ACCEPT);
}

/* ct mark set ct mark and ~<mask> or <gen>: the other bits kept. */
static void ct_stamp(struct rb *rb, uint32_t mask, uint32_t gen)
{
	ct_reg(rb, NFT_CT_MARK, NFTNL_EXPR_CT_DREG);
	bitwise(rb, ~mask, gen);
	ct_reg(rb, NFT_CT_MARK, NFTNL_EXPR_CT_SREG);
}

static struct nftnl_rule *rule_obj(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, PW_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

static void rule_begin(struct rb *rb, const char *chain)
{
	rb->r = rule_obj(chain);
	rb->oom = !rb->r;
}

static void rule_end(struct pw_nl_batch *bt, struct rb *rb)
{
	if (rb->oom) {
		bt->err = -ENOMEM;
	} else {
		nftnl_rule_nlmsg_build_payload(hdr(bt, NFT_MSG_NEWRULE,
						   NLM_F_APPEND | NLM_F_CREATE |
							   NLM_F_EXCL),
					       rb->r);
		next(bt);
	}
	nftnl_rule_free(rb->r);
	rb->r = NULL;
}

/* icmpv6 type { nd-* } accept, with its anonymous constant set. */
static void nd_accept(struct pw_nl_batch *bt, const char *chain)
{
	static const uint8_t types[] = { 133, 134, 135, 136, 137 };
	struct nftnl_set *s = set_obj("__set%d");
	struct nftnl_set_elem *x;
	uint8_t l4 = 58;
	uint32_t id = ++bt->set_id;
	struct rb rb;

	if (!s) {
		bt->err = -ENOMEM;
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
			  NFT_SET_ANONYMOUS | NFT_SET_CONSTANT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, DT_ICMP6_TYPE);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 1);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, PW_ARRAY_SIZE(types));
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, ud_icmp6, sizeof(ud_icmp6));
	nftnl_set_nlmsg_build_payload(
		hdr(bt, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL), s);
	next(bt);
	for (size_t i = 0; i < PW_ARRAY_SIZE(types); i++) {
		x = nftnl_set_elem_alloc();
		if (!x) {
			bt->err = -ENOMEM;
			break;
		}
		nftnl_set_elem_set(x, NFTNL_SET_ELEM_KEY, &types[i], 1);
		nftnl_set_elem_add(s, x);
	}
	nftnl_set_elems_nlmsg_build_payload(
		hdr(bt, NFT_MSG_NEWSETELEM, NLM_F_CREATE), s);
	next(bt);
	nftnl_set_free(s);

	rule_begin(&rb, chain);
	nfproto(&rb, PW_FAM_V6);
	meta(&rb, NFT_META_L4PROTO, R1);
	cmp(&rb, NFT_CMP_EQ, &l4, 1);
	payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, R1);
	lookup(&rb, "__set%d", id, false, false);
	verdict(&rb, NF_ACCEPT);
	rule_end(bt, &rb);
}

static const char *const sfx[PW_FAM_NR] = { "v4", "v6" };

/* ip saddr @pod_ranges_v4 ip saddr != @pods_v4 counter name ... drop */
static void fail_closed(struct pw_nl_batch *bt, const struct pw_nft_image *img,
			const char *chain, enum pw_fam f, bool daddr)
{
	char ranges[32], pods[32];
	struct rb rb;

	snprintf(ranges, sizeof(ranges), "pod_ranges_%s", sfx[f]);
	snprintf(pods, sizeof(pods), "pods_%s", sfx[f]);
	rule_begin(&rb, chain);
	nfproto(&rb, f);
	load_addr(&rb, f, daddr, R1);
	lookup(&rb, ranges, 0, false, false);
	load_addr(&rb, f, daddr, R1);
	lookup(&rb, pods, 0, false, true);
	counted_drop(&rb, img, PW_CNT_DENIED_UNKNOWN);
	rule_end(bt, &rb);
}

/* ip saddr vmap @egress_v4 (local = saddr) or ip daddr vmap @ingress_v4 */
static void vmap_rule(struct pw_nl_batch *bt, const char *chain, enum pw_fam f,
		      bool ingress)
{
	char map[32];
	struct rb rb;

	snprintf(map, sizeof(map), "%s_%s", ingress ? "ingress" : "egress",
		 sfx[f]);
	rule_begin(&rb, chain);
	nfproto(&rb, f);
	load_addr(&rb, f, ingress, R1);
	lookup(&rb, map, 0, true, false);
	rule_end(bt, &rb);
}

/* ip saddr . ip daddr @self_v4 accept */
static void self_rule(struct pw_nl_batch *bt, const char *chain, enum pw_fam f)
{
	char set[32];
	struct rb rb;

	snprintf(set, sizeof(set), "self_%s", sfx[f]);
	rule_begin(&rb, chain);
	nfproto(&rb, f);
	load_addr(&rb, f, false, R1);
	load_addr(&rb, f, true, f == PW_FAM_V6 ? R2 : R32_1);
	lookup(&rb, set, 0, false, false);
	verdict(&rb, NF_ACCEPT);
	rule_end(bt, &rb);
}

/* iifname . ip saddr vmap @egress_if_v4, then
 * iifname @pod_ifaces counter name "denied_spoof" drop */
static void anti_spoof(struct pw_nl_batch *bt, const struct pw_nft_image *img,
		       const char *chain, enum pw_fam f)
{
	char map[32];
	struct rb rb;

	snprintf(map, sizeof(map), "egress_if_%s", sfx[f]);
	rule_begin(&rb, chain);
	nfproto(&rb, f);
	meta(&rb, NFT_META_IIFNAME, R1);
	load_addr(&rb, f, false, R2);
	lookup(&rb, map, 0, true, false);
	rule_end(bt, &rb);

	rule_begin(&rb, chain);
	meta(&rb, NFT_META_IIFNAME, R1);
	lookup(&rb, "pod_ifaces", 0, false, false);
	counted_drop(&rb, img, PW_CNT_DENIED_SPOOF);
	rule_end(bt, &rb);
}

/* ct state established,related accept, then the verdict cache's hit */
static void ct_rules(struct pw_nl_batch *bt, const struct pw_nft_image *img,
		     const char *chain)
{
	struct rb rb;

	rule_begin(&rb, chain);
	ct_established(&rb);
	rule_end(bt, &rb);
	if (!img->ct_mask)
		return;
	rule_begin(&rb, chain);
	ct_cached(&rb, img->ct_mask, img->ct_gen);
	rule_end(bt, &rb);
}

/* meta nfproto ipv4 goto <prefix>_v4, and the same for ipv6; with the
 * verdict cache, jumps, and the stamp of what they return. */
static void dispatch(struct pw_nl_batch *bt, const struct pw_nft_image *img,
		     const char *chain, const char *prefix)
{
	char to[32];
	struct rb rb;

	for (int f = 0; f < PW_FAM_NR; f++) {
		snprintf(to, sizeof(to), "%s_%s", prefix, sfx[f]);
		rule_begin(&rb, chain);
		nfproto(&rb, (enum pw_fam)f);
		jump_to(&rb, img->ct_mask ? NFT_JUMP : NFT_GOTO, to);
		rule_end(bt, &rb);
	}
	if (!img->ct_mask)
		return;
	rule_begin(&rb, chain);
	ct_stamp(&rb, img->ct_mask, img->ct_gen);
	rule_end(bt, &rb);
}

static void lo_accept(struct pw_nl_batch *bt)
{
	uint32_t lo = 1; /* the loopback device is ifindex 1 in any netns */
	struct rb rb;

	rule_begin(&rb, "input");
	meta(&rb, NFT_META_IIF, R1);
	cmp(&rb, NFT_CMP_EQ, &lo, 4);
	verdict(&rb, NF_ACCEPT);
	rule_end(bt, &rb);
}

/* fwd_v4: jump src_v4, ip daddr vmap @ingress_v4, fail-closed daddr */
static void fwd_rules(struct pw_nl_batch *bt, const struct pw_nft_image *img,
		      const char *chain, enum pw_fam f)
{
	char to[32];
	struct rb rb;

	snprintf(to, sizeof(to), "src_%s", sfx[f]);
	rule_begin(&rb, chain);
	jump_to(&rb, NFT_JUMP, to);
	rule_end(bt, &rb);
	vmap_rule(bt, chain, f, true);
	fail_closed(bt, img, chain, f, true);
}

/* src_v4: [ND,] egress_if + spoof, egress vmap, fail-closed saddr */
static void src_rules(struct pw_nl_batch *bt, const struct pw_nft_image *img,
		      const char *chain, enum pw_fam f)
{
	if (f == PW_FAM_V6)
		nd_accept(bt, chain);
	anti_spoof(bt, img, chain, f);
	vmap_rule(bt, chain, f, false);
	fail_closed(bt, img, chain, f, false);
}

/* <peer> . meta l4proto . th dport @<chain>_ports_v4 <verdict> */
static void class_ports(struct rb *rb, enum pw_fam f, bool peer_daddr)
{
	uint32_t r_proto = f == PW_FAM_V6 ? R2 : R32_1;
	uint32_t r_port = f == PW_FAM_V6 ? R32_5 : R32_2;
	struct nftnl_expr *e;

	load_addr(rb, f, peer_daddr, R1);
	meta(rb, NFT_META_L4PROTO, r_proto);
	e = ex(rb, "byteorder");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, r_proto);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, r_proto);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP,
				   NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	}
	payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, r_port);
}

/* [counter name "allowed_<dir>"] [log ...] before an admitting verdict */
static void admitted(struct rb *rb, const struct pw_nft_image *img, bool in)
{
	enum pw_nft_counter c = in ? PW_CNT_ALLOWED_INGRESS :
				     PW_CNT_ALLOWED_EGRESS;

	if (img->counters & (1u << c))
		named_counter(rb, c);
	if (img->flow_log & PW_FLOW_LOG_ALLOWED)
		log_to(rb, c, img->flow_group);
}

static void class_rules(struct pw_nl_batch *bt, const struct pw_nft_image *img,
			const struct pw_nft_chain *ch)
{
	bool in = ch->kind == PW_CK_CLASS_IN;
	char set[2 * PW_NFT_NAME_MAX];
	struct rb rb;

	for (int f = 0; f < PW_FAM_NR; f++) {
		for (int ports = 1; ports >= 0; ports--) {
			unsigned bit = (ports ? PW_CR_PORTS_V4 : PW_CR_ADDR_V4)
				       << (2 * f);

			if (!(ch->mask & bit))
				continue;
			snprintf(set, sizeof(set), "%s%s_%s", ch->name,
				 ports ? "_ports" : "", sfx[f]);
			rule_begin(&rb, ch->name);
			nfproto(&rb, (enum pw_fam)f);
			if (ports)
				class_ports(&rb, (enum pw_fam)f, !in);
			else
				load_addr(&rb, (enum pw_fam)f, !in, R1);
			lookup(&rb, set, 0, false, false);
			admitted(&rb, img, in);
			verdict(&rb, NFT_RETURN);
			rule_end(bt, &rb);
		}
	}
	for (int f = 0; f < PW_FAM_NR; f++)
		self_rule(bt, ch->name, (enum pw_fam)f);
	rule_begin(&rb, ch->name);
	counted_drop(&rb, img,
		     in ? PW_CNT_DENIED_INGRESS : PW_CNT_DENIED_EGRESS);
	rule_end(bt, &rb);
}

/* Rules of each kind of chain (nft_render.c's base_chains): forward: ct,
 * 2 dispatch; input: ct, lo, 2 dispatch (both + cache hit and stamp with
 * the verdict cache); fwd_v*: jump, vmap, fail-closed; src_v4:
 * egress_if, spoof, vmap, fail-closed (src_v6: ND first); a class chain:
 * one lookup per set, 2 self, the drop. Must match pw_nl_chain_rules (the
 * read-back test of apply.sh fails else). */
size_t pw_nl_rule_count(const struct pw_nft_image *img,
			const struct pw_nft_chain *ch)
{
	static const size_t fixed[] = {
		[PW_CK_FORWARD] = 3, [PW_CK_INPUT] = 4,	 [PW_CK_FWD_V4] = 3,
		[PW_CK_FWD_V6] = 3,  [PW_CK_SRC_V4] = 4, [PW_CK_SRC_V6] = 5,
	};
	bool base = ch->kind == PW_CK_FORWARD || ch->kind == PW_CK_INPUT;

	if (ch->kind == PW_CK_CLASS_IN || ch->kind == PW_CK_CLASS_EG)
		return (size_t)__builtin_popcount(ch->mask) + 3;
	return fixed[ch->kind] + (base && img->ct_mask ? 2 : 0);
}

void pw_nl_chain_rules(struct pw_nl_batch *bt, const struct pw_nft_image *img,
		       const struct pw_nft_chain *ch)
{
	switch (ch->kind) {
	case PW_CK_FORWARD:
		ct_rules(bt, img, ch->name);
		dispatch(bt, img, ch->name, "fwd");
		break;
	case PW_CK_INPUT:
		ct_rules(bt, img, ch->name);
		lo_accept(bt);
		dispatch(bt, img, ch->name, "src");
		break;
	case PW_CK_FWD_V4:
	case PW_CK_FWD_V6:
		fwd_rules(bt, img, ch->name,
			  ch->kind == PW_CK_FWD_V4 ? PW_FAM_V4 : PW_FAM_V6);
		break;
	case PW_CK_SRC_V4:
	case PW_CK_SRC_V6:
		src_rules(bt, img, ch->name,
			  ch->kind == PW_CK_SRC_V4 ? PW_FAM_V4 : PW_FAM_V6);
		break;
	default:
		class_rules(bt, img, ch);
		break;
	}
}

/* ---- sending -------------------------------------------------------- */

/*
 * The kernel handles a batch inside sendmsg, so every answer is queued by
 * the time it returns: read without waiting until none is left, keeping
 * the kernel's first error in *first. 0, or -errno when reading failed
 * (answers may be left behind: the socket is not to be reused).
 */
static int recv_errors(struct mnl_socket *nl, int *first)
{
	char buf[65536];

	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf),
				 MSG_DONTWAIT);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_type == NLMSG_ERROR && e->error && !*first)
				*first = e->error;
		}
	}
}

/* Sends one batch on nl: 0 when nl can be reused; *first as above. */
static int send_on(struct mnl_socket *nl, struct iovec *iov, int niov, int size,
		   int *first)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct msghdr msg = {
		.msg_name = &sa,
		.msg_namelen = sizeof(sa),
		.msg_iov = iov,
		.msg_iovlen = (size_t)niov,
	};

	size += 65536;
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &size,
		   sizeof(size));
	if (sendmsg(mnl_socket_get_fd(nl), &msg, 0) < 0)
		return -errno;
	return recv_errors(nl, first);
}

static int send_iov(struct iovec *iov, int niov, int size)
{
	/* Kept open: closing it after a delete would wait (nlkeep.h). */
	struct mnl_socket *nl = pw_nlkeep_borrow(&pw_nft_sock);
	int ret, first = 0;

	if (!nl)
		return -errno;
	ret = send_on(nl, iov, niov, size, &first);
	pw_nlkeep_return(&pw_nft_sock, !ret);
	return ret ? ret : first;
}

bool pw_nl_batch_empty(const struct pw_nl_batch *bt)
{
	return !bt->last;
}

int pw_nl_batch_send(struct pw_nl_batch *bt)
{
	struct iovec *iov;
	int niov, ret, size = 0;

	if (bt->err)
		return bt->err;
	if (!bt->last)
		return 0;
	bt->last->nlmsg_flags |= NLM_F_ACK;
	nftnl_batch_end(nftnl_batch_buffer(bt->b), bt->seq++);
	next(bt);
	niov = nftnl_batch_iovec_len(bt->b);
	iov = calloc((size_t)niov, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	nftnl_batch_iovec(bt->b, iov, (uint32_t)niov);
	for (int i = 0; i < niov; i++)
		size += (int)iov[i].iov_len;
	ret = send_iov(iov, niov, size);
	free(iov);
	return ret;
}
