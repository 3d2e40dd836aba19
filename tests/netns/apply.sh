#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# podwall apply against a real kernel (root): every golden ruleset of
# tests/golden/nft/ through the command and into a fresh network namespace,
# the table as the kernel lists it; the netlink load listed byte for byte
# as nft -f of the compiled text; incremental updates (A then B lists as B
# alone, for pods, policies and namespaces changed, and big transitions of
# a generated cluster; the verdict cache turned on over a table without
# it or of an older podwall); a broken input and a refused transaction leaving
# the previous table untouched, --flush, and real TCP traffic through a
# node namespace: one allowed connection, denied ones (ingress, egress,
# port, an unknown pod address) silently dropped, a spoofed source
# dropped, and --pod-cidr in place of a Node.
#
#   sh tests/netns/apply.sh            (from anywhere; BUILD=build-san)
#
# The node, its pods, the servers, the counters, the closing line
# "apply: N passed, N failed" and the cleanup on every exit path are
# tests/netns/lib.sh's.

set -u
cd "$(dirname "$0")/../.." || exit 2
PW_TEST=apply
. tests/netns/lib.sh

GOLDEN=tests/golden/nft
NODE=$RUN-node

# same_state A B: two `nft list table` outputs describe the same kernel
# state: the same objects with the same contents. Two orders in a listing
# are history, not state, and no packet sees either (rules name sets and
# chains, never positions; a lookup finds an element wherever it sits):
#  - objects list in creation order: a fresh load creates classes in id
#    order, an update keeps the classes it had and appends new ones;
#  - a concatenated interval set (pipapo) lists its elements in insertion
#    order: an update adds exactly the new elements, after the kept ones
#    (docs/DATAPATH.md, "The state of B").
# So the canonical form sorts the objects by their header (kind and name)
# and each set's and map's elements, one per line; everything else in an
# object (type, flags, rules in their order) is compared as listed. Unlike
# lib.sh's t_table it keeps every element (the anti-spoofing ones too) and
# zeroes the counters' values instead of dropping them.
canon() {
	sed 's/packets [0-9]* bytes [0-9]*/packets 0 bytes 0/' "$1" |
		awk -f tests/netns/canon.awk | LC_ALL=C sort |
		awk -F '\001' '{ print $4 }'
}

same_state() {
	canon "$1" >"$1.canon" && canon "$2" >"$2.canon" &&
		cmp -s "$1.canon" "$2.canon"
}

differs() {
	! same_state "$@"
}

not_cmp() {
	! cmp -s "$1" "$2"
}

# plant_checks NS_AB NS_B: same_state is not blind to one element: one
# more in a class's port set (pipapo) of A-then-B, or in B's (one missing
# in A-then-B), is seen; then the plant is removed and the state is the
# same again.
plant() { # NS add|delete
	in_ns "$1" nft "$2" element inet podwall "$PLANT_SET" \
		"{ 10.250.255.254 . tcp . 1 }"
}

plant_checks() {
	PLANT_SET=$(in_ns "$2" nft list table inet podwall |
		awk '$1 == "set" && $2 ~ /^in_c.*_ports_v4$/ { print $2; exit }')
	for _ns in "$1" "$2"; do
		plant "$_ns" add
		in_ns "$1" nft list table inet podwall >"$TMP/ab"
		in_ns "$2" nft list table inet podwall >"$TMP/b"
		check "planted element in $PLANT_SET of $_ns: seen" \
			differs "$TMP/ab" "$TMP/b"
		plant "$_ns" delete
	done
	in_ns "$1" nft list table inet podwall >"$TMP/ab"
	in_ns "$2" nft list table inet podwall >"$TMP/b"
	check "planted elements removed: the same state again" \
		same_state "$TMP/ab" "$TMP/b"
}

# counted COUNTER OP N: the packets the named counter COUNTER of the
# node's table has counted, compared with N by test(1).
counted() {
	_n=$(t_nft_counter "$NODE" "$1")
	[ -n "$_n" ] && test "$_n" "$2" "$3"
}

needs ip nft python3 setpriv
t_built "$PODWALL"
t_node "$NODE" || { fail "building the node netns"; finish; }

# ---- the golden rulesets, through the command and the kernel ------------

node_opt() {
	if [ -f "$1/node" ]; then echo "--node $(cat "$1/node")"; fi
	if [ -f "$1/flow-log" ]; then
		set -- $(cat "$1/flow-log")
		echo "--flow-log $1 --nflog-group $2"
	fi
}

