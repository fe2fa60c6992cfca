"""The office's queue settings page: every knob shown with its hint, saved through
``settings.save`` (audited), refused when bad (nothing saved), stale saves refused."""
from __future__ import annotations

import re

from sqlalchemy import select

from citizen_desk.core.audit import AuditEntry
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import settings as queue_settings
from citizen_desk.queue.settings import QueueSettings
from citizen_desk.staff.models import Role
from tests.factories import create_office, create_user
from tests.staff.test_admin import as_user

URL = "/staff/offices/ATH1/queue-settings"
NUMBERS = {"appointment_early_minutes": "10", "fairness_max_consecutive": "2",
           "fairness_wait_minutes": "15", "checkin_early_minutes": "45",
           "checkin_late_minutes": "5", "max_recalls": "2", "notify_people_ahead": "4",
           "notify_minutes": "12"}


def setup_manager(app) -> int:
    with app.app_context():
        office = create_office("ATH1")
        create_office("THE1")
        manager = create_user("manager@example.gr", Role.manager, office).id
        db.session.commit()
        return manager


def stored(app, code="ATH1") -> dict:
    with app.app_context():
        return dict(db.session.scalar(select(Office.queue_settings)
                                      .where(Office.code == code)) or {})


def audit_entries(app) -> list[AuditEntry]:
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "queue.settings")).all()
        db.session.expunge_all()
        return entries


def version_of(page: str) -> str:
    return re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)


def ticked(page: str) -> list[tuple[str, bool]]:
    """The priority checkboxes in page order: ``(value, checked)``."""
    boxes = re.findall(r'<input[^>]*name="priority_classes"[^>]*>', page)
    return [(re.search(r'value="(\w+)"', box).group(1), bool(re.search(r"\bchecked\b", box)))
            for box in boxes]


def posted(client, **changes) -> dict:
    page = client.get(URL).get_data(as_text=True)
    data = {**NUMBERS, "priority_classes": ["disability", "senior"],
            "version": version_of(page)}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_shows_every_setting_with_its_hint_and_default(app):
    client = as_user(app, setup_manager(app))
    page = client.get(URL + "?lang=en").get_data(as_text=True)
    for name in QueueSettings.__dataclass_fields__:
        assert f'name="{name}"' in page, name
    assert "Default: 20." in page and "Default: 3." in page  # T and K
    # Every number input says what it is for (aria-describedby → its hint).
    assert page.count('aria-describedby="') >= len(NUMBERS)
    # The priority groups are checkboxes in the house order, all ticked by default.
    assert [value for value, _ in ticked(page)] == ["disability", "pregnancy", "senior"]
    assert all(on for _, on in ticked(page))


def test_the_office_page_links_to_it(app):
    client = as_user(app, setup_manager(app))
    page = client.get("/staff/catalog/offices/ATH1").get_data(as_text=True)
    assert f'href="{URL}"' in page


def test_a_manager_saves_and_it_is_audited(app):
    client = as_user(app, setup_manager(app))
    response = client.post(URL, data=posted(client))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/catalog/offices/ATH1")
    saved = stored(app)
    assert saved["fairness_wait_minutes"] == 15 and saved["max_recalls"] == 2
    # Ticked boxes in the house order; the unticked group is no longer offered.
    assert saved["priority_classes"] == ["disability", "senior"]
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.code == "ATH1"))
        assert QueueSettings.of(office).notify_minutes == 12
    [entry] = audit_entries(app)
    assert entry.object_type == "office" and entry.office_id is not None
    assert "fairness_wait_minutes" in entry.details["fields"]
    assert "checkin_late_minutes" in entry.details["fields"]
    assert entry.details["values"]["max_recalls"] == 2
    # The form shows what was saved.
    page = client.get(URL).get_data(as_text=True)
    assert 'value="15"' in page
    assert ticked(page) == [("disability", True), ("pregnancy", False), ("senior", True)]


def test_saving_the_same_values_again_records_nothing(app):
    client = as_user(app, setup_manager(app))
    client.post(URL, data=posted(client))
    assert client.post(URL, data=posted(client)).status_code == 302
    assert len(audit_entries(app)) == 1


def test_no_group_ticked_offers_no_priority(app):
    client = as_user(app, setup_manager(app))
    assert client.post(URL, data=posted(client, priority_classes=None)).status_code == 302
    assert stored(app)["priority_classes"] == []


def test_bad_values_are_shown_on_the_form_and_nothing_is_saved(app):
    client = as_user(app, setup_manager(app))
    for changes in ({"fairness_wait_minutes": "0"}, {"max_recalls": "eleven"},
                    {"max_recalls": "11"}, {"checkin_early_minutes": "-5"},
                    {"notify_minutes": ""}, {"notify_people_ahead": "2.5"},
                    {"appointment_early_minutes": "1e3"}, {"priority_classes": ["vip"]},
                    {"fairness_max_consecutive": None}):
        response = client.post(URL + "?lang=en", data=posted(client, **changes))
        assert response.status_code == 200, changes
        page = response.get_data(as_text=True)
        assert "There is a problem" in page, changes
        assert "govgr-error-message" in page, changes
    assert stored(app) == {}
    assert audit_entries(app) == []


def test_range_messages_name_the_limits(app):
    client = as_user(app, setup_manager(app))
    page = client.post(URL + "?lang=en", data=posted(client, max_recalls="11")).get_data(
        as_text=True)
    assert "Enter a number from 0 to 10." in page
    assert stored(app) == {}


def test_a_save_from_a_page_opened_before_another_change_is_refused(app):
    client = as_user(app, setup_manager(app))
    old = posted(client, max_recalls="1")
    assert client.post(URL, data=posted(client, max_recalls="5")).status_code == 302
    response = client.post(URL, data=old)
    assert response.status_code == 409
    assert stored(app)["max_recalls"] == 5
    assert 'value="5"' in response.get_data(as_text=True)


def test_another_office_is_not_theirs(app):
    client = as_user(app, setup_manager(app))
    other = "/staff/offices/THE1/queue-settings"
    assert client.get(other).status_code == 403
    assert client.post(other, data={**NUMBERS, "version": "1"}).status_code == 403
    assert stored(app, "THE1") == {}


def test_an_unknown_office_is_not_found_for_an_administrator(app):
    with app.app_context():
        admin = create_user("admin@example.gr", Role.admin).id
        db.session.commit()
    client = as_user(app, admin)
    assert client.get("/staff/offices/NOPE/queue-settings").status_code == 404


def test_save_stores_and_audits_once(app_ctx):
    office = create_office("PIR1")
    queue_settings.save(office, QueueSettings.clean({"max_recalls": 1}))
    assert office.queue_settings["max_recalls"] == 1
    assert QueueSettings.of(office).checkin_early_minutes == 30
    queue_settings.save(office, QueueSettings.of(office))
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "queue.settings")).all()
    assert [e.details["fields"] for e in entries] == [["max_recalls"]]
