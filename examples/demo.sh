#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# A guided tour of podwall on the shop example (examples/shop): check the
# manifests, ask why a few connections are allowed or denied, and print
# the reachability matrix. As root, the shop is then built in the lab
# (network namespaces on this machine, enforced by the kernel through
# podwall's nftables table) and real connections give the matrix again,
# next to the engine's; without root that part is skipped, with the reason.
#
#   PODWALL=build/podwall sh examples/demo.sh      (what `make demo` runs)
#
# Run from the repository root. Every answer the tour shows is also
# checked: the script exits 1 when a command's exit status is not the one
# the shop's policies call for, 2 when podwall cannot be run at all.

PODWALL=${PODWALL:-build/podwall}
SHOP=${SHOP:-examples/shop}

failed=0
checked=0

if [ ! -x "$PODWALL" ]; then
	echo "demo: $PODWALL is not an executable (build it with make)" >&2
	exit 2
fi
if [ ! -d "$SHOP" ]; then
	echo "demo: $SHOP not found (run from the repository root)" >&2
	exit 2
fi

heading() {
	printf '\n=== %s\n\n' "$*"
}

say() {
	printf '%s\n' "$*"
}

# expect STATUS ARGS...: shows and runs `podwall ARGS...`, and counts a
# failure unless it exits with STATUS.
expect() {
	want=$1
	shift
	printf '\n$ podwall %s\n' "$*"
	"$PODWALL" "$@"
	got=$?
	checked=$((checked + 1))
	if [ "$got" -ne "$want" ]; then
		echo "demo: FAILED: expected exit status $want, got $got" >&2
		failed=$((failed + 1))
	fi
}

# The pods the questions are about.
PROD_FRONTEND=shop-prod/frontend-6f9d7c8b5-2xkqf
PROD_BACKEND=shop-prod/backend-84c5d6f7b9-q4wtn
PROD_DB=shop-prod/postgres-0
PROD_PAYMENTS=shop-prod/payments-5b7f6d9c4-vr6js
DEV_BACKEND=shop-dev/backend-59d8f7c6b-x7hzc
INGRESS=ingress-nginx/ingress-nginx-controller-7c6974c4d8-lh9vz

heading "1. Are the manifests valid?"
say "podwall reads every YAML file under $SHOP and validates it the way the"
say "API server would. Anything it rejects would stop the analysis."
expect 0 check "$SHOP"

heading "2. The storefront calls the API: allowed"
say "The frontend's policy lets it out to the backend on 8080, and the"
say "backend's policy lets the frontend in on the port named \"http\"."
expect 0 explain --exit-code -f "$SHOP" \
	--from "$PROD_FRONTEND" --to "$PROD_BACKEND" --port 8080

heading "3. Visitors come in through the ingress controller: allowed"
say "Asked of the frontend Service (port 80, targetPort http): podwall"
say "follows the Service to its pods and judges the translated port."
expect 0 explain --exit-code -f "$SHOP" \
	--from "$INGRESS" --to shop-prod/svc/frontend --port 80

heading "4. The storefront goes straight to the database: denied"
say "Only the backend may reach PostgreSQL, and the frontend may only"
say "reach the backend and DNS."
expect 1 explain --exit-code -f "$SHOP" \
	--from "$PROD_FRONTEND" --to "$PROD_DB" --port 5432/TCP

heading "5. Development reaches into production: denied"
say "The dev backend may talk to a database, but only the one in its own"
say "namespace: a podSelector without a namespaceSelector never leaves it."
expect 1 explain --exit-code -f "$SHOP" \
	--from "$DEV_BACKEND" --to "$PROD_DB" --port 5432/TCP

heading "6. Everyone can resolve names: allowed"
say "allow-dns opens UDP and TCP 53 to the kube-dns pods for every pod."
expect 0 explain --exit-code -f "$SHOP" \
	--from "$PROD_BACKEND" --to kube-system/svc/kube-dns --port 53/UDP

heading "7. Payments calls the payment provider (203.0.113.0/24): allowed"
say "The same answer as JSON, the form scripts and CI jobs read:"
expect 0 explain --exit-code -o json -f "$SHOP" \
	--from "$PROD_PAYMENTS" --to 203.0.113.10 --port 443

heading "8. Payments calls anywhere else on the Internet: denied"
say "Its egress is limited to the provider's network (and DNS)."
expect 1 explain --exit-code -f "$SHOP" \
	--from "$PROD_PAYMENTS" --to 198.51.100.7 --port 443

heading "9. The whole picture: who can open a connection to whom"
say "Every pod against every pod, on the API port and the database port."
say "Workload templates (name[Kind]) stand for pods not yet running."
expect 0 matrix -f "$SHOP" --port 8080 --port 5432

heading "10. The same picture from real packets"
LAB_PORTS="--port 8080 --port 5432 --port 53/UDP"
if [ "$(id -u)" != 0 ]; then
	say "Skipped: the lab builds the shop out of network namespaces and"
	say "nftables tables, which needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)."
	say "Run \`sudo make demo\` to see it."
else
	say "podwall builds the shop on this machine: one network namespace per"
	say "pod, one per node spec.nodeName names, a server in every pod on"
	say "each port, and on every node the ruleset \`podwall apply\` would"
	say "load. Then every pod opens a real connection to every other pod:"
	say "TCP to the API and the database, UDP to DNS. Each table shows what"
	say "the traffic did next to what the engine says: + and . agree"
	say "(connected, dropped); A or D would be a disagreement."
	# shellcheck disable=SC2086
	expect 0 lab run $LAB_PORTS "$SHOP"
fi

heading "Summary"
if [ "$failed" -ne 0 ]; then
	say "demo: $failed of $checked answers were not what the shop's" \
		"policies call for"
	exit 1
fi
say "demo: all $checked answers are what the shop's policies call for"
exit 0
