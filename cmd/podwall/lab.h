/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lab: the cluster of the manifests built in network namespaces on
 * this machine, with real servers and real probes (docs/LAB.md).
 *
 * The files split it by concept:
 *   lab.c        the `podwall lab` command and its subcommands
 *   lab_plan.c   what to build: nodes, pods, addresses (from the cluster)
 *   lab_net.c    building and removing namespaces, links and routes
 *   lab_serve.c  the servers that answer in every pod
 *   lab_probe.c  the probes and their results
 *   lab_out.c    text and JSON output of a probe
 *   lab_state.c  /run/podwall/lab/<id>/ and finding what a lab left
 *   lab_sys.c    small process helpers: running ip, entering a netns
 *
 * Every name the lab gives the kernel (namespaces, interfaces, process
 * names) is generated from the lab id and indexes: no string from a
 * manifest ever reaches the kernel, ip or a format string.
 */
#ifndef PODWALL_CMD_LAB_H
#define PODWALL_CMD_LAB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <podwall/podwall.h>

struct cmd;

int cmd_lab(const struct cmd *cmd, int argc, char **argv);
extern const char lab_usage[];

/* "pw" and 4 hex digits by default; --name may give up to 8 of [a-z0-9]
 * so that "<id>-s1234" still fits in a 15-character process name. */
#define LAB_ID_MAX 9
#define LAB_NS_MAX 32
#define LAB_STATE_ROOT "/run/podwall/lab"
#define LAB_NETNS_DIR "/run/netns"

/* Where a pod's default routes point: a link-local gateway answered by the
 * node side of its veth (a static neighbour entry, as Calico does). */
#define LAB_GW4 "169.254.1.1"
#define LAB_GW6 "fe80::1"

/* Set by the SIGINT/SIGTERM/SIGHUP handler; every step checks it. */
extern volatile sig_atomic_t lab_stop;

struct lab_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t b[16];
};

/* One pod that the lab builds: its own netns with eth0 into its node. */
struct lab_pod {
	char *name; /* "ns/name" */
	unsigned k; /* names its netns and links; kept by lab apply */
	size_t eidx; /* index among pw_engine_pod_name() */
	size_t node; /* into plan->nodes */
	struct lab_addr ips[2]; /* first one is the one probed */
	size_t nips;
	bool allocated; /* the addresses are the lab's, not the manifest's */
	struct pw_port *ports; /* declared container ports */
	size_t nports;
	char netns[LAB_NS_MAX]; /* "<id>-p<k>" */
	char ifname[16]; /* node side of the veth: "p<k>" */
};

/* One node: a netns with a veth "fab0" into the fabric bridge. */
struct lab_node {
	char *name; /* spec.nodeName; "<id>-default" for pods without */
	unsigned k; /* names its netns and links; kept by lab apply */
	struct lab_addr addr4; /* on fab0; from status.addresses or ours */
	struct lab_addr addr6; /* a global one when the Node gives it */
	bool has6;
	struct lab_addr ll6; /* fe80::a:<k> on fab0, next hop for IPv6 */
	/* Where its pods without an address get one: the Node's first IPv4
	 * podCIDR, else a /24 the lab chose, which is then also given to
	 * the node's ruleset as its pod range (fail-closed), as
	 * `podwall apply --pod-cidr` would be. */
	uint32_t pool, pool_last; /* first address, last host offset */
	char range[24]; /* "10.244.4.0/24" when the lab chose it, else "" */
	char netns[LAB_NS_MAX]; /* "<id>-n<k>" */
	char fabif[16]; /* its port on the bridge: "n<k>" */
};

/* A pod of the manifests that the lab does not build, and why. */
struct lab_note {
	char *pod;
	const char *why; /* static */
};

struct lab_plan {
	char id[LAB_ID_MAX];
	char fabric[LAB_NS_MAX]; /* "<id>-f" */
	struct lab_node *nodes;
	size_t nnodes;
	struct lab_pod *pods; /* sorted by name, as the engine's */
	size_t npods;
	struct lab_note *notes;
	size_t nnotes;
};

