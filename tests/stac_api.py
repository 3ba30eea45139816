"""A STAC API test double: the Item Search subset eodkit uses, over a fixed
list of Items, for the tests only (not a STAC API implementation).

    python3 tests/stac_api.py --items ITEMS.json [--log FILE] [--lifetime S]

ITEMS.json is an ItemCollection. The server listens on 127.0.0.1 on a free
port, prints the port on the first line of its output and stops by itself
after --lifetime seconds (default 600). What it implements:

- GET /: a landing page (a Catalog linking the search).
- GET /search and POST /search (JSON body) with `bbox` (intersects the
  item's bbox), `datetime` (an instant, or START/END with `..` open),
  `collections`, `query` (STAC API query extension: eq, neq, lt, lte, gt,
  gte, in, startsWith, endsWith, contains on item properties) and `limit`
  (default 10). The answer is an ItemCollection page, in the order of
  ITEMS.json, with a `next` link while items remain: for GET a URL with the
  same parameters and `token=<offset>`, for POST a link with "method":
  "POST", "body": {"token": <offset>} and "merge": true.
- GET /collections/<collection>/items/<id>: one item (each item's `self`
  link points there).
Bad parameters get 400 with a JSON error; unknown paths 404. Every request
is appended to --log as a JSON line {method, path, query, body}.
"""
import argparse
import json
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


def parse_time(text, end=False):
    if text in ("", ".."):
        return None
    t = text.replace("Z", "+00:00")
    if len(t) == 10:
        t += "T23:59:59+00:00" if end else "T00:00:00+00:00"
    value = datetime.fromisoformat(t)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def item_time(item):
    props = item["properties"]
    return parse_time(props.get("datetime") or props["start_datetime"])


def condition(value, op, arg):
    if op == "eq":
        return value == arg
    if op == "neq":
        return value != arg
    if op == "in":
        return value in arg
    if op in ("lt", "lte", "gt", "gte"):
        if value is None:
            return False
        return {"lt": value < arg, "lte": value <= arg, "gt": value > arg,
                "gte": value >= arg}[op]
    if op in ("startsWith", "endsWith", "contains"):
        if not isinstance(value, str):
            return False
        return {"startsWith": value.startswith(arg), "endsWith": value.endswith(arg),
                "contains": arg in value}[op]
    raise ValueError(f"unknown query operator {op!r}")


def matches(item, search):
    bbox = search.get("bbox")
    if bbox is not None:
        b = item.get("bbox")
        if b is None:
            return False
        half = len(b) // 2
        if b[0] > bbox[2] or b[half] < bbox[0] or b[1] > bbox[3] or b[half + 1] < bbox[1]:
            return False
    dt = search.get("datetime")
    if dt is not None:
        start, _, end = dt.partition("/")
        lo, hi = parse_time(start), parse_time(end if "/" in dt else start, end=True)
        t = item_time(item)
        if (lo is not None and t < lo) or (hi is not None and t > hi):
            return False
    collections = search.get("collections")
    if collections is not None and item.get("collection") not in collections:
        return False
    for prop, ops in (search.get("query") or {}).items():
        value = item["properties"].get(prop)
        for op, arg in ops.items():
            if not condition(value, op, arg):
                return False
    return True


def search_from_query(q):
    """The search of a GET query string (parsed)."""
    s = {}
    if "bbox" in q:
        s["bbox"] = [float(v) for v in q["bbox"][0].split(",")]
    if "datetime" in q:
        s["datetime"] = q["datetime"][0]
    if "collections" in q:
        s["collections"] = q["collections"][0].split(",")
    if "query" in q:
        s["query"] = json.loads(q["query"][0])
    for key in ("limit", "token"):
        if key in q:
            s[key] = int(q[key][0])
    return s


class Handler(BaseHTTPRequestHandler):
    server_version = "stac-api-test-double"

    def log_message(self, fmt, *args):  # quiet: requests go to --log
        pass

    def send_json(self, status, doc, content_type="application/geo+json"):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, body=None):
        parts = urlsplit(self.path)
        with self.server.log_lock, open(self.server.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": parts.path,
                                "query": parts.query, "body": body}) + "\n")

    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def with_self(self, item):
        item = dict(item)
        href = f"{self.base()}/collections/{item['collection']}/items/{item['id']}"
        item["links"] = [l for l in item.get("links", []) if l.get("rel") != "self"]
        item["links"].append({"rel": "self", "href": href, "type": "application/geo+json"})
        return item

    def page(self, search, method):
        limit = search.get("limit", 10)
        offset = search.get("token", 0)
        if not 1 <= limit <= 10000 or offset < 0:
            raise ValueError("limit must be 1-10000 and token >= 0")
        found = [i for i in self.server.items if matches(i, search)]
        chunk = found[offset:offset + limit]
        links = [{"rel": "root", "href": f"{self.base()}/", "type": "application/json"}]
        if offset + limit < len(found):
            if method == "GET":
                q = parse_qs(urlsplit(self.path).query)
                q["token"] = [str(offset + limit)]
                href = f"{self.base()}/search?{urlencode({k: v[0] for k, v in q.items()})}"
                links.append({"rel": "next", "href": href, "type": "application/geo+json"})
            else:
                links.append({"rel": "next", "href": f"{self.base()}/search",
                              "type": "application/geo+json", "method": "POST",
                              "body": {"token": offset + limit}, "merge": True})
        return {"type": "FeatureCollection", "features": [self.with_self(i) for i in chunk],
                "numberMatched": len(found), "numberReturned": len(chunk), "links": links}

    def do_GET(self):
        self.record()
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        try:
            if parts.path == "/":
                self.send_json(200, {
                    "type": "Catalog", "stac_version": "1.0.0", "id": "test-double",
                    "description": "STAC API test double",
                    "conformsTo": ["https://api.stacspec.org/v1.0.0/item-search"],
                    "links": [{"rel": "search", "href": f"{self.base()}/search",
                               "type": "application/geo+json", "method": "GET"}]},
                    "application/json")
            elif parts.path == "/search":
                self.send_json(200, self.page(search_from_query(parse_qs(parts.query)), "GET"))
            elif len(segments) == 4 and segments[0] == "collections" and segments[2] == "items":
                found = [i for i in self.server.items
                         if i.get("collection") == segments[1] and i["id"] == segments[3]]
                if found:
                    self.send_json(200, self.with_self(found[0]))
                else:
                    self.send_json(404, {"code": "NotFound", "description": self.path},
                                   "application/json")
            else:
                self.send_json(404, {"code": "NotFound", "description": self.path},
                               "application/json")
        except (ValueError, KeyError) as e:
            self.send_json(400, {"code": "BadRequest", "description": str(e)},
                           "application/json")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        self.record(body)
        if urlsplit(self.path).path != "/search":
            self.send_json(404, {"code": "NotFound", "description": self.path},
                           "application/json")
            return
        try:
            self.send_json(200, self.page(json.loads(body), "POST"))
        except (ValueError, KeyError, TypeError) as e:
            self.send_json(400, {"code": "BadRequest", "description": str(e)},
                           "application/json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", required=True)
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--lifetime", type=float, default=600)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.items = json.load(open(args.items))["features"]
    server.log = args.log
    server.log_lock = threading.Lock()
    threading.Timer(args.lifetime, server.shutdown).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
