#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# What the tests of tests/netns/ share: where the programs are, a scratch
# folder, names unique to the run, the pass/fail counters with the closing
# line, and cleanup on every exit path (normal end, failure, Ctrl-C). A
# test sets its name and sources this file from the repository root:
#
#   set -u
#   cd "$(dirname "$0")/../.." || exit 2
#   PW_TEST=apply
#   . tests/netns/lib.sh
#
# and then has:
#   BUILD, BIN      the build folder (BUILD, default build-san), BIN absolute
#   PODWALL, PODWALLD
#   SHARED          the shared folder (default ../shared)
#   RUN             "pw" and this shell's pid: prefix of every netns the
#                   test makes ("$RUN-node"), removed on exit
#   TMP             a scratch folder, removed on exit
#   PIDS            background processes (t_spawn), killed on exit
#   ok [WHAT]       one test passed ("ok WHAT" printed when WHAT is given)
#   fail WHAT       one failed: "FAIL <test>: WHAT", then the first lines
#                   of the file T_ERR names, if it is set and not empty
#   check WHAT CMD...   ok or fail by CMD's exit status
#   finish          the closing line "<test>: N passed, N failed"; exits
#                   0 when nothing failed, else 1
#   needs CMD...    stops with one failure unless root and each CMD exist
#   in_ns NS CMD... CMD in netns NS
#   tcp_connect NS SRC DST PORT SECONDS
#                   a TCP handshake from netns NS to DST:PORT from source
#                   address SRC ("-": routing's choice) within SECONDS;
#                   status 0 when it completes (python3)
#   t_spawn CMD...  CMD in the background, its pid in PIDS and $!
#   t_cleanup_hook  defined by the test: run first on exit (lab down, ...)
#   T_LOGS          files finish shows (their last lines) when a check
#                   failed: the agent's log, a server's
#
# Below, each with its comment: t_until (bounded polling), t_built,
# t_not; a node netns with routed pod netns as Calico builds them
# (t_node_with_pods, t_node, t_pod, t_veth_of); traffic (t_serve,
# t_answers, t_udp_send); podwalld in a netns and its endpoint
# (t_agent_start, t_agent_stop, t_agent_wait_ready, t_agent_wait_applied,
# t_scrape, t_http_status, t_ready, t_metric, t_metric_ge, t_applied,
# t_applied_since, t_no_sanitizer_report); manifests (t_node_yaml,
# t_pod_yaml); podwall's table (t_table, t_nft_counter, t_fresh_table).
#
# Run on its own (sh tests/netns/lib.sh), it tests itself: a test that
# fails half-way, or is interrupted, leaves no netns, process or file.

PW_LIB_SELF=
if [ -z "${PW_TEST:-}" ]; then
	PW_LIB_SELF=1
	PW_TEST=lib
	set -u
	cd "$(dirname "$0")/../.." || exit 2
fi

