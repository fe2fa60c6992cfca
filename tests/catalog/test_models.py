"""Catalog models and operations: validation errors name the field; calendar and holidays."""
from datetime import date, time

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog import service_operations as service_ops
from citizen_desk.core.validation import ValidationError
from citizen_desk.catalog.hours import closed_days, sessions_on, weekly_hours
from citizen_desk.catalog.models import Counter, OpeningRule, Service
from citizen_desk.extensions import db
from tests.factories import add_rule, create_office, create_service


def field_of(excinfo):
    return excinfo.value.field


def test_office_defaults_and_translated_name(app_ctx):
    office = create_office(code="ATH1", name={"el": "ΚΕΠ Αθηνών", "en": ""})
    assert office.timezone == "Europe/Athens" and office.slot_minutes == 15
    assert office.name == {"el": "ΚΕΠ Αθηνών"}
    assert office.display_name("en") == "ΚΕΠ Αθηνών"  # falls back to Greek


def test_office_needs_a_greek_name(app_ctx):
    with pytest.raises(ValidationError) as excinfo:
        ops.create_office("ATH1", {"en": "KEP Athens", "el": "  "})
    assert field_of(excinfo) == "name.el"
    with force_locale("el"):
        assert str(excinfo.value.message) == "Συμπληρώστε το κείμενο στα ελληνικά."


@pytest.mark.parametrize("fields, field", [
    ({"holiday_country": "XX"}, "holiday_country"),
    ({"holiday_country": "GR", "holiday_subdivision": "ZZ"}, "holiday_subdivision"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"slot_minutes": 0}, "slot_minutes"),
])
def test_office_validation(app_ctx, fields, field):
    with pytest.raises(ValidationError) as excinfo:
        create_office(**fields)
    assert field_of(excinfo) == field


def test_office_codes_are_unique_and_offices_are_retired_not_deleted(app_ctx):
    office = create_office(code="ATH1")
    with pytest.raises(ValidationError) as excinfo:
        create_office(code="ATH1")
    assert field_of(excinfo) == "code"
    ops.retire_office(office)
    assert office.retired


def test_rule_times_and_dates_are_checked(app_ctx):
    office = create_office()
    with pytest.raises(ValidationError) as excinfo:
        add_rule(office, start_time=time(14), end_time=time(9))
    assert field_of(excinfo) == "end_time"
    with pytest.raises(ValidationError) as excinfo:
        add_rule(office, valid_from=date(2026, 5, 1), valid_until=date(2026, 4, 1))
    assert field_of(excinfo) == "valid_until"
    with pytest.raises(ValidationError) as excinfo:
        add_rule(office, weekdays=[])
    assert field_of(excinfo) == "weekdays"
    with pytest.raises(ValidationError) as excinfo:
        add_rule(office, seats={"vip": 3})
    assert field_of(excinfo) == "seats"


def test_overlapping_rules_for_the_same_service_are_refused(app_ctx):
    office = create_office()
    a = create_service(offices=[office])
    b = create_service(offices=[office])
    add_rule(office, services=[a])
    with pytest.raises(ValidationError) as excinfo:
        add_rule(office, weekdays=[3], start_time=time(12), end_time=time(15), services=[a])
    assert field_of(excinfo) == "start_time"
    # Another service may have its own hours at the same time …
    add_rule(office, weekdays=[3], start_time=time(12), end_time=time(15), services=[b])
    # … but a rule for every service overlaps both.
    with pytest.raises(ValidationError):
        add_rule(office, weekdays=[1], start_time=time(9), end_time=time(10))
    # Back to back is not an overlap, nor are disjoint validity periods.
    add_rule(office, start_time=time(13), end_time=time(15), services=[a])
    add_rule(office, weekdays=[6], valid_until=date(2026, 6, 30), services=[b])
    add_rule(office, weekdays=[6], valid_from=date(2026, 7, 1), services=[b])


def test_update_rule_does_not_clash_with_itself(app_ctx):
    office = create_office()
    rule = add_rule(office, seats={"public": 2, "staff": 1})
    ops.update_rule(rule, end_time=time(14), seats={"public": 3})
    assert (rule.end_time, rule.seats) == (time(14), {"public": 3, "staff": 0, "ngo": 0})
    assert not rule.is_walk_in


def test_rule_without_seats_is_walk_in_and_repeats_every_n_weeks(app_ctx):
    office = create_office()
    rule = add_rule(office, weekdays=[6], valid_from=date(2026, 1, 3), repeat_weeks=2)
    assert rule.is_walk_in
    assert rule.applies_on(date(2026, 1, 3)) and rule.applies_on(date(2026, 1, 17))
    assert not rule.applies_on(date(2026, 1, 10)) and not rule.applies_on(date(2026, 1, 5))


def test_database_refuses_a_rule_that_ends_before_it_starts(app_ctx):
    office = create_office()
    db.session.add(OpeningRule(office=office, weekdays=1, start_time=time(12),
                               end_time=time(8), valid_from=date(2026, 1, 1)))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_ticket_prefix_clash_within_an_office(app_ctx):
    athens, thessaloniki = create_office(code="ATH1"), create_office(code="THE1")
    create_service(code="family", ticket_prefix="A", offices=[athens])
    with pytest.raises(ValidationError) as excinfo:
        create_service(code="birth", ticket_prefix="A", offices=[athens, thessaloniki])
    assert field_of(excinfo) == "ticket_prefix"
    birth = create_service(code="birth", ticket_prefix="A", offices=[thessaloniki])
    with pytest.raises(ValidationError):
        service_ops.update_service(birth, offices=[athens, thessaloniki])