for dir in "$GOLDEN"/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	# shellcheck disable=SC2046
	"$PODWALL" compile $(node_opt "$dir") "$dir" >"$TMP/$name.nft" 2>"$TMP/err"
	check "$name: compile exits 0" [ $? -eq 0 ]
	check "$name: compile prints expected.nft" \
		cmp -s "$TMP/$name.nft" "$dir/expected.nft"
	check "$name: nft -c accepts it" \
		in_ns "$NODE" nft -c -f "$TMP/$name.nft"
	# shellcheck disable=SC2046
	in_ns "$NODE" "$PODWALL" apply $(node_opt "$dir") "$dir" >"$TMP/out" 2>&1
	check "$name: apply exits 0" [ $? -eq 0 ]
	check "$name: apply prints one summary line" \
		grep -qE '^applied table inet podwall: [0-9]+ chains, [0-9]+ sets, [0-9]+ elements' "$TMP/out"
	in_ns "$NODE" nft list table inet podwall >"$TMP/list" 2>&1
	# Every set, map and chain compile declares is in the kernel.
	missing=
	for obj in $(sed -n 's/^\t\(set\|map\|chain\|counter\) \([a-z0-9_]*\) {$/\2/p' "$dir/expected.nft"); do
		grep -qE "^	(set|map|chain|counter) $obj \{" "$TMP/list" ||
			missing="$missing $obj"
	done
	check "$name: kernel lists every object (missing:$missing)" [ -z "$missing" ]
done

# ---- what the kernel holds for one case ---------------------------------

in_ns "$NODE" "$PODWALL" apply "$GOLDEN/ipblock" >/dev/null 2>&1
in_ns "$NODE" nft list table inet podwall >"$TMP/ipblock.list"
check "ipblock: the v4 port set holds the merged 8000-9000 element" \
	grep -q '172.16.0.0/24 . tcp . 8000-9000' "$TMP/ipblock.list"
check "ipblock: the v6 set has the except holes" \
	grep -q '2001:db9::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff . udp . 53' "$TMP/ipblock.list"
check "ipblock: the db's vmap entry goes to its class" \
	grep -qE '10.0.0.6 comment "edge/db" : goto in_c[0-9a-f]{16}( }|,)?$' "$TMP/ipblock.list"

# The flow log on and off again is incremental and leaves what a table
# loaded without it holds.
ip netns add "$RUN-fl"
ip netns add "$RUN-fl2"
in_ns "$RUN-fl" "$PODWALL" apply --node node-a --flow-log all --nflog-group 5 \
	"$GOLDEN/flow-log" >/dev/null 2>&1
in_ns "$RUN-fl" "$PODWALL" apply --node node-a "$GOLDEN/flow-log" >"$TMP/out" 2>&1
check "flow log off: chains rewritten, counters removed, no full load" \
	grep -qE '^changed: [0-9]+ chains replaced, [0-9]+ unchanged sets$' "$TMP/out"
in_ns "$RUN-fl" nft list table inet podwall >"$TMP/ab"
in_ns "$RUN-fl2" "$PODWALL" apply --node node-a "$GOLDEN/flow-log" >/dev/null 2>&1
in_ns "$RUN-fl2" nft list table inet podwall >"$TMP/b"
check "flow log all then off = off on a fresh namespace" same_state "$TMP/ab" "$TMP/b"
in_ns "$RUN-fl" "$PODWALL" apply --node node-a --flow-log denied --nflog-group 5 \
	"$GOLDEN/flow-log" >/dev/null 2>&1
in_ns "$RUN-fl" nft list table inet podwall >"$TMP/ab"
"$PODWALL" compile --node node-a --flow-log denied --nflog-group 5 \
	"$GOLDEN/flow-log" >"$TMP/fl.nft" 2>/dev/null
in_ns "$RUN-fl2" nft delete table inet podwall
in_ns "$RUN-fl2" nft -f "$TMP/fl.nft"
in_ns "$RUN-fl2" nft list table inet podwall >"$TMP/b"
check "flow log off then denied = nft -f of compile --flow-log denied" \
	same_state "$TMP/ab" "$TMP/b"
check "flow log denied: every drop logs" \
	test "$(grep -c ' log prefix "podwall:denied:' "$TMP/ab")" -eq \
	"$(grep -c ' drop$' "$TMP/ab")"
ip netns del "$RUN-fl"
ip netns del "$RUN-fl2"

