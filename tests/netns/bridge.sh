#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# podwall on bridged pods (root): the layout of flannel and of the bridge
# CNI plugin, where a node's pods hang off one Linux bridge (cni0) and
# talk to each other at layer 2. With br_netfilter's
# bridge-nf-call-iptables and -ip6tables, bridged packets cross the inet
# forward hook, where podwall's table sits (docs/DATAPATH.md, "Where the
# hooks sit"); this runs real TCP between pods of one bridge, IPv4 and
# IPv6: what the policies allow passes, the rest is dropped, an address
# the bridge's pods do not have is a spoofed source, an address in the
# pod range that no pod has is fail-closed, and the pods are bound to the
# bridge (the route to them leads there: docs/DATAPATH.md,
# "Anti-spoofing", says why the port behind a MAC is not used).
#
#   sh tests/netns/bridge.sh            (from anywhere; BUILD=build-san)
#
# The closing line "bridge: N passed, N failed" and the cleanup on every
# exit path are tests/netns/lib.sh's.

set -u
cd "$(dirname "$0")/../.." || exit 2
PW_TEST=bridge
. tests/netns/lib.sh

NODE=$RUN-node
CLIENT=$RUN-client
SERVER=$RUN-server
OTHER=$RUN-other
ROGUE=$RUN-rogue

needs ip nft python3 sysctl
t_built "$PODWALL"

# bridged_pod POD ADDR4 ADDR6 N: the pod netns POD on port bp<N> of the
# node's cni0, with the bridge's addresses as its gateways.
bridged_pod() {
	ip netns add "$1" &&
		ip netns exec "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
			>/dev/null &&
		ip -n "$NODE" link add "bp$4" type veth peer name eth0 netns "$1" &&
		ip -n "$NODE" link set "bp$4" master cni0 up &&
		ip -n "$1" link set lo up && ip -n "$1" link set eth0 up &&
		ip -n "$1" addr add "$2/24" dev eth0 &&
		ip -n "$1" addr add "$3/64" dev eth0 nodad &&
		ip -n "$1" route add default via 10.203.0.1 &&
		ip -n "$1" -6 route add default via fd00:203::1
}

# The node: a bridge holding the pods' gateway addresses, br_netfilter
# handing bridged IPv4 and IPv6 to the inet hooks (per network namespace).
bridged_node() {
	t_node "$NODE" &&
		ip -n "$NODE" link add cni0 type bridge &&
		ip netns exec "$NODE" sysctl -qw \
			net.ipv6.conf.cni0.accept_dad=0 >/dev/null &&
		ip -n "$NODE" addr add 10.203.0.1/24 dev cni0 &&
		ip -n "$NODE" addr add fd00:203::1/64 dev cni0 nodad &&
		ip -n "$NODE" link set cni0 up &&
		ip netns exec "$NODE" sysctl -qw \
			net.bridge.bridge-nf-call-iptables=1 \
			net.bridge.bridge-nf-call-ip6tables=1 >/dev/null
}

if bridged_node &&
	bridged_pod "$CLIENT" 10.203.0.2 fd00:203::2 0 &&
	bridged_pod "$SERVER" 10.203.0.3 fd00:203::3 1 &&
	bridged_pod "$OTHER" 10.203.0.4 fd00:203::4 2 &&
	bridged_pod "$ROGUE" 10.203.0.9 fd00:203::9 3; then
	ok
else
	fail "building the bridged node (br_netfilter per namespace?)"
	finish
fi
for pod in "$SERVER" "$OTHER"; do
	t_serve "$pod" 8080
	t_serve "$pod" 9090
done

{
	t_node_yaml "$NODE" 10.203.0.0/24 fd00:203::/64
	t_pod_yaml t/client client "$NODE" 10.203.0.2,fd00:203::2
	t_pod_yaml t/server server "$NODE" 10.203.0.3,fd00:203::3
	t_pod_yaml t/other other "$NODE" 10.203.0.4,fd00:203::4
	cat <<'EOT'
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: t}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080}]
EOT
} >"$TMP/bridge.yaml"

check "before apply: other -> server:8080 open across the bridge" \
	t_answers "$OTHER" 10.203.0.3 8080
in_ns "$NODE" "$PODWALL" apply --node "$NODE" "$TMP/bridge.yaml" \
	>"$TMP/out" 2>&1
check "apply exits 0" [ $? -eq 0 ]
check "the six pod addresses are bound (to the bridge)" \
	grep -q '; 6 addresses bound to their interface$' "$TMP/out"
check "the bridge is what the route to a pod leads to" \
	sh -c "ip netns exec $NODE nft list map inet podwall egress_if_v4 |
		grep -q '\"cni0\" . 10.203.0.2'"

for dst in 10.203.0.3 fd00:203::3; do
	check "bridged $dst: client -> server:8080 allowed" \
		t_answers "$CLIENT" "$dst" 8080
	check "bridged $dst: client -> server:9090 dropped (port)" \
		t_not t_answers "$CLIENT" "$dst" 9090
	check "bridged $dst: other -> server:8080 dropped (peer)" \
		t_not t_answers "$OTHER" "$dst" 8080
done
check "bridged: server -> other:9090 open (other not isolated)" \
	t_answers "$SERVER" 10.203.0.4 9090
check "bridged: denied_ingress counted the drops" \
	[ "$(t_nft_counter "$NODE" denied_ingress)" -ge 3 ]

# rogue is in the pod range and in no manifest: fail-closed, both ways.
check "fail-closed: unknown 10.203.0.9 -> other:9090 dropped" \
	t_not t_answers "$ROGUE" 10.203.0.4 9090
check "fail-closed: IPv6 unknown fd00:203::9 -> other:9090 dropped" \
	t_not t_answers "$ROGUE" fd00:203::4 9090

# An address no pod of the bridge has, sent from a pod's port: spoofed.
in_ns "$SERVER" ip addr add 192.0.2.60/32 dev eth0
in_ns "$OTHER" ip route add 192.0.2.60/32 dev eth0
spoof=$(t_nft_counter "$NODE" denied_spoof)
check "spoofed 192.0.2.60 from server -> other:9090 dropped" \
	t_not t_answers "$SERVER" 10.203.0.4 9090 192.0.2.60
check "spoofed: counted in denied_spoof" \
	[ "$(t_nft_counter "$NODE" denied_spoof)" -gt "${spoof:-0}" ]

finish
