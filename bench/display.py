"""Bench: waiting-room displays on PostgreSQL — fan-out latency and the cost of open streams.

    python bench/display.py --pg-url postgresql://user@127.0.0.1:5432/EMPTY_DB [--calls 200]

Serves the app twice (instances A and B: gunicorn gthread, 2 workers × 120
threads each, as ``gunicorn.conf.py`` suggests) on one PostgreSQL and
measures, with a clerk calling through the API (call-next, then finish):

1. call-next on A without any stream open (p50, p99);
2. call → event: a display stream open on B; the time from sending each
   call-next on A to the ``called`` event arriving on B (≥ 200 calls; the
   goal is p99 < 250 ms on loopback; it includes the call's own request);
3. call-next on A while ``--streams`` (200) display streams are open on A:
   p50 and p99, and the ratio to (1) (the goal: p99 within 2×).

The database is emptied first (``DROP SCHEMA public``): give it one of its
own. Results go to ``bench/results/display-postgresql.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
SECRET = __import__("secrets").token_urlsafe(48)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 1)


def prepare(pg_url: str, tickets: int):
    """Schema by the migrations, an office open all day, a clerk, tokens, waiting tickets."""
    import psycopg
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    env = dict(os.environ, DATABASE_URL=pg_url, CITIZEN_DESK_ENV="development")
    subprocess.run([str(BIN / "flask"), "--app", "citizen_desk", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from citizen_desk import create_app
    from citizen_desk.catalog.models import Service
    from citizen_desk.core import uow
    from citizen_desk.extensions import db
    from citizen_desk.offices.models import Office
    from citizen_desk.queue import operations as ops
    from citizen_desk.queue.models import TicketKind
    from citizen_desk.staff.models import StaffUser, TokenPurpose
    from tests.factories import create_token
    from tests.tickets.conftest import set_up_desk
    app = create_app({"SQLALCHEMY_DATABASE_URI": pg_url.replace("postgresql://",
                                                                "postgresql+psycopg://", 1),
                      "SECRET_KEY": SECRET})
    with app.app_context():
        def work():
            desk = set_up_desk()
            office = db.session.get(Office, desk.office_id)
            service = db.session.get(Service, desk.a_id)
            for _ in range(tickets):
                ops.issue(office, service, kind=TicketKind.staff)
            clerk = db.session.get(StaffUser, desk.clerk_id)
            return (office.code, desk.counter1_id,
                    create_token(TokenPurpose.display, office)[1],
                    create_token(TokenPurpose.integration, user=clerk)[1])
        made = uow.run(work)
        db.session.remove()
        db.engine.dispose()
    return made


def serve(pg_url: str, port: int):
    env = dict(os.environ, DATABASE_URL=pg_url, SECRET_KEY=SECRET, CITIZEN_DESK_ENV="production",
               CITIZEN_DESK_SESSION_COOKIE_SECURE="false", RATELIMIT_ENABLED="false",
               CITIZEN_DESK_DISPLAY_STREAM_SECONDS="900")
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "120", "--worker-connections", "120", "--keep-alive", "0",
         "--log-level", "warning", "citizen_desk:create_app()"],
        cwd=ROOT, env=env)


def wait_healthy(port: int):
    for _ in range(100):
        try:
            connection = HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the app on port {port} did not start")


class Clerk:
    def __init__(self, port: int, counter: int, token: str):
        self.port, self.counter, self.token = port, counter, token

    def post(self, path: str):
        connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("POST", path, body=b"{}", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
        return answer.status, (json.loads(body) if body else None)

    def call(self) -> tuple[float, dict | None]:
        """Call next, timed; finish the ticket (untimed) so that the counter is free again."""
        started = time.monotonic()
        status, ticket = self.post(f"/api/v1/counters/{self.counter}/call-next")
        took = time.monotonic() - started
        if status != 200:
            raise SystemExit(f"call-next answered {status}")
        self.post(f"/api/v1/tickets/{ticket['id']}/finish")
        return took, ticket


class Stream(threading.Thread):
    """A display stream; ``seen[number]`` = when its ``called`` event arrived."""

    def __init__(self, port: int, office: str, token: str, seen: dict | None = None):
        super().__init__(daemon=True)
        self.port, self.office, self.token, self.seen = port, office, token, seen
        self.ready = threading.Event()

    def run(self):
        connection = HTTPConnection("127.0.0.1", self.port, timeout=960)
        connection.request("GET", f"/offices/{self.office}/display/events",
                           headers={"Authorization": f"Bearer {self.token}"})
        answer = connection.getresponse()
        self.ready.set()
        while line := answer.readline():
            if self.seen is not None and line.startswith(b'data: {"type":"called"'):
                self.seen[json.loads(line[6:])["number"]] = time.monotonic()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-url", required=True, help="an empty database the run may overwrite")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--streams", type=int, default=200)
    args = parser.parse_args()
    office, counter, display, clerk_token = prepare(args.pg_url, 3 * args.calls + 50)
    ports = free_port(), free_port()
    servers = [serve(args.pg_url, port) for port in ports]
    results = {}
    try:
        for port in ports:
            wait_healthy(port)
        clerk = Clerk(ports[0], counter, clerk_token)
        for _ in range(20):
            clerk.call()  # warm up
        alone = [clerk.call()[0] for _ in range(args.calls)]
        seen: dict[str, float] = {}
        watcher = Stream(ports[1], office, display, seen)
        watcher.start()
        watcher.ready.wait(10)
        time.sleep(0.5)
        fan_out = []
        for _ in range(args.calls):
            started = time.monotonic()
            _, ticket = clerk.call()
            deadline = time.monotonic() + 5
            while ticket["number"] not in seen and time.monotonic() < deadline:
                time.sleep(0.0005)
            fan_out.append(seen.get(ticket["number"], deadline) - started)
        streams = [Stream(ports[0], office, display) for _ in range(args.streams)]
        for stream in streams:
            stream.start()
        for stream in streams:
            stream.ready.wait(30)
        time.sleep(2)
        loaded = [clerk.call()[0] for _ in range(args.calls)]
        results = {
            "call_next_alone": {"p50_ms": percentile(alone, 50), "p99_ms": percentile(alone, 99)},
            "call_to_event_other_instance": {"p50_ms": percentile(fan_out, 50),
                                             "p99_ms": percentile(fan_out, 99),
                                             "calls": len(fan_out),
                                             "missed": sum(1 for t in fan_out if t >= 5)},
            f"call_next_with_{args.streams}_streams": {"p50_ms": percentile(loaded, 50),
                                                       "p99_ms": percentile(loaded, 99)},
        }
        results["p99_ratio_with_streams"] = round(
            percentile(loaded, 99) / max(percentile(alone, 99), 0.1), 2)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "display-postgresql.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
