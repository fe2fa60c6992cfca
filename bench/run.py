"""Benchmark harness: citizen_desk against a bare Flask app, served the same way.

    python bench/run.py [--db sqlite|postgresql] [--requests 3000] [--seconds 20]

Both apps are served by gunicorn with threaded workers on loopback; a second
process sends bounded load; for each scenario it prints requests/s, p50 and
p99 of both and the ratio (citizen_desk ÷ baseline). Results also go to
``bench/results/latest.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from bench.scenarios import SCENARIOS  # noqa: E402

PYTHON = sys.executable
BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app_spec: str, env: dict, workers: int, threads: int):
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
         "--workers", str(workers), "--threads", str(threads), "--log-level", "warning",
         app_spec], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/", timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.terminate()
        raise RuntimeError(f"{app_spec} did not start")
    return proc, url


def flask(env, *args):
    subprocess.run([str(BIN / "flask"), "--app", "citizen_desk", *args], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://root@127.0.0.1:5432/test",
                        help="an empty database the run may overwrite")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--only", help="run only scenarios whose name contains this")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="citizen-desk-bench-"))
    # A load test is one address sending thousands of requests: no rate limits.
    env = dict(os.environ, CITIZEN_DESK_ENV="production", SECRET_KEY="b" * 48,
               CITIZEN_DESK_SESSION_COOKIE_SECURE="false", RATELIMIT_ENABLED="false")
    if args.db == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    else:
        env["DATABASE_URL"] = args.pg_url
        import psycopg
        with psycopg.connect(args.pg_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    flask(env, "db", "upgrade")
    flask(env, "demo", "seed")
    scenarios = [s for s in SCENARIOS if not args.only or args.only in s["name"]]
    for prepare in dict.fromkeys(s["prepare"] for s in scenarios if s.get("prepare")):
        prepare(env)

    app_proc, app_url = serve("citizen_desk:create_app()", env, args.workers, args.threads)
    base_proc, base_url = serve("bench.baseline_app:app", env, args.workers, args.threads)
    results = []
    try:
        for scenario in scenarios:
            # ``path`` may be made once ``prepare`` ran (tokens it created); ``during``
            # a context running beside the load; ``check`` counts after it (e.g. duplicates).
            path = scenario["path"](env) if callable(scenario["path"]) else scenario["path"]
            concurrency = scenario.get("concurrency", args.concurrency)
            # A reference scenario measures the bare app's own write instead of citizen_desk.
            url = base_url if scenario.get("target") == "baseline" else app_url
            with (scenario["during"](env) if scenario.get("during") else nullcontext()):
                # Warm both up, then measure the baseline and the app back to back.
                load.run(url, path, 50, 2, 5)
                load.run(base_url, scenario["baseline"], 50, 2, 5)
                base = load.run(base_url, scenario["baseline"], args.requests,
                                concurrency, args.seconds)
                ours = load.run(url, path, args.requests, concurrency, args.seconds)
            ratio = round(ours["rps"] / base["rps"], 3) if base["rps"] else None
            results.append({"scenario": scenario["name"], "db": args.db, "clients": concurrency,
                            "citizen_desk": ours, "baseline": base, "ratio": ratio,
                            **(scenario["check"](env) if scenario.get("check") else {})})
    finally:
        for proc in (app_proc, base_proc):
            proc.terminate()
            proc.wait(timeout=10)

    header = (f"{'scenario':34} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} | "
              f"{'base rps':>8} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>6} errors")
    print(f"\ncitizen_desk vs bare Flask — {args.db}, gunicorn gthread "
          f"{args.workers}×{args.threads}, {args.concurrency} client processes")
    print(header)
    print("-" * len(header))
    for r in results:
        o, b = r["citizen_desk"], r["baseline"]
        print(f"{r['scenario']:34} {o['rps']:>8} {o['p50_ms']:>8} {o['p99_ms']:>8} | "
              f"{b['rps']:>8} {b['p50_ms']:>7} {b['p99_ms']:>7} | {r['ratio']:>6} "
              f"{o['errors']}/{b['errors']}"
              + "".join(f" {k}={r[k]}" for k in ("duplicate_calls", "duplicate_numbers")
                        if k in r)
              + (f" ({r['clients']} clients)" if r["clients"] != args.concurrency else ""))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"latest-{args.db}.json").write_text(json.dumps(results, indent=2))
    if any(r["citizen_desk"]["errors"] for r in results):
        sys.exit("some requests failed")
    if any(r.get("duplicate_calls") or r.get("duplicate_numbers") for r in results):
        sys.exit("a ticket was called twice or a number given twice")


if __name__ == "__main__":
    main()
