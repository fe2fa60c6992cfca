"""Concurrent edits of one office's opening hours, through a real gunicorn server.

Twenty managers' saves of the same rule arrive together at several threaded
workers. Each save is applied whole or refused (409/422), never a 500 nor a
dropped connection, and the rule ends as exactly one of the submissions,
with one audit entry per applied save.
"""
from datetime import date, time

from sqlalchemy import func, select

from citizen_desk.catalog.models import OpeningRule
from citizen_desk.core import uow
from citizen_desk.core.audit import AuditEntry
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role
from tests.concurrency import Response, race, served_app, summary
from tests.factories import PASSWORD, add_rule, create_office, create_user

EDITS = 20


def submission(i: int) -> dict:
    """Edit ``i``: every field differs from the other edits and from the rule as created."""
    return {"weekdays": [str(day) for day in range(1, 8) if (i + 1) & (1 << (day - 1))],
            "start_time": "08:00", "end_time": f"13:{i + 1:02d}",
            "valid_from": "2026-01-01", "valid_until": f"2027-01-{i + 1:02d}",
            "repeat_weeks": str(i + 2), "seats_public": str(i + 1),
            "seats_staff": str(40 + i), "seats_ngo": str(80 + i)}


def as_submitted(rule: OpeningRule) -> dict:
    return {"weekdays": [str(day) for day in rule.weekday_numbers],
            "start_time": rule.start_time.strftime("%H:%M"),
            "end_time": rule.end_time.strftime("%H:%M"),
            "valid_from": rule.valid_from.isoformat(),
            "valid_until": rule.valid_until.isoformat() if rule.valid_until else "",
            "repeat_weeks": str(rule.repeat_weeks), "seats_public": str(rule.seats_public),
            "seats_staff": str(rule.seats_staff), "seats_ngo": str(rule.seats_ngo)}


def test_concurrent_edits_of_one_rule_apply_whole_or_are_refused(app, database_url):
    with app.app_context():
        def set_up():
            office = create_office("ATH1")
            rule = add_rule(office, start_time=time(8), end_time=time(13),
                            valid_from=date(2026, 1, 1))
            manager = create_user("manager@example.gr", Role.manager, office)
            return rule.id, manager.email
        rule_id, email = uow.run(set_up)

    path = f"/staff/catalog/offices/ATH1/rules/{rule_id}/edit"
    with served_app(database_url, workers=2, threads=4) as server:
        cookie = server.sign_in(email, PASSWORD)
        results = race(EDITS, lambda i: server.post(path, submission(i),
                                                    headers={"Cookie": cookie}))
        log = server.log()

    outcome = summary(results)
    assert set(outcome) <= {302, 409, 422}, (outcome, results, log[-3000:])
    applied = [i for i, r in enumerate(results) if isinstance(r, Response) and r.status == 302]
    assert applied, outcome
    for i in applied:
        assert results[i].location.endswith("/staff/catalog/offices/ATH1#rules"), results[i]

    with app.app_context():
        rules = db.session.scalars(select(OpeningRule)).all()
        assert [rule.id for rule in rules] == [rule_id]
        final = as_submitted(rules[0])
        assert final in [submission(i) for i in applied], final
        updates = db.session.scalar(select(func.count()).select_from(AuditEntry)
                                    .where(AuditEntry.action == "catalog.rule.update"))
        assert updates == len(applied)
