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

lib_selftest() {
	needs ip
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
	check "the counters count" [ "$passed" -gt 0 ]
	finish
}

[ -z "$PW_LIB_SELF" ] || lib_selftest
