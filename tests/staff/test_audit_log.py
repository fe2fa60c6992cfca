"""The audit log names what was changed (“Υπηρεσία: Πιστοποιητικό γέννησης”), loads those
names per object type rather than per row, and reads and shows its date filters as the
page shows its dates (27/11/2026; ISO is accepted too)."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import event

from citizen_desk.catalog import operations as ops
from citizen_desk.core import audit
from citizen_desk.core.audit import AuditEntry
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role
from tests.factories import add_rule, create_office, create_service, create_user
from tests.staff.test_admin import as_user


@pytest.fixture
def logged(app):
    """An office with a service, rule, closure, counter, and a clerk, each in the log."""
    with app.app_context():
        office = create_office("ATH1", name={"el": "ΚΕΠ Αμπελοκήπων", "en": "KEP Ampelokipi"})
        service = create_service(code="birth", name={"el": "Πιστοποιητικό γέννησης",
                                                     "en": "Birth certificate"}, offices=[office])
        add_rule(office)
        ops.add_closure(office, date(2026, 12, 24), date(2026, 12, 24), {"el": "Απογραφή"})
        ops.add_counter(office, "1", {"el": "Θυρίδα 1", "en": "Counter 1"}, services=[service])
        giorgos = create_user("giorgos@example.gr", Role.clerk, office,
                              display_name="Γιώργος Αντωνίου")
        audit.record("staff.reset_password", giorgos)
        admin = create_user("admin@example.gr", Role.admin, display_name="Διαχειριστής")
        user = create_user("gone@example.gr", Role.clerk, office)
        audit.record("staff.update", user)
        gone_id = user.id
        db.session.commit()
        return {"admin": admin.id, "office": office.id, "gone": gone_id}


def test_audit_log_names_objects_instead_of_ids(app, logged):
    admin = as_user(app, logged["admin"])
    html = admin.get("/staff/audit?lang=el").get_data(as_text=True)
    assert "Υπηρεσία: Πιστοποιητικό γέννησης" in html
    assert "Γραφείο: ΚΕΠ Αμπελοκήπων (ATH1)" in html
    assert "Θυρίδα: Θυρίδα 1 (ATH1)" in html
    assert "Κλείσιμο: 24/12/2026 (ATH1)" in html
    assert "08:00–13:00 (ATH1)" in html
    english = admin.get("/staff/audit?lang=en").get_data(as_text=True)
    assert "Service: Birth certificate" in english
    assert "Office: KEP Ampelokipi (ATH1)" in english


def test_audit_log_names_accounts_and_says_when_an_object_is_gone(app, logged):
    with app.app_context():
        db.session.execute(db.delete(AuditEntry).where(AuditEntry.object_type != "staff_user"))
        entry = db.session.scalar(db.select(AuditEntry).where(
            AuditEntry.object_id == str(logged["gone"])))
        entry.object_id = "999999"
        db.session.commit()
    html = as_user(app, logged["admin"]).get("/staff/audit?lang=en").get_data(as_text=True)
    assert "Staff account: Γιώργος Αντωνίου" in html
    assert "Staff account no. 999999 (no longer exists)" in html
    # Who acted is named too, with their e-mail address.
    assert "Διαχειριστής" in html or "System" in html


def _queries_for(app, client, url) -> int:
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_audit_log_page_does_not_run_a_query_per_row(app, logged):
    admin = as_user(app, logged["admin"])
    admin.get("/staff/audit")  # warm up: sign-in bookkeeping, caches
    few = _queries_for(app, admin, "/staff/audit")
    with app.app_context():
        office = db.session.get(ops.Office, logged["office"])
        for n in range(12):  # every named type, many rows and many distinct objects
            service = create_service(offices=[office])
            ops.add_counter(office, f"c{n}", {"el": f"Θυρίδα {n}"})
            ops.add_closure(office, date(2027, 1, n + 1), date(2027, 1, n + 1), {"el": "Χ"})
            add_rule(office, weekdays=[7], valid_from=date(2030 + n, 1, 1),
                     valid_until=date(2030 + n, 12, 31))
            create_user(f"clerk{n}@example.gr", Role.clerk, office)
            audit.record("catalog.service.update", service,
                         actor_user=create_user(f"actor{n}@example.gr", Role.manager, office))
        db.session.commit()
        rows = db.session.scalar(db.select(db.func.count(AuditEntry.id)))
    assert rows > 50  # the first page is full
    many = _queries_for(app, admin, "/staff/audit")
    assert many == few, f"{few} queries for a short log, {many} for a full page"


@pytest.mark.parametrize("typed", ["3/3/2026", "03/03/2026", "2026-03-03", " 3/3/2026 ",
                                   "03.03.2026"])
def test_date_filters_accept_the_greek_format_and_iso_and_show_the_greek_one(app, logged, typed):
    with app.app_context():
        db.session.add_all([
            AuditEntry(action="staff.update", object_type="staff_user", object_id="1",
                       dt=datetime(2026, 3, 2, 21, 59, tzinfo=timezone.utc)),  # 23:59 Athens
            AuditEntry(action="staff.enable", object_type="staff_user", object_id="1",
                       dt=datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc)),
            AuditEntry(action="staff.disable", object_type="staff_user", object_id="1",
                       dt=datetime(2026, 3, 3, 22, 1, tzinfo=timezone.utc)),  # 4/3 Athens
        ])
        db.session.commit()
    admin = as_user(app, logged["admin"])
    response = admin.get("/staff/audit", query_string={"from": typed, "to": typed, "lang": "el"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "govgr-error-summary" not in html
    assert "1 εγγραφή" in html and "Ενεργοποιήθηκε λογαριασμός" in html
    assert 'name="from" type="text"' in html and 'value="3/3/2026"' in html
    assert 'type="date"' not in html  # a browser's picker would show mm/dd/yyyy
    assert "27/11/2026" in html  # the hint's example is in the same format


def test_a_bad_date_is_explained_with_the_page_format(app, logged):
    admin = as_user(app, logged["admin"])
    html = admin.get("/staff/audit?from=11/27/2026&lang=en").get_data(as_text=True)
    assert "From must be a date like 27/11/2026." in html
    assert 'value="11/27/2026"' in html  # what was typed stays, to be corrected
