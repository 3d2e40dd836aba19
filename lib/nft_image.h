/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table as the kernel holds it (internal): what nft_netlink.c sends,
 * what it reads back, and what two generations are compared on.
 *
 * A ruleset (lib/datapath.h) is turned into an image: every set with its
 * elements already encoded as netlink data (keys in network byte order,
 * interval sets as nft encodes them), every chain with the recipe of its
 * rules. Two images are compared object by object and element by element,
 * so an incremental update is exactly the difference, and reading the
 * table back from the kernel gives an image too (elements decoded from
 * the dump, chains from their names, comments and the sets they use).
 */
#ifndef PW_NFT_IMAGE_H
#define PW_NFT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath.h"

#define PW_NFT_TABLE "podwall"
#define PW_NFT_KEY_MAX 40 /* ipv6 . proto . port, padded to 4 bytes each */
#define PW_NFT_NAME_MAX 48

/* One element. Keys are what the kernel stores (registers of 4 bytes). */
struct pw_nft_elem {
	uint8_t key[PW_NFT_KEY_MAX];
	uint8_t kend[PW_NFT_KEY_MAX]; /* concatenated ranges (pipapo) */
	uint8_t klen;
	bool has_kend;
	bool interval_end; /* NFT_SET_ELEM_INTERVAL_END (rbtree) */
	bool open; /* an interval up to the end of the space */
	uint8_t verdict; /* vmap: enum pw_nft_verdict */
	uint8_t reserved[3]; /* zero: no padding, so equal sets memcmp equal */
	char *jump; /* vmap: the chain of a jump or goto */
	char *comment;
};

/* The verdict of a map element. */
enum pw_nft_verdict {
	PW_NFT_V_NONE,
	PW_NFT_V_JUMP,
	PW_NFT_V_GOTO,
	PW_NFT_V_RETURN,
};

/* What a set is, by its role in the table. */
enum pw_nft_setkind {
	PW_SK_IVAL_V4, /* ipv4_addr, flags interval */
	PW_SK_IVAL_V6,
	PW_SK_ADDR_V4, /* ipv4_addr */
	PW_SK_ADDR_V6,
	PW_SK_PAIR_V4, /* ipv4_addr . ipv4_addr */
	PW_SK_PAIR_V6,
	PW_SK_PORTS_V4, /* ipv4_addr . inet_proto . inet_service, interval */
	PW_SK_PORTS_V6,
	PW_SK_VMAP_V4, /* ipv4_addr : verdict */
	PW_SK_VMAP_V6,
	PW_SK_IFNAME, /* ifname */
	PW_SK_IFVMAP_V4, /* ifname . ipv4_addr : verdict */
	PW_SK_IFVMAP_V6,
	PW_SK_NR,
};

/*
 * The named counters (nft `counter` objects): the drops of each check,
 * in every table, and the packets class chains admit, when
 * pw_nft_counters says so. Their values live in the kernel only: never
 * compared, never reset by an update.
 */
enum pw_nft_counter {
	PW_CNT_DENIED_INGRESS,
	PW_CNT_DENIED_EGRESS,
	PW_CNT_DENIED_UNKNOWN,
	PW_CNT_DENIED_SPOOF,
	PW_CNT_ALLOWED_INGRESS, /* + PW_DIR_* */
	PW_CNT_ALLOWED_EGRESS,
	PW_CNT_NR,
};

/* "denied_ingress", ...; and the nflog prefix of each check. */
extern const char *const pw_nft_counter_names[PW_CNT_NR];
extern const char *const pw_nft_log_prefixes[PW_CNT_NR];

/* The counters a table with flow-log flags `flow_log` has (1 << c). */
unsigned pw_nft_counters(unsigned flow_log);

/*
 * A set's digest is a keyed hash (SipHash-2-4) of its sorted elements,
 * computed once per image (pw_nft_image_seal): the update skips a kept
 * set whose count and digest match the old one's without reading its
 * elements, which at 10k pods is most of a 330k-element table. The key
 * is drawn at random once per process, so no manifest can aim at a
 * collision; two different sets collide with probability 2^-64. Digests
 * live in memory only (never in the kernel), and both images of a diff
 * are digested with the same key.
 */
struct pw_nft_set {
	char name[PW_NFT_NAME_MAX];
	enum pw_nft_setkind kind;
	struct pw_nft_elem *v;
	size_t n, cap;
	uint64_t digest; /* of v[0..n) when sealed */
	bool sealed; /* digest computed; cleared by pw_nft_set_push */
};

/* Rules of a chain, by recipe: the two base chains are fixed; a class
 * chain has one lookup per set it owns (mask of PW_CR_*), then the drop. */
enum pw_nft_chainkind {
	PW_CK_FORWARD,
	PW_CK_INPUT,
	PW_CK_FWD_V4, /* the forward path of one family */
	PW_CK_FWD_V6,
	PW_CK_SRC_V4, /* the source's checks, shared with input */
	PW_CK_SRC_V6,
	PW_CK_CLASS_IN,
	PW_CK_CLASS_EG,
};