# The verdict cache turned on over a table without it, and over the table
# of a podwall before the cache (ingress classes that accept: compiled
# without the cache, the class chains' returns made accepts): every chain
# is rewritten in place and the table is what a fresh load makes.
ip netns add "$RUN-vc"
ip netns add "$RUN-vc2"
in_ns "$RUN-vc2" "$PODWALL" apply "$GOLDEN/selectors" >/dev/null 2>&1
in_ns "$RUN-vc2" nft list table inet podwall >"$TMP/b"
"$PODWALL" compile --ct-mark-mask 0 "$GOLDEN/selectors" 2>/dev/null |
	sed '/@in_c[0-9a-f]*\(_ports\)\?_v[46]/s/ return$/ accept/' >"$TMP/old.nft"
for start in nocache old; do
	if [ $start = nocache ]; then
		in_ns "$RUN-vc" "$PODWALL" apply --ct-mark-mask 0 "$GOLDEN/selectors" \
			>/dev/null 2>&1
	else
		in_ns "$RUN-vc" nft delete table inet podwall
		in_ns "$RUN-vc" nft -f "$TMP/old.nft"
	fi
	in_ns "$RUN-vc" "$PODWALL" apply "$GOLDEN/selectors" >"$TMP/out" 2>&1
	check "cache on over $start: rewritten in place, no full load" \
		grep -qE '^changed: [0-9]+ chains replaced, [0-9]+ unchanged sets$' "$TMP/out"
	in_ns "$RUN-vc" nft list table inet podwall >"$TMP/ab"
	check "cache on over $start: what a fresh load makes" same_state "$TMP/ab" "$TMP/b"
done
check "the old table's ingress classes accepted" grep -q '@in_c.* accept$' "$TMP/old.nft"
ip netns del "$RUN-vc"
ip netns del "$RUN-vc2"

# Replacing is complete: A then B leaves what B alone leaves.
ip netns add "$RUN-fresh"
in_ns "$NODE" "$PODWALL" apply "$GOLDEN/selectors" >/dev/null 2>&1
in_ns "$NODE" "$PODWALL" apply "$GOLDEN/ipblock" >/dev/null 2>&1
in_ns "$RUN-fresh" "$PODWALL" apply "$GOLDEN/ipblock" >/dev/null 2>&1
in_ns "$NODE" nft list table inet podwall >"$TMP/ab"
in_ns "$RUN-fresh" nft list table inet podwall >"$TMP/b"
check "selectors then ipblock = ipblock on a fresh namespace" same_state "$TMP/ab" "$TMP/b"
ip netns del "$RUN-fresh"

# ---- netlink and libnftables load the same table --------------------------
#
# apply builds netlink messages itself; nft -f of the compiled text is the
# reference. The kernel must list the same table either way: nothing is
# normalised.

same_as_text() { # NAME DIR|FILE [--node NODE]
	_src=$2
	shift 2
	ip netns add "$RUN-nl" && ip netns add "$RUN-tx" || return 1
	"$PODWALL" compile "$@" "$_src" >"$TMP/text.nft" 2>/dev/null &&
		in_ns "$RUN-nl" "$PODWALL" apply "$@" "$_src" >/dev/null 2>&1 &&
		in_ns "$RUN-tx" nft -f "$TMP/text.nft" &&
		in_ns "$RUN-nl" nft list table inet podwall >"$TMP/nl.list" &&
		in_ns "$RUN-tx" nft list table inet podwall >"$TMP/tx.list" &&
		cmp -s "$TMP/nl.list" "$TMP/tx.list"
	_ret=$?
	ip netns del "$RUN-nl"
	ip netns del "$RUN-tx"
	return $_ret
}

