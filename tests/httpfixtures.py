"""HTTP servers for tests that read inputs over the network: nginx serving a
folder (Range requests, ETag and Last-Modified are nginx's own), a
fault-injecting proxy in front of it (429 and 503 answers, dropped
connections, slow answers) and the STAC API test double (tests/stac_api.py).
All listen on 127.0.0.1 only, on a free port, live at most LIFETIME seconds
(child processes run bounded and die with the test process) and are stopped
by their owner.

Use the pytest fixtures of tests/conftest.py (`http_server`, `fault_proxy`,
`stac_api`), or the classes directly:

    with Nginx(folder, workdir) as web:
        url = web.url("scene.tif")            # http://127.0.0.1:PORT/scene.tif
        ...
        web.requests()                        # the access log, parsed
"""
import ctypes
import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LIFETIME = 900  # seconds: no server outlives a test session this long
HERE = Path(__file__).resolve().parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format ranges '$request_method $uri $status "$http_range" $body_bytes_sent';
    access_log {work}/access.log ranges;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    types {{
        image/tiff tif tiff;
        application/zip zip;
        application/json json;
        application/x-netcdf nc;
    }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        autoindex off;
    }}
}}
"""


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the child, before exec: receive SIGTERM when the test process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_listening(port, proc, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class _Child:
    """A server run as a child process (PROC) on PORT."""

    proc = None
    port = None

    def url(self, rel=""):
        return f"http://127.0.0.1:{self.port}/{rel}"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Nginx(_Child):
    """nginx serving folder ROOT as static files; its configuration, logs and
    temporary files go to WORKDIR."""

    def __init__(self, root, workdir):
        self.root = Path(root).resolve()
        self.work = Path(workdir).resolve()

    def start(self):
        (self.work / "tmp").mkdir(parents=True, exist_ok=True)
        for attempt in range(5):  # the port may be taken between pick and bind
            self.port = free_port()
            conf = self.work / "nginx.conf"
            conf.write_text(CONFIG.format(work=self.work, root=self.root, port=self.port))
            self.proc = subprocess.Popen(
                ["timeout", str(LIFETIME), NGINX, "-p", str(self.work), "-c", str(conf),
                 "-e", str(self.work / "error.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
            if _wait_listening(self.port, self.proc):
                return self
            self.stop()
        raise RuntimeError(f"nginx did not start: {(self.work / 'error.log').read_text()}")

    def requests(self):
        """The requests served so far: dicts of method, path, status, range
        (the Range header or None) and bytes."""
        log = self.work / "access.log"
        rows = []
        for line in log.read_text().splitlines() if log.exists() else []:
            head, rng, sent = line.rsplit(" ", 2)[0], line.split('"')[1], line.rsplit(" ", 1)[1]
            method, path, status = head.split(" ")[:3]
            rows.append({"method": method, "path": path, "status": int(status),
                         "range": None if rng in ("", "-") else rng, "bytes": int(sent)})
        return rows

    def clear_log(self):
        (self.work / "access.log").write_text("")


class StacApi(_Child):
    """tests/stac_api.py, the STAC API Item Search test double, over ITEMS (a
    list of STAC Item dicts); the items and its request log go to WORKDIR."""

    def __init__(self, items, workdir):
        self.items = items
        self.work = Path(workdir).resolve()
        self.log = self.work / "requests.log"

    def start(self):
        self.work.mkdir(parents=True, exist_ok=True)
        items = self.work / "items.json"
        items.write_text(json.dumps({"type": "FeatureCollection", "features": self.items}))
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "stac_api.py"), "--items", str(items), "--log",
             str(self.log), "--lifetime", str(LIFETIME)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, preexec_fn=_die_with_parent)
        self.port = int(self.proc.stdout.readline() or 0)  # it prints its port
        self.proc.stdout.close()
        if not _wait_listening(self.port, self.proc):
            self.stop()
            raise RuntimeError("the STAC API test double did not start")
        return self

    def requests(self):
        """The requests served so far: dicts of method, path, query, body."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of the server at UPSTREAM_PORT that
    injects faults: `inject(kind, times, every, match)` makes every EVERY-th
    request (of those for which MATCH(method, path, range) is true; all by
    default) fail with KIND until TIMES faults were injected. Kinds: "429" and "503" (an answer with
    that status and a Retry-After of 0), "drop" (the connection is closed
    without an answer), "slow:S" (the answer is delayed S seconds).
    `log` lists (method, path, range, outcome) of every request."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.lock = threading.Lock()
        self.plans = []
        self.log = []
        self.server = None
        self.thread = None
        self.port = None

    def inject(self, kind, times, every=1, match=None):
        with self.lock:
            self.plans.append({"kind": kind, "left": times, "every": every,
                               "match": match or (lambda method, path, rng: True),
                               "seen": 0})

    def requests(self, kind=None):
        """The requests that got answer KIND ("ok", "429", ...; any by default)."""
        return [row for row in self.log if kind is None or row[3] == kind]

    def faults(self, kind=None):
        """How many faults (of KIND) were injected."""
        return sum(1 for _, _, _, outcome in self.log
                   if outcome != "ok" and (kind is None or outcome == kind))

    def _decide(self, method, path, rng):
        with self.lock:
            for plan in self.plans:
                if plan["left"] <= 0 or not plan["match"](method, path, rng):
                    continue
                plan["seen"] += 1
                if plan["seen"] % plan["every"] == 0:
                    plan["left"] -= 1
                    return plan["kind"]
        return "ok"

    def _record(self, *row):
        with self.lock:
            self.log.append(row)

    def start(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self, body):
                fault = proxy._decide(self.command, self.path, self.headers.get("Range"))
                proxy._record(self.command, self.path, self.headers.get("Range"), fault)
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault in ("429", "503"):
                    text = b"injected fault\n"
                    self.send_response(int(fault))
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    if body:
                        self.wfile.write(text)
                    return
                if fault.startswith("slow:"):
                    time.sleep(float(fault.split(":", 1)[1]))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("range", "if-none-match", "if-modified-since",
                                            "if-range")}
                up = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=30)
                try:
                    up.request(self.command, self.path, headers=headers)
                    resp = up.getresponse()
                    data = resp.read()
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                             "server", "date"):
                            self.send_header(k, v)
                    self.end_headers()
                    if body:
                        self.wfile.write(data)
                finally:
                    up.close()

            def do_GET(self):
                self._forward(True)

            def do_HEAD(self):
                self._forward(False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def url(self, rel=""):
        return f"http://127.0.0.1:{self.port}/{rel}"

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
