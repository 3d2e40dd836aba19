#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The datapath benchmark (the second half of `make bench`; needs root):
# what enforcing the scale workload costs the kernel, as ratios measured
# in one run on this machine. docs/BENCHMARKS.md has the method and the
# results.
#
#   1. UDP packets per second between two pods a policy allows: one flow
#      of 64-byte payloads that is never answered (bench/dp_udpgen, pinned
#      to one CPU), counted at the destination pod's interface;
#   2. new TCP connections per second between the same pods
#      (bench/dp_tcpconn, client and server pinned to that CPU);
#
#   each in six configurations, runs alternating A B C U D E A B C U D E ...:
#      A  no table
#      B  a table with only `ct state established,related accept`
#      C  podwall enforcing the scale cluster (bench/gen_scale) plus the
#         two pods, loaded with `podwall apply --node node-0`
#      D  the same policies rendered as an iptables-style linear chain:
#         one rule per rule-peer pair, as kube-router renders them
#      E  C with the allowed_ingress/allowed_egress counters on the
#         admitting rules (`--flow-log all`, its log statements taken
#         out): what counting every judged packet costs (E/U would be
#         the old E/C: with the verdict cache C judges the first packet
#         of a connection only)
#      U  C without the verdict cache (`--ct-mark-mask 0`): every
#         packet of the unanswered UDP flow judged by the whole table
#         (C/U: what the cache buys)
#   Every configuration has its own topology (client pod, node, server
#   pod: three network namespaces, routed veths, made by the tests'
#   t_node and t_pod), so switching is free and each table stays loaded.
#
#   3. the time to apply the full profile and to enforce one pod added,
#      at about 1k and 10k pods: `podwall apply` around the whole process,
#      and bench/dp_apply for the library alone (cluster in memory).
#
# Environment:
#   BUILD=build      where make put podwall and bench/*
#   REPS=5           rounds of A B C U D E (each round: one UDP and one TCP run
#                    per configuration)
#   DURATION=2       seconds per run
#   CPU=             the CPU generator and server are pinned to (default:
#                    the last one)
#   GEN_ARGS=        extra gen_scale options for configuration C and D
#   APPLY_REPS=5     rounds of the apply timings
#   APPLY_SIZES="112 1112"   gen_scale --namespaces for the apply timings
#                    (9 pods each: 1008 and 10008 pods)
#   LINEAR_MAX=5000  rules of D before the bench pods' own (0: every
#                    rule-peer pair of the cluster, 26576 by default, which
#                    nft takes many minutes to load: see docs/BENCHMARKS.md)
#   SKIP_APPLY=1     only the traffic part
#   SKIP_TRAFFIC=1   only the apply timings (part 3): no topology, no
#                    traffic, in a minute or two
#   CONFIGS="A B C U D E"  the configurations to run; any other letter X
#                    is a variant whose table the shell command in
#                    SETUP_X loads, run with NS (X's node namespace),
#                    IF_CLIENT/IF_SERVER (the client's and server's veths
#                    there; not IFS, which every shell resets),
#                    CLIENT_IP, SERVER_IP, PODWALL and TMP (scale.yaml,
#                    pods.yaml) set: how docs/BENCHMARKS.md takes the
#                    cost of the fast path apart
#   RATIOS=          more ratios to print, e.g. "F/B G/B"
#
# Every namespace and process it makes is named after this run and removed
# on exit, also on failure or Ctrl-C (tests/netns/lib.sh, whose scratch
# folder, cleanup and topology it shares; it is no test: it prints no
# "passed, failed" line, which only lib.sh's finish does). Exit status 0
# when everything was measured (or skipped: not root), 1 when something
# failed.

# Word splitting is wanted where lists are left unquoted; cleanup runs
# from a trap, which shellcheck cannot see.
# shellcheck disable=SC2013,SC2046,SC2086,SC2317
set -uf

BUILD=${BUILD:-build}
REPS=${REPS:-5}
DURATION=${DURATION:-2}
GEN_ARGS=${GEN_ARGS:-}
APPLY_REPS=${APPLY_REPS:-5}
APPLY_SIZES=${APPLY_SIZES:-112 1112}
LINEAR_MAX=${LINEAR_MAX:-5000}
SKIP_APPLY=${SKIP_APPLY:-0}
SKIP_TRAFFIC=${SKIP_TRAFFIC:-0}
CPU=${CPU:-$(($(nproc) - 1))}

