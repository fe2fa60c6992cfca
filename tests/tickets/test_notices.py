""""Leave and come back": the near notice goes once when the turn nears (even with two clerks
calling at the same instant), the called notice with the counter, by SMS and e-mail through
the outbox, in the ticket's language; nothing for tickets without a contact. A counter that
starts serving (taken, resumed, taken over while paused) looks too, for its services only."""
from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import sms, uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.outbox import MailStatus, OutboxMail, send_due
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import counters, daily, notices
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket
from citizen_desk.staff.models import Role, StaffUser
from tests.concurrency import race
from tests.factories import create_user

PHONE = "+306912345678"
MAIL = "polites@example.org"


def in_unit(app, work):
    with app.app_context():
        try:
            return uow.run(work)
        finally:
            db.session.remove()


def set_thresholds(app, desk, people=3, minutes=0):
    def work():
        office = db.session.get(Office, desk.office_id)
        office.queue_settings = {**(office.queue_settings or {}),
                                 "notify_people_ahead": people, "notify_minutes": minutes}
    in_unit(app, work)


def issue_line(app, desk, count, contact_at=None, service_id=None, **contact):
    """``count`` tickets for service A (or ``service_id``); the one at index ``contact_at``
    leaves ``contact``."""
    def work():
        office = db.session.get(Office, desk.office_id)
        service = db.session.get(Service, service_id or desk.a_id)
        ids = []
        for index in range(count):
            extra = contact if index == contact_at else {}
            ids.append(ops.issue(office, service, **extra)[0].id)
        return ids
    return in_unit(app, work)


def call_next(app, desk, counter_id=None, clerk_id=None):
    def work():
        ticket = ops.call_next(db.session.get(Counter, counter_id or desk.counter1_id),
                               db.session.get(StaffUser, clerk_id or desk.clerk_id))
        return ticket and ticket.id
    return in_unit(app, work)


def add_clerk(app, desk):
    """Another clerk of the desk's office (committed): their id."""
    return in_unit(app, lambda: create_user(role=Role.clerk,
                                            office=db.session.get(Office, desk.office_id)).id)


def at_counter(app, action, counter_id, clerk_id, **kw):
    """``counters.<action>(counter, clerk, **kw)`` in a unit of its own."""
    def work():
        getattr(counters, action)(db.session.get(Counter, counter_id),
                                  db.session.get(StaffUser, clerk_id), **kw)
    in_unit(app, work)


def outbox(app, channel=None):
    def read():
        query = select(OutboxMail).order_by(OutboxMail.id)
        if channel:
            query = query.where(OutboxMail.channel == channel)
        return [(m.channel, m.recipients[0], m.subject, m.text_body, m.status)
                for m in db.session.scalars(query)]
    return in_unit(app, read)


def test_the_near_notice_goes_once_when_the_people_ahead_reach_the_threshold(app, desk):
    set_thresholds(app, desk, people=3)
    issue_line(app, desk, 6, contact_at=5, notify_phone=PHONE, language="en")
    call_next(app, desk)  # 4 ahead of the sixth
    assert outbox(app) == []
    call_next(app, desk)  # 3 ahead: near
    [near] = outbox(app)
    assert near[:2] == ("sms", PHONE) and near[4] == MailStatus.sent
    assert near[3] == "A006: your turn is near. Please come back to the waiting area."
    call_next(app, desk)
    call_next(app, desk)
    assert len(outbox(app)) == 1, "told once"


def test_the_near_notice_follows_the_estimated_minutes_too(app, desk):
    set_thresholds(app, desk, people=0, minutes=60)  # the service takes 15 minutes each
    issue_line(app, desk, 7, contact_at=6, notify_phone=PHONE, language="en")
    call_next(app, desk)  # 5 ahead × 15 min = 75 > 60
    assert outbox(app) == []
    call_next(app, desk)  # 4 ahead × 15 = 60
    assert len(outbox(app)) == 1


