#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Policy-as-code on the scale workload (issue 5, item 6): podwall lint and
# podwall diff against full all-pairs matrices, in one run on this machine.
#
#   lint:    podwall lint CLUSTER                  target <= 2x matrix
#   diff:    podwall diff OLD NEW                  target <= 2x two matrices
#   matrix:  podwall matrix --count CLUSTER        over the default ports:
#            every container port and every port a policy names
#
# NEW is OLD plus one policy in one namespace (network-policy-perf-0), the
# "one namespace's policies changed" of the issue. The three commands take
# turns in REPS rounds; medians, min and max of wall time are printed, and
# the ratios of the medians.
#
# Environment: BUILD=build, REPS=5, GEN_ARGS= (extra gen_scale options).
# shellcheck disable=SC2086
set -uf

BUILD=${BUILD:-build}
REPS=${REPS:-5}
GEN_ARGS=${GEN_ARGS:-}
PODWALL=$BUILD/podwall
GEN=$BUILD/bench/gen_scale

die() {
	echo "analysis: $*" >&2
	exit 1
}

for f in "$PODWALL" "$GEN"; do
	[ -x "$f" ] || die "$f not found: build first (make O=$BUILD all)"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-analysis.XXXXXX") || die "mktemp"
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM HUP

mkdir -p "$TMP/old" "$TMP/new"
"$GEN" $GEN_ARGS "$TMP/old/scale.yaml" || die "gen_scale failed"
cp "$TMP/old/scale.yaml" "$TMP/new/scale.yaml"
cat >"$TMP/new/change.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-monitoring
  namespace: network-policy-perf-0
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: network-policy-perf-1
    ports:
    - port: 9100
YAML

# wall NAME EXPECTED_STATUS CMD...: appends the wall seconds to TMP/NAME.
wall() {
	name=$1
	want=$2
	shift 2
	t0=$(date +%s%N)
	"$@" >"$TMP/out" 2>&1
	status=$?
	t1=$(date +%s%N)
	[ "$status" = "$want" ] ||
		die "$name: exit status $status, expected $want: $(head -3 "$TMP/out")"
	echo "$(((t1 - t0) / 1000000))" >>"$TMP/$name"
}

# stats NAME: "median min max" in milliseconds.
stats() {
	sort -n "$TMP/$1" | awk '{ v[NR] = $1 }
		END { printf "%d %d %d\n", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

echo "analysis: $(grep -c '^kind: NetworkPolicy' "$TMP/old/scale.yaml") policies, $REPS rounds"
i=0
while [ "$i" -lt "$REPS" ]; do
	wall matrix 0 "$PODWALL" matrix --count "$TMP/old"
	# lint exits 1 when it finds errors (the workload blocks DNS).
	wall lint "$("$PODWALL" lint "$TMP/old" >/dev/null 2>&1; echo $?)" \
		"$PODWALL" lint "$TMP/old"
	wall diff 1 "$PODWALL" diff "$TMP/old" "$TMP/new"
	i=$((i + 1))
done

set -- $(stats matrix)
m=$1
printf '%-28s %8s %8s %8s %8s %8s\n' command median min max ratio target
for name in matrix lint diff; do
	set -- $(stats $name)
	case $name in
	matrix) base=$m target="" ;;
	lint) base=$m target="<= 2x" ;;
	diff) base=$((2 * m)) target="<= 2x (of 2)" ;;
	esac
	ratio=$(awk -v a="$1" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')
	printf '%-28s %6sms %6sms %6sms %8s %s\n' "$name" "$1" "$2" "$3" \
		"$ratio" "$target"
done