CONFIGS=${CONFIGS:-A B C U D E}
RATIOS=${RATIOS:-}
UDP_PORT=9000
TCP_PORT=9001

die() {
	echo "datapath: $*" >&2
	exit 1
}

# has CONFIG: whether configuration CONFIG is part of this run.
has() {
	case " $CONFIGS " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

if [ "$(id -u)" != 0 ]; then
	echo "datapath: skipped: needs root (network namespaces, nftables)"
	exit 0
fi

# RUN, TMP, PIDS, BIN (BUILD made absolute), PODWALL, in_ns, t_spawn,
# t_node, t_pod and the cleanup on exit. Ctrl-C ends the bench with
# status 1, as any failure here.
PW_TEST=datapath
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
trap 'exit 1' INT TERM HUP

GEN=$BIN/bench/gen_scale
UDPGEN=$BIN/bench/dp_udpgen
TCPCONN=$BIN/bench/dp_tcpconn
DPAPPLY=$BIN/bench/dp_apply
for f in "$PODWALL" "$GEN" "$UDPGEN" "$TCPCONN" "$DPAPPLY"; do
	[ -x "$f" ] || die "$f not found: build first (make O=$BUILD all)"
done
python3 -c "import yaml; yaml.CSafeLoader" 2>/dev/null ||
	die "python3 with PyYAML (Debian: python3-yaml) renders configuration D"

now_ns() {
	date +%s%N
}

# stats FILE [DIGITS]: "median min max" of the numbers in FILE, one a
# line, with DIGITS decimals (default 1).
stats() {
	sort -n "$1" | awk -v d="${2:-1}" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - -"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			f = "%." d "f %." d "f %." d "f\n"
			printf f, m, v[1], v[NR]
		}'
}

# spread FILE: (max - min) / median, in percent.
spread() {
	stats "$1" | awk '{ if ($1 > 0) printf "%.1f%%", ($3 - $2) * 100 / $1
		else print "-" }'
}

# ratio A B: median of the per-round ratios of two sample files.
ratio() {
	paste "$1" "$2" | awk '{ if ($2 > 0) printf "%.4f\n", $1 / $2 }' \
		>"$TMP/ratio.tmp"
	stats "$TMP/ratio.tmp" 3
}

verdict() { # VALUE OP LIMIT
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "-" || v == "") { print "n/a"; exit }
		ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
		print ok ? "yes" : "NO"
	}'
}

# ---- the clusters -------------------------------------------------------

# last_addrs FILE NODE: two free addresses at the top of NODE's podCIDR
# in a gen_scale file (gen_scale hands addresses out from the bottom).
last_addrs() {
	awk -v node="$2" '
		$1 == "name:" && $2 == node { found = 1 }
		found && $1 == "podCIDR:" { print $2; exit }' "$1" |
		awk -F '[./]' '{
			n = (($1 * 256 + $2) * 256 + $3) * 256 + $4
			top = n + 2 ^ (32 - $5) - 1
			for (k = 3; k >= 2; k--) {
				a = top - k
				printf "%d.%d.%d.%d ", int(a / 16777216) % 256,
					int(a / 65536) % 256, int(a / 256) % 256, a % 256
			}
			print ""
		}'
}

# bench_pods FILE CLIENT SERVER: the two pods, on node-0, isolated both
# ways, and the policies that allow client -> server on both ports.
bench_pods() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: dp-bench}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: dp-bench, labels: {app: dp-client}}
spec: {nodeName: node-0, containers: [{name: c}]}
status: {phase: Running, podIP: $2}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: dp-bench, labels: {app: dp-server}}
spec:
  nodeName: node-0
  containers:
  - name: s
    ports: [{containerPort: $UDP_PORT, protocol: UDP}, {containerPort: $TCP_PORT}]
status: {phase: Running, podIP: $3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: dp-bench}
spec:
  podSelector: {matchLabels: {app: dp-server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: dp-client}}}]
    ports: [{port: $UDP_PORT, protocol: UDP}, {port: $TCP_PORT}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: dp-bench}
spec:
  podSelector: {matchLabels: {app: dp-client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: dp-server}}}]
    ports: [{port: $UDP_PORT, protocol: UDP}, {port: $TCP_PORT}]
EOF
}

