"""Import a catalog file: parse, check against the JSON Schema, then apply by code.

Idempotent by code: an office, service, category or counter that exists is
updated in place, one that does not is created; importing the same file
twice changes nothing. Rules and closures of an office in the file are
replaced by the file's list (identical ones are kept untouched).
All-or-nothing: ``import_catalog`` only flushes, and raises
``ValidationError`` with the place in the file of every problem; the
caller commits on success and rolls back otherwise.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from sqlalchemy import select
from flask_babel import lazy_gettext as _l

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog import service_operations as service_ops
from citizen_desk.catalog.transfer.exporter import export_office, export_service
from citizen_desk.catalog.transfer.rules import sync_closures, sync_counters, sync_rules
from citizen_desk.catalog.transfer.reading import plain, read_json, read_yaml
from citizen_desk.catalog.transfer.support import CatalogValidator, fail, path_of, schema_errors
from citizen_desk.catalog.models import Category, Service
from citizen_desk.offices.models import Office
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.core import audit

__all__ = ["ImportSummary", "parse", "import_catalog", "load_file"]

#: Largest file accepted (a 2,000-service catalog in three languages is a few MB).
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class ImportSummary:
    """How many records of each kind were created, updated or left as they were."""

    counts: dict = field(default_factory=dict)

    def note(self, kind: str, outcome: str):
        self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        self.counts[kind][outcome] += 1

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of catalog files, shipped in the package."""
    source = resources.files("citizen_desk") / "schemas" / "catalog.schema.json"
    return json.loads(source.read_text(encoding="utf-8"))


