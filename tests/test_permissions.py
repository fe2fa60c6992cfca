"""Every registered route × every kind of actor: allowed, or refused (401/403/404).

A route that is not in ``MATRIX`` fails this test: a new route needs a rule
here as well as its ``@permission`` declaration. Each case names a sample of
view arguments (``ARGS``) and the actors that must be let through; all other
actors must be refused.
"""
from __future__ import annotations

import pytest
from flask import url_for

from citizen_desk.extensions import db
from citizen_desk.staff.models import Role, TokenPurpose
from tests.factories import (create_office, create_organisation, create_service, create_token,
                             create_user, sign_in_client)

ACTORS = ["anonymous", "citizen_link", "admin", "manager_a", "clerk_a", "clerk_b",
          "ngo_x", "ngo_y", "kiosk_a", "display_a", "display_b", "integration_clerk_a",
          "revoked_token", "malformed_token"]
SESSION_USERS = {"admin", "manager_a", "clerk_a", "clerk_b", "ngo_x", "ngo_y"}
EVERYONE = set(ACTORS) - {"revoked_token", "malformed_token"}
#: Integration tokens act through the API only; on pages they are refused.
PAGE_VISITORS = EVERYONE - {"integration_clerk_a"}
PEOPLE = SESSION_USERS
MANAGERS = {"admin", "manager_a"}
ADMIN = {"admin"}
#: The staff of office A (ATH1) and of office B (THE1), and NGO workers.
DESK_A = {"admin", "manager_a", "clerk_a"}
DESK_B = {"admin", "clerk_b"}
NGO = {"ngo_x", "ngo_y"}
#: An appointment of office A, of B, of B under A's address (not found for anyone).
DESK_APPOINTMENT = [("desk_appointment_a", DESK_A), ("desk_appointment_b", DESK_B),
                    ("desk_appointment_b_at_a", set())]

#: A manage link's pages: the holder of one booking's link (``citizen_link``) reaches that
#: booking only; another booking's code with its token is the same 404 as for everyone else.
MANAGE_LINK = [("own_link", {"citizen_link"}), ("other_link", set())]
MANAGE_PAGE = [("own_booking", {"citizen_link"}), ("other_booking", set())]

#: A fresh counter or ticket of office A or B (``queue_sample``).
QUEUE_COUNTER_PAGE = [("queue_counter_a", DESK_A), ("queue_counter_b", DESK_B)]
QUEUE_COUNTER_API = [("queue_counter_a", {"integration_clerk_a"}), ("queue_counter_b", set())]
QUEUE_TICKET_API = [("queue_ticket_a", {"integration_clerk_a"}), ("queue_ticket_b", set())]

