# SPDX-License-Identifier: Apache-2.0
"""A stand-in for the Kubernetes API server, for testing podwalld's client.

It serves Pods, Namespaces and NetworkPolicies the way the API server does:
  - GET <path>?limit=N&continue=T: a list (kind XList, metadata.resourceVersion
    and metadata.continue), items without kind and apiVersion;
  - GET <path>?watch=1&resourceVersion=RV&allowWatchBookmarks=true&
    timeoutSeconds=N: a chunked stream of JSON lines {"type", "object"}
    (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR), replaying every change after
    RV, then following new ones until timeoutSeconds; an RV older than the
    compacted history gives an ERROR event with a 410 Status;
  - objects shaped as a real server returns them (uid, resourceVersion,
    creationTimestamp, managedFields, status, ...), one resourceVersion
    counter shared by every kind, as etcd's revision is;
  - bearer-token authentication (401 otherwise), over HTTP or HTTPS, or
    client certificates (TLS handshake refused otherwise).

Faults come from a plan, {resource: {i: fn}}: for the i-th request (from
0, lists and watches counted together) to a resource, fn(Request) replaces
the default behaviour (see tests/kube/run.py). It can
change the cluster, answer with a status and Retry-After, stream some
events, send raw or malformed bytes, sleep between chunks, drop the
connection mid-chunk, or end the stream.

Standalone: python3 server.py [--tls CERT KEY] [--token T] [--port P].
"""

import base64
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCES = {
    "/api/v1/pods": ("pods", "Pod", "v1", True),
    "/api/v1/namespaces": ("namespaces", "Namespace", "v1", False),
    "/apis/networking.k8s.io/v1/networkpolicies":
        ("networkpolicies", "NetworkPolicy", "networking.k8s.io/v1", True),
}


def managed_fields(manager, op):
    return [{
        "manager": manager, "operation": op, "apiVersion": "v1",
        "time": "2026-11-26T08:00:00Z", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}},
    }]


def pod(ns, name, ip, node="node-1", labels=None, ports=(8080,)):
    """A Pod as `kubectl get pod -o json` shows it."""
    return {
        "metadata": {
            "name": name, "generateName": name.rsplit("-", 1)[0] + "-",
            "namespace": ns, "uid": "uid-pod-%s-%s" % (ns, name),
            "creationTimestamp": "2026-11-26T08:00:00Z",
            "labels": labels or {"app": name.split("-")[0],
                                 "pod-template-hash": "5d4f8b7c9"},
            "annotations": {"kubernetes.io/psp": "restricted"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": name.rsplit("-", 1)[0], "uid": "uid-rs",
                "controller": True, "blockOwnerDeletion": True}],
            "managedFields": managed_fields("kube-controller-manager",
                                            "Update"),
        },
        "spec": {
            "containers": [{
                "name": "main", "image": "registry.k8s.io/pause:3.9",
                "ports": [{"containerPort": p, "protocol": "TCP"}
                          for p in ports],
                "resources": {"requests": {"cpu": "10m"}},
                "volumeMounts": [{
                    "name": "kube-api-access", "readOnly": True,
                    "mountPath":
                        "/var/run/secrets/kubernetes.io/serviceaccount"}],
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
            }],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
            "serviceAccount": "default", "nodeName": node,
            "securityContext": {}, "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready",
                             "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300}],
            "volumes": [{"name": "kube-api-access", "projected": {
                "sources": [{"serviceAccountToken": {
                    "expirationSeconds": 3607, "path": "token"}}],
                "defaultMode": 420}}],
            "priority": 0, "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True",
                            "lastProbeTime": None,
                            "lastTransitionTime": "2026-11-26T08:00:01Z"}],
            "hostIP": "192.168.0.10", "hostIPs": [{"ip": "192.168.0.10"}],
            "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": "2026-11-26T08:00:00Z",
            "containerStatuses": [{
                "name": "main", "state": {"running": {
                    "startedAt": "2026-11-26T08:00:01Z"}},
                "lastState": {}, "ready": True, "restartCount": 0,
                "image": "registry.k8s.io/pause:3.9",
                "imageID": "registry.k8s.io/pause@sha256:0",
                "containerID": "containerd://0", "started": True}],
            "qosClass": "Burstable",
        },
    }


