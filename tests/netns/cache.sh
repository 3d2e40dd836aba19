#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The verdict cache against a real kernel (root), with real UDP traffic
# that is never answered, so that every packet is "new" to conntrack:
# only the first packet of the flow is judged by the policies (IPv4,
# IPv6, and to the node through the input hook), the others
# pass on the connection's mark; any change of the table moves the
# generation, so the next packet of a flow the change denies is judged
# again and dropped; an apply that changes nothing keeps it; the other
# bits of the mark are left as another table set them; without the
# cache every packet is judged; and when the generation counter wraps,
# the flows stamped in the old cycle are deleted first, so a flow a later
# ruleset denies cannot come back on a stale stamp.
#
#   sh tests/netns/cache.sh            (from anywhere; BUILD=build-san)
#
# The node, its pods, the closing line "cache: N passed, N failed" and
# the cleanup on every exit path are tests/netns/lib.sh's.

set -u
cd "$(dirname "$0")/../.." || exit 2
PW_TEST=cache
. tests/netns/lib.sh

NODE=$RUN-node
CLIENT=$RUN-client
SERVER=$RUN-server

needs ip nft python3
t_built "$PODWALL"
if t_node_with_pods "$NODE" "$CLIENT:10.202.0.2,fd00:202::2" \
	"$SERVER:10.202.0.3,fd00:202::3"; then
	ok
else
	fail "building the node and its pods"
	finish
fi

# The server counts what reaches it on UDP 7000 and answers nothing (no
# port unreachable either: the flow stays unanswered).
in_ns "$SERVER" nft -f - <<'EOT'
table inet sink {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 7000 counter drop
	}
}
EOT

# yaml PORT: client and server; the server admits the client on UDP PORT.
yaml() {
	t_node_yaml "$NODE" 10.202.0.0/24 fd00:202::/64
	echo ---
	t_pod_yaml t/client client "$NODE" 10.202.0.2,fd00:202::2
	echo ---
	t_pod_yaml t/server server "$NODE" 10.202.0.3,fd00:202::3
	cat <<EOT
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: t}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: $1, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: t}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: server}}}]
  - to: [{ipBlock: {cidr: 169.254.1.1/32}}]
    ports: [{port: 7000, protocol: UDP}]
EOT
}

# apply PORT [OPTION...]: podwall apply of yaml PORT on the node; its
# output in $TMP/out.
apply() {
	_port=$1
	shift
	yaml "$_port" >"$TMP/c.yaml"
	in_ns "$NODE" "$PODWALL" apply --node "$NODE" --flow-log all "$@" \
		"$TMP/c.yaml" >"$TMP/out" 2>&1
}