def test_retired_service_frees_its_prefix_and_stays_in_the_database(app_ctx):
    office = create_office()
    old = create_service(ticket_prefix="A", offices=[office])
    service_ops.retire_service(old)
    create_service(ticket_prefix="A", offices=[office])
    assert db.session.get(Service, old.id).retired
    with pytest.raises(ValidationError):
        service_ops.retire_service(old, retired=False)


def test_duration_must_be_on_the_slot_grid(app_ctx):
    office = create_office(slot_minutes=20)
    with pytest.raises(ValidationError) as excinfo:
        create_service(duration_minutes=30, offices=[office])
    assert field_of(excinfo) == "duration_minutes"
    assert create_service(duration_minutes=40, offices=[office]).duration_minutes == 40


@pytest.mark.parametrize("fields, field", [
    ({"name": {"en": "Only English"}}, "name.el"),
    ({"ticket_prefix": "a1"}, "ticket_prefix"),
    ({"required_fields": ["shoe_size"]}, "required_fields"),
    ({"link": {"el": "javascript:alert(1)"}}, "link.el"),
    ({"description": {"el": "x" * 20001}}, "description.el"),
    ({"documents": {"el": "not a list"}}, "documents.el"),
    ({"code": "has space"}, "code"),
])
def test_service_validation(app_ctx, fields, field):
    with pytest.raises(ValidationError) as excinfo:
        create_service(**fields)
    assert field_of(excinfo) == field


def test_counters_serve_services_of_their_office_and_are_retired(app_ctx):
    office, elsewhere = create_office(), create_office()
    here = create_service(offices=[office])
    there = create_service(offices=[elsewhere])
    counter = ops.add_counter(office, "1", {"el": "Θυρίδα 1", "en": "Counter 1"}, [here])
    assert counter.display_label("en") == "Counter 1"
    with pytest.raises(ValidationError) as excinfo:
        ops.add_counter(office, "2", {"el": "Θυρίδα 2"}, [there])
    assert field_of(excinfo) == "services"
    with pytest.raises(ValidationError) as excinfo:
        ops.add_counter(office, "1", {"el": "Θυρίδα 1"})
    assert field_of(excinfo) == "code"
    with pytest.raises(ValidationError) as excinfo:
        ops.add_counter(office, "3", {"en": "Counter 3"})
    assert field_of(excinfo) == "label.el"
    ops.retire_counter(counter)
    assert db.session.scalars(select(Counter)).one().active is False


def test_closures_whole_and_part_day(app_ctx):
    office = create_office()
    with pytest.raises(ValidationError) as excinfo:
        ops.add_closure(office, date(2026, 12, 2), date(2026, 12, 1), {"el": "Απογραφή"})
    assert field_of(excinfo) == "end_date"
    with pytest.raises(ValidationError) as excinfo:
        ops.add_closure(office, date(2026, 12, 1), date(2026, 12, 1), {"el": "Απογραφή"},
                        start_time=time(9))
    assert field_of(excinfo) == "end_time"
    with pytest.raises(ValidationError) as excinfo:
        ops.add_closure(office, date(2026, 12, 1), date(2026, 12, 1), {"en": "Inventory"})
    assert field_of(excinfo) == "reason.el"
    ops.add_closure(office, date(2026, 12, 1), date(2026, 12, 2), {"el": "Απογραφή"})
    ops.add_closure(office, date(2026, 12, 9), date(2026, 12, 9), {"el": "Εκπαίδευση"},
                    start_time=time(8, 30), end_time=time(11))
    closed = closed_days(office, date(2026, 12, 1), date(2026, 12, 31))
    assert [(c.day.day, c.whole_day, c.holiday) for c in closed] == [
        (1, True, False), (2, True, False), (9, False, False), (25, True, True),
        (26, True, True)]


def test_greek_holidays_move_with_orthodox_easter(app_ctx):
    office = create_office()
    days = {c.day: c.reason for c in closed_days(office, date(2027, 1, 1), date(2027, 12, 31))}
    assert days[date(2027, 3, 15)]["el"] == "Καθαρά Δευτέρα"       # Clean Monday 2027
    assert date(2027, 5, 3) in days                                  # Easter Monday 2027
    assert date(2027, 6, 21) in days                                 # Whit Monday 2027
    ops.update_office(office, holiday_country=None)
    assert closed_days(office, date(2027, 1, 1), date(2027, 12, 31)) == []


def test_sessions_on_a_day_skip_holidays_and_keep_service_rules(app_ctx):
    office = create_office()
    service = create_service(offices=[office])
    other = create_service(offices=[office])
    add_rule(office, services=[service])
    add_rule(office, weekdays=[3], start_time=time(17), end_time=time(20), services=[other])
    assert len(sessions_on(office, date(2026, 12, 2))) == 2           # a Wednesday
    assert sessions_on(office, date(2026, 12, 2), service)[0].start_time == time(8)
    assert sessions_on(office, date(2026, 12, 25)) == []              # Christmas
    week = weekly_hours(office, date(2026, 12, 1))
    assert [len(week[n]) for n in range(1, 8)] == [1, 1, 2, 1, 1, 0, 0]