#: endpoint -> [(sample arguments, actors allowed)]
MATRIX: dict[str, list[tuple[str, set[str]]]] = {
    "home.index": [("none", PAGE_VISITORS)],
    "home.favicon": [("none", PAGE_VISITORS)],
    "home_api.health": [("none", EVERYONE)],
    "core_api.challenge": [("none", EVERYONE)],
    "catalog.index": [("none", PAGE_VISITORS)],
    "catalog.service": [("service", PAGE_VISITORS)],
    "catalog.offices": [("none", PAGE_VISITORS)],
    "catalog.office": [("office_a", PAGE_VISITORS)],
    # The citizen's booking journey: public pages; the session carries its choices.
    "booking.start": [("none", PAGE_VISITORS), ("journey_service", PAGE_VISITORS)],
    "booking.office": [("journey_service", PAGE_VISITORS)],
    "booking.day": [("journey", PAGE_VISITORS)],
    "booking.time": [("journey_day", PAGE_VISITORS)],
    "booking.details": [("journey", PAGE_VISITORS)],
    "booking.check": [("journey", PAGE_VISITORS)],
    "booking.confirmation": [("none", PAGE_VISITORS)],
    "booking.privacy": [("none", PAGE_VISITORS)],
    "catalog_api.services": [("none", EVERYONE)],
    "catalog_api.offices": [("none", EVERYONE)],
    "catalog_api.office": [("office_a", EVERYONE)],
    # The booking API is public: who may book which pool, and which booking a token
    # reaches, is decided inside (tests/booking/test_api.py).
    "booking_api.availability_of": [("availability_a", EVERYONE)],
    "booking_manage.show": MANAGE_LINK,
    "booking_manage.confirm": MANAGE_LINK,
    "booking_manage.appointment": MANAGE_PAGE,
    "booking_manage.ics": MANAGE_PAGE,
    "booking_manage.cancel": MANAGE_PAGE,
    "booking_manage.reschedule": MANAGE_PAGE,
    "booking_api.book": [("none", EVERYONE)],
    "booking_api.cancel": [("appointment_code", EVERYONE)],
    "booking_api.reschedule": [("appointment_code", EVERYONE)],
    "staff.login": [("none", PAGE_VISITORS)],
    "staff.logout": [("none", PAGE_VISITORS)],
    "staff.dashboard": [("none", PEOPLE)],
    "staff.password": [("none", PEOPLE)],
    "staff.profile": [("none", PEOPLE)],
    "staff.users": [("none", MANAGERS)],
    "staff.new_user": [("none", MANAGERS)],
    "staff.user": [("victim_a", MANAGERS), ("victim_b", ADMIN)],
    "staff.add_role": [("victim_a", MANAGERS), ("victim_b", ADMIN)],
    "staff.remove_role": [("victim_a", MANAGERS), ("victim_b", ADMIN)],
    "staff.confirm_remove_role": [("victim_a", MANAGERS), ("victim_b", ADMIN)],
    "staff.disable_user": [("victim_a", MANAGERS), ("victim_b", ADMIN)],
    "staff.enable_user": [("victim_a", MANAGERS), ("victim_b", ADMIN)],
    "staff.reset_password": [("victim_a", MANAGERS), ("victim_b", ADMIN)],
    "staff.new_integration_token": [("victim_a", ADMIN), ("victim_b", ADMIN)],
    "staff.tokens": [("none", MANAGERS)],
    "staff.new_token": [("none", MANAGERS)],
    "staff.revoke_token": [("token_a", MANAGERS), ("token_b", ADMIN)],
    "staff.organisations": [("none", ADMIN)],
    "staff.new_organisation": [("none", ADMIN)],
    "staff.audit_log": [("none", MANAGERS)],
    # The staff side of booking: an office's appointments for its staff; an organisation's
    # bookings for its NGO workers only (another's is not found).
    "booking_staff.index": [("none", PEOPLE)],
    "booking_staff.office_list": [("cat_office_a", DESK_A), ("cat_office_b", DESK_B)],
    "booking_staff.office_book": [("cat_office_a", DESK_A), ("cat_office_b", DESK_B)],
    "booking_staff.office_appointment": DESK_APPOINTMENT,
    "booking_staff.office_cancel": DESK_APPOINTMENT,
    "booking_staff.office_attended": DESK_APPOINTMENT,
    "booking_staff.office_no_show": DESK_APPOINTMENT,
    "booking_staff.office_print": DESK_APPOINTMENT,
    "booking_staff.ngo_list": [("none", NGO)],
    "booking_staff.ngo_book": [("none", NGO)],
    "booking_staff.ngo_appointment": [("ngo_appointment_x", {"ngo_x"})],
    "booking_staff.ngo_cancel": [("ngo_appointment_x", {"ngo_x"})],
    "booking_staff.ngo_print": [("ngo_appointment_x", {"ngo_x"})],
    # The catalog's staff screens: office X's managers and administrators.
    "catalog_admin.index": [("none", MANAGERS)],
    "catalog_admin.offices": [("none", MANAGERS)],
    "catalog_admin.new_office": [("none", ADMIN)],
    "catalog_admin.office": [("cat_office_a", MANAGERS), ("cat_office_b", ADMIN)],
    "catalog_admin.edit_office": [("cat_office_a", MANAGERS), ("cat_office_b", ADMIN)],
    "catalog_admin.retire_office": [("fresh_office_a", ADMIN)],
    "catalog_admin.confirm_retire_office": [("fresh_office_a", ADMIN)],
    "catalog_admin.reinstate_office": [("fresh_office_a", ADMIN)],
    "catalog_admin.office_services": [("fresh_office_a", MANAGERS), ("fresh_office_b", ADMIN)],
    "catalog_admin.new_rule": [("cat_office_a", MANAGERS), ("cat_office_b", ADMIN)],
    "catalog_admin.edit_rule": [("rule_a", MANAGERS), ("rule_b", ADMIN)],
    "catalog_admin.remove_rule": [("rule_a", MANAGERS), ("rule_b", ADMIN)],
    "catalog_admin.confirm_remove_rule": [("rule_a", MANAGERS), ("rule_b", ADMIN)],
    "catalog_admin.new_closure": [("cat_office_a", MANAGERS), ("cat_office_b", ADMIN)],
    "catalog_admin.edit_closure": [("closure_a", MANAGERS), ("closure_b", ADMIN)],
    "catalog_admin.remove_closure": [("closure_a", MANAGERS), ("closure_b", ADMIN)],
    "catalog_admin.confirm_remove_closure": [("closure_a", MANAGERS), ("closure_b", ADMIN)],
    "catalog_admin.new_counter": [("cat_office_a", MANAGERS), ("cat_office_b", ADMIN)],
    "catalog_admin.edit_counter": [("counter_a", MANAGERS), ("counter_b", ADMIN)],
    "catalog_admin.retire_counter": [("counter_a", MANAGERS), ("counter_b", ADMIN)],
    "catalog_admin.confirm_retire_counter": [("counter_a", MANAGERS), ("counter_b", ADMIN)],
    "catalog_admin.services": [("none", MANAGERS)],
    "catalog_admin.new_service": [("none", MANAGERS)],
    "catalog_admin.service": [("service_a", MANAGERS), ("service_ab", MANAGERS)],
    "catalog_admin.edit_service": [("service_a", MANAGERS), ("service_ab", ADMIN),
                                   ("service_b", ADMIN)],
    "catalog_admin.retire_service": [("service_a", MANAGERS), ("service_ab", ADMIN),
                                     ("service_b", ADMIN)],
    "catalog_admin.confirm_retire_service": [("service_a", MANAGERS), ("service_ab", ADMIN),
                                             ("service_b", ADMIN)],
    "catalog_admin.reinstate_service": [("service_a", MANAGERS), ("service_ab", ADMIN),
                                        ("service_b", ADMIN)],
    # The kiosk: the office's kiosk (a device cookie or bearer) and the office's staff.
    **{f"queue_kiosk.{name}": [("cat_office_a", DESK_A | {"kiosk_a"}),
                               ("cat_office_b", DESK_B)]
       for name in ("start", "services", "check_in")},
    **{f"queue_kiosk.{name}": [("kiosk_service_a", DESK_A | {"kiosk_a"}),
                               ("kiosk_service_b", DESK_B)]
       for name in ("priority", "ticket_form")},
    "queue_kiosk.ticket": [("kiosk_ticket_a", DESK_A | {"kiosk_a"}),
                           ("kiosk_ticket_b", DESK_B)],
    "queue_kiosk_api.issue": [("cat_office_a", {"kiosk_a", "integration_clerk_a"}),
                              ("cat_office_b", set())],
    # A ticket's tracking page and JSON: public, by the ticket's 192-bit id (the QR code).
    "queue_tracking.page": [("tracking_ticket", PAGE_VISITORS)],
    "tracking_api.ticket_state": [("queue_ticket_a", EVERYONE), ("queue_ticket_b", EVERYONE)],
    # Its service worker (notifications on Android): the same script for everyone.
    "queue_tracking_worker.worker": [("none", PAGE_VISITORS)],
    # The walk-in queue's settings page: the office's managers and administrators.
    "queue_admin.settings": [("cat_office_a", MANAGERS), ("cat_office_b", ADMIN)],
    # The clerk's console: the staff of the counter's office (another office's: 403).
    "queue_console.index": [("none", {"admin", "manager_a", "clerk_a", "clerk_b"})],
    **{f"queue_console.{name}": QUEUE_COUNTER_PAGE for name in (
        "take", "counter", "waiting", "call_next", "call", "recall", "serve", "no_show",
        "finish", "transfer", "pause", "resume", "leave")},
    # The clerk API: a clerk's integration token, at the counter's or ticket's office.
    **{f"queue_api.{name}": QUEUE_COUNTER_API for name in (
        "call_next", "call", "pause", "resume", "release")},
    **{f"queue_api.{name}": QUEUE_TICKET_API for name in (
        "recall", "no_show", "serve", "transfer", "finish", "cancel")},
    # The waiting-room display: the office's display (cookie or bearer) and its staff; the
    # state JSON by token only (display, or a staff member's integration token).
    "display.page": [("cat_office_a", DESK_A | {"display_a"}),
                     ("cat_office_b", DESK_B | {"display_b"})],
    "display.events": [("cat_office_a", DESK_A | {"display_a"}),
                       ("cat_office_b", DESK_B | {"display_b"})],
    "display_api.state": [("cat_office_a", {"display_a", "integration_clerk_a"}),
                          ("cat_office_b", {"display_b"})],
    # Live nudges: a ticket's (public, by its id) and a counter's console (its office's staff).
    "display_live.ticket_events": [("tracking_ticket", PAGE_VISITORS)],
    "display_live.console_events": QUEUE_COUNTER_PAGE,
}