for dir in "$GOLDEN"/*/; do
	dir=${dir%/}
	# shellcheck disable=SC2046
	check "$(basename "$dir"): netlink load lists as nft -f of the text" \
		same_as_text "$dir" "$dir" $(node_opt "$dir")
done
GEN=$BIN/bench/gen_scale
if [ -x "$GEN" ]; then
	"$GEN" --namespaces 30 "$TMP/scale.yaml" >/dev/null 2>&1
	check "scale (30 namespaces): netlink load lists as nft -f of the text" \
		same_as_text scale "$TMP/scale.yaml"
	check "scale, one node: netlink load lists as nft -f of the text" \
		same_as_text scale "$TMP/scale.yaml" --node node-0
	# Big transitions: every pod local -> one node's view -> one pod more
	# (a peer in many classes) -> back; each must list as a fresh load.
	cat >"$TMP/extra-pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: test-pod-extra
  namespace: network-policy-perf-0
  labels: {test-pod: "true", num: "1", "1": "true"}
spec:
  nodeName: node-0
  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
status: {phase: Running, podIP: 10.250.0.2}
EOF
	# A pod below every address of its peers (node-0's range starts at
	# 10.0.0.2): its elements sort before kept ones in many class port
	# sets (pipapo), where the update appends them, so A then B lists
	# them in another order than a fresh load.
	sed 's/^\(  labels: \).*/\1{test-pod: "true", num: "99", "1": "true", "2": "true", "3": "true", "4": "true", "5": "true", "6": "true", "7": "true", "8": "true", "9": "true"}/
	     s/test-pod-extra/test-pod-low/; s/10.250.0.2/10.0.0.1/' \
		"$TMP/extra-pod.yaml" >"$TMP/low-pod.yaml"
	ip netns add "$RUN-big"
	for step in "" "--node node-0" "--node node-0 -f $TMP/extra-pod.yaml" \
		"-f $TMP/extra-pod.yaml" "-f $TMP/low-pod.yaml" ""; do
		# shellcheck disable=SC2086
		in_ns "$RUN-big" "$PODWALL" apply $step "$TMP/scale.yaml" >/dev/null 2>&1
		ip netns add "$RUN-fresh"
		# shellcheck disable=SC2086
		in_ns "$RUN-fresh" "$PODWALL" apply $step "$TMP/scale.yaml" >/dev/null 2>&1
		in_ns "$RUN-big" nft list table inet podwall >"$TMP/ab"
		in_ns "$RUN-fresh" nft list table inet podwall >"$TMP/b"
		check "scale, incremental to '$step': the state of a fresh load" \
			same_state "$TMP/ab" "$TMP/b"
		case $step in
		*extra-pod*) plant_checks "$RUN-big" "$RUN-fresh" ;;
		*low-pod*)
			check "scale, the low pod: its elements list after kept ones" \
				not_cmp "$TMP/ab" "$TMP/b"
			plant_checks "$RUN-big" "$RUN-fresh"
			;;
		esac
		ip netns del "$RUN-fresh"
	done
	ip netns del "$RUN-big"
	# Stable class names: a pod whose labels make a class of its own,
	# early in the first namespace, adds that class and its elements and
	# renames no other class (with ids in walk order it renamed nearly
	# all of them: 18 chains removed, 20 added here).
	sed 's/^\(  labels: \).*/\1{test-pod: "true", num: "10", "1": "true", "2": "true", "3": "true", "4": "true", "5": "true", "6": "true", "7": "true", "8": "true", "9": "true", "10": "true"}/
	     s/test-pod-extra/test-pod-new-class/; s/10.250.0.2/10.250.0.3/' \
		"$TMP/extra-pod.yaml" >"$TMP/class-pod.yaml"
	ip netns add "$RUN-big"
	in_ns "$RUN-big" "$PODWALL" apply --node node-0 "$TMP/scale.yaml" >/dev/null 2>&1
	in_ns "$RUN-big" "$PODWALL" apply --node node-0 -f "$TMP/class-pod.yaml" \
		"$TMP/scale.yaml" >"$TMP/out" 2>&1
	check "scale, a pod with a class of its own: only that class added" \
		grep -qE '^changed: \+[0-9]+ elements, 2 sets added, 2 chains added, [0-9]+ unchanged sets$' "$TMP/out"
	ip netns add "$RUN-fresh"
	in_ns "$RUN-fresh" "$PODWALL" apply --node node-0 -f "$TMP/class-pod.yaml" \
		"$TMP/scale.yaml" >/dev/null 2>&1
	in_ns "$RUN-big" nft list table inet podwall >"$TMP/ab"
	in_ns "$RUN-fresh" nft list table inet podwall >"$TMP/b"
	check "scale, a pod with a class of its own: the state of a fresh load" \
		same_state "$TMP/ab" "$TMP/b"
	ip netns del "$RUN-fresh"
	in_ns "$RUN-big" "$PODWALL" apply --node node-0 "$TMP/scale.yaml" >"$TMP/out" 2>&1
	check "scale, that pod removed: only its class removed" \
		grep -qE '^changed: -[0-9]+ elements, 2 sets removed, 2 chains removed, [0-9]+ unchanged sets$' "$TMP/out"
	ip netns del "$RUN-big"
else
	fail "not built: $GEN"
fi

# ---- incremental: A then B is B -------------------------------------------
#
# apply reads the table back and changes only what differs; afterwards
# the kernel must list exactly what B loaded on a fresh namespace lists.

# inc_cluster TEAM API_APP DB(yes|no) DB_POLICY(yes|no) API_PORT
inc_cluster() {
	cat <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: $1}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {phase: Running, podIPs: [{ip: 10.9.0.10}, {ip: "fd09::10"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: shop, labels: {app: $2}}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: 10.9.0.20}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: $5}]
EOF
	[ "$3" = yes ] && inc_pod db-0 db 10.9.0.30
	[ "$4" = yes ] && cat <<'EOF'
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
EOF
	return 0
}

