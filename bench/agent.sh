#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The agent benchmark (part of `make bench`; needs root): podwalld's
# event-to-enforcement latency and memory at about 1k and 10k pods, and
# the same change enforced by a full `podwall apply` (reading and
# compiling everything again) as the baseline, measured in the same run
# and network namespace. docs/BENCHMARKS.md, "The agent", has the method
# and the results.
#
# For each size: bench/gen_scale writes the cluster (9 pods and one policy
# per namespace, 20 nodes; node-0 is this one) into a manifests folder;
# podwalld --manifests runs in a fresh network namespace; then EVENTS
# times, one file (churn.yaml: one pod of node-0, with a new address and
# label each time) is written and the script waits until the agent's
# podwall_reconciles_total{result="ok"} moves, so each reconcile enforces
# exactly one event. The latency is the agent's own `max_latency_ms` (from
# reading the inotify event to the end of the kernel transaction); the
# stage times and the CPU time of each reconcile come from the same log
# lines. RSS is the agent's after the events. Then the agent is stopped
# (the table stays) and `podwall apply --node node-0` of the same folder
# enforces APPLY_REPS more such changes: wall-clock time of the command.
#
# Environment:
#   BUILD=build          where make put podwall, podwalld and bench/*
#   SIZES="112 1112"     gen_scale --namespaces per size (1008, 10008 pods)
#   EVENTS=100           events per size (30 at sizes above 500 namespaces)
#   APPLY_REPS=5         baseline applies per size
#   GEN_ARGS=            extra gen_scale options
#   LOG=                 a file to keep the agent's log of the last size in
#
# Every namespace, process and file it makes is named after this run and
# removed on exit, also on failure or Ctrl-C. Exit status 0 when everything
# was measured (or skipped: not root), 1 when something failed.

# Word splitting is wanted where lists are left unquoted; cleanup runs
# from a trap, which shellcheck cannot see.
# shellcheck disable=SC2086,SC2317
set -uf

BUILD=${BUILD:-build}
SIZES=${SIZES:-112 1112}
EVENTS=${EVENTS:-}
APPLY_REPS=${APPLY_REPS:-5}
GEN_ARGS=${GEN_ARGS:-}
LOG=${LOG:-}

RUN=pwba$$
NS=$RUN-node
TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-bench-agent.XXXXXX") || exit 1
AGENT=

die() {
	echo "bench agent: $*" >&2
	exit 1
}

cleanup() {
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ "$(id -u)" != 0 ]; then
	echo "bench agent: skipped (needs root: network namespaces, nftables)"
	trap - EXIT
	cleanup
	exit 0
fi
for b in podwall podwalld bench/gen_scale; do
	[ -x "$BUILD/$b" ] || die "not built: $BUILD/$b"
done
case $BUILD in
/*) BIN=$BUILD ;;
*) BIN=$(pwd)/$BUILD ;;
esac

# q FILE Q: the Q-quantile (0..100) of a sorted file of numbers.
q() {
	_n=$(wc -l <"$1")
	[ "$_n" -gt 0 ] || {
		echo "-"
		return
	}
	_i=$(((_n * $2 + 99) / 100))
	[ "$_i" -lt 1 ] && _i=1
	sed -n "${_i}p" "$1"
}

ok_count() {
	ip netns exec "$NS" curl -s --max-time 5 127.0.0.1:9469/metrics |
		awk '$1 == "podwall_reconciles_total{result=\"ok\"}" { print $2 }'
}

# churn I: one pod of node-0 with the I-th address and label.
churn() {
	cat >"$TMP/churn.tmp" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: churn, namespace: network-policy-perf-0, labels: {"1": "true", num: "c$1"}}
spec: {nodeName: node-0, containers: [{name: c}]}
status: {phase: Running, podIP: 10.250.$(($1 / 250)).$(($1 % 250 + 1))}
EOF
	mv "$TMP/churn.tmp" "$TMP/m/churn.yaml"
}

# field NAME: the values of NAME= of the last events' applied lines, sorted.
field() {
	grep 'event=applied' "$TMP/agent.log" | tail -n "$events" |
		sed "s/.* $1=\([0-9.]*\).*/\1/" | sort -n >"$TMP/$1"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# one SIZE: the whole measurement of one cluster size.
