"""Benchmark scenarios: what to request from citizen_desk and from the baseline.

Each capability adds its scenarios here. ``prepare`` (optional) runs once
against the migrated, seeded database before the servers start; it receives
the environment the servers will get.
"""

SCENARIOS = [
    {"name": "home page", "path": "/", "baseline": "/"},
    {"name": "health (JSON)", "path": "/api/v1/health", "baseline": "/json"},
]
