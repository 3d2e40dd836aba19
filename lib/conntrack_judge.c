// SPDX-License-Identifier: Apache-2.0
/*
 * The judge of the conntrack sweep: a connection-table entry against the
 * engine, as the datapath judges the first packet of a connection, with
 * caches and the engine's matrix for big tables (lib/conntrack.h has the
 * parts).
 *
 * Which connection an entry is. After DNAT (a Service) the original
 * tuple still names the service address; the reply tuple's source is the
 * backend that answers and its source port the port the backend listens
 * on. The datapath's forward hook runs after DNAT, so it judged the
 * client (original source) against that backend and port; so does the
 * judge. SNAT (masquerade) happens after the forward hook and changes
 * only the reply's destination, which nobody judges.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <podwall/conntrack.h>

#include "addr.h"
#include "engine.h"
#include "model.h"
#include "util.h"

/* -- judging ------------------------------------------------------------ */

/* Endpoints of addresses that are not matrix pods (nodes, hostNetwork
 * pods, the outside), resolved once: open addressing, power-of-two size. */
struct other_ep {
	struct pw_addr a;
	struct pw_endpoints *eps; /* NULL: empty slot */
};

/*
 * Decisions already taken in this sweep, by (client, server, port): many
 * connections share them (one per client source port), and explain is
 * the expensive part (microseconds on a cluster of 13k policies).
 */
struct vkey {
	struct pw_addr c, s;
	uint16_t port;
	uint8_t proto;
	uint8_t used;
};

struct vslot {
	struct vkey k;
	int decision;
};

struct pw_ct_judge {
	const struct pw_engine *e;
	char *node;
	size_t npods;
	bool *local; /* per matrix pod: enforced on this node */
	struct pw_endpoints **pod_eps; /* per matrix pod, resolved lazily */
	/* Addresses of Nodes and hostNetwork pods, sorted: the only ones
	 * besides pods that are not simply outside the cluster. */
	struct pw_addr *known;
	size_t nknown;
	struct other_ep *other;
	size_t nother, capother;
	struct vslot *seen;
	size_t nseen, capseen;
	/* All pairs on the ports most pod-to-pod entries use (a sweep of
	 * many entries): one bit per pair instead of one explain. */
	struct pw_matrix *m;
	struct pw_port mports[8];
	size_t nmports;
	struct pw_addr *host;
	size_t nhost, caphost;
};

static int addr_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct pw_addr));
}

/* By address, then matrix index: the first of equal addresses is the
 * first pod in matrix order. */
static bool pod_is_local(const struct pw_engine *e, size_t i, const char *node)
{
	const char *n = pw_engine_pod_node(e, i);

	return !node || (n && !strcmp(n, node));
}

/* Which matrix pods this node enforces. */
static int mark_local(struct pw_ct_judge *j)
{
	for (size_t i = 0; i < j->npods; i++)
		j->local[i] = pod_is_local(j->e, i, j->node);
	return 0;
}

static int push_addr(struct pw_addr **v, size_t *n, size_t *cap,
		     const struct pw_addr *a)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		struct pw_addr *w = realloc(*v, c * sizeof(*w));

		if (!w)
			return -ENOMEM;
		*v = w;
		*cap = c;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].family = a->family;
	memcpy((*v)[*n].b, a->b, a->family == 4 ? 4 : 16);
	(*n)++;
	return 0;
}

/* What pw_engine_resolve() finds for an address besides pods: the
 * Nodes' addresses and the live hostNetwork pods' (lib/endpoint.c). */
static int index_known(struct pw_ct_judge *j)
{
	const struct pw_cluster *c = j->e->c;
	size_t cap = 0;
	int ret = 0;

	for (size_t i = 0; i < c->nnodes && !ret; i++)
		for (size_t k = 0; k < c->nodes[i].naddrs && !ret; k++)
			ret = push_addr(&j->known, &j->nknown, &cap,
					&c->nodes[i].addrs[k]);
	for (size_t i = 0; i < c->npods && !ret; i++) {
		const struct pw_pod *p = &c->pods[i];

		if (!p->host_network || pw_cluster_pod_finished(c, i))
			continue;
		for (size_t k = 0; k < p->nips && !ret; k++)
			ret = push_addr(&j->known, &j->nknown, &cap,
					&p->ips[k]);
	}
	if (j->nknown)
		qsort(j->known, j->nknown, sizeof(*j->known), addr_cmp);
	return ret;
}