def test_the_called_notice_names_the_counter_in_the_tickets_language(app, desk):
    set_thresholds(app, desk, people=0)
    [ticket_id] = issue_line(app, desk, 1, contact_at=0, notify_phone=PHONE,
                             notify_email=MAIL, language="en")
    call_next(app, desk)
    texts = outbox(app)
    # Called at once: no near notice before it, the called one by SMS and mail.
    assert [(channel, subject) for channel, _, subject, _, _ in texts] == [
        ("sms", ""), ("mail", "It is your turn: ticket A001, Counter 1")]
    assert texts[0][3] == "A001: it is your turn. Please go to Counter 1."
    assert "Please go to Counter 1." in texts[1][3] and "/t/" in texts[1][3]
    assert all(status == MailStatus.sent for *_, status in texts)


def test_a_recall_sends_nothing_more(app, desk):
    set_thresholds(app, desk, people=0)
    [ticket_id] = issue_line(app, desk, 1, contact_at=0, notify_phone=PHONE, language="en")
    call_next(app, desk)
    before = len(outbox(app))
    in_unit(app, lambda: ops.recall(db.session.get(Ticket, ticket_id)))
    assert len(outbox(app)) == before


def test_the_near_mail_says_how_many_are_ahead_and_links_the_tracking_page(app, desk):
    set_thresholds(app, desk, people=2)
    ids = issue_line(app, desk, 4, contact_at=3, notify_email=MAIL, language="en")
    call_next(app, desk)
    [(channel, to, subject, body, _)] = outbox(app)
    assert (channel, to, subject) == ("mail", MAIL, "Your turn is near: ticket A004")
    assert "2 people are ahead of you." in body
    public_id = in_unit(app, lambda: db.session.get(Ticket, ids[3]).public_id)
    assert f"/t/{public_id}" in body


def test_a_ticket_in_a_language_the_product_does_not_speak_is_told_in_the_default(app, desk):
    set_thresholds(app, desk, people=0)
    issue_line(app, desk, 1, contact_at=0, notify_phone=PHONE, language="ar")
    with app.app_context():
        assert notices.notice_language(db.session.scalar(select(Ticket))) == "el"
    call_next(app, desk)
    assert outbox(app)[0][3].startswith("A001")


def test_without_a_contact_the_line_moves_with_one_query_and_no_after_commit_work(app, desk):
    set_thresholds(app, desk, people=10)
    issue_line(app, desk, 3)
    with app.app_context():
        assert uow.pending_effects() == 0
        notices.after_queue_moved(desk.office_id)
        assert uow.pending_effects() == 0
        db.session.remove()
    call_next(app, desk)
    assert outbox(app) == []


def test_a_call_that_rolls_back_tells_nobody(app, desk):
    set_thresholds(app, desk, people=5)
    issue_line(app, desk, 2, contact_at=0, notify_phone=PHONE)

    def work():
        ops.call_next(db.session.get(Counter, desk.counter1_id),
                      db.session.get(StaffUser, desk.clerk_id))
        raise RuntimeError("the clerk's request failed")
    with pytest.raises(RuntimeError):
        in_unit(app, work)
    assert outbox(app) == []


def test_two_clerks_calling_at_once_tell_a_citizen_once(app, make_app, desk):
    set_thresholds(app, desk, people=3)
    issue_line(app, desk, 6, contact_at=5, notify_phone=PHONE)

    other = add_clerk(app, desk)
    racing = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 8, "max_overflow": 8})
    clerks = [(desk.counter1_id, desk.clerk_id), (desk.counter2_id, other)]
    # Counter 2 serves B only: give it A too, so both clerks call from the same line.
    def serve_a_at_two():
        counter = db.session.get(Counter, desk.counter2_id)
        counter.services.append(db.session.get(Service, desk.a_id))
    in_unit(app, serve_a_at_two)
    results = race(2, lambda i: call_next(racing, desk, *clerks[i]))
    assert all(isinstance(r, int) for r in results), results
    assert len(outbox(app, "sms")) == 1


