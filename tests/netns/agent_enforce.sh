#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# What podwalld's table enforces beyond the policies (root): the agent on
# a manifests folder in a node network namespace, with pod namespaces
# routed through it (a /32 route per pod to its veth, as Calico does).
#
#   (a) anti-spoofing: a pod sending with another pod's address is
#       dropped and counted in denied_spoof;
#   (b) the route watch: a pod wired after the agent applied (its route
#       added later) is bound without any manifest change, and unbound
#       when its route goes;
#   (c) --pod-cidr: an address of the range that is no known pod is
#       dropped (fail-closed, counted in denied_unknown) until its
#       manifest is written, then what the policies allow passes;
#   (d) a bad --pod-cidr is a usage error (exit 2);
#   (e) with CAP_NET_ADMIN alone (uid 65534), flow log and conntrack
#       sweep on, the agent works: what deploy/daemonset.yaml grants.
#
#   sh tests/netns/agent_enforce.sh    (BUILD=build-san by default)
#
# Prints "agent_enforce: N passed, N failed".

set -u
cd "$(dirname "$0")/../.." || exit 2
PW_TEST=agent_enforce
. tests/netns/lib.sh

NODE=$RUN-node
M=$TMP/manifests
T_LOGS="$T_AGENT_LOG $TMP/agent-cap.log"

needs ip nft curl python3 setpriv
t_built "$PODWALL" "$PODWALLD"

# ---- (d) a bad --pod-cidr: no netns needed --------------------------------

mkdir -p "$M"
for bad in 10.220.0.0/33 not-a-cidr 10.220.0.0/24x ''; do
	# Bounded: an agent that took it would run until killed.
	timeout 10 "$PODWALLD" --manifests "$M" --pod-cidr "$bad" \
		--metrics-addr 127.0.0.1:0 >>"$TMP/bad.out" 2>&1
	st=$?
	check "bad --pod-cidr '$bad': exit 2" [ $st -eq 2 ]
done
check "bad --pod-cidr: says which" \
	grep -q -- '--pod-cidr: not a CIDR: not-a-cidr' "$TMP/bad.out"
check "bad --pod-cidr: the usage follows" grep -q '^usage: podwalld' "$TMP/bad.out"

# ---- the node and its pods -------------------------------------------------

# client, server and peer are wired as t_pod wires them; late too, but it
# has no manifest yet; wired has a manifest but no netns until (b).
if t_node_with_pods "$NODE" "$RUN-client:10.220.0.2" \
	"$RUN-server:10.220.0.3" "$RUN-peer:10.220.0.4" \
	"$RUN-late:10.220.0.5"; then
	ok
else
	fail "building the pods"
	finish
fi

# rp_off VETH...: a spoofed datagram arrives on the sender's veth with
# another pod's source; the node's reverse-path filter must not be what
# drops it.
rp_off() {
	for _v in all default "$@"; do
		in_ns "$NODE" sysctl -qw "net.ipv4.conf.$_v.rp_filter=0"
	done
}
rp_off "$(t_veth_of "$NODE" "$RUN-client")"

# plug POD VETH IPV4: the pod's netns and veth (VETH in the node), its
# address and default route, but no route to it in the node: what a
# network plugin has done before it adds the route.
plug() {
	ip netns add "$RUN-$1" &&
		ip -n "$NODE" link add "$2" type veth peer name eth0 \
			netns "$RUN-$1" &&
		ip -n "$RUN-$1" link set lo up &&
		ip -n "$RUN-$1" link set eth0 up &&
		ip -n "$RUN-$1" addr add "$3/32" dev eth0 &&
		ip -n "$RUN-$1" route add 169.254.1.1 dev eth0 &&
		ip -n "$RUN-$1" route add default via 169.254.1.1 dev eth0 &&
		ip -n "$NODE" link set "$2" up &&
		ip -n "$NODE" addr add 169.254.1.1/32 dev "$2"
}

# udp_sink POD PORT FILE: the source address of each datagram received,
# one a line.
udp_sink() {
	t_spawn ip netns exec "$RUN-$1" python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(100)
    print(a[0], flush=True)
' "$2" >>"$3"
}

# spoof POD ADDR DST PORT N: N datagrams from POD with another pod's
# address, which POD's eth0 holds only meanwhile (else POD would reach
# that pod's address locally).
spoof() {
	in_ns "$RUN-$1" ip addr add "$2/32" dev eth0 &&
		t_udp_send "$RUN-$1" "$2" 0 "$3" "$4" "$5"
	in_ns "$RUN-$1" ip addr del "$2/32" dev eth0
}

opens() { # POD DST PORT: a second, longer try before it counts as closed
	t_answers "$RUN-$1" "$2" "$3" ||
		T_CONNECT_SECS=3 t_answers "$RUN-$1" "$2" "$3"
}

blocked() { # POD DST PORT
	t_not t_answers "$RUN-$1" "$2" "$3"
}

pod() { # NAME IP APP
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: t, labels: {app: $3}}
spec: {nodeName: $NODE, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: $2}
EOF
}

