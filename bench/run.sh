#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The scale benchmark (what `make bench` runs): generates the sig-network
# NetworkPolicy scale workload with bench/gen_scale and measures, in one
# run on this machine,
#
#   - parse-only:  podwall check FILE
#   - all-pairs:   podwall matrix --count --port A --port B --port C FILE
#   - explain:     bench_engine, which loads once and times single explains
#                  (and, as a cross-check, podwall explain minus podwall check)
#   - peak RSS and CPU time of each podwall command (/usr/bin/time, Debian
#     package "time")
#
# in REPS rounds (median, min, max), then prints the targets and whether
# they were met. See docs/BENCHMARKS.md.
#
# Environment:
#   BUILD=build          where make put podwall and bench/*
#   REPS=5               repetitions of each podwall command
#   EXPLAINS=1000        explain queries timed by bench_engine
#   GEN_ARGS=            extra gen_scale options, e.g. "--namespaces 100"
#   PORTS="1001/TCP 5003/TCP 8080/TCP"   the three matrix ports
#   KEEP=1               keep the generated cluster (path is printed)
#   STRICT=1             exit 1 when a target is missed (default: report only)
#
# Exit status: 0 when everything was measured (targets met or not, unless
# STRICT=1), 1 when a command failed or gave a wrong-looking answer.

# Word splitting is wanted where this script leaves a list unquoted
# ($PORTS, $GEN_ARGS, "median min max"), and nothing here globs; cleanup
# runs from a trap, which shellcheck cannot see.
# shellcheck disable=SC2046,SC2086,SC2317
set -uf

BUILD=${BUILD:-build}
REPS=${REPS:-5}
EXPLAINS=${EXPLAINS:-1000}
GEN_ARGS=${GEN_ARGS:-}
PORTS=${PORTS:-1001/TCP 5003/TCP 8080/TCP}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}

PODWALL=$BUILD/podwall
GEN=$BUILD/bench/gen_scale
ENGINE=$BUILD/bench/bench_engine
TIME=/usr/bin/time

die() {
	echo "bench: $*" >&2
	exit 1
}

for f in "$PODWALL" "$GEN"; do
	[ -x "$f" ] || die "$f not found: build first (make O=$BUILD all)"
done
[ -x "$TIME" ] || TIME=
[ -x "$ENGINE" ] || ENGINE=

TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-bench.XXXXXX") || die "mktemp failed"
cleanup() {
	if [ "$KEEP" = 1 ]; then
		echo "bench: kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

CLUSTER=$TMP/scale.yaml

# ---- helpers ----------------------------------------------------------

now_ns() {
	date +%s%N
}

# stats FILE: "median min max" of the numbers in FILE, one a line.
stats() {
	sort -n "$1" | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - -"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f %.1f %.1f\n", m, v[1], v[NR]
		}'
}

# run_once NAME CMD...: runs CMD once; appends its wall ms to $TMP/NAME.ms,
# its CPU ms (user + system) to $TMP/NAME.cpu and its peak RSS (KiB) to
# $TMP/NAME.rss; keeps its stdout in
# $TMP/NAME.out. Any exit status but 0 stops the benchmark: a failing
# command has no time.
run_once() {
	name=$1
	shift
	t0=$(now_ns)
	if [ -n "$TIME" ]; then
		"$TIME" -f '%M %U %S' -o "$TMP/rss.one" "$@" >"$TMP/$name.out" \
			2>"$TMP/$name.err"
	else
		"$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	fi
	st=$?
	t1=$(now_ns)
	if [ "$st" -ne 0 ]; then
		sed -n 1,20p "$TMP/$name.err" "$TMP/$name.out" >&2
		die "$name: '$*' exited with status $st"
	fi
	echo "$(((t1 - t0) / 1000))" |
		awk '{ printf "%.3f\n", $1 / 1000 }' >>"$TMP/$name.ms"
	if [ -n "$TIME" ]; then
		tail -n 1 "$TMP/rss.one" | awk '{ print $1 }' >>"$TMP/$name.rss"
		tail -n 1 "$TMP/rss.one" |
			awk '{ printf "%.1f\n", ($2 + $3) * 1000 }' >>"$TMP/$name.cpu"
	fi
}

# paired OP A B: per-run A/B ("ratio") or A-B ("diff") of two .ms files.
paired() {
	paste "$TMP/$2.ms" "$TMP/$3.ms" | awk -v op="$1" '{
		if (op == "ratio") printf "%.4f\n", ($2 > 0) ? $1 / $2 : 0
		else printf "%.3f\n", $1 - $2
	}'
}

# max_of FILE: the largest number in FILE, or "-".
max_of() {
	sort -n "$1" | tail -n 1 | awk 'NF { print; n = 1 } END { if (!n) print "-" }'
}

