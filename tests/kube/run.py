# SPDX-License-Identifier: Apache-2.0
"""The watch client against the test API server, one fault per scenario.

    python3 tests/kube/run.py KUBETEST CERT KEY CLIENT_CERT CLIENT_KEY

KUBETEST is the test client (tests/kube/kubetest.c), CERT and KEY a
self-signed certificate for 127.0.0.1, CLIENT_CERT and CLIENT_KEY a
self-signed client certificate. For each scenario: a server with a
cluster and a fault plan (server.py), a kubeconfig, the client run until it
has printed the events the scenario ends with; then the events of each kind
are compared with what the scenario expects, every object handed over must
load through podwall's strict decoder, and the requests the server saw are
checked (resourceVersion to resume from, pagination, backoff). Prints
"ok NAME" or "FAIL NAME: why", then "kube_watch: N passed, N failed".
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Cluster, Server, namespace, pod, policy  # noqa: E402

KUBETEST, CERT, KEY, CLIENT_CERT, CLIENT_KEY = sys.argv[1:6]
TMP = tempfile.mkdtemp(prefix="kube-run.")
END = pod("test", "end-0", "10.9.9.9")
UNTIL_END = "UPSERT Pod test/end-0"
# The whole run stays within this, however the client misbehaves.
DEADLINE = time.monotonic() + 40
LAST = {"out": "", "err": ""}  # of the last client run, for failures
FAST = ["--backoff-min", "100", "--backoff-max", "400"]


class Failed(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Failed(why)


def base_cluster():
    """Namespaces rv 101-103, pods 104-106, a policy 107."""
    c = Cluster()
    for ns in ("dev", "kube-system", "shop"):
        c.add("namespaces", namespace(ns))
    c.add("pods", pod("dev", "api-1", "10.1.1.5"))
    c.add("pods", pod("shop", "web-1", "10.1.0.5"))
    c.add("pods", pod("shop", "web-2", "10.1.0.6", node="node-2"))
    c.add("networkpolicies", policy("shop", "web"))
    return c


INITIAL_PODS = ["RESET Pod", "UPSERT Pod dev/api-1 rv=104",
                "UPSERT Pod shop/web-1 rv=105", "UPSERT Pod shop/web-2 rv=106",
                "SYNCED Pod"]


def end_then_follow(r):
    r.cluster.add("pods", END)
    r.follow()


def kubeconfig(server, token="test-token", ca="file", client=False):
    cluster = "    server: %s\n" % server.url
    if server.scheme == "https" and ca == "file":
        cluster += "    certificate-authority: %s\n" % CERT
    elif server.scheme == "https":
        with open(CERT, "rb") as f:
            cluster += "    certificate-authority-data: %s\n" % \
                base64.b64encode(f.read()).decode()
    if client:
        # one credential as a file, the other inline
        with open(CLIENT_KEY, "rb") as f:
            user = ("{client-certificate: %s, client-key-data: %s}" %
                    (CLIENT_CERT, base64.b64encode(f.read()).decode()))
    else:
        user = "{token: %s}" % token
    text = ("apiVersion: v1\nkind: Config\ncurrent-context: test\n"
            "contexts:\n- name: test\n  context: {cluster: t, user: u}\n"
            "clusters:\n- name: t\n  cluster:\n" + cluster +
            "users:\n- name: u\n  user: %s\n" % user)
    path = os.path.join(TMP, "kubeconfig")
    with open(path, "w") as f:
        f.write(text)
    return path


def run_client(server, until, extra=(), max_ms=8000, **kc):
    left = int((DEADLINE - time.monotonic()) * 1000)
    expect(left > 500, "the time budget of the run is spent")
    max_ms = min(max_ms, left)
    args = [KUBETEST, "watch", "--kubeconfig", kubeconfig(server, **kc),
            "--max-ms", str(max_ms)] + list(extra)
    for u in until:
        args += ["--until", u]
    p = subprocess.run(args, capture_output=True, text=True,
                       timeout=max_ms / 1000 + 10)
    LAST["out"], LAST["err"] = p.stdout, p.stderr
    return p.returncode, p.stdout.splitlines(), p.stderr


def of_kind(lines, kind):
    """The events of one kind, without the load= part."""
    out = []
    for line in lines:
        w = line.split(" ")
        if len(w) > 1 and w[1] == kind:
            out.append(" ".join(x for x in w if not x.startswith("load=")))
    return out


def check_run(status, lines, err, want_status=0):
    expect(status == want_status,
           "client exit status %d, want %d" % (status, want_status))
    expect("Sanitizer" not in err and "runtime error" not in err,
           "sanitizer report")
    bad = [line for line in lines
           if line.startswith("UPSERT") and "load=ok" not in line]
    expect(not bad, "objects podwall cannot load: %s" % bad[:3])


def same(got, want, what):
    expect(got == want, "%s:\n  got  %s\n  want %s" % (what, got, want))


def list_snapshot(token):
    """The resourceVersion a continue token of server.py pins."""
    pad = "=" * (-len(token) % 4)
    return json.loads(base64.urlsafe_b64decode(token + pad))[0]


def watch_params(server, resource, i):
    """The parameters of the i-th watch request to resource."""
    w = server.requests_of(resource, "watch")
    expect(len(w) > i, "only %d watch requests to %s" % (len(w), resource))
    return w[i][3]


# ---- scenarios ------------------------------------------------------------

def basic_paged(tls):
    """Lists in pages of 2, then watches; namespace and policy changes."""
    c = base_cluster()

    def ns_watch(r):
        lab = namespace("dev", {"team": "a"})
        r.cluster.change("namespaces", "MODIFIED", lab)
        r.cluster.add("namespaces", namespace("zz-late"))
        r.follow()

    def np_watch(r):
        r.cluster.change("networkpolicies", "DELETED", policy("shop", "web"))
        r.follow()

    plan = {"pods": {2: end_then_follow}, "namespaces": {2: ns_watch},
            "networkpolicies": {1: np_watch}}
    s = Server(c, plan).start()
    try:
        st, lines, err = run_client(
            s, [UNTIL_END, "DELETE NetworkPolicy shop/web",
                "UPSERT Namespace zz-late"], FAST + ["--page-limit", "2"])
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod test/end-0 rv=%s" % c.rv_of("pods", "test/end-0")],
            "pods")
        ns = of_kind(lines, "Namespace")
        same(ns[:5], ["RESET Namespace", "UPSERT Namespace dev rv=101",
                      "UPSERT Namespace kube-system rv=102",
                      "UPSERT Namespace shop rv=103", "SYNCED Namespace"],
             "namespaces")
        # in the stream's order: the change, then the namespace added after
        expect(len(ns) == 7 and ns[5].startswith("UPSERT Namespace dev ") and
               ns[6].startswith("UPSERT Namespace zz-late "),
               "namespace changes: %s" % ns[5:])
        same(of_kind(lines, "NetworkPolicy"),
             ["RESET NetworkPolicy", "UPSERT NetworkPolicy shop/web rv=107",
              "SYNCED NetworkPolicy", "DELETE NetworkPolicy shop/web"],
             "policies")
        lists = s.requests_of("pods", "list")
        same([(p.get("limit"), "continue" in p) for _, _, _, p in lists],
             [("2", False), ("2", True)], "pod list pages")
        # The watch resumes from the snapshot the list was taken at. The
        # three resources are listed side by side, so the policy and
        # namespace watches may change the cluster (rv 108-110) before or
        # after the pod list starts: read the snapshot back from the continue
        # token of the second page, which pins it.
        snap = list_snapshot(lists[1][3]["continue"])
        expect(107 <= snap < int(c.rv_of("pods", "test/end-0")),
               "pod list snapshot at rv %d" % snap)
        p = watch_params(s, "pods", 0)
        same((p.get("resourceVersion"), p.get("allowWatchBookmarks")),
             (str(snap), "true"), "watch parameters")
        expect(int(p.get("timeoutSeconds", 0)) > 0, "no timeoutSeconds")
    finally:
        s.stop()


def through_src(tls):
    """The source of podwalld itself (its thread, default settings)."""
    c = base_cluster()
    s = Server(c, {"pods": {1: end_then_follow}}, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END, "SYNCED Namespace",
                                        "SYNCED NetworkPolicy"], ["--src"])
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod test/end-0 rv=%s" % c.rv_of("pods", "test/end-0")],
            "pods")
        expect("kube-config" in err and s.url in err,
               "the agent's log does not name the server")
    finally:
        s.stop()


def drop_resume(tls):
    """A connection cut in the middle of an event: resume from the last
    resourceVersion received, lose nothing, replay nothing."""
    c = base_cluster()

    def first(r):
        r.cluster.add("pods", pod("shop", "c-1", "10.1.0.7"))
        r.cluster.change("pods", "MODIFIED",
                         pod("shop", "web-1", "10.1.0.5", labels={"x": "y"}))
        r.pending()
        r.cluster.add("pods", pod("shop", "d-1", "10.1.0.8"))
        r.drop(partial=b'{"type":"ADDED","object":{"metadata":{"na')

    def second(r):
        r.cluster.change("pods", "DELETED", pod("shop", "web-2", "x"))
        end_then_follow(r)

    s = Server(c, {"pods": {1: first, 2: second}}, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END], FAST, ca="data")
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod shop/c-1 rv=108", "UPSERT Pod shop/web-1 rv=109",
            "UPSERT Pod shop/d-1 rv=110", "DELETE Pod shop/web-2",
            "UPSERT Pod test/end-0 rv=112"], "pods")
        same(watch_params(s, "pods", 1).get("resourceVersion"), "109",
             "resumed from")
    finally:
        s.stop()


def bookmark(tls):
    """A bookmark moves the resourceVersion; the stream's clean end (its
    timeoutSeconds) leads to a new watch from there, without a relist."""
    c = base_cluster()

    def first(r):
        r.cluster.add("namespaces", namespace("extra"))   # rv 108
        r.bookmark(108)
        r.end()

    s = Server(c, {"pods": {1: first, 2: end_then_follow}}, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END], FAST)
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod test/end-0 rv=109"], "pods")
        same(watch_params(s, "pods", 1).get("resourceVersion"), "108",
             "watch after the bookmark from")
        same(len(s.requests_of("pods", "list")), 1, "pod lists")
    finally:
        s.stop()


def gone(how):
    """410 Gone (an ERROR event or the HTTP status): relist, with RESET
    before and SYNCED after, so the agent drops what the relist lacks."""
    def scenario(tls):
        c = base_cluster()

        def first(r):
            r.cluster.change("pods", "DELETED", pod("shop", "web-1", "x"))
            r.cluster.add("pods", pod("shop", "new-1", "10.1.0.9"))
            r.cluster.compact()
            if how == "event":
                r.error(410)
                r.end()
            else:
                r.status(410, "Expired")

        s = Server(c, {"pods": {1: first, 3: end_then_follow}},
                   tls=tls).start()
        try:
            st, lines, err = run_client(s, [UNTIL_END], FAST)
            check_run(st, lines, err)
            same(of_kind(lines, "Pod"), INITIAL_PODS + [
                "RESET Pod", "UPSERT Pod dev/api-1 rv=104",
                "UPSERT Pod shop/new-1 rv=109",
                "UPSERT Pod shop/web-2 rv=106", "SYNCED Pod",
                "UPSERT Pod test/end-0 rv=111"], "pods")
            relist = s.requests_of("pods", "list")[1][3]
            expect("continue" not in relist and
                   "resourceVersion" not in relist,
                   "the relist is not a fresh list: %s" % relist)
        finally:
            s.stop()
    return scenario


def continue_expired(tls):
    """The continue token expires between pages: the list starts over."""
    c = base_cluster()
    s = Server(c, {"pods": {1: lambda r: r.list(expire_continue=True),
                            4: end_then_follow}}, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END],
                                    FAST + ["--page-limit", "2"])
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), [
            "RESET Pod", "UPSERT Pod dev/api-1 rv=104",
            "UPSERT Pod shop/web-1 rv=105", "RESET Pod",
            "UPSERT Pod dev/api-1 rv=104", "UPSERT Pod shop/web-1 rv=105",
            "UPSERT Pod shop/web-2 rv=106", "SYNCED Pod",
            "UPSERT Pod test/end-0 rv=108"], "pods")
        lists = s.requests_of("pods", "list")
        same(["continue" in p for _, _, _, p in lists],
             [False, True, False, True], "continue tokens sent")
    finally:
        s.stop()


def http_errors(tls):
    """No answer, 500, then 429 with Retry-After: 1; nothing is emitted
    until a list succeeds, and the retry waits at least Retry-After."""
    c = base_cluster()
    plan = {"pods": {0: lambda r: r.hangup(), 1: lambda r: r.status(500),
                     2: lambda r: r.status(429, "TooManyRequests",
                                           retry_after=1),
                     4: end_then_follow}}
    s = Server(c, plan, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END], FAST)
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod test/end-0 rv=108"], "pods")
        t = [r[0] for r in s.requests_of("pods")]
        expect(t[3] - t[2] >= 0.95,
               "retried %.2f s after Retry-After: 1" % (t[3] - t[2]))
        expect("HTTP 500" in err and "HTTP 429" in err,
               "the failures were not logged")
    finally:
        s.stop()


def keeps_failing(tls):
    """Six failed lists in a row: the source says it keeps failing (the
    agent's /readyz turns false) from the fourth, and works again once a
    list succeeds."""
    c = base_cluster()
    plan = {"pods": {i: (lambda r: r.status(500)) for i in range(6)}}
    plan["pods"][7] = end_then_follow
    s = Server(c, plan, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END, "WORKING"], FAST)
        check_run(st, lines, err)
        marks = [x for x in lines if x in ("FAILING", "WORKING")]
        same(marks, ["FAILING", "WORKING"], "failing marks")
        fail_at = lines.index("FAILING")
        expect(not any(x.endswith(" Pod") for x in lines[:fail_at]),
               "pods were emitted before the lists succeeded")
        pods = [r for r in s.requests_of("pods")]
        expect(len(pods) >= 8, "only %d pod requests" % len(pods))
    finally:
        s.stop()


def bad_event(tls, fault):
    """A pod added (rv 108), then the stream goes wrong with fault(r):
    the watch resumes from 108 without a relist, and nothing half-read is
    emitted."""
    c = base_cluster()

    def first(r):
        r.cluster.add("pods", pod("shop", "c-1", "10.1.0.7"))    # 108
        r.pending()
        fault(r)
        r.end()

    s = Server(c, {"pods": {1: first, 2: end_then_follow}}, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END], FAST)
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod shop/c-1 rv=108", "UPSERT Pod test/end-0 rv=109"],
            "pods")
        same(watch_params(s, "pods", 1).get("resourceVersion"), "108",
             "resumed from")
        same(len(s.requests_of("pods", "list")), 1, "pod lists")
    finally:
        s.stop()


def malformed(tls):
    """A line that is not an event: the stream is dropped and resumed
    from the last good resourceVersion; nothing half-read is emitted."""
    bad_event(tls, lambda r: r.chunk(
        '{"type":"ADDED","object":{"metadata":}\n'))


def slow_split(tls):
    """Events cut into 7-byte chunks (inside UTF-8 characters), sent
    slowly, and two events in one chunk."""
    c = base_cluster()

    def first(r):
        p = pod("shop", "slow-1", "10.1.0.7")
        p["metadata"]["annotations"]["note"] = "d\u00e9j\u00e0 vu \u2713"
        c.add("pods", p)                                          # 108
        line = json.dumps({"type": "ADDED", "object": dict(
            c.objects["pods"][("shop", "slow-1")], kind="Pod",
            apiVersion="v1")}, ensure_ascii=False).encode() + b"\n"
        for i in range(0, len(line), 7):
            r.chunk(line[i:i + 7])
            if i < 70:
                time.sleep(0.01)
        r.cursor = 108
        c.add("pods", pod("shop", "two-1", "10.1.0.8"))           # 109
        c.add("pods", pod("shop", "two-2", "10.1.0.9"))           # 110
        both = b""
        for o in ("two-1", "two-2"):
            both += json.dumps({"type": "ADDED", "object": dict(
                c.objects["pods"][("shop", o)], kind="Pod",
                apiVersion="v1")}).encode() + b"\n"
        r.chunk(both)
        r.cursor = 110
        end_then_follow(r)

    s = Server(c, {"pods": {1: first}}, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END], FAST)
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod shop/slow-1 rv=108", "UPSERT Pod shop/two-1 rv=109",
            "UPSERT Pod shop/two-2 rv=110", "UPSERT Pod test/end-0 rv=111"],
            "pods")
    finally:
        s.stop()


def error_event(tls):
    """An ERROR event other than 410: back off, watch again from the
    same resourceVersion, no relist."""
    bad_event(tls, lambda r: r.error(500))


def empty_watches(tls):
    """Watches that end at once without an event are failures too: the
    client backs off instead of spinning against the server."""
    c = base_cluster()
    plan = {i: (lambda r: r.end()) for i in range(1, 5)}
    plan[5] = end_then_follow
    s = Server(c, {"pods": plan}, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END], FAST)
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod test/end-0 rv=108"], "pods")
        t = [r[0] for r in s.requests_of("pods", "watch")]
        gaps = [b - a for a, b in zip(t, t[1:5])]
        expect(min(gaps) >= 0.045, "watched again after %s s" % gaps)
        same(len(s.requests_of("pods", "list")), 1, "pod lists")
    finally:
        s.stop()


def unauthorized(tls):
    """A wrong token: 401, nothing emitted, retried with backoff."""
    c = base_cluster()
    s = Server(c, tls=tls).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END], FAST, max_ms=1200,
                                    token="wrong")
        check_run(st, lines, err, want_status=3)
        # FAILING comes after the fourth 401 (about 0.7 s here); a slow
        # machine may not get there within the 1.2 s
        expect(lines in ([], ["FAILING"]), "events: %s" % lines)
        n = len(s.requests_of("pods"))
        expect(2 <= n <= 12, "%d requests in 1.2 s: no backoff?" % n)
        expect("HTTP 401" in err, "the 401 was not logged")
    finally:
        s.stop()


def client_cert(tls):
    """TLS client-certificate authentication, no token."""
    c = base_cluster()
    s = Server(c, {"pods": {1: end_then_follow}}, token=None,
               tls=(CERT, KEY, CLIENT_CERT)).start()
    try:
        st, lines, err = run_client(s, [UNTIL_END], FAST, client=True)
        check_run(st, lines, err)
        same(of_kind(lines, "Pod"), INITIAL_PODS + [
            "UPSERT Pod test/end-0 rv=108"], "pods")
    finally:
        s.stop()


SCENARIOS = [
    ("basic-http-paged", basic_paged, False),
    ("src-thread-https", through_src, True),
    ("drop-resume-https-ca-data", drop_resume, True),
    ("bookmark-timeout", bookmark, False),
    ("gone-error-event", gone("event"), False),
    ("gone-http-410", gone("http"), True),
    ("continue-expired", continue_expired, False),
    ("http-errors-retry-after", http_errors, False),
    ("keeps-failing", keeps_failing, False),
    ("malformed-line", malformed, True),
    ("slow-split-chunks", slow_split, False),
    ("error-event-500", error_event, False),
    ("empty-watch-backoff", empty_watches, False),
    ("unauthorized", unauthorized, False),
    ("client-certificate", client_cert, True),
]


def main():
    passed = failed = 0
    only = os.environ.get("KUBE_ONLY")
    for name, fn, tls in SCENARIOS:
        if only and only not in name:
            continue
        try:
            fn((CERT, KEY) if tls else None)
            print("ok %s" % name)
            passed += 1
        except Failed as e:
            print("FAIL %s: %s" % (name, e))
            print("  client output:\n    " + LAST["out"].replace(
                "\n", "\n    ") + "\n  client log (tail):\n    " +
                "\n    ".join(LAST["err"].splitlines()[-15:]))
            failed += 1
        except Exception as e:  # a broken scenario is a failure too
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
            failed += 1
        sys.stdout.flush()
    print("kube_watch: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
