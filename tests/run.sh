#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The podwall test suite: unit tests, the e2e conformance cases, the golden
# CLI tests, the tests in network namespaces with real traffic (root) and a
# short run of every fuzz target, in that order.
#
#   sh tests/run.sh [unit|conformance|golden|netns|fuzz]...
#
# Environment: BUILD (default build-san) holds the tests and podwall,
# FUZZBUILD (default build-fuzz) the libFuzzer targets, SHARED (default
# ../shared) the conformance data. UPDATE_GOLDEN=1 rewrites the expected
# output of the golden tests (review the diff before committing it).
#
# Every part prints a closing "NAME: N passed, N failed" line; the last line
# is the sum of them all. Exit status 1 when anything failed, crashed or
# ended without its closing line.

set -u
cd "$(dirname "$0")/.." || exit 2

BUILD=${BUILD:-build-san}
FUZZBUILD=${FUZZBUILD:-build-fuzz}
SHARED=${SHARED:-../shared}
UPDATE_GOLDEN=${UPDATE_GOLDEN:-0}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-tests.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 2' INT TERM HUP

passed=0
failed=0

# Runs a command with a time limit when timeout(1) is there.
limited() {
	if command -v timeout >/dev/null 2>&1; then
		timeout "$@"
	else
		shift
		"$@"
	fi
}

# tally NAME LOG STATUS: adds the closing line of LOG to the totals. A
# missing closing line, or a failing exit status with nothing counted as
# failed (a crash after the end, a leak), is one more failure.
tally() {
	line=$(grep -E '^[A-Za-z0-9_./-]+: [0-9]+ passed, [0-9]+ failed$' "$2" |
		tail -n 1)
	if [ -z "$line" ]; then
		echo "$1: 0 passed, 1 failed (no closing line, exit status $3)"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed 's/.*: \([0-9]*\) passed, .*/\1/')
	f=$(echo "$line" | sed 's/.* passed, \([0-9]*\) failed$/\1/')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$1: exit status $3 although nothing failed: counted as a failure"
		failed=$((failed + 1))
	fi
}

# run NAME COMMAND...: runs one test program, shows its output, tallies it.
run() {
	name=$1
	shift
	t0=$(date +%s)
	limited 600 "$@" >"$TMP/log" 2>&1
	status=$?
	cat "$TMP/log"
	tally "$name" "$TMP/log" "$status"
	echo "time $name: $(($(date +%s) - t0)) s"
}

part_unit() {
	for src in tests/test_*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		if [ ! -x "$BUILD/tests/$name" ]; then
			echo "$name: 0 passed, 1 failed (not built: $BUILD/tests/$name)"
			failed=$((failed + 1))
			continue
		fi
		run "$name" "$BUILD/tests/$name"
	done
}

part_conformance() {
	if [ ! -x "$BUILD/tests/conformance" ]; then
		echo "conformance: 0 passed, 1 failed (not built: $BUILD/tests/conformance)"
		failed=$((failed + 1))
		return
	fi
	run conformance "$BUILD/tests/conformance" \
		"$SHARED/conformance/k8s-e2e-netpol.json"
}

