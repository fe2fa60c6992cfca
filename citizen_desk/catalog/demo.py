"""The catalog's part of the demo: two real-looking offices and their services.

Loaded through the importer from ``citizen_desk/data/demo-catalog.json``,
so the demo also proves the catalog file format.
"""
from __future__ import annotations

from importlib import resources

from citizen_desk.catalog.transfer.importer import import_catalog, parse
from citizen_desk.core.seed import demo_seeder

DEMO_CATALOG = "demo-catalog.json"


def demo_document() -> dict:
    source = resources.files("citizen_desk") / "data" / DEMO_CATALOG
    return parse(source.read_text(encoding="utf-8"))


@demo_seeder(order=10)
def seed_catalog(report):
    summary = import_catalog(demo_document())
    services = summary.counts.get("services", {}).get("created", 0)
    report.add("Citizens", f"Service catalog ({services} services): {report.link('/services')}")
    report.add("Citizens", f"Search «πιστοποιητικο»: {report.link('/services?q=πιστοποιητικο')}")
    report.add("Citizens", f"A service page: {report.link('/services/family-status')}")
    report.add("Citizens", f"An office page (Athens): {report.link('/offices/ATH1')}")
    report.add("Citizens", f"An office page (Thessaloniki, English): "
                           f"{report.link('/offices/THE1?lang=en')}")
    report.add("Integrations", f"Services API: {report.link('/api/v1/services?q=amka&lang=en')}")
    report.add("Integrations", f"Offices API: {report.link('/api/v1/offices/ATH1')}")
    report.add("Administrators", "Catalog export: flask --app citizen_desk catalog export")
