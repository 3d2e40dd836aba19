#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The Kubernetes API source of podwalld against the test API server
# (tests/kube/): builds the test client from the agent's kube*.c and
# libpodwall, makes a self-signed certificate for 127.0.0.1, runs the unit
# checks and every fault scenario. Needs no network namespace: it lives
# here because this is where the suite's integration scripts run.
#
#   BUILD=build-san sh tests/netns/kube.sh
#
# Closing line: "kube: N passed, N failed".

set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build-san}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-kube.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 2' INT TERM HUP

fail() {
	echo "kube: $1"
	echo "kube: 0 passed, 1 failed"
	exit 1
}

[ -f "$BUILD/libpodwall.a" ] || fail "not built: $BUILD/libpodwall.a"
command -v openssl >/dev/null 2>&1 || fail "openssl is not installed"
command -v python3 >/dev/null 2>&1 || fail "python3 is not installed"

# The client is built the way $BUILD was: sanitized when the library is.
CC=${CC:-cc}
SAN=
if nm "$BUILD/libpodwall.a" 2>/dev/null | grep -q __asan_init; then
	CC=clang
	SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
fi
PKGS="yaml-0.1 libnftables libnftnl libmnl libcurl jansson"
# shellcheck disable=SC2046,SC2086
$CC -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unused-parameter \
	$SAN -Iinclude -Icmd/podwalld $(pkg-config --cflags $PKGS) \
	-o "$TMP/kubetest" tests/kube/kubetest.c cmd/podwalld/kube_config.c \
	cmd/podwalld/kube_json.c cmd/podwalld/kube_watch.c \
	cmd/podwalld/kube_src.c cmd/podwalld/log.c "$BUILD/libpodwall.a" \
	$(pkg-config --libs $PKGS) -lm -lpthread >"$TMP/cc.log" 2>&1 ||
	{ cat "$TMP/cc.log"; fail "cannot build the test client"; }

# cert NAME SUBJECT [EXT]: a self-signed EC certificate, made for this run.
cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 1 -subj "$2" ${3:+-addext "$3"} \
		-keyout "$TMP/$1-key.pem" -out "$TMP/$1.pem" \
		>"$TMP/ssl.log" 2>&1 ||
		{ cat "$TMP/ssl.log"; fail "cannot make a certificate"; }
}
cert server /CN=127.0.0.1 subjectAltName=IP:127.0.0.1
cert client /CN=podwalld

# The servers listen on 127.0.0.1: no proxy of the environment in between.
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

"$TMP/kubetest" unit >"$TMP/unit.log" 2>&1
ustatus=$?
cat "$TMP/unit.log"
TMPDIR=$TMP python3 tests/kube/run.py "$TMP/kubetest" "$TMP/server.pem" \
	"$TMP/server-key.pem" "$TMP/client.pem" "$TMP/client-key.pem" \
	>"$TMP/run.log" 2>&1
rstatus=$?
cat "$TMP/run.log"

passed=0
failed=0
for log in "$TMP/unit.log" "$TMP/run.log"; do
	line=$(grep -E '^kube_[a-z]+: [0-9]+ passed, [0-9]+ failed$' "$log" |
		tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + $(echo "$line" | sed 's/.*: \([0-9]*\) passed.*/\1/')))
	failed=$((failed + $(echo "$line" | sed 's/.* \([0-9]*\) failed$/\1/')))
done
if [ $ustatus -ne 0 ] || [ $rstatus -ne 0 ]; then
	[ $failed -eq 0 ] && failed=1
fi
echo "kube: $passed passed, $failed failed"
[ $failed -eq 0 ]