# verdict VALUE OP LIMIT: "yes", "NO" or "n/a".
verdict() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "-" || v == "") { print "n/a"; exit }
		ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
		print ok ? "yes" : "NO"
	}'
}

# ---- the cluster ------------------------------------------------------

echo "bench: generating the scale cluster ($GEN $GEN_ARGS)"
"$GEN" $GEN_ARGS "$CLUSTER" 2>"$TMP/gen.err" || {
	cat "$TMP/gen.err" >&2
	die "gen_scale failed"
}
GEN_SUMMARY=$(sed 's/^gen_scale: //' "$TMP/gen.err")
SIZE_MB=$(wc -c <"$CLUSTER" | awk '{ printf "%.1f", $1 / 1e6 }')

set -- $PORTS
[ "$#" -eq 3 ] || die "PORTS must name three ports"
PORT_ARGS="--port $1 --port $2 --port $3"

# ---- measurements -----------------------------------------------------

# One explain through the CLI: the same load plus one query. Skipped when
# the CLI cannot answer it (e.g. GEN_ARGS with fewer than 2 namespaces).
FROM=network-policy-perf-0/test-pod-9
TO=network-policy-perf-1/test-pod-9
EXPLAIN_CLI=yes
"$PODWALL" explain -f "$CLUSTER" --from "$FROM" --to "$TO" --port "$1" \
	>/dev/null 2>&1 || EXPLAIN_CLI=

# The commands take turns, so that a neighbour's burst of load hits all of
# them alike rather than one block of runs.
echo "bench: $REPS rounds of podwall check, matrix --count over $PORTS${EXPLAIN_CLI:+, explain}"
for name in check matrix explain; do
	: >"$TMP/$name.ms"
	: >"$TMP/$name.cpu"
	: >"$TMP/$name.rss"
done
i=0
while [ "$i" -lt "$REPS" ]; do
	run_once check "$PODWALL" check "$CLUSTER"
	run_once matrix "$PODWALL" matrix --count -o json $PORT_ARGS "$CLUSTER"
	if [ -n "$EXPLAIN_CLI" ]; then
		run_once explain "$PODWALL" explain -f "$CLUSTER" \
			--from "$FROM" --to "$TO" --port "$1"
	fi
	i=$((i + 1))
done

# The answer must at least count the pods gen_scale wrote.
WANT_PODS=$(echo "$GEN_SUMMARY" | awk '{ for (i = 2; i <= NF; i++)
	if ($i ~ /^pods/) print $(i - 1) }')
GOT_PODS=$(tr -d ' \n' <"$TMP/matrix.out" |
	sed -n 's/.*"pod_count":\([0-9]*\).*/\1/p')
[ "${GOT_PODS:-none}" = "$WANT_PODS" ] ||
	die "matrix --count counted '$GOT_PODS' pods, gen_scale wrote $WANT_PODS"

if [ -n "$ENGINE" ]; then
	echo "bench: $EXPLAINS explains after one load: bench_engine"
	"$ENGINE" --explains "$EXPLAINS" $PORT_ARGS "$CLUSTER" \
		>"$TMP/engine.out" 2>"$TMP/engine.err" || {
		cat "$TMP/engine.err" >&2
		die "bench_engine failed"
	}
fi

# ---- report -----------------------------------------------------------

set -- $(stats "$TMP/check.ms")
CHECK_MED=$1 CHECK_MIN=$2 CHECK_MAX=$3
set -- $(stats "$TMP/matrix.ms")
MATRIX_MED=$1 MATRIX_MIN=$2 MATRIX_MAX=$3
# The ratio is the median of the per-round ratios (each round's matrix
# over the same round's check), which is steadier than a ratio of medians.
paired ratio matrix check >"$TMP/ratio.ms"
RATIO=$(stats "$TMP/ratio.ms" | awk '{ printf "%.2f", $1 }')
MATRIX_S=$(awk -v a="$MATRIX_MED" 'BEGIN { printf "%.2f", a / 1000 }')

kv() {
	awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "-" }' \
		"$TMP/engine.out" 2>/dev/null || echo -
}
# The explain target is judged on bench_engine's median when there is one,
# else on the coarse CLI difference.
EXPLAIN_MS=-
EXPLAIN_HOW="one explain after load"
if [ -n "$ENGINE" ]; then
	EXPLAIN_MS=$(awk -v u="$(kv explain_us_median)" \
		'BEGIN { if (u == "-") print "-"; else printf "%.3f", u / 1000 }')
elif [ -n "$EXPLAIN_CLI" ]; then
	paired diff explain check >"$TMP/diff.ms"
	EXPLAIN_MS=$(stats "$TMP/diff.ms" |
		awk '{ printf "%.3f", ($1 > 0) ? $1 : 0 }')
	EXPLAIN_HOW="explain, CLI minus check"
fi

