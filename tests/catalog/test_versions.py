"""Lost updates: two people edit the same office, service, rule, closure or counter.

Each edit form carries the version of the object it was opened with. The
first save applies; a save from a form opened before it is a conflict: 409,
the form again with the current values and a message saying why, and
nothing overwritten. The row version (``version_id_col``) also catches the
real race, two transactions writing the same row, with the same answer.
"""
from __future__ import annotations

import html as html_module
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Callable

import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog import service_operations
from citizen_desk.catalog.models import Closure, Counter, OpeningRule, Service
from citizen_desk.catalog.transfer.exporter import export_catalog
from citizen_desk.catalog.transfer.importer import import_catalog
from citizen_desk.core import uow
from citizen_desk.core.access import permission, public
from citizen_desk.core.audit import AuditEntry
from citizen_desk.core.versions import STALE_MESSAGE
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff.models import Role
from tests.concurrency import Response, race, served_app, summary
from tests.conftest import normalise_url
from tests.factories import PASSWORD, add_rule, create_office, create_service, create_user
from tests.staff.test_admin import as_user

CONFLICT = html_module.escape(str(STALE_MESSAGE), quote=False)


class _FormReader(HTMLParser):
    """The values an edit page's form would submit (the form that carries ``version``)."""

    def __init__(self):
        super().__init__()
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {}
            self.forms.append(self._form)
        elif self._form is None or "name" not in a and tag in ("input", "select", "textarea"):
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.setdefault(a["name"], []).append(a.get("value", "y"))
            elif kind not in ("submit", "button"):
                self._form[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self._form.setdefault(a["name"], [])
        elif tag == "option" and self._select and "selected" in a:
            self._form[self._select].append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[a["name"]] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form[self._textarea] += data


def form_values(page: str) -> dict:
    reader = _FormReader()
    reader.feed(page)
    found = [form for form in reader.forms if "version" in form]
    assert len(found) == 1, reader.forms
    values = found[0]
    # A textarea's first newline belongs to the markup; single-choice selects give one value.
    return {name: (value.removeprefix("\n") if isinstance(value, str) else value)
            for name, value in values.items()}


@pytest.fixture
def setup(app):
    with app.app_context():
        a = create_office("ATH1", phone="210 1111111")
        service = create_service(code="family-status", ticket_prefix="A", offices=[a])
        other = create_service(code="birth", ticket_prefix="B", offices=[a])
        rule = add_rule(a)
        closure = ops.add_closure(a, date(2026, 12, 24), date(2026, 12, 24),
                                  {"el": "Απογραφή"})
        counter = ops.add_counter(a, "1", {"el": "Θυρίδα 1"}, services=[service, other])
        ids = SimpleNamespace(
            a=a.id, service=service.id, other=other.id, rule=rule.id, closure=closure.id,
            counter=counter.id,
            admin=create_user("admin@example.gr", Role.admin).id,
            manager=create_user("manager@example.gr", Role.manager, a).id)
        db.session.commit()
        return ids


@dataclass
class Kind:
    """One kind of edited object: its edit page, a field the two people change, its value."""

    model: type
    object_id: Callable  # setup → id
    path: Callable       # setup → edit page
    field: str
    first: str
    second: str
    stored: Callable     # object → the field's stored value (as the form shows it)


KINDS = {
    "office": Kind(Office, lambda s: s.a, lambda s: "/staff/catalog/offices/ATH1/edit",
                   "phone", "210 2222222", "210 3333333", lambda o: o.phone),
    "service": Kind(Service, lambda s: s.service,
                    lambda s: "/staff/catalog/services/family-status/edit",
                    "name-el", "Πιστοποιητικό (νέο όνομα)", "Πιστοποιητικό (άλλο όνομα)",
                    lambda o: o.name["el"]),
    "rule": Kind(OpeningRule, lambda s: s.rule,
                 lambda s: f"/staff/catalog/offices/ATH1/rules/{s.rule}/edit",
                 "seats_public", "3", "7", lambda o: str(o.seats_public)),
    "closure": Kind(Closure, lambda s: s.closure,
                    lambda s: f"/staff/catalog/offices/ATH1/closures/{s.closure}/edit",
                    "reason-el", "Απεργία", "Εργασίες", lambda o: o.reason["el"]),
    "counter": Kind(Counter, lambda s: s.counter,
                    lambda s: f"/staff/catalog/offices/ATH1/counters/{s.counter}/edit",
                    "label-el", "Θυρίδα Α", "Θυρίδα Β", lambda o: o.label["el"]),
}


def stored(app, kind: Kind, setup):
    with app.app_context():
        obj = db.session.get(kind.model, kind.object_id(setup))
        return kind.stored(obj), obj.version


def updates_audited(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action.like("catalog.%.update")))