inc_pod() { # NAME APP IP
	printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: shop, labels: {app: %s}}\nspec: {containers: [{name: c}]}\nstatus: {phase: Running, podIP: %s}\n' "$1" "$2" "$3"
}

web_out='---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-out, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.9.0.30/32]}}]'

inc_cluster a api yes yes 8080 >"$TMP/A.yaml"
{ inc_cluster a api yes yes 8080; inc_pod api-1 api 10.9.0.21; } >"$TMP/pod-added.yaml"
inc_cluster a api no yes 8080 >"$TMP/pod-removed.yaml"
inc_cluster a web yes yes 8080 >"$TMP/pod-relabelled.yaml"
{ inc_cluster a api yes yes 8080; echo "$web_out"; } >"$TMP/policy-added.yaml"
inc_cluster a api yes yes 8443 >"$TMP/policy-changed.yaml"
inc_cluster a api yes no 8080 >"$TMP/policy-removed.yaml"
inc_cluster b api yes yes 8080 >"$TMP/ns-relabelled.yaml"

ip netns add "$RUN-inc"
for b in pod-added pod-removed pod-relabelled policy-added \
	policy-changed policy-removed ns-relabelled; do
	check "$b differs from A" sh -c "! cmp -s $TMP/A.yaml $TMP/$b.yaml"
	in_ns "$RUN-inc" "$PODWALL" apply --flush >/dev/null 2>&1
	in_ns "$RUN-inc" "$PODWALL" apply "$TMP/A.yaml" >/dev/null 2>&1
	in_ns "$RUN-inc" "$PODWALL" apply "$TMP/$b.yaml" >"$TMP/out" 2>&1
	check "A -> $b: apply exits 0" [ $? -eq 0 ]
	check "A -> $b: incremental, not a full load" \
		grep -qE '^changed: [+-][0-9]+ element' "$TMP/out"
	ip netns add "$RUN-fresh"
	in_ns "$RUN-fresh" "$PODWALL" apply "$TMP/$b.yaml" >/dev/null 2>&1
	in_ns "$RUN-inc" nft list table inet podwall >"$TMP/ab"
	in_ns "$RUN-fresh" nft list table inet podwall >"$TMP/b"
	check "A -> $b: the kernel holds what $b alone gives" same_state "$TMP/ab" "$TMP/b"
	ip netns del "$RUN-fresh"
done
# Back from one pod more: exactly that pod's elements go. api-1 leaves
# pods_v4, self_v4 and ingress_v4, and db's peer range 10.9.0.20-21
# becomes 10.9.0.20 (one concatenated range element replaced).
in_ns "$RUN-inc" "$PODWALL" apply "$TMP/pod-added.yaml" >/dev/null 2>&1
in_ns "$RUN-inc" "$PODWALL" apply "$TMP/A.yaml" >"$TMP/out" 2>&1
check "pod removed: exactly its elements, nothing else" \
	grep -qx 'changed: +1 element, -4 elements, 12 unchanged sets' "$TMP/out"
in_ns "$RUN-inc" "$PODWALL" apply "$TMP/A.yaml" >"$TMP/out" 2>&1
check "same input again: nothing changes" \
	grep -qx 'changed: 16 unchanged sets' "$TMP/out"
ip netns add "$RUN-fresh"
in_ns "$RUN-fresh" "$PODWALL" apply "$TMP/A.yaml" >/dev/null 2>&1
in_ns "$RUN-fresh" nft list table inet podwall >"$TMP/b"
ip netns del "$RUN-fresh"
# An extra set in podwall's table is removed like any stale one...
in_ns "$RUN-inc" nft add set inet podwall stranger '{ type ipv4_addr; }'
in_ns "$RUN-inc" "$PODWALL" apply "$TMP/A.yaml" >"$TMP/out" 2>&1
check "a stranger set: removed" grep -qx 'changed: 1 set removed, 16 unchanged sets' "$TMP/out"
in_ns "$RUN-inc" nft list table inet podwall >"$TMP/ab"
check "a stranger set: the kernel holds what A alone gives" same_state "$TMP/ab" "$TMP/b"
# ...a rule added by hand makes the table someone else's: replaced whole...
in_ns "$RUN-inc" nft add rule inet podwall forward ip saddr 10.9.9.9 accept
in_ns "$RUN-inc" "$PODWALL" apply "$TMP/A.yaml" >"$TMP/out" 2>&1
check "a rule added by hand: full load" grep -q '^changed: full load' "$TMP/out"
in_ns "$RUN-inc" nft list table inet podwall >"$TMP/ab"
check "a rule added by hand: the kernel holds what A alone gives" same_state "$TMP/ab" "$TMP/b"
# ...and so is a table holding a chain podwall never makes.
in_ns "$RUN-inc" nft add chain inet podwall stranger
in_ns "$RUN-inc" "$PODWALL" apply "$TMP/A.yaml" >"$TMP/out" 2>&1
check "a foreign chain: full load" grep -q '^changed: full load' "$TMP/out"
in_ns "$RUN-inc" nft list table inet podwall >"$TMP/ab"
check "a foreign chain: the kernel holds what A alone gives" same_state "$TMP/ab" "$TMP/b"
ip netns del "$RUN-inc"

