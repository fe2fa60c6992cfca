"""The office form's online-booking switches: double opt-in by e-mail and the proof of work."""
from __future__ import annotations

from sqlalchemy import select

from citizen_desk.catalog import operations as ops
from citizen_desk.core.audit import AuditEntry
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff.models import Role
from tests.catalog.test_admin import OFFICE
from tests.factories import create_office, create_user, minimal_document
from tests.staff.test_admin import as_user


def office(app, code="ATH1") -> Office:
    with app.app_context():
        found = db.session.scalar(select(Office).where(Office.code == code))
        db.session.expunge(found)
        return found


def setup_manager(app):
    with app.app_context():
        created = create_office("ATH1", slot_minutes=15)
        manager = create_user("manager@example.gr", Role.manager, created).id
        db.session.commit()
        return manager


def form_data(app, client, **changes) -> dict:
    """The edit form as opened now (its version), with ``changes``."""
    page = client.get("/staff/catalog/offices/ATH1/edit").get_data(as_text=True)
    version = page.split('name="version"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    return {**OFFICE, "code": "ATH1", "version": version, **changes}


def test_a_manager_switches_both_on_and_off(app):
    client = as_user(app, setup_manager(app))
    page = client.get("/staff/catalog/offices/ATH1/edit?lang=en").get_data(as_text=True)
    assert 'name="confirm_by_email"' in page and 'name="proof_of_work"' in page
    assert "Online bookings must be confirmed by e-mail" in page

    response = client.post("/staff/catalog/offices/ATH1/edit",
                           data=form_data(app, client, confirm_by_email="y", proof_of_work="y"))
    assert response.status_code == 302
    saved = office(app)
    assert saved.confirm_by_email and saved.proof_of_work
    shown = client.get("/staff/catalog/offices/ATH1?lang=en").get_data(as_text=True)
    assert "Confirmed by e-mail" in shown and "Automatic check against booking programs" in shown
    page = client.get("/staff/catalog/offices/ATH1/edit").get_data(as_text=True)
    assert page.count("checked") == 2

    # An unticked box is not sent: both go off again.
    client.post("/staff/catalog/offices/ATH1/edit", data=form_data(app, client))
    saved = office(app)
    assert not saved.confirm_by_email and not saved.proof_of_work
    assert "No extra checks" in client.get(
        "/staff/catalog/offices/ATH1?lang=en").get_data(as_text=True)


def test_switching_is_audited_with_the_field(app):
    client = as_user(app, setup_manager(app))
    client.post("/staff/catalog/offices/ATH1/edit",
                data=form_data(app, client, proof_of_work="y"))
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "catalog.office.update")).one()
        assert "proof_of_work" in str(entry.details)
        assert "confirm_by_email" not in str(entry.details)


def test_operations_create_and_update_them(app_ctx):
    created = create_office("PIR1", confirm_by_email=True)
    assert created.confirm_by_email and not created.proof_of_work
    ops.update_office(created, proof_of_work=True)
    assert created.confirm_by_email and created.proof_of_work


def test_a_catalog_import_leaves_them_as_they_are(app_ctx):
    from citizen_desk.catalog.transfer.importer import import_catalog
    import_catalog(minimal_document())
    imported = db.session.scalar(select(Office).where(Office.code == "ATH1"))
    ops.update_office(imported, confirm_by_email=True, proof_of_work=True)
    import_catalog(minimal_document())  # again, as a nightly import would
    assert imported.confirm_by_email and imported.proof_of_work
