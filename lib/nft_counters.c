// SPDX-License-Identifier: Apache-2.0
/*
 * The named counters of table inet podwall, read through netlink with
 * libnftnl's object API (one GETOBJ dump of the counter type), so that
 * podwalld can export the kernel's own packet counts per check without
 * running nft or parsing its text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <libnftnl/object.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <podwall/flow.h>
#include "nlkeep.h"
#include "util.h"

struct pw_counter {
	char *name;
	uint64_t packets, bytes;
};

struct pw_counters {
	struct pw_counter *v;
	size_t n, cap;
};

PW_EXPORT void pw_counters_free(struct pw_counters *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	free(c);
}

static int add_obj(struct pw_counters *c, struct nftnl_obj *o)
{
	struct pw_counter *e;
	const char *name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
	const char *table = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE);

	if (!name || !table || strcmp(table, "podwall"))
		return 0;
	e = PW_PUSH(c->v, c->n, c->cap);
	if (!e || !(e->name = strdup(name)))
		return -ENOMEM;
	e->packets = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
	e->bytes = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES);
	return 0;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	int ret;

	if (!o)
		return MNL_CB_ERROR;
	ret = nftnl_obj_nlmsg_parse(nlh, o) ? 0 : add_obj(data, o);
	nftnl_obj_free(o);
	if (ret) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* One dump request of table podwall's counters; 0 or -errno. */
static int dump(struct mnl_socket *nl, struct pw_counters *c, char *buf,
		size_t len)
{
	uint32_t seq = (uint32_t)time(NULL), port = mnl_socket_get_portid(nl);
	struct nlmsghdr *nlh;
	struct nftnl_obj *o = nftnl_obj_alloc();
	ssize_t n;
	int ret = MNL_CB_OK;

	if (!o)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET,
				    NLM_F_DUMP | NLM_F_ACK, seq);
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, "podwall");
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (ret > MNL_CB_STOP) {
		n = mnl_socket_recvfrom(nl, buf, len);
		if (n < 0)
			return -errno;
		errno = EIO;
		ret = mnl_cb_run(buf, (size_t)n, seq, port, on_msg, c);
		if (ret < 0)
			return errno ? -errno : -EIO;
	}
	return 0;
}

PW_EXPORT struct pw_counters *pw_counters_read(void)
{
	struct pw_counters *c = calloc(1, sizeof(*c));
	size_t len = MNL_SOCKET_BUFFER_SIZE * 4;
	char *buf = malloc(len);
	struct mnl_socket *nl;
	int ret = -ENOMEM;

	if (!c || !buf)
		goto out;
	/* The transactions' socket: a close of one of our own right after
	 * a transaction that deleted something would wait (nlkeep.h). */
	nl = pw_nlkeep_borrow(&pw_nft_sock);
	ret = nl ? dump(nl, c, buf, len) : -errno;
	if (nl)
		pw_nlkeep_return(&pw_nft_sock, !ret);
out:
	free(buf);
	if (!ret)
		return c;
	pw_counters_free(c);
	errno = -ret;
	return NULL;
}

PW_EXPORT bool pw_counters_get(const struct pw_counters *c, const char *name,
			       uint64_t *packets, uint64_t *bytes)
{
	for (size_t i = 0; c && i < c->n; i++) {
		if (strcmp(c->v[i].name, name))
			continue;
		if (packets)
			*packets = c->v[i].packets;
		if (bytes)
			*bytes = c->v[i].bytes;
		return true;
	}
	return false;
}