# ---- bad input and refused transactions leave the table as it was -------

cat >"$TMP/broken.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad
  namespace: x
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock:
        cidr: 10.0.0.0/33
EOF
in_ns "$NODE" nft list table inet podwall >"$TMP/before"
in_ns "$NODE" "$PODWALL" apply "$TMP/broken.yaml" >"$TMP/out" 2>"$TMP/err"
check "invalid manifest: exit status 1" [ $? -eq 1 ]
check "invalid manifest: the error is reported" grep -q '^error: .*cidr' "$TMP/err"
in_ns "$NODE" nft list table inet podwall >"$TMP/after"
check "invalid manifest: table unchanged" cmp -s "$TMP/before" "$TMP/after"

in_ns "$NODE" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$PODWALL" apply "$GOLDEN/selectors" >"$TMP/out" 2>"$TMP/err"
check "no privilege: exit status 2" [ $? -eq 2 ]
check "no privilege: one clear line" \
	grep -q '^podwall apply: nftables: .*Operation not permitted: run as root' "$TMP/err"
in_ns "$NODE" nft list table inet podwall >"$TMP/after"
check "no privilege: table unchanged" cmp -s "$TMP/before" "$TMP/after"

# ---- flush ----------------------------------------------------------------

in_ns "$NODE" "$PODWALL" apply --flush >"$TMP/out" 2>&1
check "flush: exit 0" [ $? -eq 0 ]
check "flush: the table is gone" sh -c "! ip netns exec $NODE nft list table inet podwall >/dev/null 2>&1"
in_ns "$NODE" "$PODWALL" apply --flush >/dev/null 2>&1
check "flush without a table: exit 0" [ $? -eq 0 ]
check "flush takes no input" sh -c "! $PODWALL apply --flush $GOLDEN/ipblock 2>/dev/null"

# ---- real traffic ---------------------------------------------------------
#
# The node's pods (lib.sh's t_pod: Calico's layout): pod-to-pod traffic
# crosses the node's forward hook, where podwall's table sits. client,
# server and other are pods of the cluster; rogue, in the pod range, is
# none. server and other serve on 8080 and 9090 (t_serve), so a refused
# connection can only be the policy.

CLIENT=$RUN-client
SERVER=$RUN-server
OTHER=$RUN-other
ROGUE=$RUN-rogue

# The manifests without the Node (--pod-cidr stands in for it below), and
# with it.
{
	t_pod_yaml t/client client "$NODE" 10.200.0.2,fd00:200::2
	cat <<EOT
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: t, labels: {app: server}}
spec:
  nodeName: $NODE
  containers: [{name: s, ports: [{name: http, containerPort: 8080}, {containerPort: 9090}]}]
status: {phase: Running, podIPs: [{ip: 10.200.0.3}, {ip: "fd00:200::3"}]}
EOT
	t_pod_yaml t/other other "$NODE" 10.200.0.4,fd00:200::4
	cat <<'EOT'
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: t}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: t}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: server}}}]
EOT
} >"$TMP/traffic-nonode.yaml"
{
	t_node_yaml "$NODE" 10.200.0.0/24 fd00:200::/64
	cat "$TMP/traffic-nonode.yaml"
} >"$TMP/traffic.yaml"

if t_pod "$NODE" "$CLIENT" 10.200.0.2,fd00:200::2 &&
	t_pod "$NODE" "$SERVER" 10.200.0.3,fd00:200::3 &&
	t_pod "$NODE" "$OTHER" 10.200.0.4,fd00:200::4 &&
	t_pod "$NODE" "$ROGUE" 10.200.0.9,fd00:200::9; then
	ok
else
	fail "building the pods"
	finish
fi
SERVER_VETH=$(t_veth_of "$NODE" "$SERVER")
for pod in "$SERVER" "$OTHER"; do
	t_serve "$pod" 8080
	t_serve "$pod" 9090