/* A port that cannot be probed here, with the reason. */
struct lab_skip {
	struct pw_port port;
	const char *why; /* static */
};

/* The ports of one probe run and what each pair did on each. */
struct lab_result {
	struct pw_port *ports; /* probed */
	size_t nports;
	struct lab_skip *skips;
	size_t nskips;
	size_t npods;
	/* [p][from][to], plan pod indexes; from == to is left true */
	bool *observed;
	bool *expected; /* NULL when not compared */
};

/* ---- lab_plan.c ---------------------------------------------------- */

/*
 * Builds the plan of cluster c (finalized without errors) for lab id:
 * nodes, pods, their addresses (status.podIPs, else allocated from the
 * node's podCIDR or a private range). Addresses the lab allocates are
 * written into c's pods, so that the engine built afterwards, and the
 * rulesets, judge the same addresses the traffic uses. With prev (the
 * plan the lab was built with, or NULL), nodes and pods that remain keep
 * their names (k) and allocated addresses. Prints why on failure; 0 or
 * -errno.
 */
int lab_plan_build(struct lab_plan *plan, const char *id, struct pw_cluster *c,
		   const struct lab_plan *prev);
/* Fills the names derived from the ids and each k: netns, links, the
 * fabric and link-local addresses. */
void lab_plan_names(struct lab_plan *plan);
/* Node index of the node named name in plan; plan->nnodes when absent. */
size_t lab_plan_node(const struct lab_plan *plan, const char *name);
/* Pod index of the pod named name in plan; plan->npods when absent. */
size_t lab_plan_pod(const struct lab_plan *plan, const char *name);
/* A digest of everything the network is built from (nodes, pods,
 * namespaces, addresses, ports): equal digests, same network. */
uint64_t lab_plan_digest(const struct lab_plan *plan);
/* Sets each pod's eidx from the engine's pod list. 0 or -ENOENT. */
int lab_plan_bind(struct lab_plan *plan, const struct pw_engine *e);
void lab_plan_free(struct lab_plan *plan);
/* Text of an address, without prefix. */
void lab_addr_str(const struct lab_addr *a, char *buf, size_t len);

/* ---- lab_sys.c ----------------------------------------------------- */

/* Runs `ip ARGS...` (NULL-terminated) and waits. On failure prints the
 * command and what ip said. 0 or -EIO (-EINTR when the lab is stopping). */
int lab_ip(const char *arg, ...) __attribute__((sentinel));
/* Enters the network namespace /run/netns/NAME in this process. 0 or
 * -errno. */
int lab_netns_enter(const char *name);
/* Runs fn(arg) inside netns NAME and comes back. fn's result, or -errno. */
int lab_netns_call(const char *name, int (*fn)(void *arg), void *arg);
/* Writes value into /proc/sys/PATH of the current netns. 0 or -errno. */
int lab_sysctl(const char *path, const char *value);
/* Installs the handler that sets lab_stop (no SA_RESTART). */
void lab_signals_install(void);
/* Names this process "<id>-<what>" for `ps` and for lab down. */
void lab_proc_name(const char *id, const char *what);

/* ---- lab_net.c ----------------------------------------------------- */

/* Builds namespaces, links, addresses and routes of plan. 0 or -errno;
 * whatever was built stays for lab_state_down(). */
int lab_net_up(const struct lab_plan *plan);
/* Pieces, for lab apply: a node of plan (its netns and the routes between
 * it and every other node), a pod of plan (its netns and the routes to it
 * from every node), and their removal (old: the plan they were built
 * with; now: the new one, whose nodes lose the routes to them). */
int lab_net_node_add(const struct lab_plan *plan, size_t j);
/* On node j, the routes to pod i via pod i's node. */
int lab_net_pod_route(const struct lab_plan *plan, size_t i, size_t j);
int lab_net_pod_add(const struct lab_plan *plan, size_t i);
int lab_net_pod_del(const struct lab_plan *old, size_t i,
		    const struct lab_plan *now);
int lab_net_node_del(const struct lab_plan *old, size_t j,
		     const struct lab_plan *now);