# extra_pod FILE ADDR: one more pod on node-0 that every label selector of
# its namespace picks (as test-pod-9 is picked), for the apply timings.
extra_pod() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: test-pod-extra
  namespace: network-policy-perf-0
  labels: {test-pod: "true", num: "99", "1": "true", "2": "true", "3": "true",
    "4": "true", "5": "true", "6": "true", "7": "true", "8": "true", "9": "true"}
spec:
  nodeName: node-0
  containers: [{name: sleeper, ports: [{containerPort: 8080}]}]
status: {phase: Running, podIP: $2}
EOF
}

# The linear rendering of configuration D. kube-router renders each
# rule-peer pair of a policy as one iptables rule matching the protocol,
# an ipset of the peer's addresses, an ipset of the policy's pods and the
# ports; iptables walks them one by one. Here: one chain, one nft rule per
# pair in the same order of matches (protocol, source, destination, port;
# anonymous sets stand for the ipsets), first match accepts, after the
# conntrack rule that every stateful firewall has. It is a cost model of
# the walk, not an enforcement (it ORs ingress and egress); nothing in it
# matches the benchmark's flow before the pair of the bench policies,
# which come last, so every packet walks every rule. Selectors of the
# workload are matchLabels and `In` expressions, all this resolves.
cat >"$TMP/linear.py" <<'EOF'
import sys, yaml

def sel_match(sel, labels):
    if sel is None:
        return True
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        op, val = e["operator"], labels.get(e["key"])
        if op == "In" and val not in e["values"]:
            return False
        if op == "NotIn" and val in e["values"]:
            return False
        if op == "Exists" and val is None:
            return False
        if op == "DoesNotExist" and val is not None:
            return False
    return True

docs = []
for path in sys.argv[2:]:
    with open(path) as f:
        docs += [d for d in yaml.load_all(f, Loader=yaml.CSafeLoader) if d]
limit = int(sys.argv[1])
nslabels, pods, pols = {}, [], []
for d in docs:
    md = d.get("metadata", {})
    if d["kind"] == "Namespace":
        nslabels[md["name"]] = dict(md.get("labels") or {},
            **{"kubernetes.io/metadata.name": md["name"]})
    elif d["kind"] == "Pod":
        pods.append((md.get("namespace", "default"), md.get("labels") or {},
                     d["status"]["podIP"]))
    elif d["kind"] == "NetworkPolicy":
        pols.append(d)

bypod = {}                       # namespace -> [(labels, ip)]
for pns, lab, ip in pods:
    bypod.setdefault(pns, []).append((lab, ip))
cache = {}

def addrs(ns, psel, nssel):
    key = (ns, repr(psel), repr(nssel))
    if key not in cache:
        if nssel is None:
            spaces = [ns]
        else:
            spaces = [n for n in bypod if sel_match(nssel, nslabels.get(n,
                      {"kubernetes.io/metadata.name": n}))]
        cache[key] = sorted({ip for n in spaces for lab, ip in bypod[n]
                             if sel_match(psel, lab)})
    return cache[key]

def ports(rule):
    out = []
    for p in rule.get("ports") or []:
        proto = p.get("protocol", "TCP").lower()
        port = str(p["port"]) + ("-%d" % p["endPort"] if "endPort" in p else "")
        out.append((proto, port))
    return out

rules = []
for p in pols:
    ns, spec = p["metadata"]["namespace"], p["spec"]
    targets = addrs(ns, spec["podSelector"], None)
    for kind, key, peer_dir in (("ingress", "from", "saddr"),
                                ("egress", "to", "daddr")):
        for rule in spec.get(kind) or []:
            for peer in rule.get(key) or []:
                if "ipBlock" in peer:
                    other = peer["ipBlock"]["cidr"]
                else:
                    a = addrs(ns, peer.get("podSelector"),
                              peer.get("namespaceSelector"))
                    if not a:
                        continue
                    other = "{ " + ", ".join(a) + " }"
                mine = "{ " + ", ".join(targets) + " }"
                src, dst = (other, mine) if peer_dir == "saddr" else (mine, other)
                for proto in sorted({pr for pr, _ in ports(rule)}):
                    pl = [pt for pr, pt in ports(rule) if pr == proto]
                    rules.append("meta l4proto %s ip saddr %s ip daddr %s "
                                 "%s dport { %s } accept"
                                 % (proto, src, dst, proto, ", ".join(pl)))
tail = rules[-4:]     # the bench policies: 2 pairs x 2 protocols
body = rules[:-4]
if limit > 0:
    body = body[:limit]
