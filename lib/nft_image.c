// SPDX-License-Identifier: Apache-2.0
/*
 * A ruleset as the kernel holds it: sets with encoded elements and chains
 * with their recipes (lib/nft_image.h). Objects come in the order nft
 * creates them for the text of nft_render.c, names are generated as
 * there, and elements are encoded as nft encodes them, so that a table
 * loaded from this image and one loaded from the text list the same.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nft_image.h"
#include "util.h"

static const char *const fam_sfx[PW_FAM_NR] = { "v4", "v6" };
static const char *const dir_chain[PW_DIR_NR] = {
	[PW_DIR_INGRESS] = "in",
	[PW_DIR_EGRESS] = "eg",
};
static const char *const dir_map[PW_DIR_NR] = {
	[PW_DIR_INGRESS] = "ingress",
	[PW_DIR_EGRESS] = "egress",
};

const char *const pw_nft_counter_names[PW_CNT_NR] = {
	[PW_CNT_DENIED_INGRESS] = "denied_ingress",
	[PW_CNT_DENIED_EGRESS] = "denied_egress",
	[PW_CNT_DENIED_UNKNOWN] = "denied_unknown",
	[PW_CNT_DENIED_SPOOF] = "denied_spoof",
	[PW_CNT_ALLOWED_INGRESS] = "allowed_ingress",
	[PW_CNT_ALLOWED_EGRESS] = "allowed_egress",
};

/* The contract with podwalld's flow log (docs/DATAPATH.md): fixed
 * strings, nothing from a manifest. */
const char *const pw_nft_log_prefixes[PW_CNT_NR] = {
	[PW_CNT_DENIED_INGRESS] = "podwall:denied:ingress",
	[PW_CNT_DENIED_EGRESS] = "podwall:denied:egress",
	[PW_CNT_DENIED_UNKNOWN] = "podwall:denied:unknown",
	[PW_CNT_DENIED_SPOOF] = "podwall:denied:spoof",
	[PW_CNT_ALLOWED_INGRESS] = "podwall:allowed:ingress",
	[PW_CNT_ALLOWED_EGRESS] = "podwall:allowed:egress",
};

#define DENIED_COUNTERS                                             \
	(1u << PW_CNT_DENIED_INGRESS | 1u << PW_CNT_DENIED_EGRESS | \
	 1u << PW_CNT_DENIED_UNKNOWN | 1u << PW_CNT_DENIED_SPOOF)
#define ALLOWED_COUNTERS \
	(1u << PW_CNT_ALLOWED_INGRESS | 1u << PW_CNT_ALLOWED_EGRESS)

/*
 * The allowed counters sit on the path of every admitted new packet (every
 * packet of an unanswered UDP flow): measured, about one expression's
 * cost per class check, 0-2 % of the per-packet rate (configuration E of
 * bench/datapath.sh, docs/BENCHMARKS.md), which the fast path cannot
 * spare; so they are there with the allowed flow log only.
 */
unsigned pw_nft_counters(unsigned flow_log)
{
	return DENIED_COUNTERS |
	       (flow_log & PW_FLOW_LOG_ALLOWED ? ALLOWED_COUNTERS : 0);
}

/* No padding in an element: the diff compares whole arrays with memcmp. */
_Static_assert(sizeof(struct pw_nft_elem) ==
		       2 * PW_NFT_KEY_MAX + 8 + 2 * sizeof(char *),
	       "struct pw_nft_elem has padding");

#define IFNAMSIZ_ 16 /* IFNAMSIZ, without <net/if.h> */

static size_t fam_len(enum pw_fam f)
{
	return f == PW_FAM_V6 ? 16 : 4;
}

/* Big-endian, as the address sits in the packet. */
static void put_addr(uint8_t *p, pw_u128 v, enum pw_fam f)
{
	for (size_t i = fam_len(f); i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- growing arrays ------------------------------------------------- */

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*v, ncap * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

int pw_nft_set_push(struct pw_nft_set *s, struct pw_nft_elem *e)
{
	if (grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)))
		return -ENOMEM;
	s->sealed = false;
	s->v[s->n++] = *e;
	e->jump = e->comment = NULL;
	return 0;
}

