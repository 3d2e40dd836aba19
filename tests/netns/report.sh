#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# podwall report in a real browser: the shop example rendered to HTML and
# opened in headless Chromium (Debian's chromium package; `make test`
# installs it). It needs no network namespace, but lives here because the
# suite runs every script of tests/netns/ (as root, which Chromium needs
# --no-sandbox for).
#
#   sh tests/netns/report.sh           (from anywhere; BUILD=build-san)
#
# Checks: the page fetches nothing (no URL, no @import, no external src,
# no script); the DOM Chromium built has every workload and exactly the
# allowed workload edges of `podwall matrix -o json`, grouped independently
# by tests/report/check_dom.py, and exactly the connections with addresses
# outside the cluster of `podwall diff` against an empty cluster; the screenshot is not blank
# (tests/report/check_png.py counts colours, no pixel comparison); hostile
# expectation and file names are shown as text; the other formats are
# written and well-formed. Temporary files are removed on every exit
# (tests/netns/lib.sh). Prints "report: N passed, N failed".

set -u
cd "$(dirname "$0")/../.." || exit 2
PW_TEST=report
. tests/netns/lib.sh

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# browser ARGS...: headless Chromium with a fresh profile and nothing
# that talks to the network on its own.
browser() {
	profile=$(mktemp -d "$TMP/profile.XXXXXX") || return 1
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$profile" "$@" 2>>"$TMP/chromium.log"
	st=$?
	rm -rf "$profile"
	return $st
}

# offline FILE: nothing in the page can make the browser fetch.
offline() {
	! grep -qiE 'https?://|@import|<script|<link|<iframe|<img|src=|url\([^#]' "$1"
}

if [ ! -x "$CHROMIUM" ]; then
	fail "no browser: $CHROMIUM is missing (apt-get install chromium," \
		"which 'make test' does)"
	finish
fi

# ---- the shop -------------------------------------------------------------

check "report writes the shop page" "$PODWALL" report -f examples/shop \
	--expect tests/data/assert/shop.yaml -o "$TMP/shop.html"
check "matrix of the shop" sh -c "'$PODWALL' matrix -f examples/shop \
	-o json >'$TMP/matrix.json'"
check "diff of the shop against nothing" sh -c "'$PODWALL' diff \
	tests/report/empty.yaml examples/shop -o json >'$TMP/diff.json'; \
	[ \$? -eq 1 ]"
check "the page fetches nothing" offline "$TMP/shop.html"
browser --dump-dom "file://$TMP/shop.html" >"$TMP/dom.html" ||
	fail "chromium --dump-dom failed (see below)"
check "the DOM has every workload and allowed edge" \
	python3 tests/report/check_dom.py "$TMP/dom.html" "$TMP/matrix.json" \
	--diff "$TMP/diff.json" "12 of 12 expectations hold" "production is default-deny"
browser --window-size=1280,1000 --screenshot="$TMP/shot.png" \
	"file://$TMP/shop.html" >/dev/null ||
	fail "chromium --screenshot failed (see below)"
check "the screenshot is not blank" \
	python3 tests/report/check_png.py "$TMP/shot.png" 16 20

# ---- hostile names --------------------------------------------------------

EVIL="$TMP/<img src=x onerror=alert(1)>"
mkdir "$EVIL" && cp tests/report/hostile/cluster.yaml "$EVIL/"
check "report with hostile names" "$PODWALL" report -f "$EVIL" \
	--expect tests/report/hostile/expect.yaml -o "$TMP/evil.html"
check "matrix of the hostile cluster" sh -c "'$PODWALL' matrix -f '$EVIL' \
	-o json >'$TMP/evil.json'"
browser --dump-dom "file://$TMP/evil.html" >"$TMP/evil-dom.html" ||
	fail "chromium --dump-dom of the hostile page failed"
check "hostile names are text, not markup" \
	python3 tests/report/check_dom.py "$TMP/evil-dom.html" "$TMP/evil.json" \
	"</td></tr></table><script>alert(1)</script>" \
	"<img src=x onerror=alert(2)> \" ' & <svg onload=alert(3)>" \
	"<img src=x onerror=alert(1)>/cluster.yaml"

# ---- the other formats ----------------------------------------------------

check "junit is well-formed XML" sh -c "'$PODWALL' report -f examples/shop \
	--expect tests/report/hostile/expect.yaml -o '$TMP/r.xml' 2>/dev/null;
	python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' \
	'$TMP/r.xml'"
check "format from the extension: .md" sh -c "'$PODWALL' report \
	-f examples/shop -o '$TMP/r.md' && grep -q '^# podwall report' '$TMP/r.md'"
check "format from the extension: .dot" sh -c "'$PODWALL' report \
	-f examples/shop -o '$TMP/r.dot' && grep -q '^digraph podwall {' '$TMP/r.dot'"

if [ "$failed" -ne 0 ] && [ -s "$TMP/chromium.log" ]; then
	echo "chromium said:"
	tail -n 20 "$TMP/chromium.log"
fi
finish