@pytest.fixture
def world(app):
    """Two offices, two NGOs, a person for each role, devices and an integration."""
    with app.app_context():
        a, b = create_office("ATH1"), create_office("THE1")
        x, y = create_organisation("Οργάνωση Χ"), create_organisation("Οργάνωση Υ")
        users = {
            "admin": create_user(role=Role.admin),
            "manager_a": create_user(role=Role.manager, office=a),
            "clerk_a": create_user(role=Role.clerk, office=a),
            "clerk_b": create_user(role=Role.clerk, office=b),
            "ngo_x": create_user(role=Role.ngo, organisation=x),
            "ngo_y": create_user(role=Role.ngo, organisation=y),
        }
        secrets = {
            "kiosk_a": create_token(TokenPurpose.kiosk, a)[1],
            "display_a": create_token(TokenPurpose.display, a)[1],
            "display_b": create_token(TokenPurpose.display, b)[1],
            "integration_clerk_a": create_token(TokenPurpose.integration,
                                                user=users["clerk_a"])[1],
        }
        service = create_service(code="family-status", offices=[a])
        revoked, secret = create_token(TokenPurpose.kiosk, a)
        revoked.revoke()
        secrets["revoked_token"] = secret
        db.session.commit()
        return {"office_ids": {"a": a.id, "b": b.id}, "secrets": secrets,
                "service_code": service.code,
                "user_ids": {name: u.id for name, u in users.items()},
                "link": manage_link(a, service)}