PW_EXPORT struct pw_ct_judge *pw_ct_judge_new(const struct pw_engine *e,
					      const char *node)
{
	struct pw_ct_judge *j = calloc(1, sizeof(*j));

	if (!j)
		goto err_nomem;
	j->e = e;
	j->npods = pw_engine_pod_count(e);
	j->node = node ? strdup(node) : NULL;
	j->local = calloc(j->npods + 1, sizeof(*j->local));
	j->pod_eps = calloc(j->npods + 1, sizeof(*j->pod_eps));
	if ((node && !j->node) || !j->local || !j->pod_eps || mark_local(j) ||
	    index_known(j))
		goto err_free_judge;
	return j;

err_free_judge:
	pw_ct_judge_free(j);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

PW_EXPORT void pw_ct_judge_free(struct pw_ct_judge *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->npods; i++)
		pw_endpoints_free(j->pod_eps[i]);
	for (size_t i = 0; i < j->capother; i++)
		pw_endpoints_free(j->other[i].eps);
	free(j->other);
	free(j->seen);
	pw_matrix_free(j->m);
	free(j->known);
	free(j->pod_eps);
	free(j->local);
	free(j->host);
	free(j->node);
	free(j);
}

PW_EXPORT int pw_ct_judge_add_host_addr(struct pw_ct_judge *j,
					const struct pw_addr *a)
{
	return push_addr(&j->host, &j->nhost, &j->caphost, a);
}

static bool is_host(const struct pw_ct_judge *j, const struct pw_addr *a)
{
	for (size_t i = 0; i < j->nhost; i++)
		if (!addr_cmp(&j->host[i], a))
			return true;
	return false;
}

