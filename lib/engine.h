/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's compiled index (internal to the library).
 *
 * The question the engine answers, for every ordered pair of pods (s, d)
 * and a port P, is allowed(s, d) = E[s][d] && I[d][s]: s's egress side
 * admits d, and d's ingress side admits s. Evaluating that pair by pair,
 * policy by policy, is 30 million pairs times a dozen policies on the
 * benchmark cluster, so the cluster is compiled once into sets over pods:
 *
 *   pods[]     the matrix pods (running, pending and templates; never
 *              hostNetwork or finished pods), sorted by name. A namespace's
 *              pods are contiguous ("ns/" is a prefix), so ns_lo/ns_hi give
 *              each namespace's range.
 *   sel[]      per pod and direction, the policies that select it, in
 *              cluster order, i.e. sorted by (ns, name). Only a namespace's
 *              own policies are tested against its pods.
 *   sets[]     per distinct peer, the pods it admits as a bitset. Selector
 *              peers are memoized by canonical selector (policies repeat
 *              them); a namespaceSelector is first matched against
 *              namespaces through an inverted index of namespace labels
 *              (nsindex.h), then its pod selector only against the pods of
 *              those namespaces. An ipBlock has one bitset per address view
 *              (below), since which pod address is judged depends on the
 *              family of the connection.
 *   rules[]    every rule of every policy, flattened; rule_base[policy][dir]
 *              is the first one of that policy and direction, and
 *              peer_set[rules[i].peer_base + k] the set of its k-th peer.
 *   set[], pclass  per pod, the class of its selection list per direction
 *              and of its container ports: pods in the same classes (and
 *              address family) get the same rows below, computed once.
 *
 * For one port, the matrix code (matrix.c) then builds the ingress row I[d]
 * (OR of the peer sets of the rules whose ports match P on d) per class of
 * destinations and the egress row E[s] (OR of peer sets, masked by the
 * pods whose named port matches when the rule names ports) per class of
 * sources, and takes 64 sources at a time: their 64 rows of transpose(I),
 * built by 64x64 bit-block transposes, ANDed with their E rows.
 *
 * Address views: a connection between pods uses the destination's first
 * address family (the source's first family when the destination has no
 * address, as a template has not). The egress side judges the destination
 * by its first address (PW_VIEW_FIRST); the ingress side judges the source
 * by its address of the destination's family (PW_VIEW_V4 / PW_VIEW_V6), or
 * by its first address when the destination has none.
 */
#ifndef PW_ENGINE_INT_H
#define PW_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/engine.h>
#include "model.h"
#include "nsindex.h"

enum pw_view {
	PW_VIEW_V4,
	PW_VIEW_V6,
	PW_VIEW_FIRST,
	PW_VIEW_NR,
};

struct pw_eng_pod {
	const struct pw_pod *pod;
	const struct pw_namespace *ns;
	uint32_t ns_idx; /* into cluster->nss */
	char *name; /* "ns/name" or "ns/name[Kind]" */
	uint32_t sel_off[PW_DIR_NR]; /* into engine->sel */
	uint32_t nsel[PW_DIR_NR]; /* 0: that side is not isolated */
	uint32_t set[PW_DIR_NR]; /* class of equal selection lists */
	uint32_t pclass; /* class of equal container ports */
};

/* The pods one peer admits. Selector peers share one bitset for all views
 * (bits[v] all equal `own`); an ipBlock owns one per view. */
struct pw_peerset {
	const uint64_t *bits[PW_VIEW_NR];
	uint64_t *own;
	const struct pw_peer *rep; /* the first peer seen, for equality */
	uint32_t ns; /* its policy's namespace */
	uint64_t hash;
};

struct pw_erule {
	const struct pw_rule *r;
	uint32_t peer_base; /* into engine->peer_set */
};

/* An address of a matrix pod (engine->addr_pods, sorted by address, then
 * by pod: the first pod in matrix order wins when two claim one address,
 * as in the ruleset's maps). */
struct pw_addr_pod {
	struct pw_addr a;
	uint32_t pod;
};

struct pw_engine {
	const struct pw_cluster *c;
	size_t npods;
	size_t words; /* per pod bitset */
	struct pw_eng_pod *pods;
	uint32_t *ns_lo, *ns_hi; /* per cluster namespace */
	struct pw_nsindex nsx; /* namespace labels */
	uint32_t *sel;
	size_t nsel;
	size_t nset_ids[PW_DIR_NR]; /* classes of selection lists */
	uint32_t (*rule_base)[PW_DIR_NR]; /* per cluster policy */
	struct pw_erule *rules;
	size_t nrules, cap_rules;
	uint32_t *peer_set;
	size_t npeers, cap_peers;
	struct pw_peerset *sets;
	size_t nsets, cap_sets;
	uint32_t *memo; /* open addressing: set index + 1 */
	size_t memo_size;
	struct pw_port *defports;
	size_t ndefports;
	uint64_t *ones; /* every pod */
	struct pw_addr_pod *addr_pods;
	size_t naddr_pods;
};

/* Whether a pod is in the matrix: neither hostNetwork (node traffic) nor
 * finished. Templates are. */
bool pw_pod_in_matrix(const struct pw_pod *p);
/* "ns/name", or "ns/name[Kind]" for a workload template: a matrix pod's
 * name (malloc'd; NULL on ENOMEM). */
char *pw_pod_matrix_name(const struct pw_pod *p);

/* The matrix pod with address a, or -1: a binary search, for the callers
 * that meet addresses per packet or per connection (explain by address,
 * the flow log, the conntrack sweep). */
long pw_engine_addr_pod(const struct pw_engine *e, const struct pw_addr *a);

/*
 * Endpoints of explain. A matrix pod (or template) is PW_EP_POD with its
 * matrix index; a hostNetwork pod is node traffic (PW_EP_HOST_POD: only
 * ipBlocks see it); a node is known by the address that named it; any
 * other address is outside the cluster (PW_EP_IP).
 */
enum pw_ep_kind {
	PW_EP_POD,
	PW_EP_HOST_POD,
	PW_EP_NODE,
	PW_EP_IP,
};

struct pw_ep {
	enum pw_ep_kind kind;
	const struct pw_pod *pod; /* POD, HOST_POD */
	size_t idx; /* POD: matrix index */
	const struct pw_node *node; /* NODE */
	struct pw_addr addr; /* NODE, IP */
	char *name;
};

struct pw_endpoints {
	const struct pw_service *svc; /* when named as a service */
	struct pw_ep *v;
	size_t n, cap;
};

/* The endpoint's address of a family (0: none), or NULL. */
const struct pw_addr *pw_ep_addr(const struct pw_ep *ep, int family);
/* Appends an endpoint of that kind named name (copied) to eps, its other
 * fields zero for the caller to fill. The new endpoint, or NULL when memory ran out (eps is
 * left as it was). */
struct pw_ep *pw_endpoints_push(struct pw_endpoints *eps, enum pw_ep_kind kind,
				const char *name);

/* The namespace named name, as an index into c->nss; -1 when absent. */
long pw_engine_ns_index(const struct pw_cluster *c, const char *name);
/* The matrix index of the pod named "ns/name[Kind]"; -1 when absent. */
long pw_engine_pod_index(const struct pw_engine *e, const char *name);

/* Whether a NetworkPolicyPort entry matches port on a destination pod
 * (NULL: not a pod, which no named port matches). */
bool pw_np_port_matches(const struct pw_np_port *pp, const struct pw_port *port,
			const struct pw_pod *dst);

#endif