def sample_args(app, world, sample: str) -> dict:
    """Fresh objects for each request, so that one request's effect doesn't change the next."""
    if sample == "none":
        return {}
    if sample.startswith("journey"):
        return journey_sample(app, world, sample)
    if sample == "office_a":
        return {"code": "ATH1"}
    if sample == "service":
        return {"code": world["service_code"]}
    if sample == "availability_a":
        return {"office": "ATH1", "service": world["service_code"]}
    if sample == "appointment_code":
        return {"code": "K7M-4QX"}
    if sample.startswith("cat_office"):
        return {"office": {"a": "ATH1", "b": "THE1"}[sample[-1]]}
    if sample.startswith(("fresh_office", "rule", "closure", "counter", "service_")):
        return catalog_sample(app, world, sample)
    if sample.startswith(("desk_appointment", "ngo_appointment")):
        return booking_staff_sample(app, world, sample)
    if sample in ("own_link", "other_link", "own_booking", "other_booking"):
        return manage_sample(app, world, sample)
    if sample.startswith("kiosk_"):
        return kiosk_sample(app, world, sample)
    if sample.startswith("queue_"):
        return queue_sample(app, world, sample)
    if sample == "tracking_ticket":
        return {"public_id": queue_sample(app, world, "queue_ticket_a")["ticket"]}
    with app.app_context():
        from citizen_desk.offices.models import Office
        office = db.session.get(Office, world["office_ids"][sample[-1]])
        if sample.startswith("victim"):
            victim = create_user(role=Role.clerk, office=office, password=None)
            role_id = victim.roles[0].id
            db.session.commit()
            return {"user_id": victim.id, "role_id": role_id}
        if sample.startswith("token"):
            token, _ = create_token(TokenPurpose.display, office)
            db.session.commit()
            return {"token_id": token.id}
    raise AssertionError(sample)


