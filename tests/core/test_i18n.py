"""Locale selection, the language switcher and date formatting in the office's zone."""
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from citizen_desk.core.i18n import format_local, text_direction

ROOT = Path(__file__).resolve().parents[2]


def lang_of(response):
    html = response.get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_accept_language_picks_english(client):
    assert lang_of(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"})) == "en"


def test_unsupported_accept_language_falls_back_to_greek(client):
    assert lang_of(client.get("/", headers={"Accept-Language": "fr-FR"})) == "el"


@pytest.mark.parametrize("header", [";;;q=x,,é", "q=1", "*", "en;q=abc", "x" * 500])
def test_garbage_accept_language_falls_back_quietly(client, header):
    response = client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert lang_of(response) in ("el", "en")


@pytest.mark.parametrize("value", ["zz", "", "../../etc", "en-US", "EN", "el_GR", "<script>"])
def test_lang_parameter_is_validated(client, value):
    response = client.get("/", query_string={"lang": value})
    assert response.status_code == 200
    expected = "en" if value.lower().startswith("en") else "el"
    assert lang_of(response) == expected


def test_explicit_choice_is_remembered_and_beats_the_browser(client):
    client.get("/?lang=en")
    assert lang_of(client.get("/", headers={"Accept-Language": "el"})) == "en"
    client.get("/?lang=el")
    assert lang_of(client.get("/", headers={"Accept-Language": "en"})) == "el"


def test_staff_preference_comes_after_explicit_choice(app, client):
    app.extensions["citizen_desk.user_locale"] = lambda: "en"
    assert lang_of(client.get("/", headers={"Accept-Language": "el"})) == "en"
    client.get("/?lang=el")
    assert lang_of(client.get("/")) == "el"


def test_switcher_keeps_the_current_page_and_its_arguments(client):
    html = client.get("/?lang=el&foo=bar").get_data(as_text=True)
    assert 'href="/?lang=en&amp;foo=bar"' in html or 'href="/?foo=bar&amp;lang=en"' in html
    assert 'aria-current="true" lang="el"' in html


def test_switcher_on_a_404_page_still_works(client):
    html = client.get("/missing").get_data(as_text=True)
    assert 'hreflang="en"' in html


def test_full_date_in_greek(app):
    with app.test_request_context("/?lang=el"):
        moment = datetime(2026, 11, 26, 22, 30, tzinfo=timezone.utc)  # 00:30 on the 27th in Athens
        assert format_local(moment, "full") == "Παρασκευή, 27 Νοεμβρίου 2026"
        assert format_local(moment, "time") == "00:30"
        assert format_local(date(2026, 11, 26)) == "Πέμπτη, 26 Νοεμβρίου 2026"


def test_full_date_in_english_and_other_zone(app):
    with app.test_request_context("/?lang=en"):
        # Clocks go forward at 01:00 UTC on 29 March 2026.
        before = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)
        after = datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)
        assert format_local(before, "full_time") == "Sunday, 29 March 2026, 02:30"
        assert format_local(after, "full_time") == "Sunday, 29 March 2026, 04:30"
        assert format_local(after, "time", tz="Europe/Lisbon") == "02:30"


def test_naive_datetimes_are_refused(app):
    with app.test_request_context("/"):
        with pytest.raises(ValueError):
            format_local(datetime(2026, 1, 1, 12, 0))


def test_text_direction():
    assert text_direction("el") == "ltr"
    assert text_direction("ar") == "rtl"
    assert text_direction("not a locale") == "ltr"


def _catalog(language):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=language)


def test_every_catalog_is_complete_and_not_fuzzy(app):
    for language in app.config["LANGUAGES"]:
        catalog = _catalog(language)
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        assert not fuzzy, f"{language}: fuzzy {fuzzy}"
        if language == "en":  # the source language: an empty msgstr shows the msgid
            continue
        missing = [m.id for m in catalog if m.id and not all(
            m.string if isinstance(m.string, tuple) else (m.string,))]
        assert not missing, f"{language}: untranslated {missing}"


def test_catalogs_hold_every_message_of_the_code(tmp_path):
    """A string added without `flask translate update` fails here, not in a Greek page."""
    from babel.messages.frontend import CommandLineInterface
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
        "-k", "lazy_ngettext:1,2", "-o", str(pot), str(ROOT / "citizen_desk"),
        str(ROOT / "templates")])
    with pot.open("rb") as fh:
        source_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    for language in ("el", "en"):
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(language) if m.id}
        assert source_ids - ids == set(), f"{language} lacks messages: run make translations"
