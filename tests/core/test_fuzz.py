"""Hostile input on every route: never a 5xx, never a traceback in the log.

Walks the routes of the permission matrix (``tests/test_permissions.py``,
its sample arguments and actors) with GET and POST, as an anonymous
visitor, an administrator and an office manager (``PROBES``):

- every path segment replaced by hostile values (NUL, huge and negative
  numbers, ``../``, non-ASCII digits, invalid UTF-8, 10 kB strings …);
- query parameters that collide with the route's own arguments and with
  ``url_for``'s keywords (``endpoint``, ``_external``, ``_method`` …);
- every query parameter the application reads, and on POST every form
  field of every form, given hostile values.

A hostile value goes to one probe that the route lets in (they take turns),
so that it reaches the view; each probe the route refuses gets one request
with every hostile parameter at once, which exercises the refusal (the
sign-in redirect keeps ``?next=``). About 3,000 requests, on whichever
engine the suite runs (``CITIZEN_DESK_TEST_DATABASE_URL``).
"""
from __future__ import annotations

import itertools
import logging
import re
from urllib.parse import quote, urlencode

import pytest
from argon2 import PasswordHasher
from flask import Blueprint, jsonify
from flask_wtf import FlaskForm
from marshmallow import fields
from wtforms import FormField
from wtforms.fields.core import UnboundField

from citizen_desk.core import audit
from citizen_desk.core.access import permission, public
from citizen_desk.extensions import csrf, db
from citizen_desk.staff import passwords
from tests.test_permissions import (ACTORS, MATRIX, client_for, sample_args,  # noqa: F401
                                    world)

#: Who probes: no account, every permission, and one office's permissions.
PROBES = ("anonymous", "admin", "manager_a")
assert set(PROBES) <= set(ACTORS)

#: Path segments, already percent-encoded as a client would put them in the URL.
HOSTILE_SEGMENTS = [
    "%00", "ATH1%00", "99999999999999999999", "2147483648", "-1", "..%2F..%2Fetc%2Fpasswd",
    "%C2%B2", "%ED%A0%80%FF", quote("Πιστοποιητικό ٣"), "A" * 10_000,
]
#: Query and form values (sent percent-encoded; lone surrogates as their UTF-8 bytes).
HOSTILE_VALUES = [
    "\x00", "a\x00b", "²", "٣", "99999999999999999999", "-1", "1e309", "9999-12-31",
    "0001-01-01", "31/12/9999", "xx", "../..", "Ω" * 300, "\ud800",
]
#: A value as long as a 10 kB string, sent in ``q`` alone.
LONG_VALUE = "Ω" * 5_000
#: ``url_for``'s own keywords, as query parameters.
URL_FOR_KEYWORDS = ["endpoint", "values", "_external", "_anchor", "_scheme", "_method"]
#: Parameters read from the query string somewhere in the application.
QUERY_PARAMETERS = ["q", "lang", "page", "limit", "office", "category", "from", "to",
                    "action", "object_type", "actor", "next", "token", "code", "id"]


def form_field_names() -> list[str]:
    """The field names of every form class (``name-el`` and the like for sub-forms)."""
    names, seen, pending = set(), set(), list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        for name in dir(cls):
            unbound = getattr(cls, name, None)
            if isinstance(unbound, UnboundField):
                names.add(name)
                if issubclass(unbound.field_class, FormField):
                    names.update(f"{name}-{code}" for code in ("el", "en", "xx"))
    return sorted(names)


def encode(pairs) -> str:
    """``urlencode``, lone surrogates included (as the bytes a careless client sends)."""
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass")


def build_path(rule, args: dict, target: str | None = None, hostile: str = "") -> str:
    """The rule's URL with ``args``, the argument ``target`` replaced by ``hostile`` (raw)."""
    def segment(match):
        name = match.group(1)
        return hostile if name == target else quote(str(args[name]), safe="")
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", segment, rule.rule)


def plan(rule, args: dict, method: str, allowed: set[str], form_names: list[str]):
    """``(actor, url, form)`` for one route and method (``form`` is a body or ``None``)."""
    admitted = [actor for actor in PROBES if actor in allowed]
    refused = [actor for actor in PROBES if actor not in allowed]
    turns = itertools.cycle(admitted or PROBES)
    base = build_path(rule, args)
    names = sorted({*QUERY_PARAMETERS, *rule.arguments})
    for target in rule.arguments:
        for hostile in HOSTILE_SEGMENTS:
            yield next(turns), build_path(rule, args, target, hostile), None
    collisions = [(name, "x") for name in [*URL_FOR_KEYWORDS, *rule.arguments]]
    for actor in admitted:
        yield actor, f"{base}?{encode([*collisions, ('page', '2'), ('_external', '1')])}", None
    for value in HOSTILE_VALUES:
        yield next(turns), f"{base}?{encode([(name, value) for name in names])}", None
        if method == "POST":
            yield next(turns), base, encode([(name, value) for name in form_names])
    yield next(turns), f"{base}?{encode([('q', LONG_VALUE)])}", None
    everything = [*collisions, *((name, value) for value in HOSTILE_VALUES[:3]
                                  for name in names)]
    for actor in refused:
        yield actor, f"{base}?{encode(everything)}", None