print("table inet dpbench {")
print("\tchain forward {")
print("\t\ttype filter hook forward priority filter; policy drop;")
print("\t\tct state established,related accept")
for r in body + tail:
    print("\t\t" + r)
print("\t}")
print("}")
sys.stderr.write("%d\n" % (len(body) + len(tail)))
EOF

# ---- topology -------------------------------------------------------------
#
# Per configuration X: $RUN-xc (client pod), $RUN-xn (node), $RUN-xs
# (server pod), as lib.sh's t_node and t_pod make them (Calico's layout):
# pods have a /32 and a default route to 169.254.1.1 on the node side of
# their veth; the node routes each pod address to its veth and forwards.
# The veths are pv0 (client's) and pv1 (server's) in every node.

build_config() { # X
	x=$(echo "$1" | tr '[:upper:]' '[:lower:]')
	t_node "$RUN-${x}n" &&
		t_pod "$RUN-${x}n" "$RUN-${x}c" "$CLIENT_IP" &&
		t_pod "$RUN-${x}n" "$RUN-${x}s" "$SERVER_IP" &&
		in_ns "$RUN-${x}c" sysctl -qw \
			net.ipv4.ip_local_port_range="10000 65000"
}

# start NS PROGRAM ARGS...: a server; waits for its "ready". Not through
# in_ns: $! must be the server's own pid (ip netns exec execs it), not a
# subshell's, so that cleanup's kill reaches it.
start() {
	_ns=$1
	shift
	t_spawn ip netns exec "$_ns" "$@" >"$TMP/ready" 2>&1
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		grep -q ready "$TMP/ready" && return 0
		sleep 0.1
	done
	cat "$TMP/ready" >&2
	return 1
}

rx_packets() { # NS
	in_ns "$1" cat /sys/class/net/eth0/statistics/rx_packets
}

# ---- runs -------------------------------------------------------------------

# field FILE KEY: the value of KEY in a "key=value ..." line.
field() {
	tr ' ' '\n' <"$1" | awk -F = -v k="$2" '$1 == k { print $2 }'
}

# per DIVIDEND DIVISOR: a rate, or 0 when nothing was measured.
per() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f\n", (b > 0) ? a / b : 0 }'
}

# udp_run X: appends to $TMP/udp.X the packets per second delivered to
# the server pod, and to $TMP/udpcpu.X the packets delivered per CPU
# second of the generator (which pays for the whole path).
udp_run() {
	x=$(echo "$1" | tr '[:upper:]' '[:lower:]')
	r0=$(rx_packets "$RUN-${x}s")
	in_ns "$RUN-${x}c" "$UDPGEN" --cpu "$CPU" --seconds "$DURATION" \
		"$SERVER_IP" "$UDP_PORT" >"$TMP/gen.out" 2>&1 ||
		die "dp_udpgen failed in $1: $(cat "$TMP/gen.out")"
	r1=$(rx_packets "$RUN-${x}s")
	per $((r1 - r0)) "$(field "$TMP/gen.out" seconds)" >>"$TMP/udp.$1"
	per $((r1 - r0)) "$(field "$TMP/gen.out" cpu)" >>"$TMP/udpcpu.$1"
	field "$TMP/gen.out" sent >>"$TMP/udpsent.$1"
	echo $((r1 - r0)) >>"$TMP/udpgot.$1"
}

# tcp_run X: connections per second to $TMP/tcp.X and per CPU second (of
# the one process that is both ends) to $TMP/tcpcpu.X.
tcp_run() {
	x=$(echo "$1" | tr '[:upper:]' '[:lower:]')
	in_ns "$RUN-${x}c" "$TCPCONN" --cpu "$CPU" --seconds "$DURATION" \
		--accept-in "$RUN-${x}s" "$SERVER_IP" "$TCP_PORT" \
		>"$TMP/conn.out" 2>&1 ||
		die "dp_tcpconn failed in $1: $(cat "$TMP/conn.out")"
	n=$(field "$TMP/conn.out" connections)
	per "$n" "$(field "$TMP/conn.out" seconds)" >>"$TMP/tcp.$1"
	per "$n" "$(field "$TMP/conn.out" cpu)" >>"$TMP/tcpcpu.$1"
	field "$TMP/conn.out" errors >>"$TMP/tcperr.$1"
}