BUILD=${BUILD:-build-san}
case $BUILD in
/*) BIN=$BUILD ;;
*) BIN=$(pwd)/$BUILD ;;
esac
PODWALL=${PODWALL:-$BIN/podwall}
PODWALLD=${PODWALLD:-$BIN/podwalld}
SHARED=${SHARED:-../shared}
RUN=pw$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-$PW_TEST.XXXXXX") || exit 2
PIDS=
T_ERR=
T_LOGS=

passed=0
failed=0

ok() {
	passed=$((passed + 1))
	[ $# -eq 0 ] || echo "ok $*"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL $PW_TEST: $*"
	if [ -n "$T_ERR" ] && [ -s "$T_ERR" ]; then
		sed 's/^/    /' "$T_ERR" | head -n 20
	fi
}

check() {
	what=$1
	shift
	if "$@"; then ok; else fail "$what"; fi
}

finish() {
	[ "$failed" -eq 0 ] || t_show_logs
	echo "$PW_TEST: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

needs() {
	if [ "$(id -u)" != 0 ]; then
		fail "needs root"
		finish
	fi
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			fail "needs $c"
			finish
		fi
	done
}

in_ns() {
	_in_ns=$1
	shift
	ip netns exec "$_in_ns" "$@"
}

tcp_connect() {
	ip netns exec "$1" python3 -c '
import socket, sys
src, dst, port, secs = sys.argv[1:5]
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET)
s.settimeout(float(secs))
if src != "-":
    s.bind((src, 0))
s.connect((dst, int(port)))' "$2" "$3" "$4" "$5" 2>/dev/null
}

t_spawn() {
	"$@" &
	PIDS="$PIDS $!"
}

# Kills what t_spawn started and reaps it: SIGTERM first, so programs
# end cleanly (and the sanitizers report), then SIGKILL for whatever is
# still there after 2 s: a process that inherited SIGTERM ignored (the
# shell that started the suite may ignore it) must not hang the cleanup.
t_kill_all() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		_alive=
		for p in $PIDS; do
			kill -0 "$p" 2>/dev/null && _alive=1
		done
		[ -n "$_alive" ] || break
		sleep 0.2
	done
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=
}

# Deletes every netns named "$RUN-...".
t_netns_del() {
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in
		"$RUN"-*) ip netns del "$ns" 2>/dev/null ;;
		esac
	done
}

t_cleanup() {
	if command -v t_cleanup_hook >/dev/null 2>&1; then
		t_cleanup_hook
	fi
	t_kill_all
	t_netns_del
	rm -rf "$TMP"
}

trap t_cleanup EXIT
trap 'exit 2' INT TERM HUP

# ---- waiting, programs, logs --------------------------------------------

# t_until TRIES CMD...: CMD every 0.1 s until it succeeds, at most TRIES
# times: a wait for an event with a generous bound, not a timed
# assertion. The count lives in the positional parameters, which are
# each call's own, so CMD may itself use t_until.
t_until() {
	while [ "$1" -gt 0 ]; do
		t_until_once "$@" && return 0
		sleep 0.1
		_t_left=$(($1 - 1))
		shift
		set -- "$_t_left" "$@"
	done
	return 1
}

t_until_once() { # TRIES CMD...: CMD
	shift
	"$@"
}

t_not() { # CMD...: succeeds when CMD fails (check's CMD cannot be "! CMD")
	! "$@"
}

# t_built FILE...: stops with one failure unless each FILE is executable
# (the programs under test: "$PODWALL" "$PODWALLD").
t_built() {
	for _t_b in "$@"; do
		if [ ! -x "$_t_b" ]; then
			fail "not built: $_t_b"
			finish
		fi
	done
}

# Shown by finish, last 30 lines each, when something failed: the logs
# that explain a failure (the agent's, a server's) are in TMP, which is
# gone once the test ends.
t_show_logs() {
	for _t_f in $T_LOGS; do
		[ -s "$_t_f" ] || continue
		echo "--- $_t_f (last 30 lines)"
		tail -n 30 "$_t_f"
	done
}

# t_alive PID: the process is there and not a zombie (kill -0 succeeds
# on a child that ended but was not waited for). The state is the field
# after the command's name, which ends with the last ")".
t_alive() {
	_t_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$_t_state" ] && [ "$_t_state" != Z ]
}

t_dead() { # PID: the process ended
	! t_alive "$1"
}

t_pids_drop() { # PID: no longer ours to kill on exit
	_t_keep=
	for _t_p in $PIDS; do
		[ "$_t_p" = "$1" ] || _t_keep="$_t_keep $_t_p"
	done
	PIDS=$_t_keep
}

# ---- a node and its pods ----------------------------------------------------
#
# Calico's layout, which podwall's datapath expects (docs/DATAPATH.md):
# every pod is a netns with eth0, its address as a /32 (and /128) and a
# default route to the link-local gateway 169.254.1.1 (fe80::1), which
# the node side of every pod's veth holds; the node routes each pod
# address to that veth and forwards. Pod-to-pod traffic so crosses the
# node's forward hook, where podwall's table sits.

# t_node NS: a node netns: loopback up, IPv4 and IPv6 forwarding on.
t_node() {
	ip netns add "$1" && ip -n "$1" link set lo up &&
		ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 >/dev/null
}

# t_pod NODE POD ADDR4[,ADDR6]: the pod netns POD with a veth into the
# node netns NODE, routed as above. The veth is made inside NODE, so its
# name (T_VETH, set here: pv0, pv1, ... the first free in NODE) is unique
# without the run's pid. Duplicate address detection is off on both ends:
# an IPv6 address is usable at once.
t_pod() {
	_t_v4=${3%%,*}
	_t_v6=
	case $3 in *,*) _t_v6=${3#*,} ;; esac
	_t_i=0
	while ip -n "$1" link show "pv$_t_i" >/dev/null 2>&1; do
		_t_i=$((_t_i + 1))
	done
	T_VETH=pv$_t_i
	ip netns add "$2" &&
		ip netns exec "$2" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
			>/dev/null &&
		ip -n "$1" link add "$T_VETH" type veth peer name eth0 netns "$2" &&
		ip netns exec "$1" sysctl -qw \
			"net.ipv6.conf.$T_VETH.accept_dad=0" >/dev/null &&
		ip -n "$2" link set lo up && ip -n "$2" link set eth0 up &&
		ip -n "$1" link set "$T_VETH" up &&
		t_pod_route "$1" "$2" "$_t_v4" 169.254.1.1 32 &&
		{ [ -z "$_t_v6" ] || t_pod_route "$1" "$2" "$_t_v6" fe80::1 128; }
}

# t_pod_route NODE POD ADDR GATEWAY PREFIXLEN: one address family of
# t_pod, on the veth T_VETH. IPv4 needs the gateway as an on-link route
# in the pod; fe80::/64 is one already.
t_pod_route() {
	if [ "$5" = 128 ]; then
		_t_gw=$4/64
		_t_opt=nodad
	else
		_t_gw=$4/32
		_t_opt=
	fi
	# shellcheck disable=SC2086 # _t_opt is one word or none
	ip -n "$2" addr add "$3/$5" dev eth0 $_t_opt &&
		{ [ -n "$_t_opt" ] || ip -n "$2" route add "$4" dev eth0; } &&
		ip -n "$2" route add default via "$4" dev eth0 &&
		ip -n "$1" addr add "$_t_gw" dev "$T_VETH" $_t_opt &&
		ip -n "$1" route add "$3/$5" dev "$T_VETH"
}

# t_node_with_pods NODE POD:ADDR4[,ADDR6]...: t_node, then t_pod for each
# (POD is the pod's netns name, e.g. "$RUN-client:10.210.0.2"). Status 0
# when all of it was built.
t_node_with_pods() {
	_t_node=$1
	shift
	t_node "$_t_node" || return 1
	for _t_pa in "$@"; do
		t_pod "$_t_node" "${_t_pa%%:*}" "${_t_pa#*:}" || return 1
	done
}

# t_veth_of NODE POD: the name, in NODE, of the veth leading to POD's
# eth0 (read from the kernel: eth0's peer index).
t_veth_of() {
	_t_ix=$(ip -n "$2" -o link show dev eth0 |
		sed -n 's/^[0-9]*: eth0@if\([0-9]*\):.*/\1/p')
	ip -n "$1" -o link show | awk -F': ' -v i="$_t_ix" \
		'$1 == i { sub(/@.*/, "", $2); print $2 }'
}