enum {
	PW_CR_PORTS_V4 = 1,
	PW_CR_ADDR_V4 = 2,
	PW_CR_PORTS_V6 = 4,
	PW_CR_ADDR_V6 = 8,
};

struct pw_nft_chain {
	char name[PW_NFT_NAME_MAX];
	enum pw_nft_chainkind kind;
	unsigned mask;
	char *comment;
	uint64_t digest; /* of kind and comment (what cannot change in
			  * place), when sealed */
	bool sealed;
};

/* Sets and chains in the order nft creates them for the rendered text,
 * so that a table loaded either way lists the same. */
struct pw_nft_image {
	struct pw_nft_set *sets;
	size_t nsets, cap_sets;
	struct pw_nft_chain *chains;
	size_t nchains, cap_chains;
	/* Where each class's sets start in sets[] (its sets follow in a fixed
	 * order), so that the next image can copy an unchanged class's. */
	size_t *cls_first[PW_DIR_NR];
	size_t ncls[PW_DIR_NR];
	size_t ncopied; /* sets copied from the previous image */
	unsigned counters; /* 1 << enum pw_nft_counter */
	unsigned flow_log; /* PW_FLOW_LOG_*: the log statements of the rules */
	uint16_t flow_group;
	/* The verdict cache in the base chains' rules: the conntrack mark
	 * bits (0: none) and the generation in them. An apply sets the new
	 * image's generation (nft_update.c); a read-back finds both in the
	 * forward chain. */
	uint32_t ct_mask, ct_gen;
};

/* The image of rs, built on first use and cached in rs (see
 * lib/datapath.h); NULL on ENOMEM. */
const struct pw_nft_image *pw_nft_ruleset_image(const struct pw_ruleset *rs);
/* The same, copying from prev's cached image (when it has one) the sets
 * of classes and address lists that are equal in both rulesets instead
 * of encoding and hashing them again: an update's new ruleset differs
 * from the one applied in a few places. */
const struct pw_nft_image *
pw_nft_ruleset_image_from(const struct pw_ruleset *rs,
			  const struct pw_ruleset *prev);

/* 0 or -ENOMEM; img is emptied first. prev (may be NULL): a ruleset
 * whose cached image may lend equal sets (pw_nft_ruleset_image_from). */
int pw_nft_image_build(struct pw_nft_image *img, const struct pw_ruleset *rs,
		       const struct pw_ruleset *prev);
void pw_nft_image_release(struct pw_nft_image *img);

/* Appends an empty set / a chain; NULL on ENOMEM. */
struct pw_nft_set *pw_nft_image_add_set(struct pw_nft_image *img,
					const char *name,
					enum pw_nft_setkind kind);
struct pw_nft_chain *pw_nft_image_add_chain(struct pw_nft_image *img,
					    const char *name,
					    enum pw_nft_chainkind kind,
					    unsigned mask, const char *comment);
/* Appends e to s, taking e's strings; 0 or -ENOMEM. */
int pw_nft_set_push(struct pw_nft_set *s, struct pw_nft_elem *e);
/* Sorts the elements (what the diff walks). */
void pw_nft_set_sort(struct pw_nft_set *s);
int pw_nft_elem_cmp(const struct pw_nft_elem *a, const struct pw_nft_elem *b);

/*
 * Computes the digest of every set not sealed yet (pw_nft_set_push
 * unseals a set; a set copied from another image keeps its digest),
 * after sorting it, and of every chain, and marks them sealed;
 * pw_nft_image_build and pw_nft_image_read do it, an image assembled by
 * hand needs it after its last change (and a set edited in place must be
 * unsealed first). Without a random key (getrandom failed) nothing is
 * sealed and the diff compares elements instead.
 */
void pw_nft_image_seal(struct pw_nft_image *img);

/* Whether a and b are known equal without reading their elements: both
 * sealed, same count, same digest. */
bool pw_nft_set_same_digest(const struct pw_nft_set *a,
			    const struct pw_nft_set *b);
/* Whether chains a and b have the same kind and comment: by digest when
 * both are sealed, else by comparing the comments. */
bool pw_nft_chain_same_ident(const struct pw_nft_chain *a,
			     const struct pw_nft_chain *b);

/* SipHash-2-4 of p[0..n) under key (k[0] the first 8 key bytes, read
 * little-endian); exposed for its test vectors. */
uint64_t pw_nft_siphash(const uint64_t k[2], const void *p, size_t n);

const struct pw_nft_set *pw_nft_image_set(const struct pw_nft_image *img,
					  const char *name);
const struct pw_nft_chain *pw_nft_image_chain(const struct pw_nft_image *img,
					      const char *name);

/*
 * Reads podwall's table from the kernel of this network namespace into
 * img (nft_readback.c). 0; -ENOENT without a table; -EPROTO when the
 * table holds objects podwall does not make; other -errno.
 */
int pw_nft_image_read(struct pw_nft_image *img);

/* The chain recipe a class chain has given the sets present in img. */
unsigned pw_nft_class_mask(const struct pw_nft_image *img, const char *chain);

#endif
