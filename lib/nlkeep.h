/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A NETLINK_NETFILTER socket kept open between uses (internal).
 *
 * Closing a netfilter socket can be slow: nf_tables frees what a commit
 * removed (set elements, rules, chains) from a work item that first waits
 * for an RCU grace period, and the release of any NETLINK_NETFILTER
 * socket of that network namespace flushes that work (the kernel's
 * nft_rcv_nl_event) while holding nf_tables' commit mutex. A close right
 * after a transaction that deleted anything therefore sleeps for the rest
 * of the grace period, 7 to 23 ms on a 2-CPU machine, for a batch the
 * kernel handled in 0.05 ms, and stalls the next transaction meanwhile.
 * Kept open, the socket lets the kernel free in the background.
 *
 * A socket talks to the network namespace it was opened in, so a kept one
 * is reused only by the same process (not a forked child) in the same
 * namespace (the calling thread's /proc/thread-self/ns/net) and replaced
 * otherwise; without /proc to tell namespaces apart every use gets a
 * socket of its own, as before. One user at a time, under the keeper's
 * lock: borrow, use, give back.
 */
#ifndef PW_NLKEEP_H
#define PW_NLKEEP_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

struct mnl_socket;

struct pw_nlkeep {
	pthread_mutex_t lock;
	struct mnl_socket *nl;
	pid_t pid;
	dev_t dev; /* of the network namespace the socket is in */
	ino_t ino;
	bool known; /* the borrower's namespace is known (dev, ino) */
};

#define PW_NLKEEP_INIT                            \
	{                                         \
		.lock = PTHREAD_MUTEX_INITIALIZER \
	}

/* The kept socket (bound, NETLINK_CAP_ACK set), in the calling thread's
 * network namespace, held under k's lock until pw_nlkeep_return; NULL
 * with errno when it cannot be opened (nothing held then). */
struct mnl_socket *pw_nlkeep_borrow(struct pw_nlkeep *k);
/* Gives it back. ok false (after an error that may leave answers
 * unread, or an interrupted dump) closes it. */
void pw_nlkeep_return(struct pw_nlkeep *k, bool ok);

/* Closes the kept socket, if any (it pins its network namespace). */
void pw_nlkeep_close(struct pw_nlkeep *k);

/* The socket nf_tables transactions and table reads share (nft_*.c). */
extern struct pw_nlkeep pw_nft_sock;
/* The conntrack sweep's and the verdict cache purge's (conntrack.c): not
 * the transactions' one, which a long dump would hold up. */
extern struct pw_nlkeep pw_ct_sock;

#endif