# ---- traffic ----------------------------------------------------------------

T_CONNECT_SECS=${T_CONNECT_SECS:-1}

# t_listening NS PORT: a TCP socket listens on PORT in NS.
t_listening() {
	[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null)" ]
}

# t_serve NS PORT: a TCP server in NS on every address, IPv4 and IPv6,
# that answers each connection "ok\n" and closes it (t_answers checks
# the answer: a refused connection can then only be the policy). Returns
# once it listens; its pid is in PIDS.
t_serve() {
	t_spawn ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(64)
while True:
    c, _ = s.accept()
    c.sendall(b"ok\n")
    c.close()
' "$2"
	t_until 50 t_listening "$1" "$2"
}

# t_answers NS DST PORT [SRC [SPORT]]: a TCP connection from NS to
# DST:PORT (from address SRC, "-" for routing's choice, and source port
# SPORT) gets t_serve's answer within T_CONNECT_SECS (default 1, whole
# seconds) for the handshake and again for the answer.
t_answers() {
	ip netns exec "$1" timeout $((T_CONNECT_SECS * 2 + 2)) python3 -c '
import socket, sys
dst, port, src, sport, secs = sys.argv[1:6]
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET)
s.settimeout(float(secs))
if src != "-" or sport != "0":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("" if src == "-" else src, int(sport)))
s.connect((dst, int(port)))
sys.exit(0 if s.recv(3) == b"ok\n" else 1)
' "$2" "$3" "${4:--}" "${5:-0}" "$T_CONNECT_SECS" 2>/dev/null
}

