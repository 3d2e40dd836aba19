#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# End-to-end tests of `podwall lab` (docs/LAB.md): real namespaces, real
# servers, real probes, compared with the engine. Needs root, ip(8) and
# python3 (to read JSON).
#
#   sh tests/netns/lab.sh [basic|conformance]...     (default: both)
#
# basic: a 2-node, 4-pod cluster (one pod without nodeName, one without an
# address) without policies, with a default-deny and allow policies, IPv6,
# up/probe/apply/down, a ruleset removed behind the lab's back (the probe
# must see it), enforcement as `podwall apply --node` does it (a spoofed
# source dropped, an unknown address of the node's pod range dropped, a
# policy added changing the tables incrementally), and Ctrl-C and kill -9
# in the middle of `lab up`; after each, no namespace, process or state of
# the lab may be left.
# conformance: every TCP and UDP case and step of the upstream e2e suite
# (SHARED/conformance/k8s-e2e-netpol.json) through the lab, steps applied
# to the running lab with `lab apply`, incrementally (no table loaded
# whole after the first step); the SCTP cases are reported skipped.
#
# Environment: BUILD (default build-san) holds podwall; SHARED (default
# ../shared). Prints "lab: N passed, N failed"; exit status 1 on a failure.
# Labs, namespaces and files of the run are removed on every exit
# (tests/netns/lib.sh).

set -u
cd "$(dirname "$0")/../.." || exit 2
PW_TEST=lab
. tests/netns/lib.sh

# Lab ids of this run: "t" and the shell's pid, so that parallel runs of
# this script never touch each other's labs.
TAG=t$(($$ % 100000))
# A failure shows what the last command said.
T_ERR=$TMP/err

# expect NAME STATUS COMMAND...: the command ends with that status.
expect() {
	name=$1
	want=$2
	shift 2
	timeout 120 "$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		fail "$name (exit status $got, expected $want)"
		sed 's/^/    /' "$TMP/out" | head -n 20
	fi
}

# Whether anything of lab $1 is left: netns, process (not a zombie: its
# parent's wait is all that is missing) or state.
traces() {
	ls /run/netns 2>/dev/null | grep -q "^$1-" && return 0
	[ -e "/run/podwall/lab/$1" ] && return 0
	for st in /proc/[0-9]*/stat; do
		{ read -r line <"$st"; } 2>/dev/null || continue
		case $line in
		*"($1-"*") Z "* | *"($1-"*") X "*) ;;
		*"($1-"*) return 0 ;;
		esac
	done
	return 1
}