RSS_KB=-
if [ -n "$TIME" ]; then
	cat "$TMP/check.rss" "$TMP/matrix.rss" >"$TMP/all.rss"
	[ -n "$EXPLAIN_CLI" ] && cat "$TMP/explain.rss" >>"$TMP/all.rss"
	RSS_KB=$(max_of "$TMP/all.rss")
fi
RSS_MB=$(awk -v k="$RSS_KB" \
	'BEGIN { if (k == "-") print "-"; else printf "%.1f", k * 1024 / 1e6 }')
rss_mb() {
	if [ -n "$TIME" ]; then
		max_of "$TMP/$1.rss" | awk '{ printf "%.1f MB", $1 * 1024 / 1e6 }'
	else
		echo "n/a (install Debian's time package)"
	fi
}

echo
CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
echo "podwall scale benchmark: $(uname -n), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: ${CPU:-unknown CPU}, $(nproc) CPUs, $MEM, Linux $(uname -r)," \
	"load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "cluster: $GEN_SUMMARY; $SIZE_MB MB of YAML"
echo "ports: $PORTS; $REPS rounds"
echo
printf '%-44s %10s %10s %10s\n' "measurement (wall ms)" median min max
printf '%-44s %10s %10s %10s\n' "parse-only: podwall check" \
	"$CHECK_MED" "$CHECK_MIN" "$CHECK_MAX"
printf '%-44s %10s %10s %10s\n' "all-pairs, 3 ports: podwall matrix --count" \
	"$MATRIX_MED" "$MATRIX_MIN" "$MATRIX_MAX"
if [ -n "$EXPLAIN_CLI" ]; then
	set -- $(stats "$TMP/explain.ms")
	printf '%-44s %10s %10s %10s\n' "load + one explain: podwall explain" \
		"$1" "$2" "$3"
	paired diff explain check >"$TMP/diff.ms"
	DIFF=$(stats "$TMP/diff.ms" | awk '{ print $1 }')
	printf '%-44s %10s\n' "  minus check, per round: compile + query" "$DIFF"
fi
if [ -n "$TIME" ]; then
	echo
	printf '%-44s %10s %10s %10s\n' "CPU ms (user + system)" median min max
	set -- $(stats "$TMP/check.cpu")
	printf '%-44s %10s %10s %10s\n' "parse-only: podwall check" \
		"$1" "$2" "$3"
	set -- $(stats "$TMP/matrix.cpu")
	printf '%-44s %10s %10s %10s\n' \
		"all-pairs, 3 ports: podwall matrix --count" "$1" "$2" "$3"
fi
if [ -n "$ENGINE" ]; then
	echo
	printf '%-44s %10s\n' "bench_engine: load + finalize (ms)" "$(kv load_ms)"
	printf '%-44s %10s\n' "bench_engine: engine compile (ms)" \
		"$(kv compile_ms)"
	printf '%-44s %10s %10s %10s\n' \
		"bench_engine: one explain (us), $(kv explains) runs" \
		"$(kv explain_us_median)" "$(kv explain_us_min)" \
		"$(kv explain_us_max)"
	printf '%-44s %10s\n' "bench_engine: one explain (us), 99th pct" \
		"$(kv explain_us_p99)"
	printf '%-44s %10s\n' "bench_engine: the first explain (us)" \
		"$(kv explain_us_first)"
fi
echo
printf '%-44s %s\n' "peak RSS, podwall check" "$(rss_mb check)"
printf '%-44s %s\n' "peak RSS, podwall matrix --count" "$(rss_mb matrix)"
echo
echo "matrix --count answer: $(tr -d '\n' <"$TMP/matrix.out" | head -c 400)"

R1=$(verdict "$RATIO" "<=" 3)
R2=$(verdict "$MATRIX_S" "<=" 2)
R3=$(verdict "$EXPLAIN_MS" "<=" 1)
R4=$(verdict "$RSS_MB" "<=" 500)
echo
printf '%-34s %12s %12s %6s\n' target measured limit met
printf '%-34s %12s %12s %6s\n' "all-pairs / parse-only (per round)" \
	"${RATIO}x" "<= 3x" "$R1"
printf '%-34s %12s %12s %6s\n' "all-pairs wall time" "$MATRIX_S s" "<= 2 s" "$R2"
printf '%-34s %12s %12s %6s\n' "$EXPLAIN_HOW" "$EXPLAIN_MS ms" \
	"<= 1 ms" "$R3"
printf '%-34s %12s %12s %6s\n' "peak RSS (any command)" "$RSS_MB MB" \
	"<= 500 MB" "$R4"

case "$R1 $R2 $R3 $R4" in
*NO* | *n/a*)
	echo
	echo "bench: not every target was met or measured"
	[ "$STRICT" = 1 ] && exit 1
	;;
esac
exit 0
