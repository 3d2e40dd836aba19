// SPDX-License-Identifier: Apache-2.0
/* Netfilter sockets kept open between uses (nlkeep.h). */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include <podwall/datapath.h>

#include "nlkeep.h"
#include "util.h"

struct pw_nlkeep pw_nft_sock = PW_NLKEEP_INIT;
struct pw_nlkeep pw_ct_sock = PW_NLKEEP_INIT;

static struct mnl_socket *sock_open(void)
{
	struct mnl_socket *nl =
		mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int one = 1, err;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
		err = errno;
		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &one,
		   sizeof(one));
	return nl;
}

struct mnl_socket *pw_nlkeep_borrow(struct pw_nlkeep *k)
{
	struct stat ns;

	pthread_mutex_lock(&k->lock);
	k->known = !stat("/proc/thread-self/ns/net", &ns);
	if (k->nl && !(k->known && k->pid == getpid() && k->dev == ns.st_dev &&
		       k->ino == ns.st_ino)) {
		mnl_socket_close(k->nl);
		k->nl = NULL;
	}
	if (!k->nl && k->known) {
		k->pid = getpid();
		k->dev = ns.st_dev;
		k->ino = ns.st_ino;
	}
	if (!k->nl)
		k->nl = sock_open();
	if (!k->nl)
		pthread_mutex_unlock(&k->lock);
	return k->nl;
}

void pw_nlkeep_return(struct pw_nlkeep *k, bool ok)
{
	if (!ok || !k->known) {
		mnl_socket_close(k->nl);
		k->nl = NULL;
	}
	pthread_mutex_unlock(&k->lock);
}

void pw_nlkeep_close(struct pw_nlkeep *k)
{
	pthread_mutex_lock(&k->lock);
	if (k->nl)
		mnl_socket_close(k->nl);
	k->nl = NULL;
	pthread_mutex_unlock(&k->lock);
}

PW_EXPORT void pw_datapath_release(void)
{
	pw_nlkeep_close(&pw_nft_sock);
	pw_nlkeep_close(&pw_ct_sock);
}
