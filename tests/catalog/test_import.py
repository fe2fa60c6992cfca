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


# -- hostile files: refused with their place, before anything is built (issue 8) --------------

def minimal_text() -> str:
    """The minimal catalog as one line of JSON, which is also a YAML document."""
    return json.dumps(minimal_document(), ensure_ascii=False)


DEEP = 50_000
HOSTILE = {
    "duplicate key": (('"duration_minutes": 15', '"duration_minutes": 30, "duration_minutes": 15'),
                      "services[0].duration_minutes: appears more than once in the same object"),
    "huge integer": (('"duration_minutes": 15', '"duration_minutes": 1' + "0" * 5000),
                     "services[0].duration_minutes: is a number with too many digits "
                     "(5001; at most 20)"),
    "NUL": (('"Πιστοποιητικό οικογενειακής κατάστασης"', r'"Πιστοποιητικό\u0000"'),
            "services[0].translations.el.name: contains the character U+0000, "
            "which a text may not contain"),
    "lone surrogate": (('"Certificate of family status"', r'"Certificate \ud800"'),
                       "services[0].translations.en.name: contains the character U+D800, "
                       "which a text may not contain"),
    "deep nesting": (('"duration_minutes": 15',
                      '"duration_minutes": ' + "[" * DEEP + "]" * DEEP),
                     "Lists and objects are nested deeper than a catalog file allows "
                     "(at most 6 levels; line 1, column "),
    "code with a newline": (('"code": "family-status"', r'"code": "nl-code\n"'),
                            "services[0].code: is not in the expected format"),
    "language with a newline": (('"en": {"name": "Certificate', r'"en\n": {"name": "Certificate'),
                                "services[0].translations: is not in the expected format"),
}


def hostile_text(case: str) -> str:
    (old, new), _ = HOSTILE[case]
    text = minimal_text()
    assert text.count(old) == 1
    return text.replace(old, new)


@pytest.mark.parametrize("yaml_format", [False, True], ids=["json", "yaml"])
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_values_are_refused_with_their_place(app_ctx, case, yaml_format):
    with pytest.raises(ValidationError) as excinfo:
        import_catalog(parse(hostile_text(case), yaml_format=yaml_format))
    lines = excinfo.value.lines()
    assert len(lines) == 1 and lines[0].startswith(HOSTILE[case][1]), lines


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@pytest.mark.parametrize("case", HOSTILE)
def test_cli_refuses_hostile_files_and_imports_nothing(app, runner, tmp_path, case, suffix):
    path = tmp_path / f"catalog{suffix}"
    path.write_text(hostile_text(case), encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path), "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert HOSTILE[case][1] in result.output
    assert "Nothing was imported." in result.output
    with app.app_context():
        assert count(Office) == 0 and count(Service) == 0


def test_the_untouched_text_imports(app_ctx):
    """The hostile files differ from a good one only by the refused value."""
    for yaml_format in (False, True):
        assert import_catalog(parse(minimal_text(), yaml_format=yaml_format)).changed
        db.session.rollback()


def test_yaml_block_style_duplicate_keys_and_nesting(app_ctx):
    text = dump(minimal_document(), yaml_format=True)
    with pytest.raises(ValidationError) as excinfo:
        parse(text.replace("version: 1\n", "version: 1\nversion: 2\n"), yaml_format=True)
    assert excinfo.value.lines() == ["version: appears more than once in the same object"]
    deep = "offices:\n" + "".join("  " * n + "- \n" for n in range(1, 10))
    with pytest.raises(ValidationError) as excinfo:
        parse(deep, yaml_format=True)
    assert excinfo.value.lines() == [
        "Lists and objects are nested deeper than a catalog file allows "
        "(at most 6 levels; line 7, column 13)."]


def test_texts_given_as_a_document_are_checked_too(app_ctx):
    document = minimal_document()
    document["offices"][0]["name"]["el"] = "ΚΕΠ\x00"
    assert problems(document) == [
        "offices[0].name.el: contains the character U+0000, which a text may not contain"]


def test_a_newline_after_a_code_is_refused_and_not_stored_stripped(app_ctx):
    document = minimal_document(code="nl-code\n")
    assert problems(document) == ["services[0].code: is not in the expected format"]
    document = minimal_document()
    document["offices"][0]["code"] = "ATH1\n"
    assert problems(document) == ["offices[0].code: is not in the expected format"]


def test_schema_patterns_end_the_text_only_at_their_end():
    """Patterns match as in ECMA-262 (``$`` ends the text): ``$`` is only ever final."""
    patterns = list(_values_of(import_schema(), "pattern"))
    assert patterns and all("$" not in pattern[:-1] for pattern in patterns)
    from citizen_desk.catalog.transfer.support import CatalogValidator
    for pattern in patterns:
        if pattern.endswith("$"):
            validator = CatalogValidator({"type": "string", "pattern": pattern})
            assert not validator.is_valid("A\n") and not validator.is_valid("2026-01-01\n")


def import_schema():
    from citizen_desk.catalog.transfer.importer import schema
    return schema()


def _values_of(node, key):
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            else:
                yield from _values_of(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values_of(item, key)


def yaml_bomb(levels: int) -> str:
    """The classic "billion laughs": each line repeats the previous one nine times."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_anchors_are_refused_before_anything_is_expanded(app_ctx):
    import time
    import tracemalloc
    # Six levels would expand to 531,441 strings; the refusal must not build even one level.
    text = yaml_bomb(6)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ValidationError) as excinfo:
            parse(text, yaml_format=True)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert excinfo.value.lines() == [
        "YAML anchors and aliases (&name, *name) are not accepted: write the values out in "
        "full (line 1, column 5)."]
    assert elapsed < 1 and peak < 1_000_000, (elapsed, peak)
    with pytest.raises(ValidationError, match="anchors and aliases"):
        parse("a: 1\nb: *x\n", yaml_format=True)  # an alias alone, too


def test_the_reported_442_byte_bomb_fails_fast_in_a_bounded_process(tmp_path):
    """The nine-level bomb (2.4 GB expanded), in a child limited to 1 GB and 60 s."""
    import os
    import resource
    import subprocess
    import sys
    from pathlib import Path
    text = yaml_bomb(9)
    assert len(text.encode()) < 500
    script = (
        "import sys, time\n"
        "from flask_babel import force_locale\n"
        "from citizen_desk import create_app\n"
        "from citizen_desk.catalog.transfer.importer import parse\n"
        "from citizen_desk.core.validation import ValidationError\n"
        "app = create_app({'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite://'})\n"
        "with app.app_context(), force_locale('en'):\n"
        "    started = time.perf_counter()\n"
        "    try:\n"
        "        parse(sys.stdin.read(), yaml_format=True)\n"
        "    except ValidationError as exc:\n"
        "        print(exc, round(time.perf_counter() - started, 3))\n")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 ** 30, 2 ** 30))

    done = subprocess.run([sys.executable, "-c", script], input=text, capture_output=True,
                          text=True, timeout=60, preexec_fn=limit, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode == 0, done.stderr[-2000:]
    message, seconds = done.stdout.rsplit(" ", 1)
    assert "anchors and aliases" in message and float(seconds) < 1


def test_cli_refuses_a_yaml_bomb_at_once(app, runner, tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml_bomb(6), encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path), "--lang", "en"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "YAML anchors and aliases (&name, *name) are not accepted" in result.output
    assert "Nothing was imported." in result.output


def test_yaml_export_writes_no_aliases():
    shared = ["mon", "tue"]
    text = dump({"a": shared, "b": shared}, yaml_format=True)
    assert "&" not in text and "*" not in text