def catalog_sample(app, world, sample: str) -> dict:
    """A fresh office, rule, closure, counter or service (``_a``: of ATH1 or an office
    ``manager_a`` manages, ``_b``: of THE1 or one they don't, ``_ab``: both)."""
    from datetime import date

    from citizen_desk.catalog import operations as ops
    from citizen_desk.offices.models import Office
    from citizen_desk.staff.models import RoleAssignment
    from tests.factories import add_rule
    kind, _, where = sample.rpartition("_")
    with app.app_context():
        offices = [db.session.get(Office, world["office_ids"][letter]) for letter in where]
        office = offices[0]
        if kind == "fresh_office":
            office = create_office()
            if where == "a":
                db.session.add(RoleAssignment(user_id=world["user_ids"]["manager_a"],
                                              role=Role.manager, office_id=office.id))
            args = {"office": office.code}
        elif kind == "rule":
            rule = add_rule(office, weekdays=[7], valid_from=date(2030 + len(office.rules), 1, 1),
                            valid_until=date(2030 + len(office.rules), 12, 31))
            args = {"office": office.code, "rule_id": rule.id}
        elif kind == "closure":
            closure = ops.add_closure(office, date(2030, 1, 2), date(2030, 1, 2), {"el": "Χ"})
            args = {"office": office.code, "closure_id": closure.id}
        elif kind == "counter":
            counter = ops.add_counter(office, f"c{len(office.counters) + 1}", {"el": "Θυρίδα"})
            args = {"office": office.code, "counter_id": counter.id}
        else:
            # Fresh offices too, so that ticket prefixes never run out: ``a`` managed by
            # manager_a, ``b`` not.
            fresh = []
            for letter in where:
                fresh.append(create_office())
                if letter == "a":
                    db.session.add(RoleAssignment(user_id=world["user_ids"]["manager_a"],
                                                  role=Role.manager, office_id=fresh[-1].id))
            args = {"code": create_service(offices=fresh).code}
        db.session.commit()
        return args


def booking_staff_sample(app, world, sample: str) -> dict:
    """A fresh appointment in three days: ``desk_appointment_a``/``_b`` of ATH1/THE1 at its
    office's address, ``desk_appointment_b_at_a`` THE1's at ATH1's, ``ngo_appointment_x``
    booked by organisation X (of ATH1)."""
    from datetime import timedelta

    from citizen_desk.booking.models import Appointment, new_code
    from citizen_desk.catalog.models import Service
    from citizen_desk.core.db import utcnow
    from citizen_desk.offices.models import Office
    from citizen_desk.staff.models import StaffUser
    with app.app_context():
        letter = "b" if sample.startswith("desk_appointment_b") else "a"
        organisation_id = None
        if sample.startswith("ngo"):
            organisation_id = db.session.get(StaffUser, world["user_ids"]["ngo_x"]).organisation_id
        start = utcnow() + timedelta(days=3)
        appointment = Appointment(
            code=new_code(), office=db.session.get(Office, world["office_ids"][letter]),
            service=db.session.scalar(db.select(Service).where(
                Service.code == world["service_code"])),
            pool="ngo" if organisation_id else "staff", start_dt=start,
            end_dt=start + timedelta(minutes=15), name="Δοκιμαστική Πολίτης",
            organisation_id=organisation_id)
        db.session.add(appointment)
        db.session.commit()
        if organisation_id:
            return {"code": appointment.code}
        return {"office": "ATH1" if sample.endswith("_a") else "THE1", "code": appointment.code}