# t_udp_send NS SRC SPORT DST DPORT N: N datagrams of 16 bytes from one
# socket bound to SRC ("-": any) and SPORT (0: any).
t_udp_send() {
	ip netns exec "$1" python3 -c '
import socket, sys
src, sport, dst, dport, n = sys.argv[1:6]
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET,
                  socket.SOCK_DGRAM)
s.bind(("" if src == "-" else src, int(sport)))
for _ in range(int(n)):
    s.sendto(b"x" * 16, (dst, int(dport)))
' "$2" "$3" "$4" "$5" "$6"
}

# ---- manifests ---------------------------------------------------------------

# t_node_yaml NAME CIDR...: a Node manifest with its pod ranges.
t_node_yaml() {
	_t_name=$1
	shift
	_t_cidrs=$(printf '"%s", ' "$@")
	printf -- '---\napiVersion: v1\nkind: Node\nmetadata: {name: %s}\n' \
		"$_t_name"
	printf 'spec: {podCIDRs: [%s]}\n' "${_t_cidrs%, }"
}

# t_pod_yaml NS/NAME APP NODE ADDR4[,ADDR6] [PORT[:PORTNAME]]: a running
# Pod manifest, labelled app=APP, on NODE, with its addresses and, when
# PORT is given, one container port (named PORTNAME).
t_pod_yaml() {
	_t_ips="{ip: \"${4%%,*}\"}"
	case $4 in *,*) _t_ips="$_t_ips, {ip: \"${4#*,}\"}" ;; esac
	case ${5:-} in
	"") _t_ports= ;;
	*:*) _t_ports=", ports: [{name: ${5#*:}, containerPort: ${5%%:*}}]" ;;
	*) _t_ports=", ports: [{containerPort: $5}]" ;;
	esac
	printf -- '---\napiVersion: v1\nkind: Pod\n'
	printf 'metadata: {name: %s, namespace: %s, labels: {app: %s}}\n' \
		"${1#*/}" "${1%%/*}" "$2"
	printf 'spec: {nodeName: %s, containers: [{name: c%s}]}\n' \
		"$3" "$_t_ports"
	printf 'status: {phase: Running, podIP: %s, podIPs: [%s]}\n' \
		"${4%%,*}" "$_t_ips"
}

# ---- the agent and its endpoint ----------------------------------------------

T_METRICS=${T_METRICS:-127.0.0.1:9469}
T_AGENT=
T_AGENT_LOG=${T_AGENT_LOG:-$TMP/agent.log}

# t_agent_start NS ARGS...: podwalld ARGS in netns NS, in the background,
# stdout and stderr appended to T_AGENT_LOG; T_AGENT is its pid (ip netns
# exec execs it, so the pid is the agent's own), also in PIDS. Returns at
# once: t_agent_wait_ready waits. One agent at a time: a second start
# forgets the first for t_agent_stop (cleanup still kills it).
t_agent_start() {
	_t_ns=$1
	shift
	ip netns exec "$_t_ns" "$PODWALLD" "$@" >>"$T_AGENT_LOG" 2>&1 &
	T_AGENT=$!
	PIDS="$PIDS $T_AGENT"
}

# t_agent_stop [SIGNAL]: sends SIGNAL (default TERM) to the agent and
# returns its exit status once it ended; SIGKILL after 30 s, so a hung
# agent fails the test instead of hanging it. A second call, or one with
# no agent, returns 255.
t_agent_stop() {
	[ -n "$T_AGENT" ] || return 255
	kill "-${1:-TERM}" "$T_AGENT" 2>/dev/null
	t_until 300 t_dead "$T_AGENT" ||
		kill -KILL "$T_AGENT" 2>/dev/null
	wait "$T_AGENT"
	_t_st=$?
	t_pids_drop "$T_AGENT"
	T_AGENT=
	return $_t_st
}

# t_scrape NS PATH: the body at PATH of the endpoint T_METRICS in NS.
t_scrape() {
	ip netns exec "$1" curl -s --max-time 2 "http://$T_METRICS$2"
}

# t_http_status NS PATH: its HTTP status code (000: no answer).
t_http_status() {
	ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' \
		--max-time 2 "http://$T_METRICS$2"
}

