"""Benchmark scenarios: what to request from citizen_desk and from the baseline.

Each capability adds its scenarios here. ``prepare`` (optional) runs once
against the migrated, seeded database before the servers start; it receives
the environment the servers will get.
"""

from urllib.parse import quote

from bench.catalog_data import prepare as prepare_catalog

SCENARIOS = [
    {"name": "home page", "path": "/", "baseline": "/"},
    {"name": "health (JSON)", "path": "/api/v1/health", "baseline": "/json"},
    {"name": "services search (2,000 × 3 languages)",
     "path": "/api/v1/services?lang=en&q=" + quote("πιστοποιητικο"),
     "baseline": "/json", "prepare": prepare_catalog},
]