# ct_states X PROTO: sends for half a second through X with a counting
# table after X's own and prints how conntrack classified the packets.
ct_states() {
	x=$(echo "$1" | tr '[:upper:]' '[:lower:]')
	in_ns "$RUN-${x}n" nft -f - <<EOF || return 1
table inet dpbench_verify {
	chain forward {
		type filter hook forward priority 10; policy accept;
		ct state new counter
		ct state established counter
		ct state related counter
		ct state untracked counter
	}
}
EOF
	if [ "$2" = udp ]; then
		in_ns "$RUN-${x}c" "$UDPGEN" --cpu "$CPU" --seconds 0.5 \
			"$SERVER_IP" "$UDP_PORT" >/dev/null
	else
		in_ns "$RUN-${x}c" "$TCPCONN" --cpu "$CPU" --seconds 0.5 \
			--accept-in "$RUN-${x}s" "$SERVER_IP" "$TCP_PORT" \
			>/dev/null
	fi
	in_ns "$RUN-${x}n" nft list table inet dpbench_verify |
		awk '/ct state/ { for (i = 1; i <= NF; i++)
			if ($i == "packets") printf "%s %s, ", $3, $(i + 1) }'
	in_ns "$RUN-${x}n" nft delete table inet dpbench_verify
}

# ---- apply timings --------------------------------------------------------------

# apply_size NAMESPACES: podwall apply (whole process) and dp_apply at one
# size; rows go to $TMP/apply.rows.
apply_size() {
	"$GEN" --namespaces "$1" "$TMP/a.yaml" 2>"$TMP/a.err" ||
		die "gen_scale --namespaces $1 failed"
	pods=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^pods/) print $(i - 1) }' \
		"$TMP/a.err")
	set -- $(last_addrs "$TMP/a.yaml" node-0)
	extra_pod "$TMP/extra.yaml" "$1"
	ns=$RUN-ap
	ip netns add "$ns" || die "ip netns add $ns"
	for f in full add remove; do : >"$TMP/cli.$f"; done
	i=0
	while [ "$i" -lt "$APPLY_REPS" ]; do
		in_ns "$ns" "$PODWALL" apply --flush >/dev/null 2>&1
		for step in full add remove; do
			case $step in
			add) set -- "$TMP/a.yaml" "$TMP/extra.yaml" ;;
			*) set -- "$TMP/a.yaml" ;;
			esac
			t0=$(now_ns)
			in_ns "$ns" "$PODWALL" apply --node node-0 "$@" \
				>"$TMP/apply.$step" 2>&1 ||
				die "podwall apply ($step, $pods pods) failed: $(cat "$TMP/apply.$step")"
			echo $((($(now_ns) - t0) / 1000)) |
				awk '{ printf "%.1f\n", $1 / 1000 }' >>"$TMP/cli.$step"
		done
		i=$((i + 1))
	done
	ADD_SAYS=$(tail -n 1 "$TMP/apply.add")
	in_ns "$ns" "$DPAPPLY" --reps "$APPLY_REPS" --node node-0 \
		--pod "$TMP/extra.yaml" "$TMP/a.yaml" >"$TMP/lib.out" 2>&1 ||
		die "dp_apply ($pods pods) failed: $(cat "$TMP/lib.out")"
	ip netns del "$ns"
	API=$(awk '$1 == "api" { print $2 }' "$TMP/lib.out")
	ELEMS=$(awk '$1 == "elements" { print $2 " -> " $3 }' "$TMP/lib.out")
	for step in full add remove; do
		set -- $(stats "$TMP/cli.$step")
		printf '%-7s %-34s %9s %9s %9s\n' "$pods" \
			"podwall apply: $step" "$1" "$2" "$3" >>"$TMP/apply.rows"
		for col in 5 2 3 4; do
			awk -v s="$step" -v c="$col" '$1 == s { print $c }' \
				"$TMP/lib.out" >"$TMP/col"
			case $col in
			5) what="total" ;;
			2) what="  engine" ;;
			3) what="  ruleset" ;;
			4) what="  kernel ($API)" ;;
			esac
			set -- $(stats "$TMP/col")
			printf '%-7s %-34s %9s %9s %9s\n' "$pods" \
				"dp_apply $step: $what" "$1" "$2" "$3" >>"$TMP/apply.rows"
		done
		[ "$step" = add ] && cp "$TMP/col" "$TMP/addkernel.$pods"
		[ "$step" = full ] && stats "$TMP/cli.full" >"$TMP/full.$pods"
		[ "$step" = add ] && {
			awk '$1 == "add" { print $5 }' "$TMP/lib.out" >"$TMP/addlib.$pods"
			stats "$TMP/cli.add" >"$TMP/addcli.$pods"
		}
	done
	echo "$pods pods: podwall apply of the added pod said: $ADD_SAYS;" \
		"elements $ELEMS" >>"$TMP/apply.notes"
	echo "$pods" >>"$TMP/apply.sizes"
}