struct pw_nft_set *pw_nft_image_add_set(struct pw_nft_image *img,
					const char *name,
					enum pw_nft_setkind kind)
{
	struct pw_nft_set *s;

	if (grow((void **)&img->sets, &img->cap_sets, img->nsets,
		 sizeof(*img->sets)))
		return NULL;
	s = &img->sets[img->nsets++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->kind = kind;
	return s;
}

struct pw_nft_chain *pw_nft_image_add_chain(struct pw_nft_image *img,
					    const char *name,
					    enum pw_nft_chainkind kind,
					    unsigned mask, const char *comment)
{
	struct pw_nft_chain *c;
	char *dup = NULL;

	if (comment && *comment && !(dup = pw_strdup(comment)))
		return NULL;
	if (grow((void **)&img->chains, &img->cap_chains, img->nchains,
		 sizeof(*img->chains))) {
		free(dup);
		return NULL;
	}
	c = &img->chains[img->nchains++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->kind = kind;
	c->mask = mask;
	c->comment = dup;
	return c;
}

void pw_nft_image_release(struct pw_nft_image *img)
{
	for (size_t i = 0; i < img->nsets; i++) {
		for (size_t j = 0; j < img->sets[i].n; j++) {
			free(img->sets[i].v[j].jump);
			free(img->sets[i].v[j].comment);
		}
		free(img->sets[i].v);
	}
	for (size_t i = 0; i < img->nchains; i++)
		free(img->chains[i].comment);
	for (int d = 0; d < PW_DIR_NR; d++)
		free(img->cls_first[d]);
	free(img->sets);
	free(img->chains);
	memset(img, 0, sizeof(*img));
}

/* ---- comparing ------------------------------------------------------ */

static int strcmp_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

int pw_nft_elem_cmp(const struct pw_nft_elem *a, const struct pw_nft_elem *b)
{
	size_t n = a->klen > b->klen ? a->klen : b->klen; /* zero beyond */
	int r = memcmp(a->key, b->key, n);

	if (r)
		return r;
	if (a->interval_end != b->interval_end)
		return a->interval_end ? 1 : -1;
	if (a->has_kend || b->has_kend) {
		r = memcmp(a->kend, b->kend, n);
		if (r)
			return r;
		if (a->has_kend != b->has_kend)
			return a->has_kend - b->has_kend;
	}
	if (a->open != b->open)
		return a->open - b->open;
	if (a->verdict != b->verdict)
		return a->verdict - b->verdict;
	if (!a->jump && !b->jump && !a->comment && !b->comment)
		return 0;
	r = strcmp_null(a->jump, b->jump);
	return r ? r : strcmp_null(a->comment, b->comment);
}

static int elem_qsort(const void *a, const void *b)
{
	return pw_nft_elem_cmp(a, b);
}

/* The compiler's order is already the kernel's (big-endian keys), so
 * most sets are only checked. */
void pw_nft_set_sort(struct pw_nft_set *s)
{
	for (size_t i = 1; i < s->n; i++) {
		if (pw_nft_elem_cmp(&s->v[i - 1], &s->v[i]) > 0) {
			qsort(s->v, s->n, sizeof(*s->v), elem_qsort);
			s->sealed = false;
			return;
		}
	}
}

const struct pw_nft_set *pw_nft_image_set(const struct pw_nft_image *img,
					  const char *name)
{
	for (size_t i = 0; i < img->nsets; i++)
		if (!strcmp(img->sets[i].name, name))
			return &img->sets[i];
	return NULL;
}

const struct pw_nft_chain *pw_nft_image_chain(const struct pw_nft_image *img,
					      const char *name)
{
	for (size_t i = 0; i < img->nchains; i++)
		if (!strcmp(img->chains[i].name, name))
			return &img->chains[i];
	return NULL;
}

/* Which of <chain>_ports_v4, _v4, _ports_v6, _v6 exist: the rules the
 * class chain has (nft_render.c's class_chain). */
unsigned pw_nft_class_mask(const struct pw_nft_image *img, const char *chain)
{
	static const struct {
		const char *suffix;
		unsigned bit;
	} parts[] = {
		{ "_ports_v4", PW_CR_PORTS_V4 },
		{ "_v4", PW_CR_ADDR_V4 },
		{ "_ports_v6", PW_CR_PORTS_V6 },
		{ "_v6", PW_CR_ADDR_V6 },
	};
	char name[2 * PW_NFT_NAME_MAX];
	unsigned mask = 0;

	for (size_t i = 0; i < PW_ARRAY_SIZE(parts); i++) {
		snprintf(name, sizeof(name), "%s%s", chain, parts[i].suffix);
		if (pw_nft_image_set(img, name))
			mask |= parts[i].bit;
	}
	return mask;
}

/* ---- digests -------------------------------------------------------- */

/* SipHash-2-4 (Aumasson and Bernstein), fed in pieces. */
struct sip {
	uint64_t v[4];
	uint64_t tail; /* bytes not yet compressed, little-endian */
	unsigned ntail;
	uint64_t len;
};

static uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t *v)
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static void sip_word(struct sip *h, uint64_t m)
{
	h->v[3] ^= m;
	sip_round(h->v);
	sip_round(h->v);
	h->v[0] ^= m;
}

static void sip_init(struct sip *h, const uint64_t k[2])
{
	h->v[0] = k[0] ^ 0x736f6d6570736575ull;
	h->v[1] = k[1] ^ 0x646f72616e646f6dull;
	h->v[2] = k[0] ^ 0x6c7967656e657261ull;
	h->v[3] = k[1] ^ 0x7465646279746573ull;
	h->tail = 0;
	h->ntail = 0;
	h->len = 0;
}

static void sip_feed(struct sip *h, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t m;

	h->len += n;
	for (; n && h->ntail; n--, p++) {
		h->tail |= (uint64_t)*p << (8 * h->ntail);
		if (++h->ntail == 8) {
			sip_word(h, h->tail);
			h->tail = 0;
			h->ntail = 0;
		}
	}
	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&m, p, 8);
		sip_word(h, le64toh(m));
	}
	for (; n; n--, p++)
		h->tail |= (uint64_t)*p << (8 * h->ntail++);
}

