"""The catalog's staff screens for offices, opening rules, closures and counters."""
from datetime import date, time
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog.models import Closure, Counter, OpeningRule
from citizen_desk.offices.models import Office
from citizen_desk.extensions import db
from citizen_desk.core.audit import AuditEntry
from citizen_desk.staff.models import Role
from tests.factories import add_rule, create_office, create_service, create_user
from tests.staff.test_admin import as_user


@pytest.fixture
def setup(app):
    with app.app_context():
        a, b = create_office("ATH1", slot_minutes=15), create_office("THE1")
        service = create_service(code="family-status", ticket_prefix="A", offices=[a])
        rule = add_rule(a)
        closure = ops.add_closure(a, date(2026, 12, 24), date(2026, 12, 24),
                                  {"el": "Απογραφή"})
        counter = ops.add_counter(a, "1", {"el": "Θυρίδα 1"}, services=[service])
        rule_b = add_rule(b)
        ids = SimpleNamespace(
            a=a.id, b=b.id, service=service.id, rule=rule.id, closure=closure.id,
            counter=counter.id, rule_b=rule_b.id,
            admin=create_user("admin@example.gr", Role.admin).id,
            manager=create_user("manager@example.gr", Role.manager, a).id,
            clerk=create_user("clerk@example.gr", Role.clerk, a).id)
        db.session.commit()
        return ids


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def audit_actions(app):
    with app.app_context():
        return [(e.action, e.office_id) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("catalog.%"),
                                     AuditEntry.actor_user_id.is_not(None))
            .order_by(AuditEntry.id))]


OFFICE = {"code": "PIR1", "name-el": "ΚΕΠ Πειραιά", "name-en": "KEP Piraeus",
          "address-el": "Ηρώων Πολυτεχνείου 1", "timezone": "Europe/Athens",
          "slot_minutes": "15", "min_notice_hours": "12", "max_days_ahead": "180",
          "holiday_country": "GR"}
RULE = {"weekdays": ["1", "3"], "start_time": "14:00", "end_time": "18:00",
        "valid_from": "2026-01-01", "repeat_weeks": "1", "seats_public": "2",
        "seats_staff": "1", "seats_ngo": "0"}
CLOSURE = {"start_date": "2026-12-31", "end_date": "2026-12-31", "reason-el": "Παραμονή",
           "reason-en": "New Year's Eve"}


def test_admin_creates_an_office_with_its_translations(app, setup):
    client = as_user(app, setup.admin)
    page = client.get("/staff/catalog/offices/new").get_data(as_text=True)
    assert 'name="name-el"' in page and 'name="name-en"' in page and 'lang="en"' in page
    response = client.post("/staff/catalog/offices/new", data=OFFICE)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/catalog/offices/PIR1")
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.code == "PIR1"))
        assert office.name == {"el": "ΚΕΠ Πειραιά", "en": "KEP Piraeus"}
        office_id = office.id
    assert ("catalog.office.create", office_id) in audit_actions(app)
    assert "ΚΕΠ Πειραιά" in client.get("/staff/catalog/offices/PIR1").get_data(as_text=True)


def test_a_third_language_adds_inputs_without_code_changes(app, setup):
    app.config["LANGUAGES"] = ("el", "en", "ar")
    client = as_user(app, setup.admin)
    page = client.get("/staff/catalog/offices/new?lang=en").get_data(as_text=True)
    assert 'name="name-ar"' in page and 'dir="rtl"' in page and "Arabic" in page
    client.post("/staff/catalog/offices/new", data={**OFFICE, "name-ar": "مكتب بيرايوس"})
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.code == "PIR1"))
        assert office.name["ar"] == "مكتب بيرايوس"


@pytest.mark.parametrize("change, field, message", [
    ({"name-el": ""}, "name-el", "Συμπληρώστε το κείμενο στα ελληνικά."),
    ({"holiday_country": "XX"}, "holiday_country", "δεν υπάρχει ημερολόγιο επίσημων αργιών"),
    ({"timezone": "Mars/Olympus"}, "timezone", "δεν είναι ζώνη ώρας"),
    ({"code": "ATH1"}, "code", "Αυτόν τον κωδικό τον έχει ήδη άλλο γραφείο."),
])
def test_office_form_errors_are_shown_in_greek_and_change_nothing(app, setup, change, field,
                                                                  message):
    client = as_user(app, setup.admin)
    before = count(app, Office)
    response = client.post("/staff/catalog/offices/new?lang=el", data={**OFFICE, **change})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "govgr-error-summary" in html and "Υπάρχει πρόβλημα" in html
    assert message in html and f'href="#{field}"' in html
    assert count(app, Office) == before
    assert audit_actions(app) == []


