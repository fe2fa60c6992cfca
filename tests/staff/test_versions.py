"""Lost updates on staff accounts: the profile form carries the account's version.

The account's version moves with what people edit (name, language, e-mail,
enabled) and not with sign-in bookkeeping (failure count, last sign-in,
session nonce), so that signing in elsewhere neither makes an open form
stale nor conflicts with itself.
"""
from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from citizen_desk.extensions import db
from citizen_desk.staff import operations
from citizen_desk.staff.models import Role, StaffUser
from tests.catalog.test_versions import CONFLICT, form_values
from tests.factories import PASSWORD, create_office, create_user
from tests.staff.test_admin import as_user

PATH = "/staff/profile"


@pytest.fixture
def user_id(app):
    with app.app_context():
        user = create_user("clerk@example.gr", Role.clerk, create_office("ATH1"),
                           display_name="Γιώργος Αντωνίου")
        db.session.commit()
        return user.id


def stored(app, user_id):
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        return user.display_name, user.locale, user.version


def test_two_profile_forms_opened_together_the_later_save_is_a_conflict(app, user_id):
    phone, desk = as_user(app, user_id), as_user(app, user_id)
    on_phone = form_values(phone.get(PATH).get_data(as_text=True))
    on_desk = form_values(desk.get(PATH).get_data(as_text=True))
    assert on_phone["version"] == on_desk["version"] == "1"

    assert phone.post(PATH, data={**on_phone, "display_name": "Γιώργης Αντωνίου"}
                      ).status_code == 302
    second = desk.post(PATH + "?lang=en", data={**on_desk, "display_name": "Γ. Αντωνίου",
                                                "locale": ["en"]})
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert CONFLICT in page
    shown = form_values(page)
    assert shown["display_name"] == "Γιώργης Αντωνίου" and shown["version"] == "2"
    assert shown["locale"] == ["el"]
    assert stored(app, user_id) == ("Γιώργης Αντωνίου", "el", 2)

    again = desk.post(PATH, data={**shown, "locale": ["en"]})
    assert again.status_code == 302
    assert stored(app, user_id) == ("Γιώργης Αντωνίου", "en", 3)


def test_signing_in_elsewhere_does_not_make_an_open_profile_form_stale(app, user_id):
    client = as_user(app, user_id)
    opened = form_values(client.get(PATH).get_data(as_text=True))
    with app.app_context():
        assert operations.authenticate("clerk@example.gr", "wrong password") is None
        assert operations.authenticate("clerk@example.gr", PASSWORD) is not None
        db.session.commit()
    assert stored(app, user_id)[2] == 1
    response = client.post(PATH, data={**opened, "display_name": "Γιώργης Αντωνίου"})
    assert response.status_code == 302
    assert stored(app, user_id) == ("Γιώργης Αντωνίου", "el", 2)


def test_an_account_changed_between_read_and_write_gives_the_conflict_page(
        app, user_id, monkeypatch):
    original = operations.update_profile

    def racing(user, **values):
        # SQLite serialises writers: the request's own connection plays the other writer.
        table = StaffUser.__table__  # a Core UPDATE: the session's copy stays at version 1
        db.session.execute(update(table).where(table.c.id == user.id)
                           .values(version=table.c.version + 1))
        return original(user, **values)
    monkeypatch.setattr(operations, "update_profile", racing)

    client = as_user(app, user_id)
    opened = form_values(client.get(PATH).get_data(as_text=True))
    response = client.post(PATH + "?lang=en", data={**opened, "display_name": "Άλλος"})
    assert response.status_code == 409
    assert CONFLICT in response.get_data(as_text=True)
    assert stored(app, user_id) == ("Γιώργος Αντωνίου", "el", 1)


def test_the_database_refuses_the_second_of_two_edits_but_not_bookkeeping(app, user_id):
    with app.app_context():
        first, second = Session(db.engine, expire_on_commit=False), Session(db.engine)
        mine = first.get(StaffUser, user_id)
        first.commit()  # read at version 1, no lock kept

        # Sign-in bookkeeping elsewhere: no new version, the edit below still applies …
        other = second.get(StaffUser, user_id)
        other.failed_logins += 1
        other.rotate_session_nonce()
        second.commit()
        mine.display_name = "Γιώργης Αντωνίου"
        first.commit()
        assert mine.version == 2

        # … but an edit elsewhere makes this one stale.
        second.expire_all()
        other = second.get(StaffUser, user_id)
        other.locale = "en"
        second.commit()
        mine.display_name = "Γ. Αντωνίου"
        with pytest.raises(StaleDataError):
            first.commit()
        first.rollback()
        first.close(), second.close()
        user = db.session.get(StaffUser, user_id)
        assert (user.display_name, user.locale, user.version) == ("Γιώργης Αντωνίου", "en", 3)
