#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Cutting established connections that a policy change no longer allows
# (root). Each case builds a node network namespace with three routed pod
# namespaces (client, server, other; t_node_with_pods of lib.sh), lets
# the client hold a long TCP connection and a UDP flow (its first datagram
# unanswered, the next ones answered) to the server, and the other pod a
# TCP connection, all while no policy isolates anybody. Then a policy that
# admits only the other pod to the server's TCP port is applied:
#
#   cli-cut     podwall apply --cut-established: the client's next TCP
#               line and UDP datagram never reach the server, the other
#               pod's line does; exactly the client's two entries are cut;
#   cli-strict  the same with nf_conntrack_tcp_loose=0 in the node;
#   cli-keep    podwall apply alone: the denied connections keep flowing
#               (what the sweep is for; shows the test can fail);
#   agent-cut   podwalld on a manifests folder, the policy written into it
#               (--ct-sweep-interval 0: only the sweep after the change
#               can cut): the same as cli-cut, and the metrics count it;
#   agent-keep  podwalld --no-ct-sweep: the denied connections keep flowing;
#   periodic    podwalld --ct-sweep-interval 1 sweeps with nothing changed.
#
#   sh tests/netns/conntrack.sh        (from anywhere; BUILD=build-san)
#
# Every namespace, process and file it makes is named after this run and
# removed on exit, also on failure or Ctrl-C. Prints "conntrack: N passed,
# N failed". Background processes are `ip netns exec` itself (which execs
# them), never a shell function put in the background, so that $! is the
# process to kill (t_spawn, t_agent_start of tests/netns/lib.sh).

set -u
cd "$(dirname "$0")/../.." || exit 2
PW_TEST=conntrack
. tests/netns/lib.sh

needs ip nft curl python3
t_built "$PODWALL" "$PODWALLD"

# ---- the network ------------------------------------------------------------

CLIENT=10.203.0.2
SERVER=10.203.0.3
OTHER=10.203.0.4

# The server: every TCP line and every UDP datagram it receives goes to
# its log as "tcp|udp SOURCE TEXT". The first datagram of each UDP peer is
# not answered (conntrack keeps the flow unreplied), later ones are.
serve() { # CASE
	t_spawn ip netns exec "$RUN-$1-server" /usr/bin/python3 -c '
import socket, sys, threading
log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
def note(kind, peer, text):
    with lock:
        log.write("%s %s %s\n" % (kind, peer, text))
def tcp_conn(c, peer):
    for line in c.makefile("r"):
        note("tcp", peer, line.strip())
def tcp(s):
    while True:
        c, a = s.accept()
        threading.Thread(target=tcp_conn, args=(c, a[0]), daemon=True).start()
def udp(s):
    seen = set()
    while True:
        data, a = s.recvfrom(2048)
        note("udp", a[0], data.decode().strip())
        if a in seen:
            s.sendto(b"ok", a)
        seen.add(a)
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 8080))
t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 5353))
note("ready", "-", "listening")
threading.Thread(target=udp, args=(u,), daemon=True).start()
tcp(t)
' "$TMP/$1.server.log" 2>>"$TMP/$1.errors"
}

# A client that holds one TCP connection and one UDP socket (a fixed
# source port, so one conntrack entry) to the server, and sends whatever
# lines come through its FIFO: "tcp TEXT" or "udp TEXT".
client() { # CASE NAME
	mkfifo "$TMP/$1.$2.fifo" || return 1
	t_spawn ip netns exec "$RUN-$1-$2" /usr/bin/python3 -c '
import socket, sys
fifo, server = sys.argv[1], sys.argv[2]
t = socket.create_connection((server, 8080), timeout=5)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 40053))
while True:
    with open(fifo) as f:
        for line in f:
            kind, text = line.split(None, 1)
            if kind == "tcp":
                t.sendall(text.encode())
            else:
                u.sendto(text.encode(), (server, 5353))
' "$TMP/$1.$2.fifo" "$SERVER" 2>>"$TMP/$1.errors"
}

# say CASE NAME LINE: to a client's FIFO (which blocks until the client
# reads it: a client that died makes it fail after 10 s instead).
say() {
	timeout 10 sh -c 'echo "$1" >"$2"' say "$3" "$TMP/$1.$2.fifo"
}

# arrived CASE KIND TEXT: the server logged it.
arrived() {
	grep -q " $3\$" "$TMP/$1.server.log" 2>/dev/null
}

# waits_for CASE KIND TEXT: up to 10 s.
waits_for() {
	t_until 100 arrived "$@"
}