def test_manager_edits_their_office_but_not_its_code(app, setup):
    client = as_user(app, setup.manager)
    data = {**OFFICE, "code": "HACK", "name-el": "ΚΕΠ Αθηνών (κέντρο)", "name-en": "KEP Athens"}
    response = client.post("/staff/catalog/offices/ATH1/edit", data=data)
    assert response.status_code == 302
    with app.app_context():
        office = db.session.get(Office, setup.a)
        assert office.code == "ATH1" and office.name["el"] == "ΚΕΠ Αθηνών (κέντρο)"
    entry = [a for a in audit_actions(app) if a[0] == "catalog.office.update"]
    assert entry == [("catalog.office.update", setup.a)]


def test_manager_is_refused_on_another_office(app, setup):
    client = as_user(app, setup.manager)
    for path in ("/staff/catalog/offices/THE1", "/staff/catalog/offices/THE1/edit",
                 "/staff/catalog/offices/THE1/rules/new",
                 f"/staff/catalog/offices/THE1/rules/{setup.rule_b}/edit"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/staff/catalog/offices/THE1/rules/{setup.rule_b}/remove"
                       ).status_code == 403
    # A rule of office B reached through office A's address is not found.
    assert client.get(f"/staff/catalog/offices/ATH1/rules/{setup.rule_b}/edit"
                      ).status_code == 404
    assert client.post(f"/staff/catalog/offices/ATH1/rules/{setup.rule_b}/remove"
                       ).status_code == 404
    assert client.post("/staff/catalog/offices/new", data=OFFICE).status_code == 403
    assert client.post("/staff/catalog/offices/ATH1/retire").status_code == 403
    assert count(app, OpeningRule) == 2 and count(app, Office) == 2


def test_clerk_and_anonymous_are_refused(app, setup):
    clerk = as_user(app, setup.clerk)
    assert clerk.get("/staff/catalog/offices").status_code == 403
    assert clerk.post("/staff/catalog/offices/ATH1/closures/new", data=CLOSURE).status_code == 403
    anonymous = app.test_client().get("/staff/catalog/offices/ATH1")
    assert anonymous.status_code == 302 and "/staff/login" in anonymous.headers["Location"]
    assert count(app, Closure) == 1


def test_rule_added_changed_and_removed(app, setup):
    client = as_user(app, setup.manager)
    response = client.post("/staff/catalog/offices/ATH1/rules/new", data=RULE)
    assert response.status_code == 302
    with app.app_context():
        rule = db.session.scalar(select(OpeningRule).where(OpeningRule.start_time == time(14)))
        assert rule.weekday_numbers == [1, 3] and rule.seats == {"public": 2, "staff": 1,
                                                                   "ngo": 0}
        rule_id = rule.id
    page = client.get(f"/staff/catalog/offices/ATH1/rules/{rule_id}/edit").get_data(as_text=True)
    assert 'value="14:00"' in page
    client.post(f"/staff/catalog/offices/ATH1/rules/{rule_id}/edit",
                data={**RULE, "end_time": "19:00"})
    with app.app_context():
        assert db.session.get(OpeningRule, rule_id).end_time == time(19)
    assert client.post(f"/staff/catalog/offices/ATH1/rules/{rule_id}/remove").status_code == 302
    with app.app_context():
        assert db.session.get(OpeningRule, rule_id) is None
    actions = [a for a, _ in audit_actions(app)]
    assert actions == ["catalog.rule.create", "catalog.rule.update", "catalog.rule.remove"]


@pytest.mark.parametrize("change, message", [
    ({"end_time": "13:00"}, "Η ώρα λήξης πρέπει να είναι μετά την ώρα έναρξης."),
    ({"start_time": "09:00", "end_time": "11:00"}, "επικαλύπτονται"),
    ({"weekdays": []}, "Επιλέξτε τουλάχιστον μία ημέρα της εβδομάδας."),
    ({"valid_until": "2025-01-01"}, "Η τελευταία ημέρα δεν μπορεί να είναι πριν από την πρώτη."),
])
def test_rule_errors_are_shown_in_greek_and_change_nothing(app, setup, change, message):
    client = as_user(app, setup.manager)
    response = client.post("/staff/catalog/offices/ATH1/rules/new?lang=el",
                           data={**RULE, "weekdays": ["1"], **change})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "govgr-error-summary" in html and message in html
    assert count(app, OpeningRule) == 2 and audit_actions(app) == []


