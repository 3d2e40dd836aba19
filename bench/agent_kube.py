# SPDX-License-Identifier: Apache-2.0
"""podwalld on the Kubernetes API source, against the test API server.

    ip netns add T && ip netns exec T ip link set lo up
    ip netns exec T python3 bench/agent_kube.py BUILD/podwalld [PODS [EVENTS]]

Not part of `make bench` (it asserts nothing; run it in a network
namespace of its own, as root: the agent programs that namespace's table
and its metrics port is 127.0.0.1:9469 there). The test server of
tests/kube serves PODS pods in namespaces of 9, one NetworkPolicy per
namespace (its `policy()`: app=web pods admit port 8080 from every
namespace) and the objects' full API shapes (managedFields and all).
After the agent's first apply, EVENTS times one pod of node-0 is modified
on the watch (a new address and label) and the script waits until the
reconcile count moves. Prints the agent's RSS after the list and after the
events, its peak, and the median and p99 of the agent's own latency and
CPU time per reconcile. docs/AGENT.md ("Latency and size") has figures.
"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "kube"))
from server import Cluster, Server, namespace, pod, policy  # noqa: E402

PODWALLD = sys.argv[1]
PODS = int(sys.argv[2]) if len(sys.argv) > 2 else 10008
EVENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 30


def cluster():
    c = Cluster()
    for n in range(PODS // 9):
        ns = "ns-%d" % n
        c.add("namespaces", namespace(ns, {"team": "t%d" % (n % 5)}))
        c.add("networkpolicies", policy(ns, "web-%d" % n))
        for i in range(9):
            k = n * 9 + i
            ip = "10.%d.%d.%d" % (100 + (k >> 16), (k >> 8) & 255, k & 255)
            c.add("pods", pod(ns, "web-%d" % i, ip, node="node-%d" % (k % 20)))
    return c


def ok_count():
    try:
        page = urllib.request.urlopen("http://127.0.0.1:9469/metrics",
                                      timeout=5).read().decode()
    except OSError:
        return 0
    for line in page.splitlines():
        if line.startswith('podwall_reconciles_total{result="ok"}'):
            return int(float(line.split()[1]))
    return 0


def status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        return int(f.read().split(field + ":")[1].split()[0])


def quantile(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, (len(v) * q + 99) // 100 - 1))]


def main():
    c = cluster()
    s = Server(c).start()
    d = tempfile.mkdtemp()
    kc = os.path.join(d, "kubeconfig")
    with open(kc, "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: t\n"
                "contexts:\n- name: t\n  context: {cluster: t, user: u}\n"
                "clusters:\n- name: t\n  cluster: {server: %s}\n"
                "users:\n- name: u\n  user: {token: test-token}\n" % s.url)
    log = os.path.join(d, "agent.log")
    with open(log, "w") as f:
        p = subprocess.Popen([PODWALLD, "--kubeconfig", kc, "--node",
                              "node-0"], stderr=f)
    try:
        while ok_count() < 1:
            time.sleep(0.1)
        rss0 = status(p.pid, "VmRSS")
        for e in range(EVENTS):
            n = ok_count()
            c.add("pods", pod("ns-0", "churn", "10.250.%d.%d" % (
                e // 250, e % 250 + 1), node="node-0",
                labels={"app": "web", "n": "c%d" % e}))
            while ok_count() == n:
                time.sleep(0.01)
        rss, hwm = status(p.pid, "VmRSS"), status(p.pid, "VmHWM")
    finally:
        p.terminate()
        p.wait()
        s.stop()
    with open(log) as f:
        applied = [line for line in f if "event=applied" in line][-EVENTS:]

    def field(name):
        return [float(line.split(name + "=")[1].split()[0])
                for line in applied]

    lat, cpu = field("max_latency_ms"), field("cpu_ms")
    print("%d pods: RSS %d KiB after the list, %d after %d events, peak %d"
          % (PODS, rss0, rss, EVENTS, hwm))
    print("  latency median %.1f ms, p99 %.1f ms; CPU per reconcile median "
          "%.1f ms; build median %.1f ms, compile median %.1f ms" % (
              quantile(lat, 50), quantile(lat, 99), quantile(cpu, 50),
              quantile(field("build_ms"), 50),
              quantile(field("compile_ms"), 50)))


if __name__ == "__main__":
    main()
