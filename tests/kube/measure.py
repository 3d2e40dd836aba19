# SPDX-License-Identifier: Apache-2.0
"""How fast the watch client lists and follows, against the test server.

    python3 tests/kube/measure.py KUBETEST [PODS [EVENTS]]

Not part of the suite (it asserts nothing): it prints the time from the
client's start to SYNCED of a list of PODS pods (pages of 500), and the
time for EVENTS pod additions streamed on the watch to reach the client.
Build KUBETEST without sanitizers for figures worth quoting. The server is
Python, so the figures are a lower bound of the client's speed.
"""

import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Cluster, Server, namespace, pod  # noqa: E402

KUBETEST = sys.argv[1]
PODS = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
EVENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 1000


def main():
    c = Cluster()
    c.add("namespaces", namespace("ns"))
    for i in range(PODS):
        c.add("pods", pod("ns", "p-%d" % i, "10.%d.%d.%d" % (
            i >> 16, (i >> 8) & 255, i & 255)))
    marks = {}

    def burst(r):
        marks["burst"] = time.monotonic()
        for i in range(EVENTS):
            c.add("pods", pod("ns", "new-%d" % i, "10.200.%d.%d" % (
                i >> 8, i & 255)))
        r.follow()

    s = Server(c, {"pods": {PODS // 500 + (PODS % 500 > 0): burst}}).start()
    kc = os.path.join(tempfile.mkdtemp(), "kubeconfig")
    with open(kc, "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: t\n"
                "contexts:\n- name: t\n  context: {cluster: t, user: u}\n"
                "clusters:\n- name: t\n  cluster: {server: %s}\n"
                "users:\n- name: u\n  user: {token: test-token}\n" % s.url)
    t0 = time.monotonic()
    # time(1) in between, so that the maximum RSS is the client's own,
    # not that of this (forked) process
    p = subprocess.Popen(["/usr/bin/time", "-f", "client: %e s, %U s user "
                          "%S s sys, max RSS %M KiB", KUBETEST, "watch", "--kubeconfig", kc, "--quiet",
                          "--until", "UPSERT Pod ns/new-%d" % (EVENTS - 1),
                          "--max-ms", "120000"], stdout=subprocess.PIPE,
                         text=True)
    synced = None
    for line in p.stdout:
        if line.startswith("SYNCED Pod"):
            synced = time.monotonic()
    done = time.monotonic()
    p.wait()
    s.stop()
    print("list of %d pods to SYNCED: %.2f s" % (PODS, synced - t0))
    print("%d watch events: %.2f s after the first was written "
          "(%.0f events/s)" % (EVENTS, done - marks["burst"],
                               EVENTS / (done - marks["burst"])))



if __name__ == "__main__":
    main()