metric_is() { # NAME VALUE
	[ "$(t_metric "$NODE" "$1")" = "$2" ]
}

grew() { # BEFORE AFTER N: a counter moved by N or more
	[ -n "$1" ] && [ -n "$2" ] && [ $(($2 - $1)) -ge "$3" ]
}

in_map() { # ADDR: an element of the anti-spoofing map names ADDR
	in_ns "$NODE" nft list map inet podwall egress_if_v4 2>/dev/null |
		grep -qF " . $1 :"
}

bound_pair() { # VETH ADDR: the pair is in the anti-spoofing map
	in_ns "$NODE" nft list map inet podwall egress_if_v4 2>/dev/null |
		grep -qF "\"$1\" . $2 :"
}

t_serve "$RUN-server" 8080
t_serve "$RUN-peer" 8080
udp_sink peer 9999 "$TMP/peer.udp"

# No Node object: the pod range comes from --pod-cidr only.
{
	pod client 10.220.0.2 client
	pod server 10.220.0.3 server
	pod peer 10.220.0.4 peer
	pod wired 10.220.0.6 wired
	cat <<EOF
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-from-clients, namespace: t}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 8080}]}]
EOF
} >"$M/base.yaml"

# ---- before the agent: the tests can see what they test -------------------

check "before: client -> server:8080 open" opens client 10.220.0.3 8080
check "before: late (no manifest) -> peer:8080 open" opens late 10.220.0.4 8080
spoof client 10.220.0.3 10.220.0.4 9999 3
check "before: a datagram with server's address from client arrives" \
	t_until 20 grep -q '^10.220.0.3$' "$TMP/peer.udp"
: >"$TMP/peer.udp"

# ---- the agent -------------------------------------------------------------

t_agent_start "$NODE" --manifests "$M" --node "$NODE" \
	--pod-cidr 10.220.0.0/24 --flow-log "$TMP/flows.log"
check "the agent becomes ready" t_agent_wait_ready "$NODE" 150
check "applied line: 3 bound, 1 unbound (wired has no route yet)" \
	grep -q 'event=applied .* bound=3 unbound=1 ' "$T_AGENT_LOG"
check "metric: podwall_pod_addresses_bound 3" \
	metric_is podwall_pod_addresses_bound 3
check "metric: podwall_pod_addresses_unbound 1" \
	metric_is podwall_pod_addresses_unbound 1

# ---- (a) anti-spoofing ------------------------------------------------------

s0=$(t_nft_counter "$NODE" denied_spoof)
spoof client 10.220.0.3 10.220.0.4 9999 5
t_udp_send "$RUN-client" 10.220.0.2 0 10.220.0.4 9999 1 # its own: passes
check "spoof: client's own address still reaches peer" \
	t_until 20 grep -q '^10.220.0.2$' "$TMP/peer.udp"
check "spoof: nothing from server's address arrived" \
	t_not grep -q '^10.220.0.3$' "$TMP/peer.udp"
s1=$(t_nft_counter "$NODE" denied_spoof)
check "spoof: denied_spoof counted the 5 datagrams ($s0 -> $s1)" \
	grew "$s0" "$s1" 5
check "spoof: the flow log names the check and the forged source" \
	t_until 50 grep -q '"src_ip":"10.220.0.3".*"check":"spoof"' "$TMP/flows.log"
check "spoof: allowed traffic still flows (client -> server:8080)" \
	opens client 10.220.0.3 8080
check "spoof: the policy still holds (peer -> server:8080 denied)" \
	blocked peer 10.220.0.3 8080

# ---- (b) a pod wired after the agent applied --------------------------------

WVETH=$(echo "pw$$wired" | cut -c1-15)
n=$(t_applied "$NODE")
plug wired "$WVETH" 10.220.0.6 || fail "plugging wired"
rp_off "$WVETH"
sleep 0.5 # link events alone: the agent rebinds and finds no route
check "wired, no route yet: not bound" t_not in_map 10.220.0.6
in_ns "$NODE" ip route add 10.220.0.6/32 dev "$WVETH" || fail "wiring wired"
check "route added: wired bound to its veth (no manifest change)" \
	t_until 50 bound_pair "$WVETH" 10.220.0.6
check "route added: podwall_pod_addresses_bound 4" \
	t_until 20 metric_is podwall_pod_addresses_bound 4
check "route added: podwall_pod_addresses_unbound 0" \
	metric_is podwall_pod_addresses_unbound 0
check "route added: counted in podwall_rebinds_total" \
	t_metric_ge "$NODE" podwall_rebinds_total 1
check "route added: logged as event=rebind" \
	grep -q 'event=rebind bound=4 unbound=0 ' "$T_AGENT_LOG"
check "route added: no reconcile was needed" \
	metric_is 'podwall_reconciles_total{result="ok"}' "$n"
s0=$(t_nft_counter "$NODE" denied_spoof)
spoof wired 10.220.0.2 10.220.0.4 9999 3
s1=$(t_nft_counter "$NODE" denied_spoof)
check "wired pod spoofing client's address: dropped and counted" \
	grew "$s0" "$s1" 3
