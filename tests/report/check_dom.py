#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the DOM of a podwall report as Chromium rendered it (--dump-dom)
against `podwall matrix -o json` of the same manifests.

    check_dom.py DOM.html MATRIX.json [--diff DIFF.json] [TEXT]...

The matrix is grouped into workloads independently of podwall: a pod
"ns/x-..." belongs to the template "ns/b[Kind]" with the longest b such
that x starts with "b-", any other pod is a workload of its own. Then:
every workload must be a <g class="workload" data-name>, and the edges
<g class="edge" data-from data-to data-ports> must be exactly the pairs of
workloads with some allowed pod pair, with the ports on which one is.
With --diff (`podwall diff EMPTY MANIFESTS -o json`: every allowed
connection as added), the arrows to and from addresses outside the cluster,
<g class="edge external">, must be exactly its groups with a CIDR end (a
namespace end standing for each of its workloads; a node may join CIDRs,
"0.0.0.0/0 ::/0"), with the same ports. Each TEXT must appear, as text, in the page (hostile names are shown, not
interpreted). Prints one line per failed check and "dom checks: N passed, N failed" last;
exit status 1 when one failed.
"""
import ipaddress
import json
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.workloads = []
        self.edges = []
        self.external = []
        self.tags = {}
        self.heat_rows = 0
        self.in_heat = False
        self.text = []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        cls = (a.get("class") or "").split()
        if tag == "g" and "workload" in cls:
            self.workloads.append(a.get("data-name"))
        if tag == "g" and "external" in cls:
            for f in a.get("data-from").split():
                for t in a.get("data-to").split():
                    self.external.append(
                        (f, t, tuple((a.get("data-ports") or "").split())))
        elif tag == "g" and "edge" in cls:
            self.edges.append((a.get("data-from"), a.get("data-to"),
                               frozenset((a.get("data-ports") or "").split())))
        if tag == "table" and "heat" in cls:
            self.in_heat = True
        if tag == "tr" and self.in_heat:
            self.heat_rows += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_heat = False


def workload_of(pods):
    tmpl = [p for p in pods if p.endswith("]")]
    out = {}
    for p in pods:
        if p.endswith("]"):
            out[p] = p
            continue
        ns, name = p.split("/", 1)
        best = None
        for t in tmpl:
            tns, tname = t.split("/", 1)
            base = tname[:tname.index("[")]
            if tns == ns and name.startswith(base + "-"):
                if best is None or len(base) > best[0]:
                    best = (len(base), t)
        out[p] = best[1] if best else p
    return out


def expected_edges(m, wl):
    edges = {}
    for port, rows in m["matrix"].items():
        for src, row in rows.items():
            for dst, ok in row.items():
                if ok and src != dst:
                    edges.setdefault((wl[src], wl[dst]), set()).add(port)
    return {(a, b, frozenset(p)) for (a, b), p in edges.items()}


def is_cidr(name):
    try:
        ipaddress.ip_network(name)
        return True
    except ValueError:
        return False


def expected_external(diff, workloads):
    out = set()
    for g in diff["added"]:
        f, t = g["from"], g["to"]
        if is_cidr(f) == is_cidr(t):
            continue
        end = t if is_cidr(f) else f
        wls = [w for w in workloads if w.split("/", 1)[0] == end] or [end]
        for w in wls:
            a, b = (f, w) if is_cidr(f) else (w, t)
            out.add((a, b, tuple(g["ports"])))
    return out


def main():
    dom = Dom()
    with open(sys.argv[1], encoding="utf-8") as f:
        dom.feed(f.read())
    with open(sys.argv[2], encoding="utf-8") as f:
        m = json.load(f)
    texts = sys.argv[3:]
    diff = None
    if texts[:1] == ["--diff"]:
        with open(texts[1], encoding="utf-8") as f:
            diff = json.load(f)
        texts = texts[2:]
    wl = workload_of(m["pods"])
    want_wl = set(wl.values())
    want_edges = expected_edges(m, wl)
    got_edges = set(dom.edges)
    checks = [
        ("every workload drawn once", sorted(dom.workloads) == sorted(want_wl)),
        ("no edge drawn twice", len(dom.edges) == len(got_edges)),
        ("every allowed edge drawn with its ports",
         not (want_edges - got_edges)),
        ("no edge drawn that the matrix denies", not (got_edges - want_edges)),
        ("some edges at all", len(want_edges) > 0),
        ("heat map has a row per workload (+2 header rows)",
         dom.heat_rows == len(want_wl) + 2),
        ("no script element", "script" not in dom.tags),
        ("no img, iframe, link or object element",
         not any(t in dom.tags for t in ("img", "iframe", "link", "object"))),
    ]
    if diff is not None:
        want_ext = expected_external(diff, want_wl)
        got_ext = set(dom.external)
        checks.append(("every connection with the outside drawn",
                       not (want_ext - got_ext)))
        checks.append(("no connection with the outside that diff lacks",
                       not (got_ext - want_ext)))
        checks.append(("no connection with the outside drawn twice",
                       len(got_ext) == len(dom.external)))
        if want_ext != got_ext:
            print("  outside, missing:", sorted(want_ext - got_ext))
            print("  outside, unexpected:", sorted(got_ext - want_ext))
    text = "".join(dom.text)
    for want in texts:
        checks.append(("text shown as text: " + want, want in text))
    failed = 0
    for name, ok in checks:
        if not ok:
            failed += 1
            print("FAIL dom: " + name)
    if want_edges - got_edges:
        print("  missing:", sorted(want_edges - got_edges))
    if got_edges - want_edges:
        print("  unexpected:", sorted(got_edges - want_edges))
    print("dom checks: %d passed, %d failed" % (len(checks) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