# The manifests: the node (its pod range fail-closed) and the three pods;
# deny.yaml admits only the other pod to the server's TCP port.
write_manifests() { # CASE DIR
	mkdir -p "$2"
	{
		t_node_yaml "$RUN-$1-node" 10.203.0.0/24
		t_pod_yaml t/client client "$RUN-$1-node" "$CLIENT"
		t_pod_yaml t/server server "$RUN-$1-node" "$SERVER" 8080:http
		t_pod_yaml t/other other "$RUN-$1-node" "$OTHER"
	} >"$2/pods.yaml"
	cat >"$TMP/$1.deny.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: t}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: other}}}]
    ports: [{port: http}]
EOF
}

# setup CASE: the namespaces, the servers, the manifests in $TMP/CASE.m.
setup() {
	t_node_with_pods "$RUN-$1-node" "$RUN-$1-client:$CLIENT" \
		"$RUN-$1-server:$SERVER" "$RUN-$1-other:$OTHER" || return 1
	write_manifests "$1" "$TMP/$1.m"
	serve "$1"
	waits_for "$1" ready listening
}

# established CASE: the flows, while everything is allowed: a TCP line
# from each client, one unanswered then one answered UDP datagram.
established() {
	client "$1" client && client "$1" other || return 1
	# The clients connect on start; their first lines prove it.
	say "$1" client "tcp c1" && say "$1" other "tcp o1" &&
		waits_for "$1" tcp c1 && waits_for "$1" tcp o1 || return 1
	say "$1" client "udp u1"
	waits_for "$1" udp u1 || return 1
	say "$1" client "udp u2"
	waits_for "$1" udp u2
}

# after CASE: lines sent after the change; the other pod's proves the path
# works, and by the time it arrived the client's were sent before it.
after() {
	say "$1" client "tcp c2"
	say "$1" client "udp u3"
	say "$1" other "tcp o2"
	waits_for "$1" tcp o2
}

# A cut connection's next packet is dropped and so are its TCP
# retransmissions; two seconds cover the first retransmissions.
stays_away() { # CASE TEXT
	sleep 2
	! arrived "$1" x "$2"
}

# teardown: the agent first, with SIGTERM and waited for (its exit line
# and the sanitizers' report at exit are checked), then the rest.
# cut_checks CASE: after after(), the client's cut flows passed nothing.
cut_checks() {
	check "$1: the cut TCP connection passes nothing" stays_away "$1" c2
	check "$1: the cut UDP flow passes nothing" t_not arrived "$1" udp u3
}

# keep_checks CASE: without a sweep, the client's flows went on.
keep_checks() {
	check "$1: without the sweep the denied TCP connection flows" \
		waits_for "$1" tcp c2
	check "$1: without the sweep the denied UDP flow flows" \
		waits_for "$1" udp u3
}

teardown() {
	t_agent_stop
	t_kill_all
	t_netns_del
}

# ---- podwall apply ------------------------------------------------------------

# cli CASE MODE LOOSE: MODE cut or keep.
cli() {
	if ! setup "$1"; then
		fail "$1: setup"
		teardown "$1"
		return
	fi
	in_ns "$RUN-$1-node" sysctl -qw net.netfilter.nf_conntrack_tcp_loose="$3"
	check "$1: empty policy applied" \
		in_ns "$RUN-$1-node" "$PODWALL" apply "$TMP/$1.m" >/dev/null
	check "$1: flows established while allowed" established "$1"
	if [ "$2" = cut ]; then
		in_ns "$RUN-$1-node" "$PODWALL" apply --cut-established \
			"$TMP/$1.m" "$TMP/$1.deny.yaml" >"$TMP/$1.out" 2>&1
		check "$1: apply --cut-established exits 0" [ $? -eq 0 ]
		check "$1: exactly the client's TCP and UDP entries cut" \
			grep -q "^cut: 2 connections no longer allowed" "$TMP/$1.out"
	else
		check "$1: apply" in_ns "$RUN-$1-node" "$PODWALL" apply \
			"$TMP/$1.m" "$TMP/$1.deny.yaml" >/dev/null
	fi
	check "$1: the allowed connection keeps working" after "$1"
	if [ "$2" = cut ]; then cut_checks "$1"; else keep_checks "$1"; fi
	check "$1: a new denied connection is refused" \
		t_not tcp_connect "$RUN-$1-client" - "$SERVER" 8080 1
	teardown "$1"
}

# ---- podwalld ------------------------------------------------------------------

metric() { # CASE NAME: its value on the agent's /metrics page
	t_metric "$RUN-$1-node" "$2"
}

# at_least CASE NAME N: the metric is there and >= N.
at_least() {
	t_metric_ge "$RUN-$1-node" "$2" "$3"
}

