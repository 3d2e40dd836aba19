// SPDX-License-Identifier: Apache-2.0
/*
 * The route watch: rtnetlink notifications of route and link changes in
 * the agent's network namespace, read on its epoll loop.
 *
 * Anti-spoofing binds each local pod address to the interface of the
 * route to it (pw_ruleset_bind_interfaces, docs/DATAPATH.md). The network
 * plugin adds that route when it wires the pod, which may be after the
 * pod's event reached the agent and the table was applied without the
 * binding; a link renamed, moved or gone changes a binding too (and IPv4
 * removes the routes of a link that goes down without telling anyone).
 * So every notification that could change a binding is reported to the
 * agent, which coalesces them and binds again (reconcile.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <sys/epoll.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "agent.h"

/* What the kernel may queue between two reads of a burst (a node where
 * hundreds of pods come and go at once); an overrun is not lost either:
 * it counts as a change (ENOBUFS below). */
#define ROUTES_RCVBUF (1 << 20)

struct routes {
	struct handler h;
	struct mnl_socket *nl;
	routes_changed_fn *changed;
	void *arg;
};

static const unsigned int groups[] = {
	RTNLGRP_LINK,
	RTNLGRP_IPV4_ROUTE,
	RTNLGRP_IPV6_ROUTE,
};

/*
 * Whether a route message can change a binding: unicast routes of any
 * table but `local` (the node's own addresses, never a pod's route), not
 * the kernel's cached clones. Link messages always can.
 */
static bool route_matters(const struct nlmsghdr *nlh)
{
	const struct rtmsg *rt;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
		return false;
	rt = mnl_nlmsg_get_payload(nlh);
	return rt->rtm_type == RTN_UNICAST && rt->rtm_table != RT_TABLE_LOCAL &&
	       !(rt->rtm_flags & RTM_F_CLONED);
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	unsigned int *n = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		(*n)++;
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		*n += route_matters(nlh);
		break;
	}
	return MNL_CB_OK;
}

/* Reads everything queued; the number of messages that matter, an
 * overrun counting as one (what was lost may have mattered). */
static unsigned int drain(struct routes *r)
{
	char buf[32768]; /* a page or more, as MNL_SOCKET_BUFFER_SIZE */
	unsigned int n = 0;
	ssize_t len;

	for (;;) {
		len = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
		if (len < 0 && errno == ENOBUFS) {
			n++;
			continue;
		}
		if (len <= 0)
			break; /* EAGAIN: all read */
		/* Notifications: sequence 0, sent by the kernel (port 0). */
		mnl_cb_run(buf, (size_t)len, 0, 0, msg_cb, &n);
	}
	return n;
}

static void on_readable(struct handler *h, uint32_t events)
{
	struct routes *r = container_of(h, struct routes, h);
	unsigned int n = drain(r);

	if (n)
		r->changed(r->arg, n);
}

static int subscribe(struct mnl_socket *nl)
{
	int fd = mnl_socket_get_fd(nl), size = ROUTES_RCVBUF;

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP,
					  (void *)&groups[i],
					  sizeof(groups[i])))
			return -errno;
	/* Beyond rmem_max needs CAP_NET_ADMIN, which the agent has; without
	 * it the default buffer still works, overruns count as changes. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return 0;
}

struct routes *routes_new(struct loop *l, routes_changed_fn *changed, void *arg)
{
	struct routes *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return NULL;
	r->h.fn = on_readable;
	r->changed = changed;
	r->arg = arg;
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!r->nl)
		goto err_free;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID))
		goto err_free;
	ret = subscribe(r->nl);
	if (!ret)
		ret = loop_add(l, mnl_socket_get_fd(r->nl), EPOLLIN, &r->h);
	if (ret) {
		errno = -ret;
		goto err_free;
	}
	return r;

err_free:
	routes_free(r);
	return NULL;
}

void routes_free(struct routes *r)
{
	int err = errno;

	if (!r)
		return;
	if (r->nl)
		mnl_socket_close(r->nl); /* leaves the epoll set with its fd */
	free(r);
	errno = err;
}