def parse(text: str, yaml_format: bool = False):
    """The document in ``text`` (JSON, or YAML), or ``ValidationError``."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        fail("", _l("The file is larger than %(max)d MB.", max=MAX_FILE_BYTES // 2 ** 20))
    # Both refuse what could hurt before building it (anchors, deep nesting,
    # huge numbers, duplicate keys, NUL): see reading.py.
    return read_yaml(text) if yaml_format else read_json(text)


def load_file(path: str) -> dict:
    """Read and parse the file at ``path`` (YAML when it ends in .yaml or .yml)."""
    with open(path, "rb") as fh:
        raw = fh.read(MAX_FILE_BYTES + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail("", _l("The file is not UTF-8 text."))
    return parse(text, yaml_format=path.lower().endswith((".yaml", ".yml")))


def _check_duplicates(document: dict):
    problems = []
    for kind in ("categories", "offices", "services"):
        seen = {}
        for index, record in enumerate(document.get(kind, [])):
            code = record["code"]
            if code in seen:
                first = f"{kind}[{seen[code]}]"
                problems.append((f"{kind}[{index}].code", _l(
                    "duplicate code %(code)s (first used at %(place)s)",
                    code=code, place=first)))
            seen.setdefault(code, index)
    for index, office in enumerate(document.get("offices", [])):
        seen = set()
        for number, counter in enumerate(office.get("counters", [])):
            if counter["code"] in seen:
                problems.append((f"offices[{index}].counters[{number}].code", _l(
                    "duplicate code %(code)s", code=counter["code"])))
            seen.add(counter["code"])
    if problems:
        raise ValidationError.from_pairs(problems)


def import_catalog(document) -> ImportSummary:
    """Apply ``document`` to the session (flush only); ``ValidationError`` if anything is wrong."""
    document = plain(document)  # a document not read by parse() is checked all the same
    problems = schema_errors(schema(), document, CatalogValidator)
    if problems:
        raise ValidationError.from_pairs(problems)
    _check_duplicates(document)
    summary = ImportSummary()
    for index, raw in enumerate(document.get("categories", [])):
        _import_category(raw, f"categories[{index}]", summary)
    offices = {}
    for index, raw in enumerate(document.get("offices", [])):
        offices[raw["code"]] = _import_office(raw, f"offices[{index}]", summary)
    services = {}
    for index, raw in enumerate(document.get("services", [])):
        services[raw["code"]] = _import_service(raw, f"services[{index}]", summary)
    for index, raw in enumerate(document.get("offices", [])):
        office, before = offices[raw["code"]]
        where = f"offices[{index}]"
        sync_rules(office, raw.get("opening_rules", []), f"{where}.opening_rules")
        sync_closures(office, raw.get("closures", []), f"{where}.closures")
        sync_counters(office, raw.get("counters", []), f"{where}.counters")
        db.session.flush()
        summary.note("offices", "created" if before is None else
                     "unchanged" if export_office(office) == before else "updated")
    for code, (service, before) in services.items():
        summary.note("services", "created" if before is None else
                     "unchanged" if export_service(service) == before else "updated")
    # One summary entry, in the import's transaction, rather than one per record.
    audit.record("catalog.import", object_type="catalog", **summary.counts)
    return summary


def _import_category(raw: dict, where: str, summary: ImportSummary):
    existing = db.session.scalar(select(Category).where(Category.code == raw["code"]))
    before = (existing.name.copy(), existing.position) if existing else None
    try:
        category = service_ops.ensure_category(raw["code"], raw["name"], raw.get("position", 0))
    except ValidationError as exc:
        fail(path_of(where, exc.field), exc.message)
    summary.note("categories", "created" if before is None else
                 "unchanged" if before == (dict(category.name), category.position)
                 else "updated")


def _import_office(raw: dict, where: str, summary: ImportSummary):
    office = db.session.scalar(select(Office).where(Office.code == raw["code"]))
    before = export_office(office) if office else None
    fields = {key: raw.get(key, default) for key, default in ops.OFFICE_DEFAULTS.items()}
    try:
        if office is None:
            office = ops.create_office(raw["code"], raw["name"], **fields)
        else:
            ops.update_office(office, name=raw["name"], **fields)
        if office.retired != raw.get("retired", False):
            ops.retire_office(office, raw.get("retired", False))
    except ValidationError as exc:
        fail(path_of(where, exc.field), exc.message)
    return office, before


def _service_fields(raw: dict, where: str) -> dict:
    texts = {name: {} for name in ("name", "summary", "description", "documents", "fees",
                                   "link", "synonyms")}
    for language, values in raw["translations"].items():
        for name, value in values.items():
            texts[name][language] = value
    offices = []
    for number, code in enumerate(raw.get("offices", [])):
        office = db.session.scalar(select(Office).where(Office.code == code))
        if office is None:
            fail(f"{where}.offices[{number}]", _l("unknown office %(code)s", code=code))
        offices.append(office)
    category = None
    if raw.get("category"):
        category = db.session.scalar(select(Category).where(Category.code == raw["category"]))
        if category is None:
            fail(f"{where}.category", _l("unknown category %(code)s", code=raw["category"]))
    return dict(duration_minutes=raw.get("duration_minutes", 15), category=category,
                bookable_online=raw.get("bookable_online", True),
                walk_in=raw.get("walk_in", True),
                required_fields=raw.get("required_fields", []), offices=offices, **texts)


def _import_service(raw: dict, where: str, summary: ImportSummary):
    service = db.session.scalar(select(Service).where(Service.code == raw["code"]))
    before = export_service(service) if service else None
    fields = _service_fields(raw, where)
    retired = raw.get("retired", False)
    try:
        if service is None:
            name = fields.pop("name")
            service = service_ops.create_service(raw["code"], raw["ticket_prefix"], name, **fields)
        else:
            if retired and not service.retired:
                service_ops.retire_service(service)
            service_ops.update_service(service, ticket_prefix=raw["ticket_prefix"], **fields)
        if service.retired != retired:
            service_ops.retire_service(service, retired)
    except ValidationError as exc:
        fail(path_of(where, exc.field, service=True), exc.message)
    return service, before