t_ready() { # NS: /readyz says 200
	[ "$(t_http_status "$1" /readyz)" = 200 ]
}

# t_metric NS NAME: the value of the series NAME (with its labels, as
# printed: 'podwall_reconciles_total{result="ok"}'), or nothing.
t_metric() {
	t_scrape "$1" /metrics | awk -v m="$2" '$1 == m { print $2 }'
}

t_metric_ge() { # NS NAME MIN: the series is there and >= MIN
	_t_val=$(t_metric "$1" "$2")
	[ -n "$_t_val" ] && [ "$_t_val" -ge "$3" ]
}

t_applied() { # NS: how many reconciles succeeded
	t_metric "$1" 'podwall_reconciles_total{result="ok"}'
}

# t_applied_since NS N: a reconcile after the N-th succeeded and the
# agent is ready (the kernel holds what the store holds).
t_applied_since() {
	_t_n=$(t_applied "$1")
	[ -n "$_t_n" ] && [ "$_t_n" -gt "$2" ] && t_ready "$1"
}

t_agent_wait_ready() { # NS [TRIES]: up to TRIES (100) tenths of a second
	t_until "${2:-100}" t_ready "$1"
}

t_agent_wait_applied() { # NS N [TRIES]: t_applied_since, polled
	t_until "${3:-100}" t_applied_since "$1" "$2"
}

# t_no_sanitizer_report FILE: ASan, LSan and UBSan left nothing in FILE.
t_no_sanitizer_report() {
	! grep -qE 'Sanitizer|runtime error' "$1"
}

# ---- nftables ----------------------------------------------------------------

# t_table NS: podwall's table in NS in canonical form (canon.awk: objects
# sorted by kind and name, each set's elements sorted: creation and
# insertion order are history, not state), without counter values (nft
# -s), and without the elements of the anti-spoofing set and maps
# (pod_ifaces, egress_if_v4/v6): they come from the routes of NS
# (podwalld and apply bind each pod's veth), which the empty netns of
# t_fresh_table lacks.
t_table() {
	ip netns exec "$1" nft -s list table inet podwall 2>/dev/null | awk '
		/^\t(set pod_ifaces|map egress_if_v[46]) \{$/ { blk = 1 }
		blk && /^\t\}$/ { blk = 0 }
		blk && /^\t\telements = \{/ { el = 1 }
		el { if (/\}$/) el = 0; next }
		{ print }' | awk -f tests/netns/canon.awk | LC_ALL=C sort |
		awk -F '\001' '{ print $4 }'
}

