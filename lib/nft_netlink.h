/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One nf_tables batch built with libnftnl (internal, nft_netlink.c).
 * Messages are appended in the order the kernel must apply them; the
 * batch is one transaction. Builders never fail on their own: the first
 * error is kept and returned by pw_nl_batch_send.
 */
#ifndef PW_NFT_NETLINK_H
#define PW_NFT_NETLINK_H

#include <stdbool.h>
#include <stddef.h>

#include "nft_image.h"

struct pw_nl_batch;

int pw_nl_batch_init(struct pw_nl_batch **out);
void pw_nl_batch_free(struct pw_nl_batch *bt);
/* Marks the batch as failed (first error wins): it will not be sent. */
void pw_nl_batch_fail(struct pw_nl_batch *bt, int err);
/* Sends the batch and returns 0 or the kernel's first error (-errno);
 * an empty batch sends nothing. */
int pw_nl_batch_send(struct pw_nl_batch *bt);
/* Whether nothing was added to the batch yet. */
bool pw_nl_batch_empty(const struct pw_nl_batch *bt);

void pw_nl_table_new(struct pw_nl_batch *bt);
void pw_nl_table_del(struct pw_nl_batch *bt);
void pw_nl_chain_add(struct pw_nl_batch *bt, const struct pw_nft_chain *ch);
void pw_nl_chain_del(struct pw_nl_batch *bt, const char *name);
void pw_nl_chain_flush(struct pw_nl_batch *bt, const char *name);
/* The rules of ch (a chain of img, whose flow log they carry), appended
 * to it. */
void pw_nl_chain_rules(struct pw_nl_batch *bt, const struct pw_nft_image *img,
		       const struct pw_nft_chain *ch);
/* A named counter created (at zero) or deleted. */
void pw_nl_counter_add(struct pw_nl_batch *bt, const char *name);
void pw_nl_counter_del(struct pw_nl_batch *bt, const char *name);
/* How many rules pw_nl_chain_rules writes into ch. */
size_t pw_nl_rule_count(const struct pw_nft_image *img,
			const struct pw_nft_chain *ch);
void pw_nl_set_add(struct pw_nl_batch *bt, const struct pw_nft_set *set);
void pw_nl_set_del(struct pw_nl_batch *bt, const char *name);
/* Adds or deletes the elements v[0..n) of set name. */
void pw_nl_elems(struct pw_nl_batch *bt, bool add, const char *name,
		 const struct pw_nft_elem *const *v, size_t n);

/*
 * Moves the kernel from image old (NULL: whatever it holds, replaced
 * whole) to image new in one transaction (nft_update.c). Falls back to a
 * full load when the kernel did not hold old. 0 or -errno.
 */
int pw_nft_apply_image(const struct pw_nft_image *old,
		       const struct pw_nft_image *new,
		       struct pw_apply_stats *st, char **errmsg);

/* pw_nft_apply_image of rs's image new, and rs's generation updated to
 * what the kernel then holds. */
int pw_nft_apply_ruleset(const struct pw_nft_image *old,
			 const struct pw_ruleset *rs,
			 const struct pw_nft_image *new,
			 struct pw_apply_stats *st, char **errmsg);

/* The batch pw_nft_apply_image would send from old to new, built and
 * counted into st (diff_ns: its cost) but not sent: for tests and
 * benchmarks. 0 or -ENOMEM. */
int pw_nft_diff_plan(const struct pw_nft_image *old,
		     const struct pw_nft_image *new, struct pw_apply_stats *st);

#endif
