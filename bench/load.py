"""A bounded HTTP load generator: keep-alive connections from several processes.

Every loop stops at a request count and at a deadline, whichever comes first,
and only ever talks to a loopback address.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import time
import uuid
from multiprocessing import Pool
from urllib.parse import urlsplit


def _worker(args):
    url, paths, count, deadline, offset = args
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    latencies, errors = [], 0
    for n in range(count):
        if time.monotonic() > deadline:
            break
        method, path, headers, body = _request(paths[(offset + n) % len(paths)])
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 400:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        latencies.append(time.perf_counter() - start)
    conn.close()
    return latencies, errors


def _request(item) -> tuple[str, str, dict, bytes | None]:
    """A path (GET), or ``{"method", "path", "headers"?, "json"?}``; a header value
    ``{unique}`` becomes a fresh random key (an ``Idempotency-Key`` per request)."""
    if isinstance(item, str):
        return "GET", item, {"Accept-Language": "el"}, None
    headers = {"Accept-Language": "el"}
    for name, value in (item.get("headers") or {}).items():
        headers[name] = uuid.uuid4().hex if value == "{unique}" else value
    body = None
    if item.get("json") is not None:
        body = json.dumps(item["json"]).encode()
        headers["Content-Type"] = "application/json"
    return item.get("method", "GET"), item["path"], headers, body


def run(url: str, path, requests: int, concurrency: int, seconds: float) -> dict:
    """Send up to ``requests`` requests (GETs unless told) in ``concurrency`` processes for at most ``seconds``.

    ``path`` is one path, or a list that the clients go through in turn; an item
    may be a request (``_request``: method, headers, JSON body) instead of a path.
    """
    paths = [path] if isinstance(path, (str, dict)) else list(path)
    host = urlsplit(url).hostname
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError("load is only ever sent to a loopback address")
    per_worker = max(1, requests // concurrency)
    started = time.monotonic()
    deadline = started + seconds
    with Pool(concurrency) as pool:
        results = pool.map(_worker, [(url, paths, per_worker, deadline, i * per_worker)
                                     for i in range(concurrency)])
    elapsed = time.monotonic() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    if not latencies:
        return {"requests": 0, "errors": errors, "rps": 0.0, "p50_ms": None, "p99_ms": None}

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)
    return {"requests": len(latencies), "errors": errors,
            "rps": round(len(latencies) / elapsed, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99)}