done
check "before apply: client -> server:9090 open" t_answers "$CLIENT" 10.200.0.3 9090
check "before apply: rogue -> server:8080 open" t_answers "$ROGUE" 10.200.0.3 8080
check "before apply: IPv6 other -> server:8080 open" t_answers "$OTHER" fd00:200::3 8080
# A spoofed source: server's eth0 also holds 192.0.2.50 (no pod's, outside
# the pod ranges, routed back to server's veth), so only anti-spoofing can
# stop it: other does not isolate ingress, server not egress.
in_ns "$SERVER" ip addr add 192.0.2.50/32 dev eth0
in_ns "$NODE" ip route add 192.0.2.50/32 dev "$SERVER_VETH"
check "before apply: spoofed 192.0.2.50 from server -> other:9090 open" \
	t_answers "$SERVER" 10.200.0.4 9090 192.0.2.50

in_ns "$NODE" "$PODWALL" apply --node "$NODE" "$TMP/traffic.yaml" >"$TMP/out" 2>&1
check "traffic: apply exits 0" [ $? -eq 0 ]
# client, server and other, IPv4 and IPv6; rogue is no known pod.
check "anti-spoofing: 6 addresses bound to their veth" \
	grep -q '; 6 addresses bound to their interface$' "$TMP/out"
check "anti-spoofing: spoofed 192.0.2.50 from server -> other:9090 dropped" \
	t_not t_answers "$SERVER" 10.200.0.4 9090 192.0.2.50
check "anti-spoofing: server's own address -> other:9090 open" \
	t_answers "$SERVER" 10.200.0.4 9090
check "anti-spoofing: the drop was counted in denied_spoof" \
	counted denied_spoof -ge 1
check "anti-spoofing: server's veth sends to its egress check or returns" \
	sh -c "ip netns exec $NODE nft list map inet podwall egress_if_v4 |
		grep -qE '\"$SERVER_VETH\" . 10.200.0.3 : return'"
check "allowed: client -> server:8080 (named port http)" t_answers "$CLIENT" 10.200.0.3 8080
check "denied by ingress port: client -> server:9090" t_not t_answers "$CLIENT" 10.200.0.3 9090
check "denied by ingress peer: other -> server:8080" t_not t_answers "$OTHER" 10.200.0.3 8080
check "denied by egress: client -> other:8080" t_not t_answers "$CLIENT" 10.200.0.4 8080
check "fail-closed: unknown 10.200.0.9 -> server:8080" t_not t_answers "$ROGUE" 10.200.0.3 8080
check "not isolated: server -> other:9090 open" t_answers "$SERVER" 10.200.0.4 9090
check "IPv6 allowed: client -> server:8080" t_answers "$CLIENT" fd00:200::3 8080
check "IPv6 denied by ingress port: client -> server:9090" t_not t_answers "$CLIENT" fd00:200::3 9090
check "IPv6 denied by ingress peer: other -> server:8080" t_not t_answers "$OTHER" fd00:200::3 8080
check "IPv6 fail-closed: unknown fd00:200::9 -> server:8080" t_not t_answers "$ROGUE" fd00:200::3 8080
check "IPv6 not isolated: server -> other:9090 open" t_answers "$SERVER" fd00:200::4 9090
in_ns "$NODE" nft list table inet podwall >"$TMP/list"
for c in denied_ingress denied_egress denied_unknown; do
	check "the drops were counted in $c" counted $c -ge 1
done
check "no allowed counters without --flow-log all" \
	sh -c "! grep -q allowed_ $TMP/list"
# A denied connection is silently dropped: no RST, no ICMP back.
cls=$(sed -n 's/^\tchain \(in_c[0-9a-f]*\) {$/\1/p' "$TMP/list" | head -n 1)
check "a class chain is listed" [ -n "$cls" ]
in_ns "$NODE" nft list chain inet podwall "${cls:-none}" >"$TMP/chain"
check "denial is a drop, not a reject" sh -c "! grep -q reject $TMP/chain"

# The flow log: the same input with --flow-log changes only rules, keeps
# the counters (an update never resets them), and a denied packet is
# counted and reaches the log statement of its check.
ing=$(t_nft_counter "$NODE" denied_ingress)
in_ns "$NODE" "$PODWALL" apply --node "$NODE" "$TMP/traffic.yaml" >"$TMP/out" 2>&1
check "flow log: the same input again changes nothing (counters ignored)" \
	grep -qE '^changed: [0-9]+ unchanged sets$' "$TMP/out"
in_ns "$NODE" "$PODWALL" apply --node "$NODE" --flow-log denied \
	--nflog-group 7 "$TMP/traffic.yaml" >"$TMP/out" 2>&1