@pytest.mark.parametrize("racers", [8])
def test_many_units_looking_at_once_queue_the_near_notice_exactly_once(app, make_app, desk,
                                                                       racers):
    set_thresholds(app, desk, people=3)
    ids = issue_line(app, desk, 3, contact_at=2, notify_phone=PHONE, notify_email=MAIL)
    racing = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": racers, "max_overflow": racers})
    results = race(racers, lambda i: in_unit(racing, functools.partial(
        notices.notify_near, desk.office_id)))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(t for told in results for t in told) == [ids[2]]
    assert [channel for channel, *_ in outbox(app)] == ["sms", "mail"]
    assert in_unit(app, lambda: db.session.get(Ticket, ids[2]).near_notified) is True


def test_a_notice_queued_before_the_day_closed_is_still_sent_and_then_purged(app, desk):
    set_thresholds(app, desk, people=5)
    app.config.update(SMS_SENDER="http", SMS_GATEWAY_URL="http://127.0.0.1:9/down")
    ticket_id = issue_line(app, desk, 2, contact_at=1, notify_phone=PHONE)[1]
    call_next(app, desk)
    call_next(app, desk)
    assert [m[4] for m in outbox(app)] == [MailStatus.queued] * 2  # near and called, unsent

    report = in_unit(app, lambda: daily.close_day(include_today=True))
    assert report.contacts_erased == 1
    assert in_unit(app, lambda: db.session.get(Ticket, ticket_id).notify_phone) is None

    app.config["SMS_SENDER"] = "log"
    in_unit(app, lambda: db.session.execute(update(OutboxMail).values(next_attempt_dt=utcnow())))
    with app.app_context():
        assert send_due().sent == 2
    assert [m[4] for m in outbox(app)] == [MailStatus.sent] * 2

    in_unit(app, lambda: db.session.execute(update(OutboxMail).values(
        created_dt=utcnow() - timedelta(days=31))))
    result = app.test_cli_runner().invoke(args=["outbox", "purge", "--days", "30"])
    assert "deleted 2" in result.output
    assert in_unit(app, lambda: db.session.scalar(select(func.count(OutboxMail.id)))) == 0


@pytest.mark.parametrize("kind, counter", [("near", None), ("called", "Counter 12")])
def test_the_english_texts_fit_one_sms_part(app, kind, counter):
    with app.test_request_context("/?lang=en"):
        text = notices.sms_text(kind, "AB123", counter)
    assert sms.segments(text) == ("gsm7", 1), text


# -- a counter that starts serving -------------------------------------------------------------

def b_line_told_at_two_counters(app, desk):
    """Five tickets for B (15 minutes each), the fifth with a phone: 4 ahead × 15 = 60 minutes
    at one counter, 30 at two — told at 30."""
    set_thresholds(app, desk, people=0, minutes=30)
    return issue_line(app, desk, 5, contact_at=4, service_id=desk.b_id, notify_phone=PHONE,
                      language="en")[4]


def test_a_second_counter_opening_tells_the_ticket_whose_wait_falls_to_the_minutes(app, desk):
    b_line_told_at_two_counters(app, desk)
    at_counter(app, "take", desk.counter1_id, desk.clerk_id)  # one counter: 60 minutes
    assert outbox(app) == []
    at_counter(app, "take", desk.counter2_id, add_clerk(app, desk))  # two serve B: 30
    [near] = outbox(app)
    assert near[:2] == ("sms", PHONE) and near[4] == MailStatus.sent
    assert near[3] == "B005: your turn is near. Please come back to the waiting area."
    at_counter(app, "release", desk.counter1_id, desk.clerk_id)
    at_counter(app, "take", desk.counter1_id, desk.clerk_id)
    assert len(outbox(app)) == 1, "told once"


@pytest.mark.parametrize("how", ["resume", "take over"])
def test_a_paused_counter_serving_again_tells_the_ticket_whose_wait_falls(app, desk, how):
    ticket_id = b_line_told_at_two_counters(app, desk)
    other = add_clerk(app, desk)
    at_counter(app, "take", desk.counter2_id, other)
    at_counter(app, "set_paused", desk.counter2_id, other, paused=True)
    at_counter(app, "take", desk.counter1_id, desk.clerk_id)  # one counter serves B: 60
    assert outbox(app) == []
    if how == "resume":
        at_counter(app, "set_paused", desk.counter2_id, other, paused=False)
    else:
        at_counter(app, "take", desk.counter2_id, add_clerk(app, desk), take_over_from=other)
    assert len(outbox(app, "sms")) == 1
    assert in_unit(app, lambda: db.session.get(Ticket, ticket_id).near_notified) is True


