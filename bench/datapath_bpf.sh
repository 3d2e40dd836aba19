#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# What an eBPF datapath would cost per packet, measured as variants of the
# datapath benchmark (bench/datapath.sh), in the same alternating rounds
# as its configurations A (no table), B (conntrack floor) and C (podwall).
# Not part of `make bench`: it needs clang (-target bpf), libbpf and
# bpftool, which it installs itself when missing (Debian, as root).
#
# Each variant has configuration B's table (`ct state established,related
# accept` in the forward hook: netfilter conntrack stays, as any stateful
# datapath keeps it) plus tc BPF programs on the node side of the two
# pods' veths (bench/bpf/policy.bpf.c, loaded by bench/bpf/dp_bpf.c):
#
#   K  kfunc   every hook: bpf_skb_ct_lookup(), then the side's two map
#              lookups (pod -> class, class + peer + port -> allowed)
#   L  maps    the map lookups alone, no conntrack query, only on the
#              flow's two hooks (client's tc ingress, server's tc egress)
#   M  nfct    tc ingress as K; tc egress reads the skb's own conntrack
#              (skb->_nfct) instead of looking it up
#   N  egress  one program at the destination's tc egress judges both
#              sides (source by {ingress ifindex, saddr}), skb's conntrack
#   P  pass    four hooks whose program only returns TC_ACT_OK
#   Q  pass1   the same on the two tc egress hooks only (N's hooks)
#   R, S, T    Q, N and M attached with tcx links (Linux 6.6) instead of
#              clsact and cls_bpf: what the tc layer itself costs
#   U  cache   S with a verdict cache in front of the judgement: an LRU
#              hash of admitted flows tagged with the policy generation
#
# Environment: BUILD (default build: where `make all` put podwall and
# bench/*; the BPF object and loader go to BUILD/bench/bpf), CONFIGS
# (default "A B C K L M N P Q R S T U"), RATIOS, and everything
# datapath.sh reads (REPS, DURATION, CPU; SKIP_APPLY defaults to 1 here).
# STATS=1 turns on kernel.bpf_stats_enabled while it runs (it costs two
# clock reads per program run, so not for the ratios) and prints each
# program's run_time_ns / run_cnt.
#
# Exit status: datapath.sh's, or 1 if building failed.

# The SETUP_X commands expand in datapath.sh's sh -c; the package list is
# split on purpose; cleanup runs from a trap.
# shellcheck disable=SC2016,SC2086,SC2317
set -u

BUILD=${BUILD:-build}
STATS=${STATS:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mkdir -p "$BUILD/bench/bpf" && cd "$BUILD/bench/bpf" && pwd) || exit 1
BUILD_ABS=$(cd "$BUILD" && pwd) || exit 1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/podwall-dpbpf.XXXXXX") || exit 1
WATCH=
STATS_OLD=
PINS=

die() {
	echo "datapath_bpf: $*" >&2
	exit 1
}

cleanup() {
	[ -z "$WATCH" ] || kill "$WATCH" 2>/dev/null
	[ -z "$STATS_OLD" ] || sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	[ -z "$PINS" ] || umount "$PINS"
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ "$(id -u)" != 0 ]; then
	echo "datapath_bpf: skipped: needs root (network namespaces, BPF)"
	exit 0
fi

# deps: clang, libbpf-dev (headers, libbpf.so), bpftool (vmlinux.h).
deps() {
	missing=
	for p in clang libbpf-dev bpftool; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "datapath_bpf: installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null 2>&1 || {
		apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $missing >/dev/null
	}
}

# build: vmlinux.h from the running kernel's BTF (so the CO-RE types and
# kfunc prototypes match it), the BPF object, the loader.
build() {
	[ -r /sys/kernel/btf/vmlinux ] || die "the kernel has no BTF"
	bpftool btf dump file /sys/kernel/btf/vmlinux format c \
		>"$OUT/vmlinux.h" || die "bpftool btf dump failed"
	clang -O2 -g -target bpf -Wall -I"$OUT" -I"$HERE/bpf" \
		-c "$HERE/bpf/policy.bpf.c" -o "$OUT/policy.bpf.o" ||
		die "compiling policy.bpf.c failed"
	${CC:-cc} -O2 -Wall -Wextra -Wshadow -Wformat=2 \
		-Wmissing-prototypes -Wstrict-prototypes -I"$HERE/bpf" \
		"$HERE/bpf/dp_bpf.c" -o "$OUT/dp_bpf" -lbpf ||
		die "building dp_bpf failed"
}

