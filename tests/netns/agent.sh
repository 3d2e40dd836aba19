#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# podwalld against a real kernel (root): the agent runs in a node network
# namespace on a temporary manifests folder, with two pod namespaces
# routed through the node (t_node_with_pods, tests/netns/lib.sh). Files
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
PW_TEST=agent
. tests/netns/lib.sh

NODE=$RUN-node
M=$TMP/manifests
T_LOGS=$T_AGENT_LOG

needs ip nft curl python3
t_built "$PODWALL" "$PODWALLD"

# ---- the node and its pods (tests/netns/lib.sh) ------------------------

# connects: a TCP connection from the client to the server's port 8080
# gets an answer. The server listens, so a failure can only be the policy.
connects() {
	t_answers "$RUN-client" 10.210.0.3 8080
}

blocked() {
	! connects
}

if t_node_with_pods "$NODE" "$RUN-client:10.210.0.2" \
	"$RUN-server:10.210.0.3"; then
	ok
else
	fail "building the node and its pods"
	finish
fi
t_serve "$RUN-server" 8080

# ---- manifests ------------------------------------------------------------

mkdir -p "$M/pods"
{
	t_node_yaml "$NODE" 10.210.0.0/24
	t_pod_yaml t/client client "$NODE" 10.210.0.2
	t_pod_yaml t/server server "$NODE" 10.210.0.3 8080
} >"$M/pods/base.yaml"

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

start_agent() {
	t_agent_start "$NODE" --manifests "$M" --node "$NODE" --verify-interval 1
}

metric() { # NAME{LABELS}: its value, or nothing
	t_metric "$NODE" "$1"
}

not_ready() {
	[ "$(t_http_status "$NODE" /readyz)" = 503 ]
}

healthy() { # /healthz answers ok
	t_scrape "$NODE" /healthz | grep -qx ok
}

rejected() { # N: that many objects rejected
	[ "$(metric podwall_objects_rejected)" = "$1" ]
}

check "before the agent: client -> server:8080 open" t_until 20 connects
start_agent
check "the agent becomes ready" t_agent_wait_ready "$NODE"
check "it applied the manifests" in_ns "$NODE" nft list table inet podwall >/dev/null
check "allowed with no policy: client -> server:8080" connects

n=$(t_applied "$NODE")
printf '%s\n' "$DENY" >"$M/deny.yaml"
check "default-deny written: applied" t_agent_wait_applied "$NODE" "$n"
check "default-deny written: client -> server:8080 denied" blocked

n=$(t_applied "$NODE")
rm "$M/deny.yaml"
check "default-deny removed: applied" t_agent_wait_applied "$NODE" "$n"
check "default-deny removed: client -> server:8080 open" connects
# The compiler started from nothing once, then followed the changes: the
# policy came and went (2 objects) and the classes it made were built.
check "compiled from nothing once" [ "$(metric podwall_compile_full_total)" = 1 ]
check "then incrementally: the policy added and removed" \
	[ "$(metric podwall_compile_objects_changed_total)" -ge 2 ]
check "the policy's class built" \
	[ "$(metric podwall_compile_classes_rebuilt_total)" -ge 1 ]
# The verdict cache: three transactions changed the table (the first
# load, the policy in, the policy out), each with the next generation;
# the metric says what the kernel's forward chain holds.
kernel_gen=$(in_ns "$NODE" nft list chain inet podwall forward |
	sed -n 's/.*ct mark & 0x0fff0000 == \(0x[0-9a-f]*\) accept$/\1/p')
check "verdict cache: generation 3 or later after three changes" \
	[ "$((${kernel_gen:-0}))" -ge $((0x00030000)) ]
check "verdict cache: the metric is the kernel's generation" \
	[ "$(metric podwall_verdict_cache_generation)" = "$((${kernel_gen:-0}))" ]

# Renamed in, inside a new directory: written elsewhere, moved whole.
n=$(t_applied "$NODE")
mkdir "$TMP/newdir"
printf '%s\n' "$DENY" >"$TMP/newdir/deny.yaml"
mv "$TMP/newdir" "$M/policies"
check "directory moved in: applied" t_agent_wait_applied "$NODE" "$n"
check "directory moved in: denied" blocked
t_table "$NODE" >"$TMP/good.nft"

# ---- bad input: the last good version stays ------------------------------

printf '%s\n' "$BROKEN" >"$M/policies/deny.yaml"
check "broken file: /readyz turns false" t_until 100 not_ready
says_why() {
	t_scrape "$NODE" /readyz | grep -q 'input rejected'
}
check "broken file: /readyz says why" says_why
check "broken file: logged as file:line:col" \
	grep -q "event=rejected .*diag=\"$M/policies/deny.yaml:6:[0-9]*: " "$T_AGENT_LOG"
check "broken file: counted" rejected 1
check "broken file: still denied (last good version in force)" blocked
t_table "$NODE" >"$TMP/now.nft"
check "broken file: table unchanged" cmp -s "$TMP/good.nft" "$TMP/now.nft"