received() {
	in_ns "$SERVER" nft list chain inet sink input |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

counter() {
	_n=$(t_nft_counter "$NODE" "$1")
	echo "${_n:-0}"
}

# gen: the generation the forward chain's cache rule carries.
gen() {
	in_ns "$NODE" nft list chain inet podwall forward |
		sed -n 's/.*ct mark & 0x[0-9a-f]* == \(0x[0-9a-f]*\) accept$/\1/p'
}

# send SPORT N [DST]: N datagrams from the client's port SPORT to
# server:7000 (DST: the server's IPv4 address unless given).
send() {
	t_udp_send "$CLIENT" - "$1" "${3:-10.202.0.3}" 7000 "$2"
}

# once WHAT SPORT DST TOTAL: 5 datagrams from SPORT to DST:7000 all
# arrive (the server has then received TOTAL) and the server's class
# judged the first only.
once() {
	_before=$(counter allowed_ingress)
	send "$2" 5 "$3"
	check "$1: all 5 datagrams arrive" [ "$(received)" = "$4" ]
	check "$1: the class judged the first datagram only" \
		[ "$(counter allowed_ingress)" -eq $((_before + 1)) ]
}

# ---- one judgment per flow ------------------------------------------------

apply 7000
check "apply exits 0" [ $? -eq 0 ]
g1=$(gen)
check "the first load carries the first generation" [ "$g1" = 0x00010000 ]
once "an admitted flow" 40000 10.202.0.3 5
once "IPv6" 40000 fd00:202::3 10

# To the node itself (the input hook): the client's egress admits it
# once, then the mark does. The node counts what arrives after podwall
# and lets it in (a drop there would come before conntrack confirms the
# connection, so nothing would be remembered; the port unreachable it
# answers leaves the connection unanswered).
in_ns "$NODE" nft -f - <<'EOT'
table inet sink {
	chain input {
		type filter hook input priority 10; policy accept;
		udp dport 7000 counter
	}
}
EOT
before=$(counter allowed_egress)
send 40009 5 169.254.1.1
node_got=$(in_ns "$NODE" nft list chain inet sink input |
	sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
check "to the node: all 5 datagrams arrive" [ "$node_got" = 5 ]
check "to the node: the client's egress judged the first only" \
	[ "$(counter allowed_egress)" -eq $((before + 1)) ]
in_ns "$NODE" nft delete table inet sink

# ---- a change judges again --------------------------------------------------

denied=$(counter denied_ingress)
apply 7001
check "a change moves the generation" [ "$(gen)" = 0x00020000 ]
send 40000 5
check "the same flow after a change that denies it: nothing arrives" \
	[ "$(received)" = 10 ]
check "the same flow after the change: each datagram judged and dropped" \
	[ "$(counter denied_ingress)" -eq $((denied + 5)) ]
apply 7001
check "an apply that changes nothing keeps the generation" \
	[ "$(gen)" = 0x00020000 ]
check "an apply that changes nothing says so" grep -q '^changed: 1[0-9]* unchanged sets$' "$TMP/out"
apply 7000
once "allowed again" 40000 10.202.0.3 15

# ---- another table's bits of the mark --------------------------------------

in_ns "$NODE" nft -f - <<'EOT'
table inet other {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		udp dport 7000 ct mark set ct mark or 0x00000001
	}
	chain post {
		type filter hook postrouting priority 300; policy accept;
		udp dport 7000 ct mark and 0x00000001 == 0x00000001 counter
		udp dport 7000 ct mark and 0x0fff0000 != 0 counter
	}
}
EOT
send 40001 4
post=$(in_ns "$NODE" nft list chain inet other post |
	sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | tr '\n' ' ')
check "another table's mark bit survives the stamp" [ "$post" = "4 4 " ]
in_ns "$NODE" nft delete table inet other

# ---- without the cache ------------------------------------------------------

apply 7000 --ct-mark-mask 0
check "--ct-mark-mask 0: no cache rule" [ -z "$(gen)" ]
before=$(counter allowed_ingress)
got=$(received)
send 40002 5
check "--ct-mark-mask 0: every datagram arrives" [ "$(received)" = $((got + 5)) ]
check "--ct-mark-mask 0: every datagram judged" \
	[ "$(counter allowed_ingress)" -eq $((before + 5)) ]

# ---- the counter wraps --------------------------------------------------------
#
# Two bits: generations 1, 2, 3, then 1 again. A flow stamped with 1, then
# denied by each later ruleset and kept alive by its own packets, would
# match the first generation of the next cycle if its stamp survived.

apply 7000 --ct-mark-mask 0x3
check "mask 0x3: the first generation" [ "$(gen)" = 0x00000001 ]
got=$(received)
send 40003 2
check "mask 0x3: the flow passes under generation 1" [ "$(received)" = $((got + 2)) ]
for port in 7001 7002; do
	apply $port --ct-mark-mask 0x3
	send 40003 1
done
check "mask 0x3: generation 3 after two changes" [ "$(gen)" = 0x00000003 ]
check "mask 0x3: denied under generations 2 and 3" [ "$(received)" = $((got + 2)) ]
apply 7003 --ct-mark-mask 0x3
check "mask 0x3: the counter wraps to generation 1" [ "$(gen)" = 0x00000001 ]
check "mask 0x3: the wrap deleted the flow stamped in the old cycle" \
	grep -q ', 1 unanswered connection to judge again$' "$TMP/out"
send 40003 3
check "mask 0x3: the flow denied after the wrap stays denied" \
	[ "$(received)" = $((got + 2)) ]

# ---- a full load begins a cycle ----------------------------------------------

in_ns "$NODE" "$PODWALL" apply --flush >/dev/null 2>&1
apply 7000 --ct-mark-mask 0x3
got=$(received)
send 40004 1
check "a full load: generation 1 admits the flow" [ "$(received)" = $((got + 1)) ]
in_ns "$NODE" "$PODWALL" apply --flush >/dev/null 2>&1
apply 7001 --ct-mark-mask 0x3
check "after a flush: a full load with generation 1" [ "$(gen)" = 0x00000001 ]
check "after a flush: the stamped flow is deleted" \
	grep -q 'full load: .*, 1 unanswered connection to judge again$' "$TMP/out"
got=$(received)
send 40004 2
check "after a flush: the stamp of the old table admits nothing" \
	[ "$(received)" = "$got" ]

finish
