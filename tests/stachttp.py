"""HTTP servers for the STAC tests, on 127.0.0.1 only, started and stopped
by the tests, each with a bounded lifetime:

- Nginx(folder): Debian's nginx serving FOLDER as static files (symlinks
  followed, ETags on), like a static STAC catalog on a web server.
- StacApi(items): tests/stac_api.py, the STAC API Item Search test double,
  over a list of STAC Items.

Both are context managers with a `url` attribute (http://127.0.0.1:PORT).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIFETIME = 600  # seconds: a server left behind stops by itself


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def _stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Nginx:
    """nginx serving FOLDER on a free loopback port, as a child process."""

    def __init__(self, folder, workdir):
        self.folder = Path(folder).resolve()
        self.workdir = Path(workdir)
        self.proc = None
        self.port = None

    def __enter__(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        assert Path(nginx).exists(), "nginx is missing: run scripts/setup-deps.sh test"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        w = self.workdir
        user = "user root;" if os.geteuid() == 0 else ""
        (w / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {w}/nginx.pid;
error_log {w}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log {w}/access.log;
  client_body_temp_path {w}/body; proxy_temp_path {w}/proxy;
  fastcgi_temp_path {w}/fastcgi; uwsgi_temp_path {w}/uwsgi; scgi_temp_path {w}/scgi;
  types {{ application/json json; image/tiff tif; }}
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.folder};
    etag on;
    location / {{ }}
  }}
}}
""")
        self.proc = subprocess.Popen([nginx, "-c", str(w / "nginx.conf"), "-p", str(w)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_listening(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def requests(self):
        """The request lines nginx logged so far."""
        log = self.workdir / "access.log"
        return [line.split('"')[1] for line in log.read_text().splitlines()] if log.exists() else []

    def __exit__(self, *exc):
        _stop(self.proc, signal.SIGQUIT)


class StacApi:
    """tests/stac_api.py over ITEMS (a list of STAC Item dicts), on a free
    loopback port; requests are logged to LOG (one JSON object a line)."""

    def __init__(self, items, workdir):
        self.workdir = Path(workdir)
        self.items = items
        self.proc = None

    def __enter__(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        items = self.workdir / "api-items.json"
        items.write_text(json.dumps({"type": "FeatureCollection", "features": self.items}))
        self.log = self.workdir / "api-requests.log"
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "stac_api.py"), "--items", str(items), "--log",
             str(self.log), "--lifetime", str(LIFETIME)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        wait_listening(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def requests(self):
        """The requests served so far: dicts with method, path, query, body."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def __exit__(self, *exc):
        _stop(self.proc)
        self.proc.stdout.close()
        self.proc.stderr.close()