in_ns "$NODE" ip route del 10.220.0.6/32
check "route removed: wired unbound again" \
	t_until 50 metric_is podwall_pod_addresses_unbound 1
check "route removed: its pair left the map" t_not in_map 10.220.0.6

# ---- (c) --pod-cidr: an unknown address of the range is dropped --------------

u0=$(t_nft_counter "$NODE" denied_unknown)
check "fail-closed: late (no manifest) -> peer:8080 dropped" \
	blocked late 10.220.0.4 8080
u1=$(t_nft_counter "$NODE" denied_unknown)
check "fail-closed: counted in denied_unknown ($u0 -> $u1)" \
	grew "$u0" "$u1" 1
n=$(t_applied "$NODE")
pod late 10.220.0.5 client >"$TMP/late.yaml"
mv "$TMP/late.yaml" "$M/late.yaml"
check "late's manifest: applied" t_agent_wait_applied "$NODE" "$n"
check "late's manifest: late -> server:8080 allowed by the policy" \
	opens late 10.220.0.3 8080
check "late's manifest: late -> peer:8080 open (peer not isolated)" \
	opens late 10.220.0.4 8080
check "late's manifest: late bound to its veth" t_until 20 \
	bound_pair "$(t_veth_of "$NODE" "$RUN-late")" 10.220.0.5
check "late's manifest: peer -> server:8080 still denied" \
	blocked peer 10.220.0.3 8080
# A reconcile asks the kernel only for the routes of addresses it had not
# bound (no route changed since): the others keep their interfaces.
check "late's manifest: client still bound to its veth" \
	bound_pair "$(t_veth_of "$NODE" "$RUN-client")" 10.220.0.2
check "late's manifest: 4 bound, wired unbound (its route is gone)" \
	t_until 20 metric_is podwall_pod_addresses_bound 4
# A route that changes between two reconciles is followed: wired's route
# comes back while a manifest changes, and both end up enforced.
n=$(t_applied "$NODE")
in_ns "$NODE" ip route add 10.220.0.6/32 dev "$WVETH"
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n' \
	>"$TMP/extra.yaml"
mv "$TMP/extra.yaml" "$M/extra.yaml"
check "route and manifest together: applied" t_agent_wait_applied "$NODE" "$n"
check "route and manifest together: wired bound again" \
	t_until 50 bound_pair "$WVETH" 10.220.0.6
check "route and manifest together: late still bound" \
	bound_pair "$(t_veth_of "$NODE" "$RUN-late")" 10.220.0.5
in_ns "$NODE" ip route del 10.220.0.6/32 # (e) adds it again

check "no sanitizer report in the log" t_no_sanitizer_report "$T_AGENT_LOG"
t_agent_stop
check "SIGTERM: exit 0" [ $? -eq 0 ]

# ---- (e) CAP_NET_ADMIN is all it needs, flow log and sweep included ---------

# uid 65534 with NET_ADMIN alone (bounding, inheritable, ambient), as the
# DaemonSet runs it: the table adopted, nflog bound, conntrack swept,
# routes watched. setpriv execs the agent: T_AGENT is the agent's pid.
chmod 755 "$TMP"
mkdir "$TMP/log" && chown 65534 "$TMP/log"
T_AGENT_LOG=$TMP/agent-cap.log
ip netns exec "$NODE" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
	--bounding-set=-all,+net_admin \
	"$PODWALLD" --manifests "$M" --node "$NODE" --pod-cidr 10.220.0.0/24 \
	--flow-log "$TMP/log/flows.log" --ct-sweep-interval 1 \
	>>"$T_AGENT_LOG" 2>&1 &
T_AGENT=$!
PIDS="$PIDS $T_AGENT"
check "NET_ADMIN only: ready" t_agent_wait_ready "$NODE" 150
check "NET_ADMIN only: the process has no other capability" \
	grep -q '^CapEff:[[:space:]]*0000000000001000$' "/proc/$T_AGENT/status"
check "NET_ADMIN only: a denied packet" blocked peer 10.220.0.3 8080
check "NET_ADMIN only: ... is in the flow log (nflog)" t_until 50 \
	grep -q '"verdict":"denied"' "$TMP/log/flows.log"
sweeps_clean() {
	t_metric_ge "$NODE" podwall_conntrack_sweeps_total 1 &&
		metric_is podwall_conntrack_sweep_errors_total 0
}
check "NET_ADMIN only: conntrack swept without errors" t_until 30 sweeps_clean
in_ns "$NODE" ip route add 10.220.0.6/32 dev "$WVETH"
check "NET_ADMIN only: the route watch binds" \
	t_until 50 bound_pair "$WVETH" 10.220.0.6
check "NET_ADMIN only: no sanitizer report" t_no_sanitizer_report "$T_AGENT_LOG"
t_agent_stop
check "NET_ADMIN only: SIGTERM exits 0" [ $? -eq 0 ]
finish