def test_closure_with_a_bad_range_then_a_good_one(app, setup):
    client = as_user(app, setup.manager)
    bad = client.post("/staff/catalog/offices/ATH1/closures/new?lang=el",
                      data={**CLOSURE, "start_date": "2027-01-02"})
    html = bad.get_data(as_text=True)
    assert "govgr-error-summary" in html
    assert "Η τελευταία ημέρα δεν μπορεί να είναι πριν από την πρώτη." in html
    assert count(app, Closure) == 1
    partial = client.post("/staff/catalog/offices/ATH1/closures/new?lang=el",
                          data={**CLOSURE, "start_time": "10:00"})
    assert "govgr-error-summary" in partial.get_data(as_text=True)
    assert client.post("/staff/catalog/offices/ATH1/closures/new",
                       data=CLOSURE).status_code == 302
    with app.app_context():
        closure = db.session.scalar(select(Closure).where(Closure.start_date == date(2026, 12, 31)))
        assert closure.reason == {"el": "Παραμονή", "en": "New Year's Eve"}
    client.post(f"/staff/catalog/offices/ATH1/closures/{setup.closure}/edit",
                data={**CLOSURE, "start_date": "2026-12-23", "end_date": "2026-12-24"})
    client.post(f"/staff/catalog/offices/ATH1/closures/{setup.closure}/remove")
    assert count(app, Closure) == 1
    assert [a for a, _ in audit_actions(app)] == [
        "catalog.closure.create", "catalog.closure.update", "catalog.closure.remove"]


def test_counter_added_then_retired_keeps_the_row(app, setup):
    client = as_user(app, setup.manager)
    data = {"code": "2", "label-el": "Θυρίδα 2", "label-en": "Counter 2",
            "services": [str(setup.service)], "active": "y"}
    assert client.post("/staff/catalog/offices/ATH1/counters/new", data=data).status_code == 302
    clash = client.post("/staff/catalog/offices/ATH1/counters/new?lang=el", data=data)
    assert "Αυτόν τον κωδικό τον έχει ήδη άλλη θυρίδα του γραφείου." in clash.get_data(as_text=True)
    no_label = client.post("/staff/catalog/offices/ATH1/counters/new?lang=el",
                           data={**data, "code": "3", "label-el": ""})
    assert "Συμπληρώστε το κείμενο στα ελληνικά." in no_label.get_data(as_text=True)
    assert count(app, Counter) == 2
    client.post(f"/staff/catalog/offices/ATH1/counters/{setup.counter}/retire")
    with app.app_context():
        assert db.session.get(Counter, setup.counter).active is False
    assert count(app, Counter) == 2
    assert [a for a, _ in audit_actions(app)] == ["catalog.counter.create",
                                                  "catalog.counter.retire"]


def test_admin_retires_and_reinstates_an_office(app, setup):
    client = as_user(app, setup.admin)
    assert client.post("/staff/catalog/offices/THE1/retire").status_code == 302
    with app.app_context():
        assert db.session.get(Office, setup.b).retired
    assert app.test_client().get("/offices/THE1").status_code == 404
    assert "THE1" in client.get("/staff/catalog/offices/THE1").get_data(as_text=True)
    client.post("/staff/catalog/offices/THE1/reinstate")
    with app.app_context():
        assert not db.session.get(Office, setup.b).retired
    assert [a for a in audit_actions(app)] == [("catalog.office.retire", setup.b),
                                               ("catalog.office.reinstate", setup.b)]


def test_office_services_are_chosen_and_kept_consistent(app, setup):
    with app.app_context():
        other = create_service(code="birth", ticket_prefix="B", offices=[db.session.get(
            Office, setup.b)])
        clash = create_service(code="clash", ticket_prefix="A",
                               offices=[db.session.get(Office, setup.b)])
        other_id, clash_id = other.id, clash.id
        db.session.commit()
    # An administrator: only they share another office's service (see the tests below).
    client = as_user(app, setup.admin)
    page = client.get("/staff/catalog/offices/ATH1/services").get_data(as_text=True)
    assert "birth" in page
    # Taking away a service a counter serves is refused.
    refused = client.post("/staff/catalog/offices/ATH1/services?lang=el",
                          data={"services": [str(other_id)]})
    assert "govgr-error-summary" in refused.get_data(as_text=True)
    # Adding a service whose prefix clashes is refused too.
    clashing = client.post("/staff/catalog/offices/ATH1/services?lang=el",
                           data={"services": [str(setup.service), str(clash_id)]})
    assert "govgr-error-summary" in clashing.get_data(as_text=True)
    ok = client.post("/staff/catalog/offices/ATH1/services",
                     data={"services": [str(setup.service), str(other_id)]})
    assert ok.status_code == 302
    with app.app_context():
        from citizen_desk.catalog.models import Service
        assert {o.code for o in db.session.get(Service, other_id).offices} == {"ATH1", "THE1"}
    # The service's change is in the log of both offices that offer it, the office's in its own.
    assert sorted(audit_actions(app)) == [("catalog.office.services", setup.a),
                                          ("catalog.service.update", setup.a),
                                          ("catalog.service.update", setup.b)]