deps || die "installing clang, libbpf-dev, bpftool failed"
build

INFO=$WORK/progs
: >"$INFO"
# Configuration B's table: it also turns netfilter conntrack on in the
# node (no ruleset using ct, no conntrack, and the kfunc finds nothing).
cat >"$WORK/b.nft" <<'EOF'
table inet dpbench {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept
	}
}
EOF
# tcx links live in a bpffs of this run; unmounting it frees them.
mkdir "$WORK/bpffs" || die "mkdir $WORK/bpffs failed"
mount -t bpf bpf "$WORK/bpffs" || die "mounting a bpffs failed"
PINS=$WORK/bpffs
# setup MODE [LOADER OPTIONS]: the command datapath.sh runs for a variant:
# B's table, the programs, and (modes that enforce) the proof that they
# do: a connection to a port no rule allows ($DENIED) must not get
# through. datapath.sh names the pods after the node: ...n, ...c, ...s.
DENIED=9002
setup() {
	printf '%s' 'ip netns exec "$NS" nft -f '"$WORK/b.nft"' &&' \
		' ip netns exec "$NS" '"$OUT/dp_bpf --info $INFO ${2:-}" \
		" $OUT/policy.bpf.o $1"' "$IF_CLIENT" "$IF_SERVER"' \
		' "$CLIENT_IP" "$SERVER_IP"'
	case $1 in pass*) return ;; esac
	printf '%s' ' && ip netns exec "${NS%n}c" '"$BUILD_ABS/bench/dp_tcpconn" \
		' --seconds 0.5 --accept-in "${NS%n}s" "$SERVER_IP"' \
		" $DENIED | grep -q '^connections=0 '"
}
SETUP_K=$(setup kfunc)
SETUP_L=$(setup maps)
SETUP_M=$(setup nfct)
SETUP_N=$(setup egress)
SETUP_P=$(setup pass)
SETUP_Q=$(setup pass1)
SETUP_R=$(setup pass1 "--tcx $PINS")
SETUP_S=$(setup egress "--tcx $PINS")
SETUP_T=$(setup nfct "--tcx $PINS")
SETUP_U=$(setup cache "--tcx $PINS")
export SETUP_K SETUP_L SETUP_M SETUP_N SETUP_P SETUP_Q SETUP_R SETUP_S \
	SETUP_T SETUP_U
export CONFIGS="${CONFIGS:-A B C K L M N P Q R S T U}"
export RATIOS="${RATIOS:-K/B L/B M/B N/B P/B Q/B R/B S/B T/B U/B K/P M/P N/Q \
S/R R/Q S/N T/M U/S}"
export SKIP_APPLY="${SKIP_APPLY:-1}"
export BUILD

# snapshots: every second, the stats of every program, one JSON line a
# snapshot: a program's last counts are in the last snapshot before its
# veth went (clsact) or the bpffs was unmounted (tcx).
snapshots() {
	while :; do
		bpftool -j prog show >>"$WORK/snaps" 2>/dev/null
		echo >>"$WORK/snaps"
		sleep 1
	done
}

if [ "$STATS" = 1 ]; then
	STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	snapshots &
	WATCH=$!
fi

uptime
sh "$HERE/datapath.sh"
rc=$?
uptime

echo
echo "BPF programs attached (insns: translated instructions;" \
	"verified: processed by the verifier):"
cat "$INFO"
if [ "$STATS" = 1 ] && [ -s "$WORK/snaps" ]; then
	echo
	echo "bpf_stats (UDP and TCP runs together), per program id:"
	python3 - "$WORK/snaps" "$INFO" <<'EOF'
import json, sys
progs = {}
for line in open(sys.argv[1]):
    try:
        snap = json.loads(line)
    except ValueError:
        continue
    for p in snap:
        if p.get("run_cnt", 0) >= progs.get(p["id"], {}).get("run_cnt", 0):
            progs[p["id"]] = p
for line in open(sys.argv[2]):
    f = dict(kv.split("=", 1) for kv in line.split())
    p = progs.get(int(f["id"]), {})
    cnt, ns = p.get("run_cnt", 0), p.get("run_time_ns", 0)
    print("  %-6s %-6s %-14s %-13s id=%-5s runs=%-9d %6.1f ns/run" % (
        f["mode"], f["attach"], f["hook"], f["prog"], f["id"], cnt,
        ns / cnt if cnt else 0))
EOF
fi
exit $rc