one() {
	rm -rf "$TMP/m" "$TMP/agent.log"
	mkdir "$TMP/m"
	"$BUILD/bench/gen_scale" --namespaces="$1" --pods=9 --netpols=1 \
		$GEN_ARGS "$TMP/m/cluster.yaml" 2>"$TMP/gen.log" ||
		die "gen_scale failed"
	pods=$(sed -n 's/.*: [0-9]* namespaces, \([0-9]*\) pods.*/\1/p' "$TMP/gen.log")
	events=${EVENTS:-$([ "$1" -gt 500 ] && echo 30 || echo 100)}
	churn 0
	if ! ip netns add "$NS" || ! ip netns exec "$NS" ip link set lo up; then
		die "cannot make a network namespace"
	fi
	ip netns exec "$NS" "$BIN/podwalld" --manifests "$TMP/m" \
		--node node-0 2>"$TMP/agent.log" &
	AGENT=$!
	tries=600
	until [ -n "$(ok_count)" ] && [ "$(ok_count)" -ge 1 ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || die "the agent did not apply the cluster"
		sleep 0.1
	done
	rss0=$(ps -o rss= -p "$AGENT" | tr -d ' ')
	i=1
	while [ "$i" -le "$events" ]; do
		n=$(ok_count)
		churn "$i"
		tries=3000
		while [ "$(ok_count)" = "$n" ]; do
			tries=$((tries - 1))
			[ "$tries" -gt 0 ] || die "event $i was not applied"
			sleep 0.01
		done
		i=$((i + 1))
	done
	rss=$(ps -o rss= -p "$AGENT" | tr -d ' ')
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT/status")
	kill -TERM "$AGENT"
	wait "$AGENT"
	AGENT=
	[ -n "$LOG" ] && cp "$TMP/agent.log" "$LOG"
	for f in max_latency_ms build_ms compile_ms kernel_ms cpu_ms; do
		field "$f"
	done
	elements=$(grep 'event=applied' "$TMP/agent.log" | tail -n 1 |
		sed 's/.* elements=\([0-9]*\).*/\1/')

	: >"$TMP/apply"
	j=1
	while [ "$j" -le "$APPLY_REPS" ]; do
		churn $((events + j))
		t0=$(now_ms)
		ip netns exec "$NS" "$BIN/podwall" apply --node node-0 \
			"$TMP/m" >/dev/null 2>&1 || die "podwall apply failed"
		echo $(($(now_ms) - t0)) >>"$TMP/apply"
		j=$((j + 1))
	done
	sort -n "$TMP/apply" -o "$TMP/apply"
	ip netns del "$NS"

	med=$(q "$TMP/max_latency_ms" 50)
	amed=$(q "$TMP/apply" 50)
	echo "$pods pods ($1 namespaces), $elements elements, $events events:"
	echo "  agent latency  median $med ms, p99 $(q "$TMP/max_latency_ms" 99) ms, max $(q "$TMP/max_latency_ms" 100) ms"
	echo "  per reconcile  cpu $(q "$TMP/cpu_ms" 50) ms; build $(q "$TMP/build_ms" 50) / compile $(q "$TMP/compile_ms" 50) / kernel $(q "$TMP/kernel_ms" 50) ms (medians)"
	echo "  agent RSS      $((rss / 1024)) MiB after the events ($((rss0 / 1024)) MiB after the first apply, peak $((hwm / 1024)) MiB)"
	echo "  podwall apply  median $amed ms of $APPLY_REPS (the same change, everything read again)"
	echo "  ratio          apply / agent median = $(awk -v a="$amed" -v b="$med" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')"
	echo "$1 $pods $rss" >>"$TMP/rss"
}

echo "bench agent: podwalld on a manifests folder, one event per reconcile"
: >"$TMP/rss"
for s in $SIZES; do
	one "$s"
done
if [ "$(wc -l <"$TMP/rss")" -ge 2 ]; then
	awk 'NR == 1 { p = $2; r = $3 } END {
		printf "  memory per 1k pods: %.2f MiB ((RSS at %d - RSS at %d pods) / %.1f; target 3 MiB)\n",
			($3 - r) / 1024 / (($2 - p) / 1000), $2, p, ($2 - p) / 1000 }' "$TMP/rss"
fi
echo "  target: p99 <= 100 ms at each size; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
