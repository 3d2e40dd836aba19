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

/* Interface names by index, looked up once per bind (if_indextoname
 * costs a socket and an ioctl each time). */
struct ifcache {
	uint32_t index[16];
	char name[16][IF_NAMESIZE];
	size_t n;
};

/* The name of interface index when podwall may use it, or NULL. */
static const char *ifname(struct ifcache *c, uint32_t index, char *spare)
{
	char *name = c->n < 16 ? c->name[c->n] : spare;

	for (size_t i = 0; i < c->n; i++)
		if (c->index[i] == index)
			return c->name[i];
	if (!if_indextoname(index, name) || !name_ok(name))
		return NULL;
	if (c->n < 16)
		c->index[c->n++] = index;
	return name;
}

/* What a bind knows: the routes' socket, each family's uplink (learned
 * on the first question), interface names, and the bindings it may
 * reuse. */
struct binder {
	struct mnl_socket *nl;
	uint32_t up[PW_FAM_NR];
	bool up_known[PW_FAM_NR];
	struct ifcache ifs;
	char spare[IF_NAMESIZE];
	const struct pw_nft_spoofs *prev; /* sorted by address, or NULL */
};

static int spoof_addr_cmp(const void *a, const void *b)
{
	const struct pw_nft_spoof *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* The interface prev bound addr to, or NULL. */
static const char *prev_bound(const struct binder *b, enum pw_fam f,
			      pw_u128 addr)
{
	const struct pw_nft_spoof key = { .addr = addr }, *hit;

	if (!b->prev || !b->prev[f].n)
		return NULL;
	hit = bsearch(&key, b->prev[f].v, b->prev[f].n, sizeof(key),
		      spoof_addr_cmp);
	return hit ? hit->ifname : NULL;
}

/* The interface of the direct route to addr, or NULL (see the top). */
static const char *route_ifname(struct binder *b, enum pw_fam f, pw_u128 addr)
{
	struct route r;

	if (!b->up_known[f]) {
		b->up[f] = uplink(b->nl, f);
		b->up_known[f] = true;
	}
	if (route_get(b->nl, addr, f, &r) || !r.unicast || r.gateway ||
	    !r.oif || r.oif == b->up[f] || r.oif == 1)
		return NULL;
	return ifname(&b->ifs, r.oif, b->spare);
}

/* Binds the local addresses of one family; the count bound, or -errno. */
static int bind_fam(struct binder *b, struct pw_ruleset *rs, enum pw_fam f)
{
	int n = 0;

	for (size_t i = 0; i < rs->self[f].n; i++) {
		pw_u128 a = rs->self[f].v[i];
		const char *name = prev_bound(b, f, a);

		if (!name)
			name = route_ifname(b, f, a);
		if (!name)
			continue;
		if (spoof_add(&rs->spoof[f], name, a))
			return -ENOMEM;
		n++;
	}
	if (rs->spoof[f].n > 1)
		qsort(rs->spoof[f].v, rs->spoof[f].n, sizeof(*rs->spoof[f].v),
		      spoof_cmp);
	return n;
}

/* prev's bindings sorted by address into copy, which b->prev points to. */
static int prev_sorted(struct binder *b, const struct pw_ruleset *prev,
		       struct pw_nft_spoofs *copy)
{
	for (int f = 0; prev && f < PW_FAM_NR; f++) {
		copy[f].v = malloc((prev->spoof[f].n + 1) * sizeof(*copy[f].v));
		if (!copy[f].v)
			return -ENOMEM;
		if (prev->spoof[f].n)
			memcpy(copy[f].v, prev->spoof[f].v,
			       prev->spoof[f].n * sizeof(*copy[f].v));
		copy[f].n = prev->spoof[f].n;
		pw_sort(copy[f].v, copy[f].n, sizeof(*copy[f].v),
			spoof_addr_cmp);
	}
	b->prev = prev ? copy : NULL;
	return 0;
}

static int bind_all(struct pw_ruleset *rs, const struct pw_ruleset *prev)
{
	struct pw_nft_spoofs copy[PW_FAM_NR] = { { 0 } };
	struct binder b = { .nl = mnl_socket_open(NETLINK_ROUTE) };
	int ret = 0, n = 0;

	if (!b.nl)
		return -errno;
	if (mnl_socket_bind(b.nl, 0, MNL_SOCKET_AUTOPID)) {
		ret = -errno;
		goto out;
	}
	ret = prev_sorted(&b, prev, copy);
	for (int f = 0; f < PW_FAM_NR; f++)
		rs->spoof[f].n = 0;
	for (int f = 0; f < PW_FAM_NR && ret >= 0; f++) {
		ret = bind_fam(&b, rs, (enum pw_fam)f);
		n += ret > 0 ? ret : 0;
	}
	/* The cached kernel image no longer matches. */
	pw_nft_image_free(rs->image);
	rs->image = NULL;
out:
	for (int f = 0; f < PW_FAM_NR; f++)
		free(copy[f].v);
	mnl_socket_close(b.nl);
	return ret < 0 ? ret : n;
}

PW_EXPORT int pw_ruleset_bind_interfaces(struct pw_ruleset *rs)
{
	return bind_all(rs, NULL);
}

PW_EXPORT int pw_ruleset_bind_interfaces_from(struct pw_ruleset *rs,
					      const struct pw_ruleset *prev)
{
	return bind_all(rs, prev);
}

PW_EXPORT size_t pw_ruleset_bound_count(const struct pw_ruleset *rs)
{
	return rs->spoof[PW_FAM_V4].n + rs->spoof[PW_FAM_V6].n;
}
