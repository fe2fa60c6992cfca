"""Catalog files: import idempotent by code and all-or-nothing, export round trip, bad input."""
import copy
import json

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from citizen_desk.catalog.demo import demo_document
from citizen_desk.catalog.transfer.exporter import dump, export_catalog
from citizen_desk.catalog.transfer.importer import import_catalog, parse
from citizen_desk.core.validation import ValidationError
from citizen_desk.catalog.models import Counter, OpeningRule, Service
from citizen_desk.offices.models import Office
from citizen_desk.extensions import db
from tests.conftest import _empty_tables
from tests.factories import minimal_document


@pytest.fixture(autouse=True)
def english(request):
    """Messages in English (outside a request the default locale, Greek, applies)."""
    if "app_ctx" in request.fixturenames:
        request.getfixturevalue("app_ctx")
        with force_locale("en"):
            yield
    else:
        yield


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def problems(document):
    with pytest.raises(ValidationError) as excinfo:
        import_catalog(document)
    db.session.rollback()
    assert count(Service) == 0 and count(Office) == 0, "nothing may be written"
    return excinfo.value.lines()


def test_demo_catalog_imports_and_reimporting_changes_nothing(app_ctx):
    summary = import_catalog(demo_document())
    db.session.commit()
    assert summary.counts["services"]["created"] >= 12
    assert summary.counts["offices"]["created"] == 2
    ids = sorted(db.session.scalars(select(OpeningRule.id)))
    summary = import_catalog(demo_document())
    db.session.commit()
    assert not summary.changed, summary.counts
    assert sorted(db.session.scalars(select(OpeningRule.id))) == ids


def test_export_import_into_an_empty_database_export_gives_the_same_document(app_ctx):
    import_catalog(demo_document())
    db.session.commit()
    first = dump(export_catalog())
    assert json.loads(first) == demo_document()  # the demo file is itself canonical
    db.session.remove()
    _empty_tables()
    import_catalog(json.loads(first))
    db.session.commit()
    assert dump(export_catalog()) == first


def test_an_edited_file_updates_in_place(app_ctx):
    import_catalog(demo_document())
    db.session.commit()
    service_id = db.session.scalar(select(Service.id).where(Service.code == "family-status"))
    document = demo_document()
    family = next(s for s in document["services"] if s["code"] == "family-status")
    family["translations"]["en"]["name"] = "Family status certificate"
    office = document["offices"][0]
    office["opening_rules"][0]["seats"]["public"] = 3
    office["counters"] = office["counters"][:3]
    summary = import_catalog(document)
    db.session.commit()
    assert summary.counts["services"] == {"created": 0, "updated": 1, "unchanged": 13}
    assert summary.counts["offices"] == {"created": 0, "updated": 1, "unchanged": 1}
    family = db.session.get(Service, service_id)
    assert family.name["en"] == "Family status certificate"
    counter = db.session.scalar(select(Counter).where(Counter.code == "4",
                                                      Counter.office.has(code="ATH1")))
    assert counter.active is False  # left out of the file: retired, not deleted


def test_yaml_files_import_too(app_ctx):
    text = dump(demo_document(), yaml_format=True)
    summary = import_catalog(parse(text, yaml_format=True))
    assert summary.counts["services"]["created"] == len(demo_document()["services"])


def test_malformed_json(app_ctx):
    with pytest.raises(ValidationError) as excinfo:
        parse('{"format": "citizen-desk-catalog", "version": 1,,}')
    assert "line 1, column 49" in str(excinfo.value)


def test_missing_greek_name_names_its_place(app_ctx):
    document = minimal_document()
    document["services"] = [copy.deepcopy(document["services"][0]) for _ in range(4)]
    for n, service in enumerate(document["services"]):
        service["code"], service["ticket_prefix"] = f"s{n}", "ABCD"[n]
    del document["services"][3]["translations"]["el"]["name"]
    assert problems(document) == ["services[3].translations.el.name: required"]


def test_wrong_types_are_all_reported(app_ctx):
    document = minimal_document(duration_minutes="15", bookable_online="yes")
    document["offices"][0]["slot_minutes"] = 15.5
    assert problems(document) == [
        "offices[0].slot_minutes: must be of type integer",
        "services[0].bookable_online: must be of type boolean",
        "services[0].duration_minutes: must be of type integer",
    ]