# golden_one NAME: runs tests/golden/NAME.args and compares stdout, stderr
# and the exit status with NAME.out, NAME.err and NAME.status.
golden_one() {
	name=tests/golden/$1
	in=/dev/null
	[ -f "$name.stdin" ] && in=$name.stdin
	args=$(cat "$name.args")
	# The .args line is shell words: quotes work, nothing is expanded
	# but what the test writes.
	eval "set -- $args"
	limited 60 "$BUILD/podwall" "$@" <"$in" >"$TMP/out" 2>"$TMP/err"
	echo $? >"$TMP/status"
	# ASan and UBSan exit with 1, like a verdict: look at what they say.
	if [ "$(cat "$TMP/status")" -ge 124 ] ||
		grep -qE 'Sanitizer|runtime error:' "$TMP/err"; then
		echo "FAIL $name: podwall crashed or hung (status $(cat "$TMP/status"))"
		cat "$TMP/err"
		return 1
	fi
	# JSON output must parse, whatever the expected file says.
	case " $args " in
	*" -o json "* | *" --output json "* | *" --output=json "*)
		if command -v python3 >/dev/null 2>&1 &&
			! python3 -m json.tool <"$TMP/out" >/dev/null 2>&1; then
			echo "FAIL $name: the output is not valid JSON"
			return 1
		fi
		;;
	esac
	if [ "$UPDATE_GOLDEN" = 1 ]; then
		cp "$TMP/out" "$name.out"
		cp "$TMP/err" "$name.err"
		cp "$TMP/status" "$name.status"
		echo "updated $name"
		return 0
	fi
	ok=0
	for ext in out err status; do
		if [ ! -f "$name.$ext" ]; then
			echo "FAIL $name: $name.$ext is missing"
			ok=1
		elif ! cmp -s "$name.$ext" "$TMP/$ext"; then
			echo "FAIL $name: $ext differs"
			diff -u "$name.$ext" "$TMP/$ext" | head -n 40
			ok=1
		fi
	done
	[ $ok = 0 ] && echo "ok $name"
	return $ok
}

part_golden() {
	gp=0
	gf=0
	if [ ! -x "$BUILD/podwall" ]; then
		echo "golden: 0 passed, 1 failed (not built: $BUILD/podwall)"
		failed=$((failed + 1))
		return
	fi
	for args in tests/golden/*.args; do
		[ -e "$args" ] || continue
		if golden_one "$(basename "$args" .args)"; then
			gp=$((gp + 1))
		else
			gf=$((gf + 1))
		fi
	done
	echo "golden: $gp passed, $gf failed"
	passed=$((passed + gp))
	failed=$((failed + gf))
}

# fuzz_one NAME: a short libFuzzer run on a copy of its seed corpus.
fuzz_one() {
	bin=$FUZZBUILD/fuzz/$1
	corpus=$TMP/corpus-$1
	mkdir -p "$corpus" "$TMP/artifacts-$1"
	if [ -d "fuzz/corpus/${1#fuzz_}" ]; then
		cp -R "fuzz/corpus/${1#fuzz_}/." "$corpus/"
	fi
	if [ ! -x "$bin" ]; then
		echo "FAIL $1: not built ($bin)"
		return 1
	fi
	limited 120 "$bin" -max_total_time=10 -timeout=5 -rss_limit_mb=2048 \
		-artifact_prefix="$TMP/artifacts-$1/" "$corpus" \
		>"$TMP/fuzz.log" 2>&1
	status=$?
	if [ $status -ne 0 ]; then
		echo "FAIL $1: exit status $status"
		tail -n 40 "$TMP/fuzz.log"
		return 1
	fi
	echo "ok $1: $(grep -E '^Done [0-9]+ runs' "$TMP/fuzz.log" | tail -n 1)"
}

# Every tests/netns/*.sh: real kernels, real packets. They need root (CI
# runs as root); elsewhere they are reported as skipped, not passed.
part_netns() {
	for script in tests/netns/*.sh; do
		[ -e "$script" ] || continue
		name=$(basename "$script" .sh)
		if [ "$(id -u)" != 0 ]; then
			echo "$name: 0 passed, 0 failed (skipped: needs root)"
			continue
		fi
		BUILD="$BUILD" SHARED="$SHARED" run "$name" sh "$script"
	done
}

part_fuzz() {
	fp=0
	ff=0
	for src in fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		if fuzz_one "$(basename "$src" .c)"; then
			fp=$((fp + 1))
		else
			ff=$((ff + 1))
		fi
	done
	echo "fuzz: $fp passed, $ff failed"
	passed=$((passed + fp))
	failed=$((failed + ff))
}

parts=${*:-unit conformance golden netns fuzz}
for part in $parts; do
	case $part in
	unit | conformance | golden | netns | fuzz) ;;
	*)
		echo "usage: sh tests/run.sh [unit|conformance|golden|netns|fuzz]..." >&2
		exit 2
		;;
	esac
done
for part in $parts; do
	t_part=$(date +%s)
	"part_$part"
	echo "time $part: $(($(date +%s) - t_part)) s"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