static uint64_t sip_end(struct sip *h)
{
	sip_word(h, h->tail | h->len << 56);
	h->v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(h->v);
	return h->v[0] ^ h->v[1] ^ h->v[2] ^ h->v[3];
}

uint64_t pw_nft_siphash(const uint64_t k[2], const void *p, size_t n)
{
	struct sip h;

	sip_init(&h, k);
	sip_feed(&h, p, n);
	return sip_end(&h);
}

/* One key per process, so digests of two images compare. */
static uint64_t digest_key[2];
static bool digest_keyed;
static pthread_once_t digest_once = PTHREAD_ONCE_INIT;

static void digest_key_init(void)
{
	digest_keyed = getrandom(digest_key, sizeof(digest_key), 0) ==
		       (ssize_t)sizeof(digest_key);
}

/*
 * The bytes fed for an element form a prefix-free code, so a sequence of
 * elements has one reading: a fixed head, the key and end as long as the
 * head says, then 0, or 1 and both strings, each as 0 (none) or 1, its
 * bytes and its terminator (a string holds no NUL).
 */
static void sip_str(struct sip *h, const char *s)
{
	if (!s) {
		sip_feed(h, "", 1);
		return;
	}
	sip_feed(h, "\1", 1);
	sip_feed(h, s, strlen(s) + 1);
}

