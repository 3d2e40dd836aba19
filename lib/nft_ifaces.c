// SPDX-License-Identifier: Apache-2.0
/*
 * Anti-spoofing: which interface leads to which local pod, asked of the
 * kernel of the current network namespace.
 *
 * The convention (docs/DATAPATH.md): a local pod's interface is the
 * output interface of the route to its address (RTM_GETROUTE), as routed
 * network plugins set it up (Calico, the lab: a host route per pod to its
 * veth). Only a direct route counts: no gateway, not the loopback, and
 * not the interface the node's own default route leaves by (a pod range
 * routed onto the uplink is no pod interface, and binding it would cut
 * the node off). For a bridge (flannel, the bridge plugin) the route
 * leads to the bridge, so the pods behind one bridge share one interface
 * and can only be kept from spoofing addresses outside it.
 *
 * Interface names come from the kernel but still reach nft text (podwall
 * compile): only names of [A-Za-z0-9_.-] are used, any other is skipped.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "datapath.h"
#include "util.h"

struct route {
	uint32_t oif;
	bool gateway, unicast;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct route *r = data;

	if (mnl_attr_get_type(a) == RTA_OIF &&
	    !mnl_attr_validate(a, MNL_TYPE_U32))
		r->oif = mnl_attr_get_u32(a);
	else if (mnl_attr_get_type(a) == RTA_GATEWAY ||
		 mnl_attr_get_type(a) == RTA_VIA)
		r->gateway = true;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct route *r = data;

	r->unicast = rt->rtm_type == RTN_UNICAST;
	return mnl_attr_parse(nlh, sizeof(*rt), attr_cb, r);
}

/* The route the kernel would take to addr: 0, or -errno (-ENETUNREACH
 * and friends when there is none). */
static int route_get(struct mnl_socket *nl, pw_u128 addr, enum pw_fam f,
		     struct route *r)
{
	char buf[8192];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;
	uint8_t dst[16];
	size_t n = f == PW_FAM_V6 ? 16 : 4;
	uint32_t seq = (uint32_t)time(NULL);
	int ret;

	for (size_t i = n; i-- > 0; addr >>= 8)
		dst[i] = (uint8_t)addr;
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = f == PW_FAM_V6 ? AF_INET6 : AF_INET;
	rt->rtm_dst_len = (unsigned char)(n * 8);
	mnl_attr_put(nlh, RTA_DST, n, dst);
	memset(r, 0, sizeof(*r));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret < 0)
		return -errno;
	ret = mnl_cb_run(buf, (size_t)ret, seq, mnl_socket_get_portid(nl),
			 route_cb, r);
	return ret < 0 ? -errno : 0;
}

static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return false;
	return true;
}

/* The uplink of a family: the interface of the route to an address no
 * pod has (TEST-NET / documentation prefixes), 0 when there is none. */
static uint32_t uplink(struct mnl_socket *nl, enum pw_fam f)
{
	pw_u128 probe = f == PW_FAM_V6 ? (pw_u128)0x20010db8u << 96 :
					 0xc0000201u; /* 192.0.2.1 */
	struct route r;

	return route_get(nl, probe, f, &r) || !r.unicast ? 0 : r.oif;
}

static int spoof_add(struct pw_nft_spoofs *s, const char *ifname, pw_u128 addr)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct pw_nft_spoof *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	snprintf(s->v[s->n].ifname, sizeof(s->v[s->n].ifname), "%s", ifname);
	s->v[s->n++].addr = addr;
	return 0;
}

static int spoof_cmp(const void *a, const void *b)
{
	const struct pw_nft_spoof *x = a, *y = b;
	int r = strcmp(x->ifname, y->ifname);

	return r ? r : (x->addr > y->addr) - (x->addr < y->addr);
}

/* Binds the local addresses of one family; the count bound, or -errno. */
static int bind_fam(struct mnl_socket *nl, struct pw_ruleset *rs, enum pw_fam f)
{
	uint32_t up = uplink(nl, f);
	char name[IF_NAMESIZE];
	struct route r;
	int n = 0;

	for (size_t i = 0; i < rs->self[f].n; i++) {
		if (route_get(nl, rs->self[f].v[i], f, &r) || !r.unicast ||
		    r.gateway || !r.oif || r.oif == up || r.oif == 1 ||
		    !if_indextoname(r.oif, name) || !name_ok(name))
			continue;
		if (spoof_add(&rs->spoof[f], name, rs->self[f].v[i]))
			return -ENOMEM;
		n++;
	}
	if (rs->spoof[f].n > 1)
		qsort(rs->spoof[f].v, rs->spoof[f].n, sizeof(*rs->spoof[f].v),
		      spoof_cmp);
	return n;
}

PW_EXPORT int pw_ruleset_bind_interfaces(struct pw_ruleset *rs)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int ret = 0, n = 0;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
		ret = -errno;
		goto out_close;
	}
	for (int f = 0; f < PW_FAM_NR; f++)
		rs->spoof[f].n = 0;
	for (int f = 0; f < PW_FAM_NR && ret >= 0; f++) {
		ret = bind_fam(nl, rs, (enum pw_fam)f);
		n += ret > 0 ? ret : 0;
	}
	/* The cached kernel image no longer matches. */
	pw_nft_image_free(rs->image);
	rs->image = NULL;
out_close:
	mnl_socket_close(nl);
	return ret < 0 ? ret : n;
}

PW_EXPORT size_t pw_ruleset_bound_count(const struct pw_ruleset *rs)
{
	return rs->spoof[PW_FAM_V4].n + rs->spoof[PW_FAM_V6].n;
}
