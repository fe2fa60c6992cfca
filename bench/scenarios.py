"""Benchmark scenarios: what to request from citizen_desk and from the baseline.

Each capability adds its scenarios here. ``prepare`` (optional) runs once
against the migrated, seeded database before the servers start (once per
distinct function, however many scenarios name it); it receives the
environment the servers will get. ``path`` may be a list, gone through in turn.
``target: "baseline"`` sends the load to the bare app instead (a reference).
"""

from urllib.parse import quote

from bench import baseline_app, booking_data, queue_data
from bench.catalog_data import prepare as prepare_catalog

#: Distinct searches, more than the API's result cache holds: each one is computed.
DISTINCT_SEARCHES = ["/api/v1/services?lang=el&q=" + quote(f"πιστοποιητικο {n}")
                     for n in range(2000)]

#: The same searches typed in Greeklish (``pistopoiitiko 12``): one more index range per word.
DISTINCT_GREEKLISH = ["/api/v1/services?lang=el&q=" + quote(f"pistopoiitiko {n}")
                      for n in range(2000)]

SCENARIOS = [
    {"name": "home page", "path": "/", "baseline": "/"},
    {"name": "health (JSON)", "path": "/api/v1/health", "baseline": "/json"},
    {"name": "services search (2,000 × 3 languages)",
     "path": "/api/v1/services?lang=en&q=" + quote("πιστοποιητικο"),
     "baseline": "/json", "prepare": prepare_catalog},
    {"name": "services search, uncached (2,000 queries)", "path": DISTINCT_SEARCHES,
     "baseline": "/json", "prepare": prepare_catalog},
    {"name": "services search, Greeklish, uncached", "path": DISTINCT_GREEKLISH,
     "baseline": "/json", "prepare": prepare_catalog},
    {"name": "catalog page search (HTML)",
     "path": "/services?lang=el&q=" + quote("βεβαιωση"), "baseline": "/",
     "prepare": prepare_catalog},
    # A busy office (bench/booking_data.py): 60 days of free times, a 15- and a 30-minute service.
    {"name": "availability API, 60 days", "path": booking_data.paths(), "baseline": "/json",
     "prepare": booking_data.prepare},
    {"name": "availability API, 1,600 windows", "path": booking_data.distinct_paths(),
     "baseline": "/json", "prepare": booking_data.prepare},
    # The walk-in queue (bench/queue_data.py): kiosks issuing tickets while the line is kept
    # at ~100 waiting; ten clerks calling next while it is refilled; duplicates counted after.
    {"name": "issue-ticket", "path": queue_data.issue_requests, "baseline": "/json",
     "prepare": queue_data.prepare, "during": queue_data.drained, "check": queue_data.check},
    {"name": "call-next", "path": queue_data.call_requests, "baseline": "/json",
     "concurrency": queue_data.COUNTERS, "prepare": queue_data.prepare,
     "during": queue_data.refilled, "check": queue_data.check},
    # The reference for both: the bare app's least possible write (bench/baseline_app.py).
    {"name": "write floor (bare Flask, 3 SQL)", "path": {"method": "POST", "path": "/write"},
     "baseline": "/json", "target": "baseline", "prepare": baseline_app.prepare},
]