def send(client, method: str, url: str, headers: dict, form: str | None) -> int:
    if form is None:
        response = client.open(url, method=method, headers=headers)
    else:
        response = client.open(url, method=method, headers=headers, data=form.encode("ascii"),
                               content_type="application/x-www-form-urlencoded")
    # Close it: an event stream's generator (and the connection it may hold) ends now.
    response.close()
    return response.status_code


def test_no_input_makes_a_server_error(app, world, caplog, monkeypatch):  # noqa: F811
    caplog.set_level(logging.ERROR)
    # Resets and password changes hash for real: a cheap argon2 keeps the walk short.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64,
                                                             parallelism=1))
    form_names = form_field_names()
    failures, sent = [], 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if rule.endpoint not in MATRIX:  # test_permissions fails for it
            continue
        sample, allowed = MATRIX[rule.endpoint][0]
        args = sample_args(app, world, sample)
        for method in sorted(rule.methods & {"GET", "POST"}):
            clients = {}
            for actor, url, form in plan(rule, args, method, allowed, form_names):
                if actor not in clients:
                    clients[actor] = client_for(app, world, actor)
                client, headers = clients[actor]
                if method == "POST":  # it may have signed the actor out
                    del clients[actor]
                sent += 1
                try:
                    status = send(client, method, url, headers, form)
                except Exception as exc:  # TESTING propagates what would be a 500
                    status = f"{type(exc).__name__}: {exc}"
                logged = [record for record in caplog.records if record.levelno >= logging.ERROR]
                if not isinstance(status, int) or status >= 500 or logged:
                    failures.append(f"{method} {url[:120]} as {actor}, form {form is not None}: "
                                    f"{status} {logged[0].getMessage() if logged else ''}"[:300])
                    caplog.clear()
    assert 1_000 < sent < 8_000  # grows with the routes (the queue added about 40)
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures)


# The defects the fuzzing found, one by one, with what the user sees instead.

def _english(client, url, **kw):
    return client.get(url, headers={"Accept-Language": "en"}, **kw)


@pytest.mark.parametrize("url, link", [
    ("/offices/ATH1?code=THE1", "/offices/ATH1?lang=en"),
    ("/?endpoint=x", "/?lang=en"),
    ("/services?_method=POST&q=x", "/services?q=x&lang=en"),
    ("/services?_external=1&_scheme=javascript&_anchor=x", "/services?lang=en"),
    ("/services?values=x&q=a&q=b", "/services?q=a&q=b&lang=en"),
])
def test_the_language_switcher_passes_on_only_the_page_s_own_parameters(client, world, url,
                                                                         link):  # noqa: F811
    response = client.get(url)
    assert response.status_code == 200
    assert f'href="{link.replace("&", "&amp;")}"' in response.get_data(as_text=True)


def test_pagination_links_pass_on_only_the_filters(app, world):  # noqa: F811
    with app.app_context():
        for n in range(51):
            audit.record("probe.action", object_type="probe", object_id=n)
        db.session.commit()
    client, _ = client_for(app, world, "admin")
    response = client.get("/staff/audit?action=probe.action&endpoint=x&_external=1&_method=x"
                          "&values=x&_anchor=top")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'href="/staff/audit?action=probe.action&amp;page=2"' in page
    assert "http://" not in page.split('rel="next"')[1][:200]


@pytest.mark.parametrize("url", ["/services?page=%C2%B2", "/services?page=99999999999999999999",
                                 "/services?page=-1", "/services?q=x&page=1e309"])
def test_a_page_number_that_is_no_number_is_the_first_page(client, world, url):  # noqa: F811
    assert client.get(url).status_code in (200, 404)


def test_a_limit_in_other_digits_is_a_422_naming_the_field(client, world):  # noqa: F811
    response = client.get("/api/v1/services?limit=%C2%B2&lang=en")
    assert response.status_code == 422
    assert response.json["errors"] == {"limit": "Give a whole number from 1 to 200."}