@pytest.mark.parametrize("name", KINDS)
def test_a_save_from_a_form_opened_before_another_save_is_a_conflict(app, setup, name):
    kind = KINDS[name]
    path = kind.path(setup)
    admin, manager = as_user(app, setup.admin), as_user(app, setup.manager)
    opened_by_admin = form_values(admin.get(path).get_data(as_text=True))
    opened_by_manager = form_values(manager.get(path).get_data(as_text=True))
    assert opened_by_admin["version"] == opened_by_manager["version"] == "1"

    first = admin.post(path, data={**opened_by_admin, kind.field: kind.first})
    assert first.status_code == 302, first.get_data(as_text=True)
    assert stored(app, kind, setup) == (kind.first, 2)
    audited = updates_audited(app)

    second = manager.post(path + "?lang=en",
                          data={**opened_by_manager, kind.field: kind.second})
    page = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "govgr-error-summary" in page and CONFLICT in page
    shown = form_values(page)
    assert shown[kind.field] == kind.first and shown["version"] == "2"  # what is there now
    assert stored(app, kind, setup) == (kind.first, 2)                 # nothing overwritten
    assert updates_audited(app) == audited

    # Made again on the current version, the change applies.
    again = manager.post(path, data={**shown, kind.field: kind.second})
    assert again.status_code == 302
    assert stored(app, kind, setup) == (kind.second, 3)


def test_the_conflict_message_is_translated(app, setup):
    client = as_user(app, setup.manager)
    path = KINDS["office"].path(setup)
    opened = form_values(client.get(path).get_data(as_text=True))
    assert client.post(path, data={**opened, "phone": "210 2222222"}).status_code == 302
    page = client.post(path + "?lang=el", data={**opened, "phone": "210 3333333"})
    assert page.status_code == 409
    with app.test_request_context("/?lang=el"):
        greek = html_module.escape(str(STALE_MESSAGE), quote=False)
    assert greek in page.get_data(as_text=True)


def test_a_form_sending_a_version_that_is_not_a_number_is_a_conflict(app, setup):
    client = as_user(app, setup.manager)
    path = KINDS["rule"].path(setup)
    opened = form_values(client.get(path).get_data(as_text=True))
    response = client.post(path, data={**opened, "version": "x", "seats_public": "9"})
    assert response.status_code == 409
    assert stored(app, KINDS["rule"], setup) == ("0", 1)


def test_changing_only_a_counters_services_makes_a_new_version(app, setup):
    """A many-to-many change does not UPDATE the row: the version is bumped all the same."""
    path = KINDS["counter"].path(setup)
    admin, manager = as_user(app, setup.admin), as_user(app, setup.manager)
    opened_by_admin = form_values(admin.get(path).get_data(as_text=True))
    opened_by_manager = form_values(manager.get(path).get_data(as_text=True))
    assert sorted(opened_by_admin["services"]) == sorted([str(setup.service), str(setup.other)])

    assert admin.post(path, data={**opened_by_admin,
                                  "services": [str(setup.service)]}).status_code == 302
    second = manager.post(path, data={**opened_by_manager, "label-el": "Θυρίδα Β"})
    assert second.status_code == 409
    assert form_values(second.get_data(as_text=True))["services"] == [str(setup.service)]
    with app.app_context():
        counter = db.session.get(Counter, setup.counter)
        assert [s.id for s in counter.services] == [setup.service]
        assert counter.label["el"] == "Θυρίδα 1" and counter.version == 2


def test_changing_an_offices_services_makes_new_versions_of_those_services(app, setup):
    """The service form shows where it is offered: adding it elsewhere makes its form stale."""
    path = KINDS["service"].path(setup)
    admin = as_user(app, setup.admin)
    opened = form_values(admin.get(path).get_data(as_text=True))
    with app.app_context():
        office = create_office("THE1")
        service = db.session.get(Service, setup.service)
        service_operations.update_service(service, offices=[*service.offices, office])
        db.session.commit()
        assert service.version == 2
        office_id = office.id
    response = admin.post(path, data={**opened, "name-el": "Άλλο όνομα"})
    assert response.status_code == 409
    assert form_values(response.get_data(as_text=True))["offices"] == [str(setup.a), str(office_id)]


# -- the real race: another transaction writes the row between our read and our write --------

def _write_meanwhile(app, dialect, table, row_id, **values):
    """Change a row "from another transaction" after the request read it.

    PostgreSQL: a second connection commits (the request holds no lock until
    it writes). SQLite serialises writers, so the request's own connection
    plays the other writer: the point is the request's UPDATE matching no row.
    """
    statement = (update(table).where(table.c.id == row_id)
                 .values(version=table.c.version + 1, **values))
    if dialect == "postgresql":
        engine = create_engine(normalise_url(app.config["SQLALCHEMY_DATABASE_URI"]))
        with engine.begin() as connection:
            connection.execute(statement)
        engine.dispose()
    else:
        db.session.execute(statement)