/* The matrix pod with address a, or -1. */
static long pod_of(const struct pw_ct_judge *j, const struct pw_addr *a)
{
	return pw_engine_addr_pod(j->e, a);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static struct other_ep *other_slot(struct other_ep *v, size_t cap,
				   const struct pw_addr *a)
{
	size_t i = (size_t)hash_bytes(a, sizeof(*a)) & (cap - 1);

	while (v[i].eps && addr_cmp(&v[i].a, a))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int other_grow(struct pw_ct_judge *j)
{
	size_t cap = j->capother ? 2 * j->capother : 64;
	struct other_ep *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < j->capother; i++)
		if (j->other[i].eps)
			*other_slot(v, cap, &j->other[i].a) = j->other[i];
	free(j->other);
	j->other = v;
	j->capother = cap;
	return 0;
}

/*
 * An address outside the cluster, as pw_engine_resolve() makes it but
 * without its scan of every pod for a hostNetwork address (the judge's
 * sorted `known` addresses have answered that): one PW_EP_IP endpoint
 * (lib/engine.h).
 */
static struct pw_endpoints *outside(const struct pw_addr *a)
{
	struct pw_endpoints *eps = calloc(1, sizeof(*eps));
	char text[PW_ADDR_STRLEN];

	if (!eps)
		goto err_nomem;
	eps->v = calloc(1, sizeof(*eps->v));
	if (!eps->v || pw_addr_format(a, text, sizeof(text)) <= 0)
		goto err_free_eps;
	eps->v->name = strdup(text);
	if (!eps->v->name)
		goto err_free_eps;
	eps->n = eps->cap = 1;
	eps->v->kind = PW_EP_IP;
	eps->v->addr = *a;
	return eps;

err_free_eps:
	pw_endpoints_free(eps);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

static struct pw_endpoints *resolve_other(struct pw_ct_judge *j,
					  const struct pw_addr *a)
{
	char text[PW_ADDR_STRLEN];
	struct other_ep *s;

	if (2 * (j->nother + 1) > j->capother && other_grow(j))
		return NULL;
	s = other_slot(j->other, j->capother, a);
	if (s->eps)
		return s->eps;
	if (bsearch(a, j->known, j->nknown, sizeof(*a), addr_cmp)) {
		if (pw_addr_format(a, text, sizeof(text)) <= 0)
			return NULL;
		s->eps = pw_engine_resolve(j->e, text);
	} else {
		s->eps = outside(a);
	}
	if (!s->eps)
		return NULL;
	s->a = *a;
	j->nother++;
	return s->eps;
}

static struct pw_endpoints *resolve(struct pw_ct_judge *j,
				    const struct pw_addr *a, long pod)
{
	if (pod < 0)
		return resolve_other(j, a);
	if (!j->pod_eps[pod])
		j->pod_eps[pod] =
			pw_engine_resolve(j->e, pw_engine_pod_name(j->e, pod));
	return j->pod_eps[pod];
}

/*
 * The port the destination sees. Only TCP, UDP and SCTP have ports in a
 * NetworkPolicy; any other protocol (ICMP, ICMPv6, GRE, ...) is judged
 * with a protocol no port entry names (PW_PROTO_NR), so that exactly the
 * rules without ports admit it: what the class chains do (their port
 * sets hold TCP, UDP and SCTP elements only).
 */
static struct pw_port dest_port(const struct pw_ct_entry *en)
{
	static const struct {
		uint8_t ipproto;
		enum pw_proto proto;
	} map[] = {
		{ IPPROTO_TCP, PW_PROTO_TCP },
		{ IPPROTO_UDP, PW_PROTO_UDP },
		{ IPPROTO_SCTP, PW_PROTO_SCTP },
	};
	struct pw_port p = { .num = 0, .proto = PW_PROTO_NR };

	for (size_t i = 0; i < PW_ARRAY_SIZE(map); i++) {
		if (en->orig.proto != map[i].ipproto || !en->orig.has_ports)
			continue;
		p.proto = (uint8_t)map[i].proto;
		p.num = en->has_reply && en->reply.has_ports ? en->reply.sport :
							       en->orig.dport;
	}
	return p;
}

/* Whether the verdict denies a side this node enforces. */
static bool denied_here(const struct pw_verdict *v, bool src_local,
			bool dst_local)
{
	enum pw_reason r = pw_verdict_reason(v);

	if (r == PW_REASON_SAME_POD || r == PW_REASON_NODE_TRAFFIC)
		return false;
	return (src_local && !pw_verdict_side_allowed(v, PW_DIR_EGRESS)) ||
	       (dst_local && !pw_verdict_side_allowed(v, PW_DIR_INGRESS));
}

static struct vslot *vslot_find(struct vslot *v, size_t cap,
				const struct vkey *k)
{
	size_t i = (size_t)hash_bytes(k, sizeof(*k)) & (cap - 1);

	while (v[i].k.used && memcmp(&v[i].k, k, sizeof(*k)))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int seen_grow(struct pw_ct_judge *j)
{
	size_t cap = j->capseen ? 2 * j->capseen : 256;
	struct vslot *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < j->capseen; i++)
		if (j->seen[i].k.used)
			*vslot_find(v, cap, &j->seen[i].k) = j->seen[i];
	free(j->seen);
	j->seen = v;
	j->capseen = cap;
	return 0;
}

/* The slot of (client, server, port): used when decided already; NULL
 * without memory (the caller then decides without the cache). */
static struct vslot *seen_slot(struct pw_ct_judge *j,
			       const struct pw_addr *client,
			       const struct pw_addr *server,
			       const struct pw_port *port)
{
	struct vkey k;

	memset(&k, 0, sizeof(k)); /* the padding is hashed too */
	k.c = *client;
	k.s = *server;
	k.port = port->num;
	k.proto = port->proto;
	k.used = 1;
	if (2 * (j->nseen + 1) > j->capseen && seen_grow(j))
		return NULL;
	return vslot_find(j->seen, j->capseen, &k);
}

/* Explains client -> server:port and keeps what this node enforces. */
static int judge_pair(struct pw_ct_judge *j, const struct pw_addr *client,
		      long cp, const struct pw_addr *server, long sp,
		      const struct pw_port *port)
{
	bool cl = cp >= 0 && j->local[cp], sl = sp >= 0 && j->local[sp];
	struct pw_endpoints *from = resolve(j, client, cp), *to;
	struct pw_verdict *v;
	bool cut;

	to = from ? resolve(j, server, sp) : NULL;
	if (!to)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	v = pw_engine_explain(j->e, from, 0, to, 0, port);
	if (!v)
		return -errno;
	cut = denied_here(v, cl, sl);
	pw_verdict_free(v);
	return cut ? PW_CT_CUT : PW_CT_KEEP;
}

/*
 * From the matrix when it covers the pair's port: allowed means both
 * sides admit it; denied is a cut when this node enforces both sides,
 * else explain says which side denied (-1: not decided here).
 */
static int matrix_decide(const struct pw_ct_judge *j, long cp, long sp,
			 const struct pw_port *port)
{
	if (!j->m || cp < 0 || sp < 0)
		return -1;
	for (size_t i = 0; i < j->nmports; i++) {
		if (pw_port_cmp(&j->mports[i], port))
			continue;
		if (pw_matrix_allowed(j->m, i, (size_t)cp, (size_t)sp))
			return PW_CT_KEEP;
		return j->local[cp] && j->local[sp] ? PW_CT_CUT : -1;
	}
	return -1;
}

PW_EXPORT int pw_ct_judge_decide(struct pw_ct_judge *j,
				 const struct pw_ct_entry *en)
{
	const struct pw_addr *client = &en->orig.src;
	const struct pw_addr *server = en->has_reply ? &en->reply.src :
						       &en->orig.dst;
	long cp = pod_of(j, client), sp = pod_of(j, server);
	struct pw_port port;
	struct vslot *slot;
	int d;

	/* Born related (an expectation's connection): the datapath admitted
	 * it for its master, which is judged on its own. */
	if (en->status & IPS_EXPECTED)
		return PW_CT_IGNORE;
	if (!(cp >= 0 && j->local[cp]) && !(sp >= 0 && j->local[sp]))
		return PW_CT_IGNORE;
	if (is_host(j, client))
		return PW_CT_IGNORE;
	if (cp == sp)
		return PW_CT_KEEP; /* same-pod */
	port = dest_port(en);
	slot = seen_slot(j, client, server, &port);
	if (slot && slot->k.used)
		return slot->decision;
	d = matrix_decide(j, cp, sp, &port);
	if (d < 0)
		d = judge_pair(j, client, cp, server, sp, &port);
	if (d >= 0 && slot) {
		memset(&slot->k, 0, sizeof(slot->k));
		slot->k.c = *client;
		slot->k.s = *server;
		slot->k.port = port.num;
		slot->k.proto = port.proto;
		slot->k.used = 1;
		slot->decision = d;
		j->nseen++;
	}
	return d;
}

/* Ports are worth a matrix when this many entries use them. */
#define MATRIX_MIN_ENTRIES 256
/* And at most this much memory for it (pods^2 / 8 bytes per port). */
#define MATRIX_MAX_BYTES (64ull << 20)

struct port_count {
	struct pw_port p;
	size_t n;
};

static int by_count(const void *x, const void *y)
{
	const struct port_count *a = x, *b = y;

	return a->n < b->n ? 1 : a->n > b->n ? -1 : 0;
}

/* Whether en is between two different pods, one of them local, on a
 * protocol with ports: what the matrix can answer. */
static bool matrix_kind(const struct pw_ct_judge *j,
			const struct pw_ct_entry *en, struct pw_port *port)
{
	long cp = pod_of(j, &en->orig.src);
	long sp = pod_of(j, en->has_reply ? &en->reply.src : &en->orig.dst);

	*port = dest_port(en);
	return cp >= 0 && sp >= 0 && cp != sp && port->proto < PW_PROTO_NR &&
	       (j->local[cp] || j->local[sp]);
}

/* Counts those entries per destination port (the first max ports). */
static size_t count_ports(const struct pw_ct_judge *j,
			  const struct pw_ct_entry *v, size_t nv,
			  struct port_count *pc, size_t max)
{
	size_t npc = 0, k;
	struct pw_port port;

	for (size_t i = 0; i < nv; i++) {
		if (!matrix_kind(j, &v[i], &port))
			continue;
		for (k = 0; k < npc && pw_port_cmp(&pc[k].p, &port); k++)
			;
		if (k == npc && npc < max) {
			pc[k].p = port;
			pc[k].n = 0;
			npc++;
		}
		if (k < npc)
			pc[k].n++;
	}
	return npc;
}

PW_EXPORT int pw_ct_judge_prepare(struct pw_ct_judge *j,
				  const struct pw_ct_entry *v, size_t n)
{
	struct port_count pc[64];
	size_t npc = count_ports(j, v, n, pc, PW_ARRAY_SIZE(pc)), k = 0;
	unsigned long long per =
		(unsigned long long)j->npods * j->npods / 8 + 1;

	pw_matrix_free(j->m);
	j->m = NULL;
	j->nmports = 0;
	qsort(pc, npc, sizeof(*pc), by_count);
	while (k < npc && k < PW_ARRAY_SIZE(j->mports) &&
	       pc[k].n >= MATRIX_MIN_ENTRIES &&
	       per * (k + 1) <= MATRIX_MAX_BYTES) {
		j->mports[k] = pc[k].p;
		k++;
	}
	if (!k)
		return 0;
	j->m = pw_engine_matrix(j->e, j->mports, k);
	if (!j->m)
		return -errno;
	j->nmports = k;
	return 0;
}