# apply_timings: every size of APPLY_SIZES.
apply_timings() {
	: >"$TMP/apply.rows"
	: >"$TMP/apply.notes"
	: >"$TMP/apply.sizes"
	[ "$SKIP_APPLY" != 1 ] || return 0
	for n in $APPLY_SIZES; do
		echo "datapath: apply timings, gen_scale --namespaces $n," \
			"$APPLY_REPS rounds"
		apply_size "$n"
	done
}

# machine_line: what the figures were measured on, and the load.
machine_line() {
	CPUNAME=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
	echo "podwall datapath benchmark: $(uname -n), $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "machine: ${CPUNAME:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r)," \
		"load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
}

# apply_report: the rows of the apply timings and their targets.
apply_report() {
	if [ -s "$TMP/apply.rows" ]; then
		echo
		printf '%-7s %-34s %9s %9s %9s\n' pods "apply time (ms)" median min max
		cat "$TMP/apply.rows"
		cat "$TMP/apply.notes"
	fi
}

apply_targets() {
	for pods in $(cat "$TMP/apply.sizes"); do
		full=$(awk '{ print $1 / 1000 }' "$TMP/full.$pods")
		printf '%-50s %12s %10s %5s\n' "full apply, podwall apply, $pods pods" \
			"$full s" "<= 1 s" "$(verdict "$full" "<=" 1)"
		add=$(awk '{ print $1 }' "$TMP/addcli.$pods")
		printf '%-50s %12s %10s %5s\n' "pod added, podwall apply, $pods pods" \
			"$add ms" "<= 5 ms" "$(verdict "$add" "<=" 5)"
		add=$(stats "$TMP/addlib.$pods" | awk '{ print $1 }')
		printf '%-50s %12s %10s %5s\n' "pod added, dp_apply total, $pods pods" \
			"$add ms" "<= 5 ms" "$(verdict "$add" "<=" 5)"
		add=$(stats "$TMP/addkernel.$pods" | awk '{ print $1 }')
		printf '%-50s %12s %10s %5s\n' "pod added, pw_ruleset_update, $pods pods" \
			"$add ms" "<= 5 ms" "$(verdict "$add" "<=" 5)"
	done
}

# SKIP_TRAFFIC=1: the apply timings alone.
if [ "$SKIP_TRAFFIC" = 1 ]; then
	apply_timings
	echo
	machine_line
	apply_report
	echo
	printf '%-50s %12s %10s %5s\n' target measured limit met
	apply_targets
	exit 0
fi

# ---- setup ------------------------------------------------------------------

# The ratios and the checks of the flow stand on the baseline, the floor
# and podwall: variants come on top of them.
for c in A B C; do
	has $c || die "CONFIGS must include A, B and C (got: $CONFIGS)"
done

echo "datapath: generating the scale cluster ($GEN $GEN_ARGS)"
"$GEN" $GEN_ARGS "$TMP/scale.yaml" 2>"$TMP/gen.err" || {
	cat "$TMP/gen.err" >&2
	die "gen_scale failed"
}
GEN_SUMMARY=$(sed 's/^gen_scale: //' "$TMP/gen.err")
set -- $(last_addrs "$TMP/scale.yaml" node-0)
[ "$#" -eq 2 ] || die "no podCIDR for node-0 in the generated cluster"
CLIENT_IP=$1
SERVER_IP=$2
bench_pods "$TMP/pods.yaml" "$CLIENT_IP" "$SERVER_IP"

echo "datapath: rendering configuration D (linear rules)"
python3 "$TMP/linear.py" "$LINEAR_MAX" "$TMP/scale.yaml" "$TMP/pods.yaml" \
	>"$TMP/linear.nft" 2>"$TMP/linear.err" || {
	cat "$TMP/linear.err" >&2
	die "rendering D failed"
}
LINEAR_RULES=$(tail -n 1 "$TMP/linear.err")

echo "datapath: building $(echo $CONFIGS | wc -w) topologies ($RUN-*), client $CLIENT_IP," \
	"server $SERVER_IP"
