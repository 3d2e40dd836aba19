#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# podwalld against a real kernel (root): the agent runs in a node network
# namespace on a temporary manifests folder, with two pod namespaces
# routed through the node (as tests/netns/apply.sh builds them). Files
# written, removed and broken flip (or do not flip) a real TCP connection;
# /readyz and /metrics answer on loopback only; SIGTERM leaves the table;
# a restart adopts the table; kill -9 in a burst of updates leaves a table
# equal to a fresh `podwall apply` of one generation of the manifests, and
# a restarted agent converges on the last one.
#
#   sh tests/netns/agent.sh            (from anywhere; BUILD=build-san)
#
# Every namespace, process and file it makes is named after this run and
# removed on exit, also on failure or Ctrl-C. Prints "agent: N passed, N
# failed".

set -u
cd "$(dirname "$0")/../.." || exit 2

BUILD=${BUILD:-build-san}
case $BUILD in
/*) BIN=$BUILD ;;
*) BIN=$(pwd)/$BUILD ;;
esac
PODWALL=$BIN/podwall
PODWALLD=$BIN/podwalld
RUN=pwag$$
NODE=$RUN-node
TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-agent.XXXXXX") || exit 2
M=$TMP/manifests
URL=http://127.0.0.1:9469
PIDS=
AGENT=

passed=0
failed=0

cleanup() {
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
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
	echo "FAIL agent: $*"
	failed=$((failed + 1))
}

check() {
	what=$1
	shift
	if "$@"; then ok; else fail "$what"; fi
}

in_ns() {
	_in_ns=$1
	shift
	ip netns exec "$_in_ns" "$@"
}

finish() {
	if [ "$failed" -ne 0 ] && [ -f "$TMP/agent.log" ]; then
		echo "--- agent log (last 30 lines)"
		tail -n 30 "$TMP/agent.log"
	fi
	echo "agent: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

if [ "$(id -u)" != 0 ]; then
	echo "agent: needs root (network namespaces, nftables)"
	fail "not root"
	finish
fi
for b in "$PODWALL" "$PODWALLD"; do
	[ -x "$b" ] || {
		fail "not built: $b"
		finish
	}
done

# ---- the node and its pods (see tests/netns/apply.sh) -------------------

sysctl_ns() {
	in_ns "$1" sysctl -qw "$2" >/dev/null
}

add_pod() { # NAME IPV4
	pod_ns=$RUN-$1
	veth=pa$$$(echo "$1" | cut -c1)
	ip netns add "$pod_ns" &&
		ip link add "$veth" type veth peer name eth0 netns "$pod_ns" &&
		ip link set "$veth" netns "$NODE" &&
		in_ns "$pod_ns" ip link set lo up &&
		in_ns "$pod_ns" ip link set eth0 up &&
		in_ns "$pod_ns" ip addr add "$2/32" dev eth0 &&
		in_ns "$pod_ns" ip route add 169.254.1.1 dev eth0 &&
		in_ns "$pod_ns" ip route add default via 169.254.1.1 dev eth0 &&
		in_ns "$NODE" ip link set "$veth" up &&
		in_ns "$NODE" ip addr add 169.254.1.1/32 dev "$veth" &&
		in_ns "$NODE" ip route add "$2/32" dev "$veth"
}

serve() { # NAME PORT
	ip netns exec "$RUN-$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.sendall(b"ok\n")
    c.close()
' "$2" &
	PIDS="$PIDS $!"
}

# connects: a TCP connection from the client to the server's port 8080
# gets an answer. The server listens, so a failure can only be the policy.
connects() {
	in_ns "$RUN-client" timeout 3 /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("10.210.0.3", 8080), timeout=1)
sys.exit(0 if s.recv(3) == b"ok\n" else 1)
' 2>/dev/null
}

blocked() {
	! connects
}

ip netns add "$NODE" || {
	fail "ip netns add"
	finish
}
sysctl_ns "$NODE" net.ipv4.ip_forward=1
in_ns "$NODE" ip link set lo up
if add_pod client 10.210.0.2 && add_pod server 10.210.0.3; then
	ok
else
	fail "building the pods"
	finish
fi
serve server 8080

# ---- manifests ------------------------------------------------------------

mkdir -p "$M/pods"
cat >"$M/pods/base.yaml" <<EOF
apiVersion: v1
kind: Node
metadata: {name: $NODE}
spec: {podCIDRs: [10.210.0.0/24]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: t, labels: {app: client}}
spec: {nodeName: $NODE, containers: [{name: c}]}
status: {phase: Running, podIP: 10.210.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: t, labels: {app: server}}
spec: {nodeName: $NODE, containers: [{name: s, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.210.0.3}
EOF

DENY='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: t}
spec:
  podSelector: {}
  policyTypes: [Ingress]'

# The same policy with a value the API server rejects (line 6, column 15).
BROKEN='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: t}
spec:
  podSelector: {}
  policyTypes: [Sideways]'

# ---- the agent ------------------------------------------------------------

start_agent() { # not through in_ns: $! must be the agent itself
	ip netns exec "$NODE" "$PODWALLD" --manifests "$M" --node "$NODE" \
		--verify-interval 1 >>"$TMP/agent.log" 2>&1 &
	AGENT=$!
}

scrape() { # PATH
	in_ns "$NODE" curl -s --max-time 2 "$URL$1"
}

metric() { # NAME{LABELS}: its value, or nothing
	scrape /metrics | awk -v m="$1" '$1 == m { print $2 }'
}

applied_count() {
	metric 'podwall_reconciles_total{result="ok"}'
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

ready() {
	[ "$(in_ns "$NODE" curl -s -o /dev/null -w '%{http_code}' \
		--max-time 2 "$URL/readyz")" = 200 ]
}

not_ready() {
	[ "$(in_ns "$NODE" curl -s -o /dev/null -w '%{http_code}' \
		--max-time 2 "$URL/readyz")" = 503 ]
}

# applied_since N: a reconcile after the N-th succeeded and the agent is
# ready (the kernel holds what the store holds).
applied_since() {
	_n=$(applied_count)
	[ -n "$_n" ] && [ "$_n" -gt "$1" ] && ready
}

table() { # NETNS: the table without counters
	in_ns "$1" nft -s list table inet podwall 2>/dev/null
}

check "before the agent: client -> server:8080 open" until_true 20 connects
start_agent
check "the agent becomes ready" until_true 100 ready
check "it applied the manifests" in_ns "$NODE" nft list table inet podwall >/dev/null
check "allowed with no policy: client -> server:8080" connects

n=$(applied_count)
printf '%s\n' "$DENY" >"$M/deny.yaml"
check "default-deny written: applied" until_true 100 applied_since "$n"
check "default-deny written: client -> server:8080 denied" blocked

n=$(applied_count)
rm "$M/deny.yaml"
check "default-deny removed: applied" until_true 100 applied_since "$n"
check "default-deny removed: client -> server:8080 open" connects

# Renamed in, inside a new directory: written elsewhere, moved whole.
n=$(applied_count)
mkdir "$TMP/newdir"
printf '%s\n' "$DENY" >"$TMP/newdir/deny.yaml"
mv "$TMP/newdir" "$M/policies"
check "directory moved in: applied" until_true 100 applied_since "$n"
check "directory moved in: denied" blocked
table "$NODE" >"$TMP/good.nft"

# ---- bad input: the last good version stays ------------------------------

printf '%s\n' "$BROKEN" >"$M/policies/deny.yaml"
check "broken file: /readyz turns false" until_true 100 not_ready
check "broken file: /readyz says why" \
	sh -c "ip netns exec $NODE curl -s $URL/readyz | grep -q 'input rejected'"
check "broken file: logged as file:line:col" \
	grep -q "event=rejected .*diag=\"$M/policies/deny.yaml:6:[0-9]*: " "$TMP/agent.log"
check "broken file: counted" [ "$(metric podwall_objects_rejected)" = 1 ]
check "broken file: still denied (last good version in force)" blocked
table "$NODE" >"$TMP/now.nft"
check "broken file: table unchanged" cmp -s "$TMP/good.nft" "$TMP/now.nft"

n=$(applied_count)
printf 'kind: NetworkPolicy\nmetadata: {name: x\n' >"$M/never.yaml"
check "never-valid file: rejected" until_true 100 sh -c \
	"[ \"\$(ip netns exec $NODE curl -s $URL/metrics |
		awk '\$1 == \"podwall_objects_rejected\" {print \$2}')\" = 2 ]"
check "never-valid file: nothing reconciled" [ "$(applied_count)" = "$n" ]
rm "$M/never.yaml"

printf '%s\n' "$DENY" >"$M/policies/deny.yaml"
check "fixed: /readyz true again" until_true 100 ready
check "fixed: still denied" blocked

# ---- metrics on loopback only ---------------------------------------------

scrape /metrics >"$TMP/metrics"
for m in podwall_reconciles_total podwall_reconcile_duration_seconds_bucket \
	podwall_event_to_enforcement_seconds_count podwall_ruleset_elements \
	podwall_last_apply_success_timestamp_seconds podwall_apply_errors_total \
	'podwall_cluster_objects{kind="NetworkPolicy"}'; do
	check "metrics: $m" grep -qF "$m" "$TMP/metrics"
done
check "metrics: one NetworkPolicy in force" \
	grep -qx 'podwall_cluster_objects{kind="NetworkPolicy"} 1' "$TMP/metrics"
check "healthz answers ok" sh -c "ip netns exec $NODE curl -sf $URL/healthz | grep -qx ok"
check "unknown path: 404" [ "$(in_ns "$NODE" curl -s -o /dev/null -w '%{http_code}' "$URL/nope")" = 404 ]
in_ns "$NODE" ss -Hltn >"$TMP/listen"
check "listener bound to 127.0.0.1:9469" grep -q '127.0.0.1:9469' "$TMP/listen"
check "no listener on other addresses" sh -c "! grep -E '(\\*|0\\.0\\.0\\.0|\\[::\\]):9469' $TMP/listen"
check "not reachable on the node's other address" \
	sh -c "! ip netns exec $NODE curl -s --max-time 1 http://169.254.1.1:9469/healthz"
# Clients that connect and never finish a request cannot lock others out.
in_ns "$NODE" python3 -c '
import socket, time
s = [socket.create_connection(("127.0.0.1", 9469)) for _ in range(40)]
for c in s:
    c.sendall(b"GET /metrics HTTP/1.1\r\n")
time.sleep(3)
' 2>/dev/null &
idle=$!
PIDS="$PIDS $idle"
sleep 0.5
check "40 idle clients: /healthz still answers" \
	sh -c "ip netns exec $NODE curl -sf --max-time 2 $URL/healthz | grep -qx ok"
kill "$idle" 2>/dev/null
wait "$idle" 2>/dev/null

# ---- SIGTERM leaves the table; a restart adopts it --------------------------

table "$NODE" >"$TMP/before-term.nft"
kill -TERM "$AGENT"
wait "$AGENT"
status=$?
AGENT=
check "SIGTERM: exit status 0" [ "$status" -eq 0 ]
table "$NODE" >"$TMP/after-term.nft"
check "SIGTERM: table left in force" cmp -s "$TMP/before-term.nft" "$TMP/after-term.nft"
check "SIGTERM: still denied without the agent" blocked

start_agent
check "restart: ready" until_true 100 ready
table "$NODE" >"$TMP/after-restart.nft"
check "restart: the table adopted as it was" cmp -s "$TMP/before-term.nft" "$TMP/after-restart.nft"
check "restart: adopted in place, not reloaded" \
	[ "$(metric podwall_apply_full_total)/$(metric podwall_apply_incremental_total)" = 0/1 ]
check "restart: still denied" blocked

# Someone removes the table behind the agent's back: the periodic check
# (every second here) finds out and puts it back.
in_ns "$NODE" "$PODWALL" apply --flush >/dev/null 2>&1
table_back() {
	table "$NODE" >"$TMP/repaired.nft" &&
		cmp -s "$TMP/before-term.nft" "$TMP/repaired.nft"
}
check "drift: the flushed table is put back" until_true 50 table_back
check "drift: counted" [ "$(metric podwall_drift_repairs_total)" = 1 ]
check "drift: denied again" blocked

# ---- kill -9 during a burst ---------------------------------------------------
#
# Generation g adds g*10 peer pods on another node and allows 8080 from
# one of them; every generation is written whole and renamed in, and
# also applied to a scratch namespace for reference.

gen() { # G: the generation's manifest on stdout
	i=0
	while [ "$i" -lt $(($1 * 10)) ]; do
		cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: peer-$i, namespace: t, labels: {app: peer, n: "p$i"}}
spec: {nodeName: elsewhere, containers: [{name: p}]}
status: {phase: Running, podIP: 10.211.$1.$((i + 1))}
EOF
		i=$((i + 1))
	done
	cat <<EOF
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-peer, namespace: t}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {n: "p$1"}}}], ports: [{port: $((8000 + $1))}]}]
EOF
}

GENS="1 2 3 4 5 6 7 8"
for g in 0 $GENS; do
	mkdir -p "$TMP/gen$g"
	cp -r "$M"/* "$TMP/gen$g/"
	[ "$g" -gt 0 ] && gen "$g" >"$TMP/gen$g/burst.yaml"
	# Each reference is applied to a namespace of its own: fresh.
	ip netns add "$RUN-fresh$g"
	in_ns "$RUN-fresh$g" "$PODWALL" apply --node "$NODE" "$TMP/gen$g" >/dev/null 2>&1
	table "$RUN-fresh$g" >"$TMP/gen$g.nft"
	ip netns del "$RUN-fresh$g"
done
for g in $GENS; do
	cp "$TMP/gen$g/burst.yaml" "$M/.burst.tmp"
	mv "$M/.burst.tmp" "$M/burst.yaml"
	[ "$g" = 5 ] && kill -9 "$AGENT"
	sleep 0.02
done
wait "$AGENT" 2>/dev/null
AGENT=
table "$NODE" >"$TMP/killed.nft"
match=
for g in 0 $GENS; do
	cmp -s "$TMP/killed.nft" "$TMP/gen$g.nft" && match=$g
done
check "kill -9 in a burst: the table is one whole generation" [ -n "$match" ]

start_agent
check "after kill -9: restarted agent ready" until_true 100 ready
table "$NODE" >"$TMP/final.nft"
check "after kill -9: table = fresh apply of the final manifests" \
	cmp -s "$TMP/final.nft" "$TMP/gen8.nft"
kill -TERM "$AGENT"
wait "$AGENT"
check "clean exit under the sanitizers" [ $? -eq 0 ]
AGENT=
check "no sanitizer report in the log" sh -c "! grep -q 'Sanitizer' $TMP/agent.log"

finish