static void sip_elem(struct sip *h, const struct pw_nft_elem *e)
{
	uint8_t head[5] = { e->klen, e->has_kend, e->interval_end, e->open,
			    e->verdict };

	sip_feed(h, head, sizeof(head));
	sip_feed(h, e->key, e->klen);
	if (e->has_kend)
		sip_feed(h, e->kend, e->klen);
	if (e->jump || e->comment) {
		sip_feed(h, "\1", 1);
		sip_str(h, e->jump);
		sip_str(h, e->comment);
	} else {
		sip_feed(h, "", 1);
	}
}

static void seal_set(struct pw_nft_set *s)
{
	struct sip h;

	sip_init(&h, digest_key);
	for (size_t i = 0; i < s->n; i++)
		sip_elem(&h, &s->v[i]);
	s->digest = sip_end(&h);
	s->sealed = true;
}

static void seal_chain(struct pw_nft_chain *c)
{
	uint8_t kind = (uint8_t)c->kind;
	struct sip h;

	sip_init(&h, digest_key);
	sip_feed(&h, &kind, 1);
	sip_str(&h, c->comment && *c->comment ? c->comment : NULL);
	c->digest = sip_end(&h);
	c->sealed = true;
}

void pw_nft_image_seal(struct pw_nft_image *img)
{
	pthread_once(&digest_once, digest_key_init);
	for (size_t i = 0; i < img->nsets; i++) {
		if (img->sets[i].sealed)
			continue; /* copied whole from an image (set_copy) */
		pw_nft_set_sort(&img->sets[i]);
		if (digest_keyed)
			seal_set(&img->sets[i]);
	}
	for (size_t i = 0; i < img->nchains; i++)
		if (digest_keyed)
			seal_chain(&img->chains[i]);
}

bool pw_nft_set_same_digest(const struct pw_nft_set *a,
			    const struct pw_nft_set *b)
{
	return a->sealed && b->sealed && a->n == b->n && a->digest == b->digest;
}

bool pw_nft_chain_same_ident(const struct pw_nft_chain *a,
			     const struct pw_nft_chain *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->sealed && b->sealed)
		return a->digest == b->digest;
	return !strcmp_null(a->comment, b->comment);
}

/* ---- elements as nft encodes them ----------------------------------- */

static int push_key(struct pw_nft_set *s, pw_u128 v, enum pw_fam f, bool end,
		    bool open)
{
	struct pw_nft_elem e = { 0 };

	put_addr(e.key, v, f);
	e.klen = (uint8_t)fam_len(f);
	e.interval_end = end;
	e.open = open;
	return pw_nft_set_push(s, &e);
}

/*
 * An interval set (rbtree): each interval [lo, hi] is a start element lo
 * and an end element hi + 1 flagged INTERVAL_END; a set whose first
 * interval does not start at 0 begins with an end element at 0; an
 * interval reaching the top of the space has no end element and its
 * start is marked open instead (in the element's userdata).
 */
static int fill_ivals(struct pw_nft_set *s, const struct pw_ivals *iv,
		      enum pw_fam f)
{
	pw_u128 max = pw_fam_max(f);
	int ret = 0;

	if (iv->n && iv->v[0].lo)
		ret = push_key(s, 0, f, true, false);
	for (size_t i = 0; i < iv->n && !ret; i++) {
		ret = push_key(s, iv->v[i].lo, f, false, iv->v[i].hi == max);
		if (!ret && iv->v[i].hi != max)
			ret = push_key(s, iv->v[i].hi + 1, f, true, false);
	}
	return ret;
}

static int fill_addrs(struct pw_nft_set *s, const struct pw_addrs *a,
		      enum pw_fam f, bool pair)
{
	for (size_t i = 0; i < a->n; i++) {
		struct pw_nft_elem e = { 0 };
		size_t n = fam_len(f);

		put_addr(e.key, a->v[i], f);
		if (pair)
			put_addr(e.key + n, a->v[i], f);
		e.klen = (uint8_t)(pair ? 2 * n : n);
		if (pw_nft_set_push(s, &e))
			return -ENOMEM;
	}
	return 0;
}

/* addr . proto . port, each field in a 4-byte register. */
static void put_box(uint8_t *p, pw_u128 addr, uint8_t proto, uint16_t port,
		    enum pw_fam f)
{
	size_t n = fam_len(f);