n=$(t_applied "$NODE")
printf 'kind: NetworkPolicy\nmetadata: {name: x\n' >"$M/never.yaml"
check "never-valid file: rejected" t_until 100 rejected 2
check "never-valid file: nothing reconciled" [ "$(t_applied "$NODE")" = "$n" ]
rm "$M/never.yaml"

printf '%s\n' "$DENY" >"$M/policies/deny.yaml"
check "fixed: /readyz true again" t_agent_wait_ready "$NODE"
check "fixed: still denied" blocked

# ---- metrics on loopback only ---------------------------------------------

t_scrape "$NODE" /metrics >"$TMP/metrics"
for m in podwall_reconciles_total podwall_reconcile_duration_seconds_bucket \
	podwall_event_to_enforcement_seconds_count podwall_ruleset_elements \
	podwall_last_apply_success_timestamp_seconds podwall_apply_errors_total \
	'podwall_cluster_objects{kind="NetworkPolicy"}'; do
	check "metrics: $m" grep -qF "$m" "$TMP/metrics"
done
check "metrics: one NetworkPolicy in force" \
	grep -qx 'podwall_cluster_objects{kind="NetworkPolicy"} 1' "$TMP/metrics"
check "healthz answers ok" healthy
check "unknown path: 404" [ "$(t_http_status "$NODE" /nope)" = 404 ]
in_ns "$NODE" ss -Hltn >"$TMP/listen"
check "listener bound to 127.0.0.1:9469" grep -q '127.0.0.1:9469' "$TMP/listen"
check "no listener on other addresses" \
	t_not grep -qE '(\*|0\.0\.0\.0|\[::\]):9469' "$TMP/listen"
check "not reachable on the node's other address" \
	t_not in_ns "$NODE" curl -s --max-time 1 http://169.254.1.1:9469/healthz
# Clients that connect and never finish a request cannot lock others out.
t_spawn ip netns exec "$NODE" python3 -c '
import socket, time
s = [socket.create_connection(("127.0.0.1", 9469)) for _ in range(40)]
for c in s:
    c.sendall(b"GET /metrics HTTP/1.1\r\n")
time.sleep(3)
' 2>/dev/null
idle=$!
sleep 0.5
check "40 idle clients: /healthz still answers" healthy
kill "$idle" 2>/dev/null
wait "$idle" 2>/dev/null
t_pids_drop "$idle"

# ---- SIGTERM leaves the table; a restart adopts it --------------------------

t_table "$NODE" >"$TMP/before-term.nft"
t_agent_stop TERM
status=$?
check "SIGTERM: exit status 0" [ "$status" -eq 0 ]
t_table "$NODE" >"$TMP/after-term.nft"
check "SIGTERM: table left in force" cmp -s "$TMP/before-term.nft" "$TMP/after-term.nft"
check "SIGTERM: still denied without the agent" blocked

start_agent
check "restart: ready" t_agent_wait_ready "$NODE"
t_table "$NODE" >"$TMP/after-restart.nft"
check "restart: the table adopted as it was" cmp -s "$TMP/before-term.nft" "$TMP/after-restart.nft"
check "restart: adopted in place, not reloaded" \
	[ "$(metric podwall_apply_full_total)/$(metric podwall_apply_incremental_total)" = 0/1 ]
check "restart: still denied" blocked

# Someone removes the table behind the agent's back: the periodic check
# (every second here) finds out and puts it back.
in_ns "$NODE" "$PODWALL" apply --flush >/dev/null 2>&1
table_back() {
	t_table "$NODE" >"$TMP/repaired.nft" &&
		cmp -s "$TMP/before-term.nft" "$TMP/repaired.nft"
}
check "drift: the flushed table is put back" t_until 50 table_back
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
	t_fresh_table --node "$NODE" "$TMP/gen$g" >"$TMP/gen$g.nft"
done
for g in $GENS; do
	cp "$TMP/gen$g/burst.yaml" "$M/.burst.tmp"
	mv "$M/.burst.tmp" "$M/burst.yaml"
	[ "$g" = 5 ] && kill -9 "$T_AGENT"
	sleep 0.02
done
t_agent_stop KILL
t_table "$NODE" >"$TMP/killed.nft"
match=
for g in 0 $GENS; do
	cmp -s "$TMP/killed.nft" "$TMP/gen$g.nft" && match=$g
done
check "kill -9 in a burst: the table is one whole generation" [ -n "$match" ]

start_agent
check "after kill -9: restarted agent ready" t_agent_wait_ready "$NODE"
t_table "$NODE" >"$TMP/final.nft"
check "after kill -9: table = fresh apply of the final manifests" \
	cmp -s "$TMP/final.nft" "$TMP/gen8.nft"
t_agent_stop TERM
check "clean exit under the sanitizers" [ $? -eq 0 ]
check "no sanitizer report in the log" t_no_sanitizer_report "$T_AGENT_LOG"

finish