@pytest.mark.parametrize("url", [
    "/services/x%00", "/offices/ATH1%00", "/services?q=a%00b", "/staff/login?next=%00",
    "/services?q%00=x",
])
def test_a_nul_anywhere_in_the_address_is_a_translated_400(client, world, url):  # noqa: F811
    response = client.get(url)
    assert response.status_code == 400
    assert "Το αίτημα δεν ήταν κατανοητό" in response.get_data(as_text=True)


def test_a_nul_in_an_api_address_is_a_400_in_json(client, world):  # noqa: F811
    response = client.get("/api/v1/offices/ATH1%00")
    assert response.status_code == 400
    assert response.json["error"]["status"] == 400


@pytest.mark.parametrize("body", [{"email": "a\x00@example.gr", "password": "x" * 12},
                                  {"email": "a@example.gr", "password": "x" * 12, "\x00": "x"}])
def test_a_nul_in_a_form_field_is_a_400(client, world, body):  # noqa: F811
    response = client.post("/staff/login", data=encode(body).encode("ascii"),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_invalid_utf_8_in_a_form_reads_as_replacement_characters(client, world):  # noqa: F811
    """A lone surrogate's bytes are not UTF-8: Werkzeug reads them as U+FFFD, which is storable."""
    body = encode({"email": "\ud800@example.gr", "password": "x" * 12}).encode("ascii")
    response = client.post("/staff/login", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


@pytest.mark.parametrize("text", ["\\u0000", "a\\u0000b", "\\ud800"])
def test_a_json_body_with_an_unstorable_text_is_a_422(make_app, text):
    from citizen_desk.core.schemas import use_kwargs
    app = make_app(RATELIMIT_ENABLED=False)
    probe = Blueprint("fuzz_probe", __name__)

    @probe.post("/echo")
    @permission(public)
    @use_kwargs({"name": fields.String(), "tags": fields.Dict()}, location="json")
    def echo(**body):
        return jsonify(body)

    app.register_blueprint(probe, url_prefix="/api/v1/fuzz")
    csrf.exempt(probe)
    client = app.test_client()
    assert client.post("/api/v1/fuzz/echo", data='{"name": "ok"}',
                       content_type="application/json").status_code == 200
    for body in (f'{{"name": "{text}"}}', f'{{"tags": {{"{text}": "x"}}}}'):
        response = client.post("/api/v1/fuzz/echo", data=body, content_type="application/json")
        assert response.status_code == 422
        assert list(response.json["errors"]) == [""]


@pytest.mark.parametrize("path", ["/staff/users/99999999999999999999", "/staff/users/2147483648",
                                  "/staff/catalog/offices/ATH1/rules/99999999999999999999/edit"])
def test_an_id_beyond_its_column_is_not_found(app, world, path):  # noqa: F811
    client, _ = client_for(app, world, "admin")
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=0001-01-01", "from=31/12/9999"])
def test_an_audit_date_out_of_range_is_a_filter_error(app, world, query):  # noqa: F811
    client, _ = client_for(app, world, "admin")
    response = _english(client, f"/staff/audit?{query}&lang=en")
    assert response.status_code == 200
    assert "must be a date from 1/1/1900 to 31/12/9998." in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/services", "/api/v1/offices", "/api/v1/offices/ATH1"])
def test_the_api_refuses_a_language_it_does_not_speak(client, world, path):  # noqa: F811
    response = client.get(f"{path}?lang=xx", headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.json["errors"] == {"lang": "Give one of these language codes: el, en."}


def test_the_api_reads_a_regional_code_as_its_language(client, world):  # noqa: F811
    assert client.get("/api/v1/offices?lang=en-GB").json["language"] == "en"


def test_a_page_in_a_language_it_does_not_speak_falls_back(client, world):  # noqa: F811
    response = client.get("/services?lang=xx")
    assert response.status_code == 200
    assert '<html lang="el"' in response.get_data(as_text=True)


@pytest.mark.parametrize("limit", ["%D9%A3", "1_0", "%205", "5%20", "%2B5", "0x10"])
def test_an_api_number_is_written_in_the_digits_0_to_9(client, world, limit):  # noqa: F811
    """``int()`` reads ``٣``, ``1_0`` and `` 5``; the documented ``type: integer`` does not."""
    response = client.get(f"/api/v1/services?lang=en&limit={limit}")
    assert response.status_code == 422
    assert response.json["errors"] == {"limit": "Give a whole number from 1 to 200."}


@pytest.mark.parametrize("lang", ["%20en", "en%20", "e%00n"])
def test_an_api_language_code_is_read_as_written(client, world, lang):  # noqa: F811
    assert client.get(f"/api/v1/offices?lang={lang}").status_code in (400, 422)