def queue_sample(app, world, sample: str) -> dict:
    """``queue_counter_a``/``_b``: a fresh counter of ATH1/THE1 serving the world's service;
    ``queue_ticket_a``/``_b``: a fresh waiting ticket there (issued at the desk)."""
    from citizen_desk.catalog import operations as catalog_ops
    from citizen_desk.catalog.models import Service
    from citizen_desk.offices.models import Office
    from citizen_desk.queue import operations as queue_ops
    from citizen_desk.queue.models import TicketKind
    with app.app_context():
        office = db.session.get(Office, world["office_ids"][sample[-1]])
        service = db.session.scalar(db.select(Service).where(
            Service.code == world["service_code"]))
        if office not in service.offices:
            service.offices.append(office)
            db.session.flush()
        if sample.startswith("queue_counter"):
            counter = catalog_ops.add_counter(office, f"q{len(office.counters) + 1}",
                                              {"el": "Θυρίδα"}, [service])
            db.session.commit()
            return {"counter": counter.id}
        ticket, _ = queue_ops.issue(office, service, kind=TicketKind.staff)
        db.session.commit()
        return {"ticket": ticket.public_id}


def kiosk_sample(app, world, sample: str) -> dict:
    """``kiosk_service_a``/``_b``: ATH1's or THE1's kiosk and the world's service, offered
    there (``queue_sample`` offers it); ``kiosk_ticket_a``/``_b``: a fresh ticket of it."""
    letter = sample[-1]
    args = {"office": {"a": "ATH1", "b": "THE1"}[letter]}
    if sample.startswith("kiosk_ticket"):
        return {**args, **queue_sample(app, world, f"queue_ticket_{letter}")}
    queue_sample(app, world, f"queue_counter_{letter}")
    return {**args, "service": world["service_code"]}


def journey_sample(app, world, sample: str) -> dict:
    """The service of ``world`` at ATH1, which gets public seats for it on weekdays;
    ``journey_day``: and the first of the next week's days."""
    from datetime import date, time, timedelta

    from citizen_desk.offices.models import Office
    from tests.factories import add_rule
    with app.app_context():
        office = db.session.get(Office, world["office_ids"]["a"])
        if not any(rule.seats_public for rule in office.rules):
            add_rule(office, start_time=time(9), end_time=time(12), seats={"public": 2})
            db.session.commit()
    if sample == "journey_service":
        return {"service": world["service_code"]}
    args = {"service": world["service_code"], "office": "ATH1"}
    if sample == "journey_day":
        args["day"] = (date.today() + timedelta(days=7)).isoformat()
    return args


LINK_TOKEN = "<the manage link's token>"


def manage_link(office, service) -> dict:
    """A fresh appointment at ``office`` in three days and its manage link's secret."""
    from datetime import timedelta

    from citizen_desk.booking.models import Appointment, AppointmentToken, new_code
    from citizen_desk.core.db import utcnow
    start = utcnow() + timedelta(days=3)
    appointment = Appointment(code=new_code(), office=office, service=service, start_dt=start,
                              end_dt=start + timedelta(minutes=15), name="Πολίτης με σύνδεσμο")
    db.session.add(appointment)
    token = AppointmentToken.issue(appointment)
    db.session.commit()
    return {"code": appointment.code, "token": token}