def namespace(name, labels=None):
    lab = {"kubernetes.io/metadata.name": name}
    lab.update(labels or {})
    return {
        "metadata": {
            "name": name, "uid": "uid-ns-" + name,
            "creationTimestamp": "2026-11-26T07:00:00Z", "labels": lab,
            "managedFields": managed_fields("kubectl-create", "Update"),
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def policy(ns, name, app="web", port=8080):
    return {
        "metadata": {
            "name": name, "namespace": ns, "uid": "uid-np-%s-%s" % (ns, name),
            "generation": 1, "creationTimestamp": "2026-11-26T07:30:00Z",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{}\n"},
            "managedFields": managed_fields("kubectl-client-side-apply",
                                            "Update"),
        },
        "spec": {
            "podSelector": {"matchLabels": {"app": app}},
            "ingress": [{"from": [{"namespaceSelector": {}}],
                         "ports": [{"protocol": "TCP", "port": port}]}],
            "policyTypes": ["Ingress"],
        },
    }


class Cluster:
    """Objects by resource, one resourceVersion counter, the change log."""

    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 100
        self.objects = {r[0]: {} for r in RESOURCES.values()}
        self.log = []          # (rv, resource, type, object)
        self.compacted = 0     # watches from an rv below this get 410
        self.closing = False

    def _key(self, obj):
        m = obj["metadata"]
        return (m.get("namespace", ""), m["name"])

    def change(self, resource, etype, obj):
        """ADDED, MODIFIED or DELETED obj; returns its new resourceVersion."""
        with self.lock:
            self.rv += 1
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            if etype == "DELETED":
                self.objects[resource].pop(self._key(obj), None)
            else:
                self.objects[resource][self._key(obj)] = obj
            self.log.append((self.rv, resource, etype, obj))
            self.lock.notify_all()
            return self.rv

    def add(self, resource, obj):
        return self.change(resource, "ADDED", obj)

    def rv_of(self, resource, nsname):
        """The resourceVersion of "ns/name" (or "name") now."""
        ns, _, name = nsname.rpartition("/")
        with self.lock:
            return self.objects[resource][(ns, name)]["metadata"][
                "resourceVersion"]

    def compact(self):
        """Forgets the history so far: older watches get 410 Gone."""
        with self.lock:
            self.compacted = self.rv + 1
            self.rv += 1

    def snapshot(self, resource):
        with self.lock:
            items = sorted(self.objects[resource].items())
            return self.rv, [o for _, o in items]

    def since(self, resource, rv):
        with self.lock:
            return [e for e in self.log if e[0] > rv and e[1] == resource]

    def wait(self, timeout):
        with self.lock:
            self.lock.wait(timeout)

    def close(self):
        with self.lock:
            self.closing = True
            self.lock.notify_all()


class Request:
    """One request: its parameters and the ways to answer it."""

    def __init__(self, handler, resource, kind, api_version, params):
        self.h = handler
        self.server = handler.server
        self.cluster = handler.server.cluster
        self.resource = resource
        self.kind = kind
        self.api_version = api_version
        self.params = params
        self.watch = params.get("watch") in ("1", "true")
        self.cursor = int(params.get("resourceVersion") or 0)
        self.started = False
        self.sent = 0

    # -- plain answers ---------------------------------------------------
    def status(self, code, reason="Error", retry_after=None):
        body = json.dumps({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "test server says %d" % code,
            "reason": reason, "code": code}).encode()
        self.h.send_response(code)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.h.send_header("Retry-After", str(retry_after))
        self.h.end_headers()
        self.h.wfile.write(body)

    def list(self, expire_continue=False):
        limit = int(self.params.get("limit") or 0)
        cont = self.params.get("continue")
        if cont:
            rv, offset = json.loads(base64.urlsafe_b64decode(cont))
            if expire_continue:
                return self.status(410, "Expired")
        else:
            rv, offset = self.cluster.snapshot(self.resource)[0], 0
        # a paginated list is a consistent snapshot at rv: rebuild it
        items = self._at(rv)
        page = items[offset:offset + limit] if limit else items[offset:]
        meta = {"resourceVersion": str(rv)}
        if limit and offset + limit < len(items):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                [rv, offset + limit]).encode()).decode()
            meta["remainingItemCount"] = len(items) - offset - limit
        body = json.dumps({"kind": self.kind + "List",
                           "apiVersion": self.api_version,
                           "metadata": meta, "items": page}).encode()
        self.h.send_response(200)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Content-Length", str(len(body)))
        self.h.end_headers()
        self.h.wfile.write(body)

    def _at(self, rv):
        objs = {}
        for erv, res, etype, obj in list(self.cluster.log):
            if res != self.resource or erv > rv:
                continue
            key = (obj["metadata"].get("namespace", ""),
                   obj["metadata"]["name"])
            if etype == "DELETED":
                objs.pop(key, None)
            else:
                objs[key] = obj
        return [o for _, o in sorted(objs.items())]

    # -- streams ---------------------------------------------------------
    def begin(self):
        if self.started:
            return
        self.started = True
        self.h.send_response(200)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Transfer-Encoding", "chunked")
        self.h.end_headers()

    def chunk(self, data):
        self.begin()
        if isinstance(data, str):
            data = data.encode()
        assert data, "an empty chunk would end the stream"
        self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.h.wfile.flush()

    def event(self, etype, obj):
        obj = dict(obj, kind=obj.get("kind", self.kind),
                   apiVersion=obj.get("apiVersion", self.api_version))
        self.chunk(json.dumps({"type": etype, "object": obj}) + "\n")
        self.sent += 1

    def pending(self):
        """Streams every change after the cursor; how many."""
        n = 0
        for rv, _, etype, obj in self.cluster.since(self.resource,
                                                    self.cursor):
            self.event(etype, obj)
            self.cursor = rv
            n += 1
        return n

    def bookmark(self, rv=None):
        rv = rv or self.cluster.rv
        self.event("BOOKMARK", {"kind": self.kind,
                                "apiVersion": self.api_version,
                                "metadata": {"resourceVersion": str(rv)}})
        self.cursor = max(self.cursor, rv)

    def error(self, code):
        self.chunk(json.dumps({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "reason": "Expired" if code == 410
            else "InternalError",
            "message": "too old resource version" if code == 410
            else "internal error", "code": code}}) + "\n")

    def end(self):
        """Ends the stream cleanly, as timeoutSeconds does."""
        self.begin()
        self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()

    def drop(self, partial=b""):
        """Cuts the connection, after partial bytes of a chunk."""
        self.begin()
        if partial:
            self.h.wfile.write(b"%x\r\n%s" % (len(partial) * 2, partial))
            self.h.wfile.flush()
        self.h.close_connection = True
        try:
            self.h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hangup(self):
        """Closes the connection without an answer."""
        self.h.close_connection = True
        try:
            self.h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def follow(self, seconds=None):
        """Streams changes until timeoutSeconds (or seconds), then ends."""
        limit = seconds or int(self.params.get("timeoutSeconds") or 60)
        end = time.monotonic() + limit
        self.begin()
        while time.monotonic() < end and not self.cluster.closing:
            self.pending()
            self.cluster.wait(0.1)
        self.pending()
        self.end()

    def default(self):
        if not self.watch:
            return self.list()
        if self.cursor < self.cluster.compacted:
            self.error(410)
            return self.end()
        return self.follow()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("server: " + fmt % args + "\n")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        resource, kind, api, _ = RESOURCES.get(url.path, ("", "", "", 0))
        req = Request(self, resource, kind, api, params)
        with self.server.plan_lock:
            self.server.requests.append((time.monotonic(), resource,
                                         "watch" if req.watch else "list",
                                         params))
        if self.server.token is not None and \
                self.headers.get("Authorization") != \
                "Bearer " + self.server.token:
            return req.status(401, "Unauthorized")
        if not resource:
            return req.status(404, "NotFound")
        with self.server.plan_lock:
            n = self.server.counts.get(resource, 0)
            self.server.counts[resource] = n + 1
            fn = self.server.plan.get(resource, {}).get(n)
        try:
            (fn or Request.default)(req)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cluster, plan=None, token="test-token", tls=None,
                 verbose=False):
        super().__init__(("127.0.0.1", 0), Handler)
        self.cluster = cluster
        self.plan = plan or {}
        self.plan_lock = threading.Lock()
        self.counts = {}
        self.requests = []
        self.token = token
        self.verbose = verbose
        self.scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            if len(tls) > 2:
                # client certificates signed by (or being) tls[2] only
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(tls[2])
            self.socket = ctx.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.server_address[1])

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.cluster.close()
        self.shutdown()
        self.server_close()

    def requests_of(self, resource, what=None):
        with self.plan_lock:
            return [r for r in self.requests
                    if r[1] == resource and (what is None or r[2] == what)]


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--token", default="test-token")
    a = ap.parse_args()
    c = Cluster()
    c.add("namespaces", namespace("shop"))
    c.add("pods", pod("shop", "web-1", "10.1.0.5"))
    c.add("networkpolicies", policy("shop", "web"))
    s = Server(c, token=a.token, tls=a.tls, verbose=True).start()
    print(s.url, flush=True)
    try:
        s.thread.join()
    except KeyboardInterrupt:
        s.stop()


if __name__ == "__main__":
    main()