start_agent() { # CASE OPTIONS...
	_case=$1
	shift
	T_AGENT_LOG=$TMP/$_case.agent.log
	t_agent_start "$RUN-$_case-node" --manifests "$TMP/$_case.m" \
		--node "$RUN-$_case-node" "$@"
	t_agent_wait_ready "$RUN-$_case-node" 150
}

# deny_in CASE: the policy written into the watched folder (renamed in,
# as AGENT.md advises); returns when the agent has applied it.
deny_in() {
	_ok=$(metric "$1" 'podwall_reconciles_total{result="ok"}')
	cp "$TMP/$1.deny.yaml" "$TMP/$1.m/.deny.yaml" &&
		mv "$TMP/$1.m/.deny.yaml" "$TMP/$1.m/deny.yaml" &&
		t_agent_wait_applied "$RUN-$1-node" "$_ok"
}

# clean_exit CASE: after SIGTERM, nothing from the sanitizers (leaks are
# reported at exit) and the agent's exit line.
clean_exit() {
	t_no_sanitizer_report "$TMP/$1.agent.log" &&
		grep -q 'event=exit' "$TMP/$1.agent.log"
}

# agent CASE MODE: cut (sweep after changes only) or keep (--no-ct-sweep).
agent() {
	if ! setup "$1"; then
		fail "$1: setup"
		teardown "$1"
		return
	fi
	_opt=--no-ct-sweep
	[ "$2" = cut ] && _opt="--ct-sweep-interval=0"
	check "$1: agent ready" start_agent "$1" "$_opt"
	check "$1: flows established while allowed" established "$1"
	check "$1: the policy applied" deny_in "$1"
	if [ "$2" = cut ]; then
		check "$1: the sweep after the change cut 2 entries" \
			t_until 100 at_least "$1" podwall_conntrack_entries_cut_total 2
	fi
	check "$1: the allowed connection keeps working" after "$1"
	if [ "$2" = cut ]; then
		cut_checks "$1"
		check "$1: exactly 2 entries cut, nothing more" \
			[ "$(metric "$1" podwall_conntrack_entries_cut_total)" = 2 ]
		check "$1: no sweep errors" \
			[ "$(metric "$1" podwall_conntrack_sweep_errors_total)" = 0 ]
		check "$1: one log line for the sweep that cut" \
			grep -q "event=ct-sweep cut=2 " "$TMP/$1.agent.log"
		# For the record: how long the transaction and the sweep took.
		grep -E "event=(applied|ct-sweep)" "$TMP/$1.agent.log" |
			tail -n 2 | sed "s/^/$1: /"
	else
		keep_checks "$1"
		check "$1: --no-ct-sweep: no sweep ran" \
			[ "$(metric "$1" podwall_conntrack_sweeps_total)" = 0 ]
	fi
	teardown "$1"
	check "$1: the agent exited cleanly" clean_exit "$1"
}

# periodic: a connection the kernel admitted after the agent's sweep (here
# made on purpose: the table is swapped behind the agent's back for one
# that allows it, then put back) is cut by the periodic sweep alone.
periodic() {
	_c=periodic
	_pn=$RUN-$_c-node
	if ! setup $_c; then
		fail "$_c: setup"
		teardown $_c
		return
	fi
	check "$_c: agent ready" start_agent $_c --ct-sweep-interval 1
	check "$_c: the policy applied" deny_in $_c
	check "$_c: a table that allows, behind the agent's back" \
		in_ns "$_pn" "$PODWALL" apply --node "$_pn" "$TMP/$_c.m/pods.yaml" \
		>/dev/null
	check "$_c: flows established while the kernel allows them" \
		established $_c
	_cut=$(metric $_c podwall_conntrack_entries_cut_total)
	check "$_c: the agent's table again (nothing cut by apply)" \
		in_ns "$_pn" "$PODWALL" apply --node "$_pn" "$TMP/$_c.m" >/dev/null
	check "$_c: a periodic sweep cut them" t_until 50 at_least $_c \
		podwall_conntrack_entries_cut_total $((${_cut:-0} + 2))
	check "$_c: the allowed connection keeps working" after $_c
	cut_checks $_c
	check "$_c: sweeps keep running" at_least $_c \
		podwall_conntrack_sweeps_total 3
	teardown $_c
	check "$_c: the agent exited cleanly" clean_exit $_c
}

cli cli-cut cut 1
cli cli-strict cut 0
cli cli-keep keep 1
agent agent-cut cut
agent agent-keep keep
periodic
T_LOGS=$(echo "$TMP"/*.errors "$TMP"/*.out "$TMP"/*.agent.log)
finish