# t_nft_counter NS NAME: the packets counted by the named counter NAME of
# podwall's table in NS, or nothing.
t_nft_counter() {
	ip netns exec "$1" nft list counter inet podwall "$2" 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# t_fresh_table ARGS...: what `podwall apply ARGS` makes of an empty
# netns, as t_table lists it: the reference that an agent's table, built
# incrementally, must equal. Status: podwall apply's.
t_fresh_table() {
	ip netns add "$RUN-tfresh" || return 1
	ip netns exec "$RUN-tfresh" "$PODWALL" apply "$@" >/dev/null 2>&1 &&
		t_table "$RUN-tfresh"
	_t_st=$?
	ip netns del "$RUN-tfresh"
	return $_t_st
}

# ---- testing this file ------------------------------------------------------

# A test that makes a netns and a process, then fails (exit 3) or is
# killed by SIGTERM: its name, pid, netns and scratch folder are written
# to $1 before it ends.
lib_inner() {
	PW_TEST=inner BUILD="$BUILD" sh -c '
		set -u
		PW_TEST=inner
		. tests/netns/lib.sh
		t_cleanup_hook() { echo hook >>"$0.hook"; }
		ip netns add "$RUN-x" || exit 9
		t_spawn sleep 300
		echo "$RUN $! $TMP" >"$0"
		ok "one"
		fail "two"
		[ "$1" = term ] && kill -TERM $$ && sleep 5
		exit 3' "$1" "$2" >"$1.out" 2>&1
}

# lib_gone FILE: nothing that the inner test recorded in FILE is left.
lib_gone() {
	read -r run pid tmp <"$1" || return 1
	! ip netns list | grep -q "^$run-x" && ! kill -0 "$pid" 2>/dev/null &&
		[ ! -e "$tmp" ]
}

# The helpers on a node with three pods, without podwall: a server,
# TCP over both families and from a chosen source, UDP counted by a named
# counter of a table made here (what podwall's tables hold).
lib_topology() {
	n=$RUN-n
	check "t_node_with_pods: node and three pods built" t_node_with_pods \
		"$n" "$RUN-a:10.250.0.2,fd00:250::2" \
		"$RUN-b:10.250.0.3,fd00:250::3" "$RUN-c:10.250.0.4"
	check "t_veth_of finds T_VETH, the last pod's veth" \
		[ "$(t_veth_of "$n" "$RUN-c")" = "$T_VETH" ]
	check "veths are named in the node, in order" \
		[ "$(t_veth_of "$n" "$RUN-a")/$T_VETH" = pv0/pv2 ]
	check "t_serve returns once it listens" t_serve "$RUN-b" 8080
	check "t_answers over IPv4, through the node" \
		t_answers "$RUN-a" 10.250.0.3 8080
	check "t_answers over IPv6" t_answers "$RUN-a" fd00:250::3 8080
	check "t_answers from a source address and port" \
		t_answers "$RUN-c" 10.250.0.3 8080 10.250.0.4 40000
	check "t_answers: no server, no answer" t_not t_answers "$RUN-a" 10.250.0.3 8081
	in_ns "$n" nft -f - <<'NFT'
table inet podwall {
	counter udp_in {
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		udp dport 9999 counter name "udp_in"
	}
}
NFT
	t_udp_send "$RUN-a" - 0 10.250.0.3 9999 5
	t_udp_send "$RUN-a" fd00:250::2 40001 fd00:250::3 9999 2
	check "t_nft_counter: 7 datagrams forwarded" \
		[ "$(t_nft_counter "$n" udp_in)" = 7 ]
	check "t_nft_counter: no such counter, nothing" \
		[ -z "$(t_nft_counter "$n" nope)" ]
	check "t_table lists the table without values" \
		sh -c "! ip netns exec $n nft -s list table inet podwall |
			grep -q packets"
	check "t_until: true at once" t_until 2 true
	check "t_until: gives up" t_not t_until 2 false
	lib_calls=0
	check "t_until: CMD may itself use t_until" t_until 10 lib_nested
}

lib_nested() { # true on the 4th call, each call a t_until that fails
	lib_calls=$((lib_calls + 1))
	t_until 2 false
	[ "$lib_calls" -ge 4 ]
}

# The endpoint helpers against a stand-in agent: python's web server on a
# folder that holds "metrics" and "readyz", started as PODWALLD.
lib_endpoint() {
	n=$RUN-n
	d=$TMP/www
	mkdir -p "$d"
	printf '%s\n' 'podwall_reconciles_total{result="ok"} 3' \
		'podwall_x{a="b"} 12' >"$d/metrics"
	: >"$d/readyz"
	_lib_daemon=$PODWALLD
	PODWALLD=python3
	t_agent_start "$n" -m http.server -b 127.0.0.1 -d "$d" 9469
	PODWALLD=$_lib_daemon
	check "t_agent_wait_ready" t_agent_wait_ready "$n"
	check "t_metric reads a series with labels" \
		[ "$(t_metric "$n" 'podwall_x{a="b"}')" = 12 ]
	check "t_metric: no such series, nothing" [ -z "$(t_metric "$n" x)" ]
	check "t_applied" [ "$(t_applied "$n")" = 3 ]
	check "t_applied_since: after the 2nd" t_applied_since "$n" 2
	check "t_applied_since: not after the 3rd" t_not t_applied_since "$n" 3
	check "t_agent_wait_applied" t_agent_wait_applied "$n" 2 3
	check "t_metric_ge" t_metric_ge "$n" 'podwall_x{a="b"}' 12
	check "t_metric_ge: above" t_not t_metric_ge "$n" 'podwall_x{a="b"}' 13
	check "t_http_status: 404" [ "$(t_http_status "$n" /nope)" = 404 ]
	rm "$d/readyz"
	check "t_ready: false without /readyz" t_not t_ready "$n"
	_lib_pid=$T_AGENT
	t_agent_stop TERM
	check "t_agent_stop: the exit status (SIGTERM: 143)" [ $? = 143 ]
	check "t_agent_stop: reaped, T_AGENT and PIDS cleared" \
		lib_not_ours "$_lib_pid"
	t_agent_stop
	check "t_agent_stop: no agent, 255" [ $? = 255 ]
	check "the agent's output in T_AGENT_LOG" \
		grep -q 'GET /metrics' "$T_AGENT_LOG"
	check "t_no_sanitizer_report: a clean log" \
		t_no_sanitizer_report "$T_AGENT_LOG"
	echo '==1==ERROR: AddressSanitizer: heap-use-after-free' >"$TMP/asan"
	check "t_no_sanitizer_report: a report" \
		t_not t_no_sanitizer_report "$TMP/asan"
	T_LOGS="$TMP/asan $TMP/none"
	t_show_logs >"$TMP/shown"
	T_LOGS=
	check "t_show_logs: the logs that are there" \
		[ "$(grep -c AddressSanitizer "$TMP/shown")/$(wc -l <"$TMP/shown")" = 1/2 ]
}

lib_not_ours() { # PID
	! kill -0 "$1" 2>/dev/null && [ -z "$T_AGENT" ] &&
		case " $PIDS " in *" $1 "*) false ;; esac
}

