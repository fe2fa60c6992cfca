"""The kiosk's "open now" facts are kept per catalog revision, never past a change."""
from __future__ import annotations

from datetime import time, timedelta

from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import opening


def _load(desk):
    return db.session.get(Office, desk.office_id), db.session.get(Service, desk.a_id)


def _close_now(office):
    """A part-day closure around the current local time (today only)."""
    local = utcnow().astimezone(office.zone)
    start = (local - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(minutes=2)).time().replace(second=0, microsecond=0)
    if end <= start:  # around midnight: the whole day instead
        start, end = None, None
    return catalog_ops.add_closure(office, local.date(), local.date(), {"el": "Απεργία"},
                                   start_time=start, end_time=end)


def _committed(change):
    """Run ``change`` in a unit of work of its own, between fresh sessions."""
    db.session.remove()
    uow.run(change)
    db.session.remove()


def test_a_second_ask_costs_no_query(app, desk, recorded_statements):
    with app.app_context():
        office, service = _load(desk)
        assert opening.open_now(office, service) and opening.offered(office, service)
        # A new session: nothing of the office's rules and closures is loaded any more.
        db.session.remove()
        office, service = _load(desk)
        with recorded_statements() as seen:
            assert opening.open_now(office, service) and opening.offered(office, service)
        assert seen == []
        db.session.remove()


def test_a_committed_closure_is_seen_at_once(app, desk):
    with app.app_context():
        assert opening.open_now(*_load(desk))
        _committed(lambda: _close_now(_load(desk)[0]))
        assert not opening.open_now(*_load(desk))
        db.session.remove()


def test_a_change_in_the_same_transaction_is_seen(app, desk):
    with app.app_context():
        office, service = _load(desk)
        assert opening.open_now(office, service)
        _close_now(office)
        db.session.flush()
        assert not opening.open_now(office, service)
        db.session.rollback()
        assert opening.open_now(office, service)
        db.session.remove()


def test_a_service_taken_off_the_office_is_no_longer_offered(app, desk):
    with app.app_context():
        office, service = _load(desk)
        assert opening.offered(office, service)

        def take_off():
            office, service = _load(desk)
            service.offices.remove(office)
        _committed(take_off)
        assert not opening.offered(*_load(desk))
        db.session.remove()


def test_another_days_plan_is_its_own(app, desk):
    with app.app_context():
        office, service = _load(desk)
        today = utcnow().astimezone(office.zone).date()
        assert opening.day_plan(office, service, today)[0] == ((time(0), time(23, 45)),)
        db.session.remove()