def manage_sample(app, world, sample: str) -> dict:
    """``citizen_link`` gets a fresh booking's link (``world["link"]``); ``own_*`` asks for
    that booking, ``other_*`` for another one. ``*_link`` routes carry the token
    (``LINK_TOKEN``: see ``link_token``)."""
    from citizen_desk.catalog.models import Service
    from citizen_desk.offices.models import Office
    with app.app_context():
        office = db.session.get(Office, world["office_ids"]["a"])
        service = db.session.scalar(db.select(Service).where(
            Service.code == world["service_code"]))
        world["link"] = manage_link(office, service)
        code = world["link"]["code"]
        if sample.startswith("other"):
            code = manage_link(office, service)["code"]
    return {"code": code, "token": LINK_TOKEN} if sample.endswith("_link") else {"code": code}


def link_token(args: dict, actor: str, world) -> dict:
    """The manage link's token for ``citizen_link``, a well-formed forged one for the others."""
    import secrets
    if args.get("token") != LINK_TOKEN:
        return args
    token = world["link"]["token"] if actor == "citizen_link" else secrets.token_urlsafe(32)
    return {**args, "token": token}


def client_for(app, world, actor: str):
    client = app.test_client()
    headers = {}
    if actor in SESSION_USERS:
        from citizen_desk.staff.models import StaffUser
        with app.app_context():
            sign_in_client(client, db.session.get(StaffUser, world["user_ids"][actor]))
    elif actor == "citizen_link":
        assert client.get("/appointments/{code}/{token}".format(**world["link"])).status_code \
            == 303
    elif actor == "malformed_token":
        headers["Authorization"] = "Bearer"
    elif actor in world["secrets"]:
        headers["Authorization"] = f"Bearer {world['secrets'][actor]}"
    return client, headers


def refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    # The sign-in redirect of a refused page carries ?next= (signing out redirects without).
    return response.status_code == 302 and "/staff/login?next=" in response.headers["Location"]


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    missing = endpoints - set(MATRIX)
    assert not missing, f"routes without a permission rule in tests/test_permissions.py: {missing}"
    assert not set(MATRIX) - endpoints, "the matrix names routes that no longer exist"


def test_every_view_declares_a_permission(app):
    undeclared = [endpoint for endpoint, view in app.view_functions.items()
                  if endpoint != "static" and not hasattr(view, "permission")]
    assert undeclared == []


def _cases(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for sample, allowed in MATRIX.get(rule.endpoint, []):
                yield rule.endpoint, method, sample, allowed


def test_permission_matrix(app, world):
    failures = []
    for endpoint, method, sample, allowed in _cases(app):
        for actor in ACTORS:
            args = sample_args(app, world, sample)
            client, headers = client_for(app, world, actor)
            with app.test_request_context():
                url = url_for(endpoint, **link_token(args, actor, world))
            if actor == "citizen_link":
                url += ("&" if "?" in url else "?") + f"token={world['link']['token']}"
            response = client.open(url, method=method, headers=headers)
            if response.status_code >= 500:
                failures.append(f"{method} {url} as {actor}: {response.status_code}")
            elif actor in allowed and refused(response):
                failures.append(f"{method} {url} as {actor}: refused "
                                f"({response.status_code}) but should be allowed")
            elif actor not in allowed and not refused(response):
                failures.append(f"{method} {url} as {actor}: allowed "
                                f"({response.status_code}) but should be refused")
    assert not failures, "\n".join(failures)


def test_api_refuses_bad_tokens_with_401_json(client):
    response = client.get("/api/v1/health", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]["status"] == 401


def test_api_ignores_session_cookies(app, world):
    """A signed-in browser gets nothing from the API by its cookie (so no CSRF there)."""
    from citizen_desk.staff.permissions import current_actor
    client, _ = client_for(app, world, "admin")
    with client:
        client.get("/api/v1/health")
        assert current_actor().is_anonymous


def test_token_use_is_recorded(app, world):
    from citizen_desk.staff.models import AccessToken, hash_token
    client, headers = client_for(app, world, "display_a")
    client.get("/api/v1/health", headers=headers)
    with app.app_context():
        token = db.session.scalar(db.select(AccessToken).where(
            AccessToken.token_hash == hash_token(world["secrets"]["display_a"])))
        assert token.last_used_dt is not None
