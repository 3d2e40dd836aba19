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

# The polled conditions run from t_until (tests/netns/lib.sh),
# which shellcheck cannot see.
# shellcheck disable=SC2317
set -u
cd "$(dirname "$0")/../.." || exit 2
PW_TEST=agent_churn
. tests/netns/lib.sh

NODE=$RUN-node
M=$TMP/manifests
ROUNDS=10
T_LOGS=$T_AGENT_LOG

needs ip nft curl
t_built "$PODWALL" "$PODWALLD"

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
if ! t_node "$NODE"; then
	fail "cannot make the node namespace"
	finish
fi
t_agent_start "$NODE" --manifests "$M" --node n1
check "the agent becomes ready" t_agent_wait_ready "$NODE" 200

bursts=0
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	n=$(t_applied "$NODE")
	add_round "$r"
	[ "$r" -gt 0 ] && remove_round $((r - 1))
	# every other burst is waited for, the others run into the next
	if [ $((r % 2)) = 1 ]; then
		t_agent_wait_applied "$NODE" "$n" 300 ||
			fail "round $r not applied"
	fi
	r=$((r + 1))
done
n=$(t_applied "$NODE")
remove_round $((ROUNDS - 1))
check "the last burst is applied" t_agent_wait_applied "$NODE" "$n" 300

added=$(cat "$M"/*.yaml | grep -c '^kind: Pod')
check "1000 pods added, 500 removed: $added left" [ "$added" = 500 ]
check "500 removed addresses recorded" [ "$(sort -u "$TMP/removed" | wc -l)" = 500 ]

t_fresh_table --node n1 "$M" >"$TMP/fresh.nft"
check "a fresh apply of the final folder" [ -s "$TMP/fresh.nft" ]
same() {
	t_table "$NODE" >"$TMP/agent.nft" && cmp -s "$TMP/agent.nft" "$TMP/fresh.nft"
}
check "the agent's table equals a fresh apply" t_until 50 same
[ -f "$TMP/agent.nft" ] && ! cmp -s "$TMP/agent.nft" "$TMP/fresh.nft" &&
	diff "$TMP/fresh.nft" "$TMP/agent.nft" | head -n 20
check "a live local pod's address is in the table" \
	grep -qwF "$(addr 948)" "$TMP/agent.nft"
check "and a live remote pod's" grep -qwF "$(addr 981)" "$TMP/agent.nft"
stale=$(grep -owF -f "$TMP/removed" "$TMP/agent.nft" | sort -u | head -n 5)
check "no element names a removed pod's address: $stale" [ -z "$stale" ]
bursts=$(grep -c 'event=applied' "$T_AGENT_LOG")
check "the churn took $bursts transactions" [ "$bursts" -ge 7 ]
check "all incremental after the first" \
	[ "$(grep -c 'mode=full' "$T_AGENT_LOG")" -le 1 ]

t_agent_stop TERM
check "clean exit under the sanitizers" [ $? -eq 0 ]
check "no sanitizer report in the log" t_no_sanitizer_report "$T_AGENT_LOG"

finish