for c in $CONFIGS; do
	build_config "$c" || die "building the topology of $c failed"
	x=$(echo "$c" | tr '[:upper:]' '[:lower:]')
	start "$RUN-${x}s" "$UDPGEN" --sink "$UDP_PORT" ||
		die "the UDP sink did not start"
done

# Variants: any configuration that is not A-E or U.
for c in $CONFIGS; do
	case $c in
	A | B | C | D | E | U) continue ;;
	esac
	x=$(echo "$c" | tr '[:upper:]' '[:lower:]')
	eval "setup=\${SETUP_$c:-}"
	[ -n "$setup" ] || die "configuration $c: no SETUP_$c"
	NS=$RUN-${x}n IF_CLIENT=$(t_veth_of "$RUN-${x}n" "$RUN-${x}c") \
		IF_SERVER=$(t_veth_of "$RUN-${x}n" "$RUN-${x}s") \
		CLIENT_IP=$CLIENT_IP SERVER_IP=$SERVER_IP PODWALL=$PODWALL \
		TMP=$TMP sh -c "$setup" >"$TMP/setup.$c" 2>&1 ||
		die "SETUP_$c failed: $(cat "$TMP/setup.$c")"
done

in_ns "$RUN-bn" nft -f - <<EOF || die "loading B failed"
table inet dpbench {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept
	}
}
EOF

t0=$(now_ns)
in_ns "$RUN-cn" "$PODWALL" apply --node node-0 "$TMP/scale.yaml" \
	"$TMP/pods.yaml" >"$TMP/apply.out" 2>&1 || {
	cat "$TMP/apply.out" >&2
	die "podwall apply (C) failed"
}
C_MS=$((($(now_ns) - t0) / 1000000))
C_SUMMARY=$(tail -n 1 "$TMP/apply.out")

if has U; then
	in_ns "$RUN-un" "$PODWALL" apply --node node-0 --ct-mark-mask 0 \
		"$TMP/scale.yaml" "$TMP/pods.yaml" >"$TMP/apply.u" 2>&1 || {
		cat "$TMP/apply.u" >&2
		die "podwall apply (U) failed"
	}
fi

D_MS=-
if has D; then
	t0=$(now_ns)
	in_ns "$RUN-dn" nft -f "$TMP/linear.nft" || die "loading D failed"
	D_MS=$((($(now_ns) - t0) / 1000000))
fi

# E: C's table with the allowed counters and without log statements
# (an nflog statement with no listener is not what is measured here).
if has E; then
	in_ns "$RUN-en" "$PODWALL" apply --node node-0 --flow-log all \
		"$TMP/scale.yaml" "$TMP/pods.yaml" >"$TMP/apply.e" 2>&1 || {
		cat "$TMP/apply.e" >&2
		die "podwall apply (E) failed"
	}
	in_ns "$RUN-en" nft list table inet podwall |
		sed 's/ log prefix "podwall:[a-z:]*" group [0-9]*//' >"$TMP/e.nft"
	grep -q 'counter name "allowed_ingress" return' "$TMP/e.nft" ||
		die "E has no allowed counter on its admitting rules"
	{
		echo "delete table inet podwall"
		cat "$TMP/e.nft"
	} | in_ns "$RUN-en" nft -f - || die "loading E failed"
fi

# The flow must pass in every configuration, and podwall must really
# enforce: the same client to a port no policy allows is dropped in C.
for c in $CONFIGS; do
	x=$(echo "$c" | tr '[:upper:]' '[:lower:]')
	in_ns "$RUN-${x}c" "$TCPCONN" --seconds 0.2 --accept-in "$RUN-${x}s" \
		"$SERVER_IP" "$TCP_PORT" >"$TMP/probe" 2>&1 ||
		die "probe in $c failed"
	if ! grep -q 'errors=0 ' "$TMP/probe" ||
		grep -q 'connections=0 ' "$TMP/probe"; then
		die "$c does not let the flow through: $(cat "$TMP/probe")"
	fi
done
in_ns "$RUN-cc" "$TCPCONN" --seconds 1 --accept-in "$RUN-cs" "$SERVER_IP" 9002 \
	>"$TMP/probe" 2>&1
grep -q '^connections=0 ' "$TMP/probe" ||
	die "C lets a denied connection through: $(cat "$TMP/probe")"

CT_UDP=$(ct_states C udp)
CT_TCP=$(ct_states C tcp)