# clean NAME LAB: nothing of LAB may be left (a short grace for the
# kernel to reap the last server).
clean() {
	n=0
	while traces "$2" && [ $n -lt 20 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if traces "$2"; then
		fail "$1: lab $2 left something behind"
		ls /run/netns 2>/dev/null | grep "^$2-" | head -n 5
	else
		ok "$1: nothing left"
	fi
}

# json_check NAME FILE MATRIX_FILE PYTHON_CONDITION: the condition on
# `lab` (the lab's JSON) and `eng` (podwall matrix -o json) holds.
json_check() {
	if python3 - "$2" "$3" "$4" <<'EOF'; then
import json, sys
lab = json.load(open(sys.argv[1]))
eng = json.load(open(sys.argv[2])) if sys.argv[2] != "-" else None
cells = [v for p in lab["matrix"].values() for r in p.values() for v in r.values()]
def sub(m):
    # the engine's matrix restricted to the pods the lab built
    pods = set(lab["pods"])
    return {p: {f: {t: v for t, v in r.items() if t in pods}
                for f, r in rows.items() if f in pods}
            for p, rows in m.items()}
sys.exit(0 if eval(sys.argv[3]) else 1)
EOF
		ok "$1"
	else
		fail "$1"
	fi
}

# On every exit (tests/netns/lib.sh): the labs of this run go.
t_cleanup_hook() {
	for id in $(ls /run/podwall/lab 2>/dev/null | grep "^$TAG"); do
		"$PODWALL" lab down --name "$id" >/dev/null 2>&1
	done
}

# pod_yaml NAME NODE IP: pod NAME of namespace t (label app: NAME) on
# NODE with address IP, serving 80/TCP.
pod_yaml() {
	printf -- '---\napiVersion: v1\nkind: Pod\n'
	printf 'metadata: {name: %s, namespace: t, labels: {app: %s}}\n' "$1" "$1"
	printf 'spec: {nodeName: %s, containers: [{name: c, image: x, ' "$2"
	printf 'ports: [{containerPort: 80}]}]}\n'
	printf 'status: {phase: Running, podIP: %s}\n' "$3"
}

write_cluster() {
	cat >"$TMP/cluster.yaml" <<'EOF'
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.1.0/24}
status:
  addresses: [{type: InternalIP, address: 192.168.50.10}]
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.244.2.0/24}
status:
  addresses: [{type: InternalIP, address: 192.168.50.11}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  nodeName: node-a
  containers: [{name: c, image: x, ports: [{containerPort: 80}]}]
status: {phase: Running, podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec:
  nodeName: node-b
  containers:
  - name: c
    image: x
    ports: [{containerPort: 8080}, {containerPort: 53, protocol: UDP}]
status: {phase: Running, podIP: 10.244.2.7}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec:
  nodeName: node-b
  containers: [{name: c, image: x, ports: [{containerPort: 5432}]}]
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec:
  containers: [{name: c, image: x}]
status: {phase: Running, podIP: 10.244.1.9}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: other}
spec:
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec: {containers: [{name: c, image: x}]}
EOF
	cat >"$TMP/policy.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}, {port: 53, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress, namespace: other}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}}]
    ports: [{port: 80}]
EOF
	cat >"$TMP/v6.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: v6, labels: {app: a}}
spec: {nodeName: n1, containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIPs: [{ip: "fd00:10::5"}, {ip: 10.1.0.5}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: v6, labels: {app: b}}
spec: {nodeName: n2, containers: [{name: c, image: x}]}
status: {phase: Running, podIPs: [{ip: "fd00:20::7"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: v6, labels: {app: c}}
spec: {nodeName: n2, containers: [{name: c, image: x}]}
status: {phase: Running, podIPs: [{ip: "fd00:20::8"}, {ip: 10.2.0.8}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-b, namespace: v6}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress:
  - from: [{ipBlock: {cidr: "fd00:20::7/128"}}]
EOF
	{
		pod_yaml a n1 10.9.0.5
		pod_yaml b n1 10.9.0.6
		pod_yaml c n2 10.9.1.7
	} >"$TMP/enforce.yaml"
	cat >"$TMP/enforce-policy.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-c, namespace: t}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: c}}}]
EOF
	python3 - >"$TMP/big.yaml" <<'EOF'
for i in range(40):
    print("---\napiVersion: v1\nkind: Pod\n"
          "metadata: {name: p%d, namespace: big}\n"
          "spec: {nodeName: node%d, containers: [{name: c, image: x, "
          "ports: [{containerPort: 80}]}]}\n"
          "status: {phase: Running}" % (i, i % 4))
EOF
}

# A run without policies: every connection must be allowed, as the engine
# says; the lab's matrix is exactly the engine's.
test_open() {
	c=$TMP/cluster.yaml
	expect "run without policies (text)" 0 \
		"$PODWALL" lab run --name "${TAG}a" "$c"
	grep -q "not built other/batch\[Deployment\]" "$TMP/out" &&
		ok "run names the template it does not build" ||
		fail "run names the template it does not build"
	clean "run without policies" "${TAG}a"
	expect "run without policies (json)" 0 \
		"$PODWALL" lab run --name "${TAG}b" -o json "$c"
	cp "$TMP/out" "$TMP/open.json"
	"$PODWALL" matrix -o json "$c" >"$TMP/eng.json" 2>/dev/null
	json_check "all pairs connect without policies" "$TMP/open.json" - \
		'len(cells) == 4 * 12 and all(cells) and lab["mismatches"] == []'
	json_check "the lab's pods and ports are the engine's" \
		"$TMP/open.json" "$TMP/eng.json" \
		'[p for p in eng["pods"] if "[" not in p] == lab["pods"] and eng["ports"] == lab["ports"] and lab["expected"] == sub(eng["matrix"])'
	clean "run without policies (json)" "${TAG}b"
}

# Policies: some pairs must be dropped, and the traffic must agree with the
# engine pair by pair.
test_policies() {
	expect "run with policies" 0 "$PODWALL" lab run --name "${TAG}c" \
		-o json --port 80 --port 8080 --port 53/UDP --port 9000/SCTP \
		"$TMP/cluster.yaml" "$TMP/policy.yaml"
	cp "$TMP/out" "$TMP/pol.json"
	"$PODWALL" matrix -o json --port 80 --port 8080 --port 53/UDP \
		"$TMP/cluster.yaml" "$TMP/policy.yaml" >"$TMP/eng.json" 2>/dev/null
	json_check "policies drop some pairs and allow others" \
		"$TMP/pol.json" - 'any(cells) and not all(cells)'
	json_check "the traffic matches the engine" "$TMP/pol.json" \
		"$TMP/eng.json" \
		'lab["matrix"] == sub(eng["matrix"]) and lab["expected"] == sub(eng["matrix"]) and lab["mismatches"] == []'
	json_check "SCTP is skipped with a reason" "$TMP/pol.json" - \
		'lab["skipped"] == [{"port": "9000/SCTP", "reason": "this kernel has no SCTP"}]'
	clean "run with policies" "${TAG}c"
	expect "IPv6 pod to pod across nodes" 0 "$PODWALL" lab run \
		--name "${TAG}d" -o json --port 80 --port 80/UDP "$TMP/v6.yaml"
	json_check "IPv6: the ipBlock allows one source only" "$TMP/out" - \
		'lab["matrix"]["80/TCP"]["v6/c"]["v6/a"] is False and lab["matrix"]["80/TCP"]["v6/b"]["v6/a"] is True'
	clean "IPv6 run" "${TAG}d"
}

# A lab that stays up: probe sees what the kernel does, not what the
# engine says, so a ruleset removed behind the lab's back shows up as
# mismatches; apply puts rulesets back in place.
test_up() {
	id=${TAG}e
	expect "up" 0 "$PODWALL" lab up --name "$id" "$TMP/cluster.yaml" \
		"$TMP/policy.yaml"
	expect "probe matches" 0 "$PODWALL" lab probe --name "$id" \
		--port 8080 --port 7777/UDP
	if grep -q '^mismatch' "$TMP/out"; then
		fail "probe of an enforced lab shows no mismatch"
	else
		ok "probe of an enforced lab shows no mismatch"
	fi
	ip netns exec "$id-n1" nft delete table inet podwall 2>"$TMP/err"
	expect "probe after the ruleset of node-b is removed" 0 \
		"$PODWALL" lab probe --name "$id" --port 8080
	grep -q '^mismatch 8080/TCP shop/web -> shop/db: engine denies, traffic connected' \
		"$TMP/out" && ok "the probe sees the missing ruleset" ||
		fail "the probe sees the missing ruleset"
	expect "apply the same manifests" 0 "$PODWALL" lab apply --name "$id" \
		"$TMP/cluster.yaml" "$TMP/policy.yaml"
	expect "probe after apply" 0 "$PODWALL" lab probe --name "$id" \
		--port 8080 -o json
	json_check "apply enforces again" "$TMP/out" - \
		'lab["matrix"]["8080/TCP"]["shop/web"]["shop/db"] is False and lab["matrix"]["8080/TCP"]["shop/web"]["shop/api"] is True'
	expect "apply without policies" 0 "$PODWALL" lab apply --name "$id" \
		"$TMP/cluster.yaml"
	expect "probe without policies" 0 "$PODWALL" lab probe --name "$id" \
		--port 8080 -o json
	json_check "apply removed the policies" "$TMP/out" - 'all(cells)'
	grep -v 'podIP: 10.244.1.9' "$TMP/cluster.yaml" |
		sed 's/name: client,/name: client2,/' >"$TMP/changed.yaml"
	expect "apply with another pod" 0 "$PODWALL" lab apply \
		--name "$id" "$TMP/changed.yaml" "$TMP/policy.yaml"
	grep -q "1 pods removed, 1 added" "$TMP/out" &&
		ok "apply replaces only the pod that changed" ||
		fail "apply replaces only the pod that changed"
	expect "probe after the change" 0 "$PODWALL" lab probe --name "$id" \
		--port 8080 -o json
	json_check "the lab has the new pod" "$TMP/out" - \
		'lab["pods"] == ["other/client2", "shop/api", "shop/db", "shop/web"] and lab["matrix"]["8080/TCP"]["shop/web"]["shop/api"] and not lab["matrix"]["8080/TCP"]["other/client2"]["shop/api"]'
	# db (no address in the manifests) moves to a node of its own, then
	# back: a node comes and goes, and db's address follows its node.
	sed '/name: db,/,/phase/s/nodeName: node-b/nodeName: node-c/' \
		"$TMP/changed.yaml" >"$TMP/moved.yaml"
	expect "apply moving a pod to a new node" 0 "$PODWALL" lab apply \
		--name "$id" "$TMP/moved.yaml" "$TMP/policy.yaml"
	[ "$(ls /run/netns | grep -c "^$id-n")" = 4 ] &&
		ok "the new node is there" || fail "the new node is there"
	expect "probe after the move" 0 "$PODWALL" lab probe --name "$id"
	if grep -q '^mismatch' "$TMP/out" || ! grep -q 'shop/db' "$TMP/out"; then
		fail "the moved pod answers as the engine says"
	else
		ok "the moved pod answers as the engine says"
	fi
	expect "apply moving it back" 0 "$PODWALL" lab apply --name "$id" \
		"$TMP/changed.yaml" "$TMP/policy.yaml"
	[ "$(ls /run/netns | grep -c "^$id-n")" = 3 ] &&
		ok "the empty node is gone" || fail "the empty node is gone"
	expect "probe after moving back" 0 "$PODWALL" lab probe --name "$id"
	grep -q '^mismatch' "$TMP/out" &&
		fail "the lab matches the engine after the changes" ||
		ok "the lab matches the engine after the changes"
	cp "$TMP/cluster.yaml" "$TMP/edited.yaml"
	"$PODWALL" lab apply --name "$id" "$TMP/edited.yaml" >/dev/null 2>&1
	sed -i 's/podIP: 10.244.1.5/podIP: 10.244.1.6/' "$TMP/edited.yaml"
	expect "probe refuses manifests edited behind the lab's back" 2 \
		"$PODWALL" lab probe --name "$id" --port 8080
	expect "down" 0 "$PODWALL" lab down --name "$id"
	clean "up and down" "$id"
}

# pod_netns LAB ADDR: the netns of the lab's pod whose eth0 holds ADDR.
pod_netns() {
	for ns in $(ls /run/netns | grep "^$1-p"); do
		if ip -n "$ns" -o addr show dev eth0 | grep -q " $2/"; then
			echo "$ns"
			return 0
		fi
	done
	return 1
}

# node_line LAB NODE: the --verbose line of NODE in $TMP/err.
node_line() {
	grep "^lab $1: node $2 (" "$TMP/err"
}

# unknown_pod NETNS NODE_NETNS ADDR...: what a network plugin does before
# podwall knows the pod: a netns wired to the node like a lab pod (a veth,
# host routes, static neighbours), with addresses no manifest has.
unknown_pod() {
	u=$1
	node=$2
	shift 2
	ip netns add "$u" &&
		ip -n "$node" link add u0 address 02:7e:00:00:00:01 type veth \
			peer name eth0 address 02:7e:00:00:00:02 netns "$u" &&
		ip -n "$u" link set lo up && ip -n "$u" link set eth0 up &&
		ip -n "$node" link set u0 up || return 1
	for a in "$@"; do
		ip -n "$u" addr add "$a/32" dev eth0 &&
			ip -n "$node" neigh add "$a" lladdr 02:7e:00:00:00:02 \
				dev u0 nud permanent &&
			ip -n "$node" route add "$a/32" dev u0 || return 1
	done
	ip -n "$u" neigh add 169.254.1.1 lladdr 02:7e:00:00:00:01 dev eth0 \
		nud permanent &&
		ip -n "$u" route add 169.254.1.1 dev eth0 scope link &&
		ip -n "$u" route add default via 169.254.1.1 dev eth0
}

# spoof_from POD_NETNS NODE_NETNS POD_ADDR ADDR: pod POD_ADDR gets ADDR too,
# and its node routes ADDR back to it, so that only podwall's
# anti-spoofing stands between a connection from ADDR and its answer.
spoof_from() {
	dev=$(ip -n "$2" route get "$3" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
	mac=$(ip -n "$1" -o link show eth0 |
		sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	[ -n "$dev" ] && [ -n "$mac" ] &&
		ip -n "$1" addr add "$4/32" dev eth0 &&
		ip -n "$2" neigh add "$4" lladdr "$mac" dev "$dev" nud permanent &&
		ip -n "$2" route add "$4/32" dev "$dev"
}

# Each node enforces as `podwall apply --node` does: pod interfaces bound
# from the routes (a spoofed source is dropped), the node's pod range (the
# Node's, or the lab's own: an address in it that is no pod is dropped),
# and the table moved incrementally by later `lab apply` (a full load only
# where the table went missing). Without policies every drop here is
# anti-spoofing's or fail-closed's; with the tables removed the same
# connections pass, so the test's own wiring is not what drops them.
test_enforce() {
	id=${TAG}l
	expect "up (enforcement)" 0 "$PODWALL" lab up --name "$id" --verbose \
		"$TMP/enforce.yaml"
	n1=$(node_line "$id" n1 | sed -n 's/^[^(]*(\([^)]*\)).*/\1/p')
	n2=$(node_line "$id" n2 | sed -n 's/^[^(]*(\([^)]*\)).*/\1/p')
	pre=$(node_line "$id" n2 |
		sed -n "s/.*(the lab's: \([0-9.]*\)\.0\/24).*/\1/p")
	node_line "$id" n1 | grep -q ": 2 local pods, 2 addresses bound, 1 pod ranges (the lab's: [0-9.]*/24); changed: full load" &&
		ok "every local pod bound to its interface, the lab's range the node's" ||
		fail "every local pod bound to its interface, the lab's range the node's"
	pa=$(pod_netns "$id" 10.9.0.5)
	if [ -z "$n1" ] || [ -z "$n2" ] || [ -z "$pre" ] || [ -z "$pa" ] ||
		! spoof_from "$pa" "$n1" 10.9.0.5 192.0.2.77 ||
		! unknown_pod "$id-u" "$n2" "$pre.200" 192.0.2.200; then
		fail "enforcement: the test's own setup"
		"$PODWALL" lab down --name "$id" >/dev/null 2>&1
		return
	fi
	tcp_connect "$pa" - 10.9.0.6 80 5 && ok "a pod reaches its neighbour" ||
		fail "a pod reaches its neighbour"
	tcp_connect "$pa" 192.0.2.77 10.9.0.6 80 2 &&
		fail "a spoofed source is dropped" ||
		ok "a spoofed source is dropped"
	tcp_connect "$id-u" 192.0.2.200 10.9.1.7 80 5 &&
		ok "an unknown address outside the pod ranges passes" ||
		fail "an unknown address outside the pod ranges passes"
	tcp_connect "$id-u" "$pre.200" 10.9.1.7 80 2 &&
		fail "an address in the lab's pod range that is no pod is dropped" ||
		ok "an address in the lab's pod range that is no pod is dropped"
	ip netns exec "$n1" nft delete table inet podwall
	ip netns exec "$n2" nft delete table inet podwall
	tcp_connect "$pa" 192.0.2.77 10.9.0.6 80 5 &&
		ok "without the table the spoofed source connects" ||
		fail "without the table the spoofed source connects"
	tcp_connect "$id-u" "$pre.200" 10.9.1.7 80 5 &&
		ok "without the table the unknown address connects" ||
		fail "without the table the unknown address connects"
	expect "apply after the tables were removed" 0 "$PODWALL" lab apply \
		--name "$id" --verbose "$TMP/enforce.yaml"
	[ "$(grep -c "^lab $id: node .*changed: full load" "$TMP/err")" = 2 ] &&
		ok "a missing table is loaded whole" ||
		fail "a missing table is loaded whole"
	tcp_connect "$pa" 192.0.2.77 10.9.0.6 80 2 &&
		fail "the spoofed source is dropped again" ||
		ok "the spoofed source is dropped again"
	tcp_connect "$id-u" "$pre.200" 10.9.1.7 80 2 &&
		fail "the unknown address is dropped again" ||
		ok "the unknown address is dropped again"
	ip -n "$pa" addr del 192.0.2.77/32 dev eth0
	expect "apply a policy" 0 "$PODWALL" lab apply --name "$id" \
		--verbose "$TMP/enforce.yaml" "$TMP/enforce-policy.yaml"
	# b's ingress is enforced on n1; n2 has nothing to change.
	if node_line "$id" n1 | grep -q "changed: +[0-9]* elements" &&
		node_line "$id" n2 | grep -q "changed: [0-9]* unchanged sets$" &&
		! grep -q "full load" "$TMP/err"; then
		ok "a policy added changes the tables incrementally"
	else
		fail "a policy added changes the tables incrementally"
	fi
	expect "probe after the policy" 0 "$PODWALL" lab probe --name "$id" \
		--port 80
	grep -q '^80/TCP: 5 of 6 pairs connected, 0 differ from the engine$' \
		"$TMP/out" && ok "the policy drops one pair, as the engine says" ||
		fail "the policy drops one pair, as the engine says"
	expect "down (enforcement)" 0 "$PODWALL" lab down --name "$id"
	clean "enforcement" "$id"
}

# Ctrl-C in the middle of lab up, kill -9 too (then lab down must find
# what is left), and manifests the lab refuses.
test_interrupt() {
	id=${TAG}f
	"$PODWALL" lab up --name "$id" "$TMP/big.yaml" >/dev/null 2>"$TMP/err" &
	pid=$!
	sleep 0.5
	kill -INT $pid
	wait $pid
	st=$?
	[ $st = 2 ] && ok "SIGINT in lab up: exit status 2" ||
		fail "SIGINT in lab up: exit status $st"
	clean "SIGINT in lab up" "$id"
	# SIGTERM while lab run probes (denied pairs wait for the retry).
	id=${TAG}j
	"$PODWALL" lab run --name "$id" "$TMP/cluster.yaml" \
		"$TMP/policy.yaml" >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	n=0
	while ! ps -eo comm | grep -q "^$id-q" && [ $n -lt 100 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	kill -TERM $pid
	wait $pid
	st=$?
	[ $st = 2 ] && ok "SIGTERM in lab run's probe: exit status 2" ||
		fail "SIGTERM in lab run's probe: exit status $st"
	clean "SIGTERM in lab run" "$id"
	id=${TAG}g
	"$PODWALL" lab up --name "$id" "$TMP/big.yaml" >/dev/null 2>&1 &
	pid=$!
	sleep 0.5
	kill -KILL $pid
	wait $pid 2>/dev/null
	expect "lab down after kill -9 in lab up" 0 \
		"$PODWALL" lab down --name "$id"
	clean "lab down after kill -9" "$id"
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: x, bogus: 1}\n' \
		>"$TMP/invalid.yaml"
	expect "invalid manifests: exit status 1" 1 "$PODWALL" lab run \
		--name "${TAG}h" "$TMP/invalid.yaml"
	clean "invalid manifests" "${TAG}h"
	sed 's/podIP: 10.244.2.7/podIP: 10.244.1.5/' "$TMP/cluster.yaml" \
		>"$TMP/dup.yaml"
	expect "two pods with one address: exit status 2" 2 "$PODWALL" lab run \
		--name "${TAG}i" "$TMP/dup.yaml"
	clean "two pods with one address" "${TAG}i"
}

part_basic() {
	write_cluster
	test_open
	test_policies
	test_up
	test_enforce
	test_interrupt
}

# Every TCP/UDP case of the upstream suite: one lab per case, on three
# nodes (pods a, b and c of every namespace each on their own node, so that
# traffic crosses nodes and stays on one), every step applied to the
# running lab with `lab apply`, every probe matrix compared with the
# suite's. SCTP probes are reported as skipped.
part_conformance() {
	data=$SHARED/conformance/k8s-e2e-netpol.json
	if [ ! -f "$data" ]; then
		fail "conformance: $data is missing"
		return
	fi
	cat >"$TMP/conf.py" <<'EOF'
import json, subprocess, sys

podwall, data, lab, tmp = sys.argv[1:5]
suite = json.load(open(data))
pods = suite["cluster"]["pods"]
passed = failed = 0


def run(*args):
    r = subprocess.run([podwall, "lab"] + list(args), capture_output=True,
                       text=True, timeout=300)
    return r.returncode, r.stdout, r.stderr


def write(case, step):
    """The cluster and the policies of one step, as List documents."""
    items = []
    for ns, labels in sorted(step["namespace_labels"].items()):
        items.append({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": ns, "labels": labels}})
    ports = [{"containerPort": c["containerPort"], "protocol": c["protocol"],
              "name": c["portName"]} for c in case["served"]["containers"]]
    for key, pod in sorted(pods.items()):
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": pod["name"],
                                   "namespace": pod["namespace"],
                                   "labels": step["pod_labels"][key]},
                      "spec": {"nodeName": "node-" + pod["name"],
                               "containers": [{"name": "c", "image": "x",
                                               "ports": ports}]},
                      "status": {"phase": "Running",
                                 "podIP": pod["synthetic_ip"]}})
    text = json.dumps({"apiVersion": "v1", "kind": "List",
                       "items": step["policies"]})
    for key, pod in pods.items():
        text = text.replace("${IP:%s}" % key, pod["synthetic_ip"])
    json.dump({"apiVersion": "v1", "kind": "List", "items": items},
              open(tmp + "/conf-cluster.json", "w"))
    open(tmp + "/conf-policies.json", "w").write(text)
    return [tmp + "/conf-cluster.json", tmp + "/conf-policies.json"]


def check(case, probe, got):
    global passed, failed
    port = "%d/%s" % (probe["port"], probe["protocol"])
    what = "%s step %d %s" % (case["id"], probe["step"], port)
    wrong = ["%s->%s expected %s" % (f, t, v)
             for f, row in sorted(probe["expected"].items())
             for t, v in sorted(row.items())
             if f != t and got.get(port, {}).get(f, {}).get(t) != v]
    if wrong:
        failed += 1
        print("FAIL lab %s: %d pairs differ: %s" %
              (what, len(wrong), ", ".join(wrong[:6])))
    else:
        passed += 1
        print("ok lab %s" % what)


def incremental(case, k, err):
    global passed, failed
    full = [l for l in err.splitlines() if "changed: full load" in l]
    if full:
        failed += 1
        print("FAIL lab %s step %d: a table was loaded whole: %s" %
              (case["id"], k, full[0]))
    else:
        passed += 1
        print("ok lab %s step %d applied incrementally" % (case["id"], k))


def one_case(case):
    global failed
    probes = [p for p in case["probes"] if p["protocol"] != "SCTP"]
    for p in case["probes"]:
        if p["protocol"] == "SCTP":
            print("skip lab %s %d/SCTP: this kernel has no SCTP" %
                  (case["id"], p["port"]))
    if not probes:
        return
    last = max(p["step"] for p in probes)
    for k in range(last + 1):
        files = write(case, case["steps"][k])
        st, out, err = run("apply" if k else "up", "--verbose", "--name",
                           lab, *files)
        if st != 0:
            failed += 1
            print("FAIL lab %s step %d: lab %s: exit status %d: %s" %
                  (case["id"], k, "apply" if k else "up", st, err.strip()))
            return
        if k and "rulesets" not in out:
            print("note: %s step %d rebuilt the lab" % (case["id"], k))
        elif k:
            # The nodes stay: each table is changed, never loaded again.
            incremental(case, k, err)
        mine = [p for p in probes if p["step"] == k]
        if not mine:
            continue
        args = ["probe", "--name", lab, "-o", "json"]
        for p in mine:
            args += ["--port", "%d/%s" % (p["port"], p["protocol"])]
        st, out, err = run(*args)
        if st != 0:
            failed += 1
            print("FAIL lab %s step %d: probe: exit status %d: %s" %
                  (case["id"], k, st, err.strip()))
            return
        got = json.loads(out)["matrix"]
        for p in mine:
            check(case, p, got)


for case in suite["cases"]:
    try:
        one_case(case)
    finally:
        run("down", "--name", lab)
print("conformance-lab: %d passed, %d failed" % (passed, failed))
EOF
	python3 "$TMP/conf.py" "$PODWALL" "$data" "${TAG}k" "$TMP" \
		>"$TMP/conf.log" 2>&1
	st=$?
	cat "$TMP/conf.log"
	line=$(grep -E '^conformance-lab: [0-9]+ passed, [0-9]+ failed$' \
		"$TMP/conf.log" | tail -n 1)
	if [ -z "$line" ]; then
		fail "conformance: no closing line (exit status $st)"
		return
	fi
	p=$(echo "$line" | sed 's/.*: \([0-9]*\) passed.*/\1/')
	f=$(echo "$line" | sed 's/.* passed, \([0-9]*\) failed$/\1/')
	passed=$((passed + p))
	failed=$((failed + f))
	clean "conformance" "${TAG}k"
}

needs ip python3
if [ ! -x "$PODWALL" ]; then
	fail "$PODWALL is not built"
	finish
fi

parts=${*:-basic conformance}
for part in $parts; do
	case $part in
	basic | conformance) "part_$part" ;;
	*)
		echo "usage: sh tests/netns/lab.sh [basic|conformance]..." >&2
		exit 2
		;;
	esac
done

finish