def test_only_a_counter_that_starts_serving_looks_not_a_pause_nor_a_hand_over(app, desk):
    set_thresholds(app, desk, people=3)
    at_counter(app, "take", desk.counter1_id, desk.clerk_id)
    # Near from the start (nobody ahead), but untold: the line has not moved since.
    issue_line(app, desk, 1, contact_at=0, notify_phone=PHONE)
    other = add_clerk(app, desk)
    at_counter(app, "take", desk.counter1_id, other, take_over_from=desk.clerk_id)
    at_counter(app, "set_paused", desk.counter1_id, other, paused=True)
    at_counter(app, "release", desk.counter1_id, other)
    assert outbox(app) == []
    at_counter(app, "take", desk.counter1_id, other)
    assert len(outbox(app)) == 1


def test_a_counter_opening_looks_only_at_the_tickets_it_can_serve(app, desk):
    set_thresholds(app, desk, people=3)
    # All near (nobody ahead of each) and untold; counter 2 serves B alone.
    [for_a] = issue_line(app, desk, 1, contact_at=0, notify_phone=PHONE)
    [for_b] = issue_line(app, desk, 1, contact_at=0, service_id=desk.b_id, notify_phone=PHONE)
    [sent_to_two] = issue_line(app, desk, 1, contact_at=0, notify_phone=PHONE)
    # Transferred to counter 2 (written directly: a transfer would itself look at the line).
    in_unit(app, lambda: db.session.execute(
        update(Ticket).where(Ticket.id == sent_to_two).values(counter_id=desk.counter2_id)))
    at_counter(app, "take", desk.counter2_id, desk.clerk_id)
    told = in_unit(app, lambda: sorted(db.session.scalars(
        select(Ticket.id).where(Ticket.near_notified.is_(True)))))
    assert told == sorted([for_b, sent_to_two])
    assert len(outbox(app)) == 2


def test_a_counter_opening_costs_one_ticket_query_when_nobody_concerned_left_a_contact(
        app, desk, monkeypatch, recorded_statements):
    set_thresholds(app, desk, people=10)
    issue_line(app, desk, 3, service_id=desk.b_id)
    issue_line(app, desk, 1, contact_at=0, notify_phone=PHONE)  # for A: counter 2 serves B
    looked = []
    monkeypatch.setattr(notices, "_near_in_own_unit", lambda *args: looked.append(args))
    with app.app_context(), recorded_statements() as statements:
        uow.run(lambda: counters.take(db.session.get(Counter, desk.counter2_id),
                                      db.session.get(StaffUser, desk.clerk_id)))
        db.session.remove()
    assert looked == []
    assert len([s for s in statements if "FROM ticket" in s]) == 1, statements
    assert outbox(app) == []


@pytest.mark.parametrize("clerks", [6])
def test_clerks_opening_counters_at_once_tell_a_citizen_once(app, make_app, desk, clerks):
    ticket_id = b_line_told_at_two_counters(app, desk)

    def more_counters():
        office = db.session.get(Office, desk.office_id)
        b = db.session.get(Service, desk.b_id)
        return [catalog_ops.add_counter(office, str(n), {"el": f"Θυρίδα {n}", "en": f"Counter {n}"},
                                        [b]).id for n in range(3, clerks + 1)]
    counter_ids = [desk.counter1_id, desk.counter2_id] + in_unit(app, more_counters)
    clerk_ids = [desk.clerk_id] + [add_clerk(app, desk) for _ in range(clerks - 1)]
    racing = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2 * clerks,
                                                 "max_overflow": 2 * clerks})
    results = race(clerks, lambda i: at_counter(racing, "take", counter_ids[i], clerk_ids[i]))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(outbox(app, "sms")) == 1
    assert in_unit(app, lambda: db.session.get(Ticket, ticket_id).near_notified) is True
