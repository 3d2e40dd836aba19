#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# podwalld under pod churn (root; issue 4, item 6): the agent runs in a
# node network namespace on a manifests folder while 1000 pods are added
# and 500 of them removed again, in bursts of files written, rewritten and
# deleted (files of 16 pods and files of one pod; pods on this node and on
# another, in two namespaces that policies select by label and by address
# block). Then the table the agent holds must equal a fresh `podwall
# apply` of the final folder in a second namespace, and no set element may
# name the address of a removed pod.
#
#   sh tests/netns/agent_churn.sh      (from anywhere; BUILD=build-san)
#
# Every namespace, process and file it makes is named after this run and
# removed on exit, also on failure or Ctrl-C. Prints "agent_churn: N
# passed, N failed".

# Cleanup and the polled conditions run from a trap and from until_true,
# which shellcheck cannot see.
# shellcheck disable=SC2317
set -u
cd "$(dirname "$0")/../.." || exit 2

BUILD=${BUILD:-build-san}
case $BUILD in
/*) BIN=$BUILD ;;
*) BIN=$(pwd)/$BUILD ;;
esac
PODWALL=$BIN/podwall
PODWALLD=$BIN/podwalld
RUN=pwch$$
NODE=$RUN-node
FRESH=$RUN-fresh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-churn.XXXXXX") || exit 2
M=$TMP/manifests
URL=http://127.0.0.1:9469
AGENT=
ROUNDS=10

passed=0
failed=0

cleanup() {
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in
		"$RUN"-*) ip netns del "$ns" 2>/dev/null ;;
		esac
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

ok() {
	passed=$((passed + 1))
}

fail() {
	echo "FAIL agent_churn: $*"
	failed=$((failed + 1))
}

check() {
	what=$1
	shift
	if "$@"; then ok; else fail "$what"; fi
}

finish() {
	if [ "$failed" -ne 0 ] && [ -f "$TMP/agent.log" ]; then
		echo "--- agent log (last 20 lines)"
		tail -n 20 "$TMP/agent.log"
	fi
	echo "agent_churn: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

if [ "$(id -u)" != 0 ]; then
	echo "agent_churn: needs root (network namespaces, nftables)"
	fail "not root"
	finish
fi
for b in "$PODWALL" "$PODWALLD"; do
	[ -x "$b" ] || {
		fail "not built: $b"
		finish
	}
done

in_ns() {
	_in_ns=$1
	shift
	ip netns exec "$_in_ns" "$@"
}

scrape() { # PATH
	in_ns "$NODE" curl -s --max-time 2 "$URL$1"
}

applied_count() {
	scrape /metrics |
		awk '$1 == "podwall_reconciles_total{result=\"ok\"}" { print $2 }'
}

ready() {
	[ "$(in_ns "$NODE" curl -s -o /dev/null -w '%{http_code}' \
		--max-time 2 "$URL/readyz")" = 200 ]
}

# applied_since N: a reconcile after the N-th succeeded and the agent is
# ready (the kernel holds what the store holds).
applied_since() {
	_n=$(applied_count)
	[ -n "$_n" ] && [ "$_n" -gt "$1" ] && ready
}

# until TRIES COMMAND...: polls a condition every 0.1 s (bounded).
until_true() {
	_tries=$1
	shift
	while [ "$_tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_tries=$((_tries - 1))
	done
	return 1
}

table() { # NETNS: the table without counters
	in_ns "$1" nft -s list table inet podwall 2>/dev/null
}

# ---- the cluster ----------------------------------------------------------
#
# Pod k (0..999): on this node (n1, 10.220.0.0/16) when k is even, else on
# n2 (10.221.0.0/16); in namespace "web" when k % 4 < 2, else "client";
# labelled app=web or app=db (k % 3) and role=client. The policies make
# every pod's address matter: web pods are isolated for ingress and admit
# clients' app=web pods, clients' egress goes to web pods and to an
# address block with an exception.

base() {
	cat <<EOF
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDRs: [10.220.0.0/16]}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
spec: {podCIDRs: [10.221.0.0/16]}
---
apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {tier: web}}
---
apiVersion: v1
kind: Namespace
metadata: {name: client, labels: {tier: client}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: web}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-clients, namespace: web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {tier: client}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: client}
spec:
  podSelector: {matchLabels: {role: client}}
  egress:
  - to: [{namespaceSelector: {matchLabels: {tier: web}}}]
    ports: [{port: 8080}, {port: 5000, endPort: 5010}]
  - to: [{ipBlock: {cidr: 10.221.0.0/16, except: [10.221.1.0/24]}}]
EOF
}

addr() { # K
	echo "10.$((220 + $1 % 2)).$(($1 / 200)).$(($1 % 200 + 1))"
}

pod() { # K
	if [ $(($1 % 4)) -lt 2 ]; then ns=web; else ns=client; fi
	if [ $(($1 % 3)) = 0 ]; then app=web; else app=db; fi
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: p$1, namespace: $ns, labels: {app: $app, role: client, k: "k$1"}}
spec: {nodeName: n$(($1 % 2 + 1)), containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: $(addr "$1")}
EOF
}

pods() { # FIRST COUNT: pods FIRST..FIRST+COUNT-1
	_k=$1
	while [ "$_k" -lt $(($1 + $2)) ]; do
		pod "$_k"
		_k=$((_k + 1))
	done
}

removed() { # FIRST COUNT: records the pods as removed
	_k=$1
	while [ "$_k" -lt $(($1 + $2)) ]; do
		addr "$_k" >>"$TMP/removed"
		_k=$((_k + 1))
	done
}

# Round r adds pods 100r..100r+99: five files of 16 pods (m-r-j.yaml,
# written in place) and twenty of one (s-r-i.yaml, renamed in).
add_round() { # R
	b=$(($1 * 100))
	for j in 0 1 2 3 4; do
		pods $((b + j * 16)) 16 >"$M/m-$1-$j.yaml"
	done
	for i in $(seq 0 19); do
		pod $((b + 80 + i)) >"$M/.s.tmp"
		mv "$M/.s.tmp" "$M/s-$1-$i.yaml"
	done
}

# Then 50 pods of round r go: ten one-pod files deleted, three files of
# 16 rewritten with their first 8 pods, one file of 16 deleted.
remove_round() { # R
	b=$(($1 * 100))
	for i in 0 2 4 6 8 10 12 14 16 18; do
		rm "$M/s-$1-$i.yaml"
		removed $((b + 80 + i)) 1
	done
	for j in 0 1 2; do
		pods $((b + j * 16)) 8 >"$M/m-$1-$j.yaml"
		removed $((b + j * 16 + 8)) 8
	done
	rm "$M/m-$1-4.yaml"
	removed $((b + 64)) 16
}

# ---- the run --------------------------------------------------------------

mkdir -p "$M"
: >"$TMP/removed"
base >"$M/base.yaml"
if ! ip netns add "$NODE" || ! in_ns "$NODE" ip link set lo up; then
	fail "cannot make the node namespace"
	finish
fi
ip netns exec "$NODE" "$PODWALLD" --manifests "$M" --node n1 \
	>>"$TMP/agent.log" 2>&1 &
AGENT=$!
check "the agent becomes ready" until_true 200 ready

bursts=0
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	n=$(applied_count)
	add_round "$r"
	[ "$r" -gt 0 ] && remove_round $((r - 1))
	# every other burst is waited for, the others run into the next
	if [ $((r % 2)) = 1 ]; then
		until_true 300 applied_since "$n" || fail "round $r not applied"
	fi
	r=$((r + 1))
done
n=$(applied_count)
remove_round $((ROUNDS - 1))
check "the last burst is applied" until_true 300 applied_since "$n"

added=$(cat "$M"/*.yaml | grep -c '^kind: Pod')
check "1000 pods added, 500 removed: $added left" [ "$added" = 500 ]
check "500 removed addresses recorded" [ "$(sort -u "$TMP/removed" | wc -l)" = 500 ]

ip netns add "$FRESH"
in_ns "$FRESH" "$PODWALL" apply --node n1 "$M" >/dev/null 2>&1
table "$FRESH" >"$TMP/fresh.nft"
check "a fresh apply of the final folder" [ -s "$TMP/fresh.nft" ]
same() {
	table "$NODE" >"$TMP/agent.nft" && cmp -s "$TMP/agent.nft" "$TMP/fresh.nft"
}
check "the agent's table equals a fresh apply" until_true 50 same
[ -f "$TMP/agent.nft" ] && ! cmp -s "$TMP/agent.nft" "$TMP/fresh.nft" &&
	diff "$TMP/fresh.nft" "$TMP/agent.nft" | head -n 20
check "a live local pod's address is in the table" \
	grep -qwF "$(addr 948)" "$TMP/agent.nft"
check "and a live remote pod's" grep -qwF "$(addr 981)" "$TMP/agent.nft"
stale=$(grep -owF -f "$TMP/removed" "$TMP/agent.nft" | sort -u | head -n 5)
check "no element names a removed pod's address: $stale" [ -z "$stale" ]
bursts=$(grep -c 'event=applied' "$TMP/agent.log")
check "the churn took $bursts transactions" [ "$bursts" -ge 7 ]
check "all incremental after the first" \
	[ "$(grep -c 'mode=full' "$TMP/agent.log")" -le 1 ]

kill -TERM "$AGENT"
wait "$AGENT"
check "clean exit under the sanitizers" [ $? -eq 0 ]
AGENT=
check "no sanitizer report in the log" sh -c "! grep -q 'Sanitizer' $TMP/agent.log"

finish