def test_unknown_fields_and_wrong_root(app_ctx):
    assert problems(minimal_document(colour="blue")) == ["services[0].colour: unknown field"]
    assert problems([]) == ["must be of type object"]
    document = minimal_document()
    document["services"][0]["translations"]["el"]["nmae"] = "typo"
    assert problems(document) == ["services[0].translations.el.nmae: unknown field"]


def test_unknown_office_code(app_ctx):
    assert problems(minimal_document(offices=["ATH1", "NOPE"])) == [
        "services[0].offices[1]: unknown office NOPE"]


def test_unknown_service_in_a_rule(app_ctx):
    document = minimal_document()
    document["offices"][0]["opening_rules"] = [{
        "weekdays": ["mon"], "start_time": "08:00", "end_time": "13:00",
        "valid_from": "2026-01-01", "services": ["family-status", "ghost"]}]
    assert problems(document) == ["offices[0].opening_rules[0].services[1]: unknown service ghost"]


def test_rule_errors_name_their_field(app_ctx):
    document = minimal_document()
    document["offices"][0]["opening_rules"] = [{
        "weekdays": ["mon"], "start_time": "13:00", "end_time": "08:00",
        "valid_from": "2026-02-28"}]
    assert problems(document) == [
        "offices[0].opening_rules[0].end_time: The closing time must be after the opening time."]
    document["offices"][0]["opening_rules"][0].update(end_time="14:00", valid_from="2026-02-30")
    assert problems(document) == [
        "offices[0].opening_rules[0].valid_from: 2026-02-30 is not a date (YYYY-MM-DD)"]


def test_duplicate_codes_in_one_file(app_ctx):
    document = minimal_document()
    document["services"].append(copy.deepcopy(document["services"][0]))
    document["services"][1]["ticket_prefix"] = "B"
    assert problems(document) == [
        "services[1].code: duplicate code family-status (first used at services[0])"]


def test_prefix_clash_within_an_office(app_ctx):
    document = minimal_document()
    other = copy.deepcopy(document["services"][0])
    other["code"] = "birth"
    document["services"].append(other)
    assert problems(document) == [
        "services[1].ticket_prefix: At ATH1 the prefix A is already used by family-status."]


def test_a_ten_megabyte_description_is_refused(app_ctx):
    document = minimal_document()
    document["services"][0]["translations"]["el"]["description"] = "Α" * 10_000_000
    text = json.dumps(document, ensure_ascii=False)
    assert problems(parse(text)) == [
        "services[0].translations.el.description: is too long (at most 20000 characters)"]


def test_a_late_error_rolls_back_everything(app_ctx):
    document = demo_document()
    document["services"][-1]["offices"] = ["NOPE"]
    lines = problems(document)
    assert lines == [f"services[{len(document['services']) - 1}].offices[0]: unknown office NOPE"]


def test_cli_import_and_export(app, runner, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(demo_document(), ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Services: 14 created, 0 updated, 0 unchanged" in result.output
    result = runner.invoke(args=["catalog", "export"])
    assert result.exit_code == 0
    assert json.loads(result.output) == demo_document()
    out = tmp_path / "out.yaml"
    assert runner.invoke(args=["catalog", "export", str(out)]).exit_code == 0
    assert "ΚΕΠ Δήμου Αθηναίων" in out.read_text(encoding="utf-8")


def test_cli_import_of_a_bad_file_says_where_and_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text('{"format": "citizen-desk-catalog", "version": 1, "services": [}',
                    encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path), "--lang", "en"])
    assert result.exit_code == 1
    assert "This is not valid JSON" in result.output
    assert "Nothing was imported." in result.output
    document = minimal_document(offices=["XX1"])
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path), "--lang", "en"])
    assert result.exit_code == 1 and "services[0].offices[0]: unknown office XX1" in result.output
    with app.app_context():
        assert count(Office) == 0


def test_cli_dry_run_saves_nothing(app, runner, tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(dump(minimal_document(), yaml_format=True), encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path), "--dry-run", "--lang", "en"])
    assert result.exit_code == 0 and "Dry run" in result.output
    with app.app_context():
        assert count(Service) == 0