# ---- measurements -------------------------------------------------------------

echo "datapath: $REPS rounds of $CONFIGS, ${DURATION}s UDP + ${DURATION}s TCP" \
	"each, pinned to CPU $CPU"
for c in $CONFIGS; do
	for f in udp udpcpu udpsent udpgot tcp tcpcpu tcperr; do
		: >"$TMP/$f.$c"
	done
done
i=0
while [ "$i" -lt "$REPS" ]; do
	for c in $CONFIGS; do
		udp_run "$c"
	done
	for c in $CONFIGS; do
		tcp_run "$c"
	done
	i=$((i + 1))
	printf '  round %d, per CPU second: udp %s tcp %s\n' "$i" \
		"$(for c in $CONFIGS; do printf '%s=%s ' $c "$(tail -n 1 "$TMP/udpcpu.$c")"; done)" \
		"$(for c in $CONFIGS; do printf '%s=%s ' $c "$(tail -n 1 "$TMP/tcpcpu.$c")"; done)"
done

# ---- apply timings ------------------------------------------------------------

apply_timings

# ---- report -------------------------------------------------------------------

echo
machine_line
echo "cluster: $GEN_SUMMARY, plus 2 bench pods and 2 policies"
echo "C: podwall apply --node node-0 in $C_MS ms: $C_SUMMARY"
echo "D: $LINEAR_RULES linear rules loaded with nft -f in $D_MS ms"
echo "conntrack, 0.5 s through C: UDP ${CT_UDP%, }; TCP ${CT_TCP%, }"
echo "$REPS rounds x ${DURATION}s, configurations alternating, CPU $CPU"
echo
# table TITLE KIND: median, min, max and spread of each configuration.
table() {
	kind=$2
	printf '%-40s %10s %10s %10s %7s\n' "$1" median min max spread
	for c in $CONFIGS; do
		set -- $(stats "$TMP/$kind.$c" 0)
		printf '%-40s %10s %10s %10s %7s\n' "  $c" "$1" "$2" "$3" \
			"$(spread "$TMP/$kind.$c")"
	done
}

table "UDP 64 B: delivered packets / CPU s" udpcpu
table "UDP 64 B: delivered packets / s" udp
table "new TCP connections / CPU s" tcpcpu
table "new TCP connections / s" tcp
# total KIND: the sum over every configuration.
total() {
	for c in $CONFIGS; do cat "$TMP/$1.$c"; done |
		awk '{ n += $1 } END { printf "%.0f\n", n }'
}
echo "UDP: $(total udpsent) datagrams sent, $(total udpgot) delivered;" \
	"TCP: $(total tcperr) connections failed"
echo
echo "ratios: median of the per-round ratios [min, max]"
printf '%-6s %23s %23s %23s %23s\n' "" "UDP per CPU s" "UDP per s" \
	"TCP per CPU s" "TCP per s"
for pair in C/B B/A C/A U/B C/U D/A D/B E/B E/C $RATIOS; do
	set -- $(echo "$pair" | tr / ' ')
	has "$1" && has "$2" || continue
	printf '%-6s' "$1/$2"
	for kind in udpcpu udp tcpcpu tcp; do
		ratio "$TMP/$kind.$1" "$TMP/$kind.$2" |
			awk '{ printf " %23s", $1 " [" $2 ", " $3 "]" }'
	done
	echo
done
echo

apply_report

echo
printf '%-50s %12s %10s %5s\n' target measured limit met
for kind in udpcpu udp tcpcpu tcp; do
	r=$(ratio "$TMP/$kind.C" "$TMP/$kind.B" | awk '{ print $1 }')
	case $kind in
	udpcpu) what="UDP packets per CPU s" limit=0.95 ;;
	udp) what="UDP packets per s" limit=0.95 ;;
	tcpcpu) what="TCP connections per CPU s" limit=0.9 ;;
	tcp) what="TCP connections per s" limit=0.9 ;;
	esac
	printf '%-50s %12s %10s %5s\n' "$what, podwall / floor (C/B)" \
		"${r}x" ">= ${limit}x" "$(verdict "$r" ">=" "$limit")"
done
printf '%-50s %12s %10s %5s\n' \
	"full profile ($(echo "$GEN_SUMMARY" | awk '{ print $3 }') pods), podwall apply, once" \
	"$C_MS ms" "<= 1000 ms" "$(verdict "$C_MS" "<=" 1000)"
apply_targets
exit 0