check "flow log on: apply exits 0" [ $? -eq 0 ]
check "flow log on: chains rewritten, not a full load" \
	grep -qE '^changed: [0-9]+ chains replaced, [0-9]+ unchanged sets$' "$TMP/out"
check "flow log on: denied_ingress kept its count ($ing)" counted denied_ingress -ge "${ing:-1}"
check "other -> server:8080 still denied" t_not t_answers "$OTHER" 10.200.0.3 8080
check "flow log on: the denied packets were counted in denied_ingress" \
	counted denied_ingress -gt "${ing:-0}"
in_ns "$NODE" nft list table inet podwall >"$TMP/list"
check "flow log on: each class drop logs to group 7" \
	grep -qE 'counter name "denied_ingress" log prefix "podwall:denied:ingress" group 7 drop' "$TMP/list"
check "flow log denied: no log on admitting rules" \
	sh -c "! grep -q 'podwall:allowed' $TMP/list"
check "flow log: allowed connections still pass" t_answers "$CLIENT" 10.200.0.3 8080
in_ns "$NODE" "$PODWALL" apply --node "$NODE" --flow-log all --nflog-group 7 \
	"$TMP/traffic.yaml" >"$TMP/out" 2>&1
in_ns "$NODE" nft list table inet podwall >"$TMP/list"
check "flow log all: admitting rules count and log" \
	grep -qE 'counter name "allowed_ingress" log prefix "podwall:allowed:ingress" group 7 return' "$TMP/list"
check "flow log all: allowed connections still pass" t_answers "$CLIENT" 10.200.0.3 8080
check "flow log all: the admitted connection was counted" counted allowed_ingress -ge 1
in_ns "$NODE" "$PODWALL" apply --node "$NODE" "$TMP/traffic.yaml" >"$TMP/out" 2>&1
in_ns "$NODE" nft list table inet podwall >"$TMP/ab"
check "flow log off again: no log statement left" sh -c "! grep -q ' log ' $TMP/ab"

# Pods bound to no interface take the other source path (egress_v4 by
# address alone): the compiled text binds nothing.
"$PODWALL" compile --node "$NODE" "$TMP/traffic.yaml" >"$TMP/unbound.nft" 2>/dev/null
in_ns "$NODE" nft delete table inet podwall
in_ns "$NODE" nft -f "$TMP/unbound.nft"
check "unbound: allowed: client -> server:8080" t_answers "$CLIENT" 10.200.0.3 8080
check "unbound: denied by egress: client -> other:8080" t_not t_answers "$CLIENT" 10.200.0.4 8080
check "unbound: denied by ingress peer: other -> server:8080" t_not t_answers "$OTHER" 10.200.0.3 8080
check "unbound: not isolated: server -> other:9090 open" t_answers "$SERVER" 10.200.0.4 9090
check "unbound: IPv6 denied by egress: client -> other:8080" t_not t_answers "$CLIENT" fd00:200::4 8080

# --pod-cidr stands in for a Node with spec.podCIDRs.
in_ns "$NODE" "$PODWALL" apply --node "$NODE" "$TMP/traffic-nonode.yaml" >/dev/null 2>&1
check "no Node, no --pod-cidr: unknown 10.200.0.9 -> other:9090 open" \
	t_answers "$ROGUE" 10.200.0.4 9090
in_ns "$NODE" "$PODWALL" apply --node "$NODE" --pod-cidr 10.200.0.0/24 \
	--pod-cidr fd00:200::/64 "$TMP/traffic-nonode.yaml" >"$TMP/out" 2>&1
check "--pod-cidr: apply exits 0" [ $? -eq 0 ]
check "--pod-cidr: fail-closed: unknown 10.200.0.9 -> other:9090" \
	t_not t_answers "$ROGUE" 10.200.0.4 9090
check "--pod-cidr: IPv6 fail-closed: unknown fd00:200::9 -> other:9090" \
	t_not t_answers "$ROGUE" fd00:200::4 9090
"$PODWALL" compile --pod-cidr 10.200.0.0/33 "$TMP/traffic-nonode.yaml" >/dev/null 2>&1
check "--pod-cidr: no CIDR: exit status 2" [ $? -eq 2 ]
"$PODWALL" compile --pod-cidr 10.200.0.0/24 "$TMP/traffic-nonode.yaml" >"$TMP/out" 2>&1
check "--pod-cidr: compile shows the range" grep -q '10.200.0.0/24' "$TMP/out"

in_ns "$NODE" "$PODWALL" apply --flush >/dev/null 2>&1
check "after flush: client -> server:9090 open again" t_answers "$CLIENT" 10.200.0.3 9090

finish