@pytest.mark.parametrize("name", ["office", "rule", "counter"])
def test_a_row_changed_between_read_and_write_gives_the_conflict_page_not_a_500(
        app, setup, dialect, monkeypatch, name):
    kind = KINDS[name]
    operation = {"office": "update_office", "rule": "update_rule",
                 "counter": "update_counter"}[name]
    original = getattr(ops, operation)
    table = kind.model.__table__

    def racing(obj, **values):
        _write_meanwhile(app, dialect, table, obj.id)
        return original(obj, **values)
    monkeypatch.setattr(ops, operation, racing)

    client = as_user(app, setup.manager)
    path = kind.path(setup)
    opened = form_values(client.get(path).get_data(as_text=True))
    response = client.post(path + "?lang=en", data={**opened, kind.field: kind.second})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert CONFLICT in page
    value, version = stored(app, kind, setup)
    assert value != kind.second
    expected = 2 if dialect == "postgresql" else 1  # SQLite: the stand-in was rolled back too
    assert version == expected and form_values(page)["version"] == str(expected)


def test_two_sessions_flushing_the_same_row_the_second_is_refused(app, setup):
    """The database-level check: ``UPDATE … WHERE version = N`` finds nothing the second time."""
    with app.app_context():
        engine = db.engine
        first, second = Session(engine, expire_on_commit=False), Session(engine)
        office = first.get(Office, setup.a)  # read at version 1 …
        first.commit()                        # … and no lock kept (SQLite serialises writers)
        other = second.get(Office, setup.a)
        other.phone = "210 2222222"
        second.commit()
        office.phone = "210 3333333"
        with pytest.raises(StaleDataError):
            first.commit()
        first.rollback()
        first.close(), second.close()
        assert db.session.get(Office, setup.a).phone == "210 2222222"


def test_a_stale_write_under_the_api_is_a_json_409(app, setup, dialect):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.post("/api/v1/test-stale-office")
    @permission(public)
    def stale_office():
        office = db.session.get(Office, setup.a)
        _write_meanwhile(app, dialect, Office.__table__, office.id)
        office.phone = "210 9999999"
        db.session.flush()
        return {}

    response = app.test_client().post("/api/v1/test-stale-office?lang=en")
    assert response.status_code == 409
    assert response.json["error"]["message"] == str(STALE_MESSAGE)
    with app.app_context():
        assert db.session.get(Office, setup.a).phone == "210 1111111"


def test_simultaneous_saves_from_forms_opened_together_one_applies(app, database_url):
    """Ten managers save the same service form, opened at version 1, at the same instant."""
    with app.app_context():
        def set_up():
            office = create_office("ATH1")
            create_service(code="family-status", ticket_prefix="A", offices=[office])
            manager = create_user("manager@example.gr", Role.manager, office)
            return manager.email, manager.id
        email, manager_id = uow.run(set_up)
    client = as_user(app, manager_id)
    path = "/staff/catalog/services/family-status/edit"
    opened = form_values(client.get(path).get_data(as_text=True))
    assert opened["version"] == "1"

    edits = 10
    with served_app(database_url, workers=2, threads=4) as server:
        cookie = server.sign_in(email, PASSWORD)
        results = race(edits, lambda i: server.post(
            path, {**opened, "name-el": f"Όνομα {i}"}, headers={"Cookie": cookie}))
        log = server.log()
    outcome = summary(results)
    assert outcome == {302: 1, 409: edits - 1}, (outcome, log[-3000:])
    winner, = [i for i, r in enumerate(results) if isinstance(r, Response) and r.status == 302]
    with app.app_context():
        service = db.session.scalar(select(Service))
        assert service.name["el"] == f"Όνομα {winner}" and service.version == 2
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "catalog.service.update")) == 1


# -- the catalog importer updates versioned objects in place -------------------------------

def test_import_updates_versioned_objects_and_makes_open_forms_stale(app, setup):
    client = as_user(app, setup.manager)
    path = KINDS["office"].path(setup)
    opened = form_values(client.get(path).get_data(as_text=True))
    with app.app_context():
        document = export_catalog()
        document["offices"][0]["phone"] = "210 4444444"
        document["offices"][0]["counters"][0]["services"] = ["family-status"]
        import_catalog(document)
        db.session.commit()
        office = db.session.get(Office, setup.a)
        counter = db.session.get(Counter, setup.counter)
        assert office.phone == "210 4444444" and office.version == 2
        assert [s.code for s in counter.services] == ["family-status"] and counter.version == 2
        # Importing the same file again changes nothing, and makes no new versions.
        import_catalog(export_catalog())
        db.session.commit()
        assert (office.version, counter.version) == (2, 2)
    response = client.post(path, data={**opened, "phone": "210 5555555"})
    assert response.status_code == 409
    assert form_values(response.get_data(as_text=True))["phone"] == "210 4444444"