lib_admits() { # FROM: to t/a:8080 in $c
	"$PODWALL" explain --exit-code --from "$1" --to t/a --port 8080 "$c" \
		>/dev/null 2>&1
}

# The manifest helpers and t_fresh_table, when podwall is built (it is in
# the suite).
lib_fresh() {
	if [ ! -x "$PODWALL" ]; then
		echo "note: $PODWALL not built: t_fresh_table not tested"
		return
	fi
	c=$TMP/cluster.yaml
	{
		t_node_yaml n1 10.250.0.0/24 fd00:250::/64
		t_pod_yaml t/a a n1 10.250.0.2,fd00:250::2 8080:http
		t_pod_yaml u/b b n1 10.250.0.3 9090
		t_pod_yaml u/c c n2 10.251.0.4
		printf '%s\n' --- 'apiVersion: networking.k8s.io/v1' \
			'kind: NetworkPolicy' 'metadata: {name: p, namespace: t}' \
			'spec:' '  podSelector: {matchLabels: {app: a}}' \
			'  ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}], ports: [{port: http}]}]'
	} >"$c"
	"$PODWALL" check "$c" >"$TMP/check" 2>&1
	check "t_node_yaml, t_pod_yaml: 2 namespaces, 3 pods, 1 node" grep -q \
		'2 namespaces, 3 pods, 1 policy, 1 node; 0 errors' "$TMP/check"
	check "t_pod_yaml: labels and a named port (u/b -> t/a:8080)" \
		lib_admits u/b
	check "t_pod_yaml: ... and nothing else (u/c -> t/a:8080)" \
		t_not lib_admits u/c
	t_fresh_table --node n1 "$c" >"$TMP/fresh.nft"
	check "t_fresh_table: podwall apply's status" [ $? = 0 ]
	check "t_fresh_table: the table listed" \
		grep -q '^table inet podwall' "$TMP/fresh.nft"
	for a in 10.250.0.2 fd00:250::2 10.250.0.3; do
		check "t_fresh_table: $a in the table" grep -qwF "$a" "$TMP/fresh.nft"
	done
	check "t_fresh_table: its netns is gone" \
		sh -c "! ip netns list | grep -q '^$RUN-tfresh'"
}

lib_selftest() {
	needs ip nft python3 curl ss
	for how in fail term; do
		f=$TMP/$how
		lib_inner "$f" "$how"
		st=$?
		if [ "$how" = fail ]; then
			check "a failing test keeps its exit status" [ $st = 3 ]
		else
			check "SIGTERM ends a test with status 2" [ $st = 2 ]
		fi
		check "$how: the test recorded itself" [ -s "$f" ]
		check "$how: nothing is left" lib_gone "$f"
		check "$how: the hook ran once" [ "$(cat "$f.hook")" = hook ]
		check "$how: one ok printed" grep -qx "ok one" "$f.out"
		check "$how: the failure named" grep -qx "FAIL inner: two" "$f.out"
	done
	lib_topology
	lib_endpoint
	lib_fresh
	check "the counters count" [ "$passed" -gt 0 ]
	finish
}

[ -z "$PW_LIB_SELF" ] || lib_selftest