/* ---- lab_state.c --------------------------------------------------- */

/* What a lab records about itself, to be found by later commands. */
struct lab_record {
	char **paths; /* the manifests, absolute ("-" stays "-") */
	size_t npaths;
	struct pw_port *ports; /* what the servers answer */
	size_t nports;
	uint64_t network; /* lab_plan_digest() of what was built */
};

/* Creates /run/podwall/lab/<id>/ (EEXIST when the lab exists). */
int lab_state_create(const char *id);
/* Writes rec (paths made absolute). 0 or -errno. */
int lab_state_save(const char *id, const struct lab_record *rec);
/* Reads it back into rec (free with lab_record_free()). 0, -ENOENT (no
 * such lab), -errno. */
int lab_state_load(const char *id, struct lab_record *rec);
void lab_record_free(struct lab_record *rec);
/* Records what was built (nodes, pods, their ids and addresses), for
 * lab apply to change only what changes. 0 or -errno. */
int lab_state_save_plan(const char *id, const struct lab_plan *plan);
/* Reads it back into plan (lab_plan_free()); names are derived again.
 * 0, -ENOENT, -EBADMSG for a record that does not parse, -errno. */
int lab_state_load_plan(const char *id, struct lab_plan *plan);
/* The id of the only lab there is: 0, -ENOENT (none), -EEXIST (several). */
int lab_state_only(char *id, size_t len);
/* Kills the lab's process named exactly "<id>-<what>" and waits for it
 * to end. 0 or -EBUSY. */
int lab_state_kill(const char *id, const char *what);
/* Kills the lab's processes, deletes its namespaces and its state
 * directory; anything left is reported. 0 or -errno of the first failure. */
int lab_state_down(const char *id);
/* lab_state_down() on every lab under the state root; counts them. */
int lab_state_down_all(size_t *count);
/* Whether anything of the lab exists: state, netns or processes. */
bool lab_state_traces(const char *id);

/* ---- lab_serve.c --------------------------------------------------- */

/* Detached servers that outlive this process (lab up); without it they
 * die with it (lab run, extra ports of lab probe). */
#define LAB_SERVE_DAEMON 1u
/* Only the given ports, not the pods' container ports. */
#define LAB_SERVE_ONLY 2u

/*
 * Starts one server per pod (in its netns; only pods i with which[i] when
 * which is not NULL), named "<id>-s<k>", serving each port number of its
 * container ports and of ports on TCP (accept, close) and UDP (echo).
 * Returns when every server is listening; pids[npods] receives the pids.
 * 0 or -errno.
 */
int lab_serve_start(const struct lab_plan *plan, const struct pw_port *ports,
		    size_t nports, unsigned flags, const bool *which,
		    pid_t *pids);
/* Kills the servers and reaps them (they hold no state worth a grace
 * period). */
void lab_serve_stop(pid_t *pids, size_t n);

/* ---- lab_probe.c --------------------------------------------------- */

/* Timeouts of the two rounds, in milliseconds. */
#define LAB_PROBE_FAST_MS 300
#define LAB_PROBE_SLOW_MS 2000

/*
 * Probes every ordered pair of plan pods on every port of r (r->ports,
 * r->npods set, r->observed allocated). 0 or -errno.
 */
int lab_probe_run(const struct lab_plan *plan, struct lab_result *r);

/* ---- lab_out.c ----------------------------------------------------- */

static inline size_t lab_cell(const struct lab_result *r, size_t p, size_t from,
			      size_t to)
{
	return (p * r->npods + from) * r->npods + to;
}

/* Mismatches between observed and expected (0 when not compared). */
size_t lab_result_mismatches(const struct lab_result *r);
void lab_result_free(struct lab_result *r);
/* The JSON of spec/cli.md; with expected: "expected", "mismatches" and
 * "skipped" too (run). */
void lab_out_json(const struct lab_plan *plan, const struct lab_result *r,
		  bool run);
/* Per port a table of what the traffic did next to the engine. */
void lab_out_text(const struct lab_plan *plan, const struct lab_result *r);

#endif