def test_post_without_csrf_token_is_refused(app, setup):
    app.config["WTF_CSRF_ENABLED"] = True
    client = as_user(app, setup.admin)
    assert client.post("/staff/catalog/offices/new", data=OFFICE).status_code == 400
    assert client.post("/staff/catalog/offices/THE1/retire").status_code == 400
    assert client.post(f"/staff/catalog/offices/ATH1/closures/{setup.closure}/remove"
                       ).status_code == 400
    assert count(app, Office) == 2 and count(app, Closure) == 1
    with app.app_context():
        assert not db.session.get(Office, setup.b).retired
    assert audit_actions(app) == []


# -- who may offer which service where (issue 8) -------------------------------------------------

@pytest.fixture
def theirs(app, setup):
    """A service offered only at THE1, and THE1's manager."""
    with app.app_context():
        the1 = db.session.get(Office, setup.b)
        service = create_service(code="birth", ticket_prefix="B", offices=[the1])
        ids = SimpleNamespace(service=service.id,
                              manager=create_user("the1@example.gr", Role.manager, the1).id)
        db.session.commit()
        return ids


def offices_of(app, service_id) -> set:
    from citizen_desk.catalog.models import Service
    with app.app_context():
        return {o.code for o in db.session.get(Service, service_id).offices}


def test_a_manager_cannot_offer_another_offices_service_at_their_office(app, setup, theirs):
    client = as_user(app, setup.manager)
    page = client.get("/staff/catalog/offices/ATH1/services").get_data(as_text=True)
    assert "birth" not in page  # not even offered as a choice
    response = client.post("/staff/catalog/offices/ATH1/services?lang=en",
                           data={"services": [str(setup.service), str(theirs.service)]})
    assert response.status_code == 200
    assert "govgr-error-summary" in response.get_data(as_text=True)
    assert offices_of(app, theirs.service) == {"THE1"}
    # THE1's manager still edits their service.
    assert as_user(app, theirs.manager).get(
        "/staff/catalog/services/birth/edit").status_code == 200


def test_the_operation_itself_refuses_a_service_the_manager_may_not_edit(app_ctx, setup, theirs):
    from flask_babel import force_locale
    from citizen_desk.catalog.models import Service
    from citizen_desk.core.validation import ValidationError
    from citizen_desk.staff.models import StaffUser
    from citizen_desk.staff.permissions import Actor
    ath1, service = db.session.get(Office, setup.a), db.session.get(Service, theirs.service)
    manager = Actor(user=db.session.get(StaffUser, setup.manager))
    with force_locale("en"), pytest.raises(ValidationError) as excinfo:
        ops.set_office_services(ath1, [service], [service], actor=manager)
    with force_locale("en"):  # the message is translated when it is shown
        assert {k: str(v) for k, v in excinfo.value.errors.items()} == {
            "services": "birth is offered at offices you do not manage: "
                        "an administrator can offer it here too."}
    db.session.rollback()
    assert offices_of(app_ctx, theirs.service) == {"THE1"}
    admin = Actor(user=db.session.get(StaffUser, setup.admin))
    ops.set_office_services(ath1, [service], [service], actor=admin)  # administrators share
    assert {o.code for o in service.offices} == {"ATH1", "THE1"}


def test_a_manager_withdraws_their_office_from_a_shared_service(app, setup, theirs):
    with app.app_context():
        from citizen_desk.catalog.models import Service
        shared = db.session.get(Service, theirs.service)
        shared.offices.append(db.session.get(Office, setup.a))
        db.session.commit()
    the1 = as_user(app, theirs.manager)
    assert the1.get("/staff/catalog/services/birth/edit").status_code == 403  # shared
    response = as_user(app, setup.manager).post("/staff/catalog/offices/ATH1/services",
                                                data={"services": [str(setup.service)]})
    assert response.status_code == 302
    assert offices_of(app, theirs.service) == {"THE1"}
    assert the1.get("/staff/catalog/services/birth/edit").status_code == 200  # theirs alone


def test_a_manager_cannot_leave_a_service_offered_nowhere(app, setup):
    with app.app_context():
        mine = create_service(code="mine", ticket_prefix="M",
                              offices=[db.session.get(Office, setup.a)]).id
        db.session.commit()
    response = as_user(app, setup.manager).post(
        "/staff/catalog/offices/ATH1/services?lang=en", data={"services": [str(setup.service)]})
    assert response.status_code == 200
    assert ("mine is offered only here: retire the service instead, or ask an administrator."
            in response.get_data(as_text=True))
    assert offices_of(app, mine) == {"ATH1"}
    response = as_user(app, setup.admin).post("/staff/catalog/offices/ATH1/services",
                                              data={"services": [str(setup.service)]})
    assert response.status_code == 302 and offices_of(app, mine) == set()