	put_addr(p, addr, f);
	p[n] = proto;
	p[n + 4] = (uint8_t)(port >> 8);
	p[n + 5] = (uint8_t)port;
}

static int fill_boxes(struct pw_nft_set *s, const struct pw_boxes *b,
		      enum pw_fam f)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct pw_box *x = &b->v[i];
		struct pw_nft_elem e = { 0 };

		put_box(e.key, x->lo, x->proto, x->plo, f);
		put_box(e.kend, x->hi, x->proto, x->phi, f);
		e.klen = (uint8_t)(fam_len(f) + 8);
		e.has_kend = true;
		if (pw_nft_set_push(s, &e))
			return -ENOMEM;
	}
	return 0;
}

static int fill_vmap(struct pw_nft_set *s, const struct pw_nft_vmaps *m,
		     enum pw_dir d, enum pw_fam f)
{
	char chain[PW_NFT_NAME_MAX];

	for (size_t i = 0; i < m->n; i++) {
		struct pw_nft_elem e = { 0 };

		put_addr(e.key, m->v[i].addr, f);
		e.klen = (uint8_t)fam_len(f);
		snprintf(chain, sizeof(chain), PW_NFT_CLASS_FMT, dir_chain[d],
			 m->v[i].cls);
		e.jump = pw_strdup(chain);
		e.verdict = PW_NFT_V_GOTO;
		e.comment = *m->v[i].comment ? pw_strdup(m->v[i].comment) :
					       NULL;
		if (!e.jump || (*m->v[i].comment && !e.comment) ||
		    pw_nft_set_push(s, &e)) {
			free(e.jump);
			free(e.comment);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- the image of a ruleset ----------------------------------------- */

/* ifname . addr : goto the pod's egress class, or return when its egress
 * is not isolated (the destination is checked next). */
static int fill_ifsrc(struct pw_nft_set *s, const struct pw_ruleset *rs,
		      enum pw_fam f, const struct pw_nft_spoof *x)
{
	const struct pw_nft_vmap *m =
		pw_nft_vmap_find(&rs->vmap[PW_DIR_EGRESS][f], x->addr);
	struct pw_nft_elem e = { 0 };
	char chain[PW_NFT_NAME_MAX];

	memcpy(e.key, x->ifname, IFNAMSIZ_);
	put_addr(e.key + IFNAMSIZ_, x->addr, f);
	e.klen = (uint8_t)(IFNAMSIZ_ + fam_len(f));
	e.verdict = m ? PW_NFT_V_GOTO : PW_NFT_V_RETURN;
	if (m) {
		snprintf(chain, sizeof(chain), PW_NFT_CLASS_FMT, "eg", m->cls);
		e.jump = pw_strdup(chain);
		if (!e.jump)
			return -ENOMEM;
	}
	if (pw_nft_set_push(s, &e)) {
		free(e.jump);
		return -ENOMEM;
	}
	return 0;
}

/* Interface names are 16 bytes, NUL-padded, as the kernel loads them. */
static int fill_spoof(struct pw_nft_image *img, const struct pw_ruleset *rs)
{
	struct pw_nft_elem e = { 0 };
	const char **names;
	size_t n = pw_nft_ifnames(rs, &names);
	struct pw_nft_set *s =
		pw_nft_image_add_set(img, "pod_ifaces", PW_SK_IFNAME);

	if (!s || !names)
		goto out_oom;
	for (size_t i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		memcpy(e.key, names[i], strlen(names[i]));
		e.klen = IFNAMSIZ_;
		if (pw_nft_set_push(s, &e))
			goto out_oom;
	}
	free(names);
	for (int f = 0; f < PW_FAM_NR; f++) {
		char name[PW_NFT_NAME_MAX];

		snprintf(name, sizeof(name), "egress_if_%s", fam_sfx[f]);
		s = pw_nft_image_add_set(img, name, PW_SK_IFVMAP_V4 + f);
		for (size_t i = 0; s && i < rs->spoof[f].n; i++)
			if (fill_ifsrc(s, rs, (enum pw_fam)f,
				       &rs->spoof[f].v[i]))
				return -ENOMEM;
		if (!s)
			return -ENOMEM;
	}
	return 0;
out_oom:
	free(names);
	return -ENOMEM;
}

/* ---- copying what did not change ------------------------------------ */

/* The ruleset an image is built from, and the one whose image may lend
 * it equal sets (NULL when there is none, or it has no image yet). */
struct source {
	const struct pw_ruleset *rs;
	const struct pw_ruleset *prev;
};

/* A copy of element from's strings into e (the rest is copied). */
static int elem_strings(struct pw_nft_elem *e, const struct pw_nft_elem *from)
{
	e->jump = from->jump ? strdup(from->jump) : NULL;
	e->comment = from->comment ? strdup(from->comment) : NULL;
	if ((!from->jump || e->jump) && (!from->comment || e->comment))
		return 0;
	free(e->jump);
	free(e->comment);
	return -ENOMEM;
}

/* Appends a copy of set from (elements, digest and all) to img. */
static int set_copy(struct pw_nft_image *img, const struct pw_nft_set *from)
{
	struct pw_nft_set *s =
		pw_nft_image_add_set(img, from->name, from->kind);

	if (!s || !(s->v = malloc((from->n + 1) * sizeof(*s->v))))
		return -ENOMEM;
	s->cap = from->n + 1;
	if (from->n)
		memcpy(s->v, from->v, from->n * sizeof(*s->v));
	/* s->n counts the elements whose strings are s's own */
	for (s->n = 0; s->n < from->n; s->n++)
		if (elem_strings(&s->v[s->n], &from->v[s->n]))
			return -ENOMEM;
	s->digest = from->digest;
	s->sealed = from->sealed;
	img->ncopied++;
	return 0;
}

/* Whether the address lists in both rulesets are equal, so that set
 * `at` of prev's image (the same list) can be copied. */
static const struct pw_nft_set *same_addrs(const struct source *src,
					   const struct pw_addrs *now,
					   const struct pw_addrs *then,
					   size_t at)
{
	const struct pw_nft_image *pi = src->prev ? src->prev->image : NULL;

	if (!pi || at >= pi->nsets || !pi->sets[at].sealed ||
	    now->n != then->n ||
	    (now->n && memcmp(now->v, then->v, now->n * sizeof(*now->v))))
		return NULL;
	return &pi->sets[at];
}

/* pods_<f> or self_<f>: copied when equal to prev's (the base sets sit
 * at the same places in every image). */
static int addr_set(struct pw_nft_image *img, const struct source *src,
		    const char *what, enum pw_fam f, bool pair)
{
	const struct pw_addrs *now = pair ? &src->rs->self[f] :
					    &src->rs->known[f];
	const struct pw_nft_set *same = NULL;
	char name[PW_NFT_NAME_MAX];
	struct pw_nft_set *s;

	if (src->prev)
		same = same_addrs(src, now,
				  pair ? &src->prev->self[f] :
					 &src->prev->known[f],
				  img->nsets);
	if (same)
		return set_copy(img, same);
	snprintf(name, sizeof(name), "%s_%s", what, fam_sfx[f]);
	s = pw_nft_image_add_set(img, name,
				 (pair ? PW_SK_PAIR_V4 : PW_SK_ADDR_V4) + f);
	return !s || fill_addrs(s, now, f, pair) ? -ENOMEM : 0;
}

static int base_sets(struct pw_nft_image *img, const struct source *src)
{
	char name[PW_NFT_NAME_MAX];
	struct pw_nft_set *s;

	for (int f = 0; f < PW_FAM_NR; f++) {
		snprintf(name, sizeof(name), "pod_ranges_%s", fam_sfx[f]);
		s = pw_nft_image_add_set(img, name, PW_SK_IVAL_V4 + f);
		if (!s || fill_ivals(s, &src->rs->ranges[f], (enum pw_fam)f) ||
		    addr_set(img, src, "pods", (enum pw_fam)f, false) ||
		    addr_set(img, src, "self", (enum pw_fam)f, true))
			return -ENOMEM;
	}
	return fill_spoof(img, src->rs);
}

/* prev's class with k's id, whose sets prev's image holds, or NULL.
 * Classes are sorted by id. */
static const struct pw_nft_class *prev_class(const struct source *src,
					     enum pw_dir d,
					     const struct pw_nft_class *k,
					     size_t *first)
{
	const struct pw_ruleset *p = src->prev;
	size_t lo = 0, n = p ? p->image->ncls[d] : 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->cls[d][mid].id < k->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || p->cls[d][lo].id != k->id)
		return NULL;
	*first = p->image->cls_first[d][lo];
	return &p->cls[d][lo];
}

static bool ivals_same(const struct pw_ivals *a, const struct pw_ivals *b)
{
	return a->n == b->n &&
	       (!a->n || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

static bool boxes_same(const struct pw_boxes *a, const struct pw_boxes *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) /* fields: a box has padding */
		if (pw_box_cmp(&a->v[i], &b->v[i]))
			return false;
	return true;
}

/*
 * The sets of class k: per family its port boxes and its every-port
 * addresses, each when not empty. A list equal to the same list of the
 * previous ruleset's class with k's id is copied from that class's set
 * (the sets follow the same order from its first one), the others are
 * encoded.
 */
static int class_sets(struct pw_nft_image *img, const struct source *src,
		      enum pw_dir d, const struct pw_nft_class *k)
{
	size_t at = 0; /* prev's set of the list being looked at */
	const struct pw_nft_class *pk = prev_class(src, d, k, &at);
	const struct pw_nft_set *ps = pk ? src->prev->image->sets : NULL;
	char name[PW_NFT_NAME_MAX];
	struct pw_nft_set *s;
	int ret = 0;

	for (int f = 0; f < PW_FAM_NR && !ret; f++) {
		/* equal and not empty: ps[at] is pk's set of that list */
		if (k->ports[f].n && pk &&
		    boxes_same(&k->ports[f], &pk->ports[f]) && ps[at].sealed) {
			ret = set_copy(img, &ps[at]);
		} else if (k->ports[f].n) {
			snprintf(name, sizeof(name),
				 PW_NFT_CLASS_FMT "_ports_%s", dir_chain[d],
				 k->id, fam_sfx[f]);
			s = pw_nft_image_add_set(img, name, PW_SK_PORTS_V4 + f);
			ret = !s || fill_boxes(s, &k->ports[f], (enum pw_fam)f);
		}
		at += pk && pk->ports[f].n;
		if (ret || !k->addr[f].n) {
			/* nothing to add */
		} else if (pk && ivals_same(&k->addr[f], &pk->addr[f]) &&
			   ps[at].sealed) {
			ret = set_copy(img, &ps[at]);
		} else {
			snprintf(name, sizeof(name), PW_NFT_CLASS_FMT "_%s",
				 dir_chain[d], k->id, fam_sfx[f]);
			s = pw_nft_image_add_set(img, name, PW_SK_IVAL_V4 + f);
			ret = !s || fill_ivals(s, &k->addr[f], (enum pw_fam)f);
		}
		at += pk && pk->addr[f].n;
	}
	return ret ? -ENOMEM : 0;
}

static unsigned class_mask(const struct pw_nft_class *k)
{
	return (k->ports[PW_FAM_V4].n ? PW_CR_PORTS_V4 : 0) |
	       (k->addr[PW_FAM_V4].n ? PW_CR_ADDR_V4 : 0) |
	       (k->ports[PW_FAM_V6].n ? PW_CR_PORTS_V6 : 0) |
	       (k->addr[PW_FAM_V6].n ? PW_CR_ADDR_V6 : 0);
}

static int classes(struct pw_nft_image *img, const struct source *src)
{
	const struct pw_ruleset *rs = src->rs;
	char name[PW_NFT_NAME_MAX];

	for (int d = PW_DIR_NR; d-- > 0;) {
		img->cls_first[d] = calloc(rs->ncls[d] + 1, sizeof(size_t));
		if (!img->cls_first[d])
			return -ENOMEM;
		img->ncls[d] = rs->ncls[d];
		for (size_t i = 0; i < rs->ncls[d]; i++) {
			const struct pw_nft_class *k = &rs->cls[d][i];

			snprintf(name, sizeof(name), PW_NFT_CLASS_FMT,
				 dir_chain[d], k->id);
			img->cls_first[d][i] = img->nsets;
			if (class_sets(img, src, (enum pw_dir)d, k) ||
			    !pw_nft_image_add_chain(img, name,
						    d == PW_DIR_INGRESS ?
							    PW_CK_CLASS_IN :
							    PW_CK_CLASS_EG,
						    class_mask(k), k->comment))
				return -ENOMEM;
		}
	}
	return 0;
}

static int vmaps(struct pw_nft_image *img, const struct pw_ruleset *rs)
{
	char name[PW_NFT_NAME_MAX];
	struct pw_nft_set *s;

	for (int d = PW_DIR_NR; d-- > 0;) {
		for (int f = 0; f < PW_FAM_NR; f++) {
			snprintf(name, sizeof(name), "%s_%s", dir_map[d],
				 fam_sfx[f]);
			s = pw_nft_image_add_set(img, name, PW_SK_VMAP_V4 + f);
			if (!s || fill_vmap(s, &rs->vmap[d][f], (enum pw_dir)d,
					    (enum pw_fam)f))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The fixed chains, in the order nft_render.c declares them. */
static const struct {
	const char *name;
	enum pw_nft_chainkind kind;
} base_chains[] = {
	{ "forward", PW_CK_FORWARD }, { "input", PW_CK_INPUT },
	{ "fwd_v4", PW_CK_FWD_V4 },   { "fwd_v6", PW_CK_FWD_V6 },
	{ "src_v4", PW_CK_SRC_V4 },   { "src_v6", PW_CK_SRC_V6 },
};

int pw_nft_image_build(struct pw_nft_image *img, const struct pw_ruleset *rs,
		       const struct pw_ruleset *prev)
{
	struct source src = { .rs = rs,
			      .prev = prev && prev->image ? prev : NULL };
	int ret;

	memset(img, 0, sizeof(*img));
	ret = base_sets(img, &src);
	if (!ret)
		ret = vmaps(img, rs);
	for (size_t i = 0; !ret && i < PW_ARRAY_SIZE(base_chains); i++)
		if (!pw_nft_image_add_chain(img, base_chains[i].name,
					    base_chains[i].kind, 0, NULL))
			ret = -ENOMEM;
	img->counters = pw_nft_counters(rs->flow_log);
	img->flow_log = rs->flow_log;
	img->flow_group = rs->flow_group;
	img->ct_mask = rs->ct_mask;
	img->ct_gen = rs->ct_gen;
	if (!ret)
		ret = classes(img, &src);
	if (ret) {
		pw_nft_image_release(img);
		return ret;
	}
	pw_nft_image_seal(img);
	return 0;
}

void pw_nft_image_free(struct pw_nft_image *img)
{
	if (img)
		pw_nft_image_release(img);
	free(img);
}

const struct pw_nft_image *
pw_nft_ruleset_image_from(const struct pw_ruleset *rs,
			  const struct pw_ruleset *prev)
{
	struct pw_ruleset *cache = (struct pw_ruleset *)rs;
	struct pw_nft_image *img;

	if (rs->image)
		return rs->image;
	img = malloc(sizeof(*img));
	if (!img || pw_nft_image_build(img, rs, prev)) {
		free(img);
		return NULL;
	}
	cache->image = img;
	return img;
}

const struct pw_nft_image *pw_nft_ruleset_image(const struct pw_ruleset *rs)
{
	return pw_nft_ruleset_image_from(rs, NULL);
}
