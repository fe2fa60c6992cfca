"""The catalog forms the staff screens will use: checks, values for the operations, errors."""
from datetime import date, time

import pytest
from werkzeug.datastructures import MultiDict

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog import service_operations as service_ops
from citizen_desk.core.validation import ValidationError
from citizen_desk.catalog.admin.forms import (ClosureForm, CounterForm, OfficeForm, OpeningRuleForm, ServiceForm, choices)
from tests.factories import create_office


def form(app, cls, data, **kw):
    ctx = app.test_request_context("/?lang=en", method="POST", data=data)
    ctx.push()
    return ctx, cls(formdata=MultiDict(data), **kw)


def test_office_form_values_create_an_office(app_ctx):
    ctx, office_form = form(app_ctx, OfficeForm, {
        "code": "ATH1", "name-el": "ΚΕΠ Αθηνών", "name-en": "KEP Athens",
        "timezone": "Europe/Athens", "slot_minutes": "15", "min_notice_hours": "12",
        "max_days_ahead": "180", "holiday_country": "gr"})
    try:
        assert office_form.validate(), office_form.errors
        office = ops.create_office(**office_form.values())
        assert office.name == {"el": "ΚΕΠ Αθηνών", "en": "KEP Athens"}
        assert office.holiday_country == "GR"
    finally:
        ctx.pop()


def test_office_form_requires_the_greek_name(app_ctx):
    ctx, office_form = form(app_ctx, OfficeForm, {"code": "ATH1", "name-en": "KEP"})
    try:
        assert not office_form.validate()
        assert office_form.name.el.errors == ["Enter the text in Greek."]
    finally:
        ctx.pop()


def test_rule_form_checks_from_before_to_and_maps_operation_errors(app_ctx):
    office = create_office()
    ops.add_rule(office, [1], time(8), time(13), date(2026, 1, 1))
    data = {"weekdays": ["1", "2"], "start_time": "12:00", "end_time": "09:00",
            "valid_from": "2026-01-01", "repeat_weeks": "1", "seats_public": "2",
            "seats_staff": "0", "seats_ngo": "0"}
    ctx, rule_form = form(app_ctx, OpeningRuleForm, data)
    try:
        assert not rule_form.validate()
        assert rule_form.end_time.errors == ["The closing time must be after the opening time."]
    finally:
        ctx.pop()
    ctx, rule_form = form(app_ctx, OpeningRuleForm, {**data, "end_time": "15:00"})
    try:
        assert rule_form.validate(), rule_form.errors
        with pytest.raises(ValidationError) as excinfo:
            ops.add_rule(office, **rule_form.values({}))
        excinfo.value.apply_to(rule_form)
        assert "overlap" in str(rule_form.start_time.errors[0])
    finally:
        ctx.pop()


def test_closure_form_needs_both_times_or_none(app_ctx):
    ctx, closure_form = form(app_ctx, ClosureForm, {
        "start_date": "2026-12-01", "end_date": "2026-12-01", "start_time": "09:00",
        "reason-el": "Απογραφή"})
    try:
        assert not closure_form.validate()
        assert closure_form.end_time.errors
    finally:
        ctx.pop()


def test_service_form_lists_and_prefix_clash(app_ctx):
    office = create_office()
    service_ops.create_service("family", "A", {"el": "Πιστοποιητικό"}, offices=[office])
    data = {"code": "birth", "ticket_prefix": "a", "duration_minutes": "15",
            "offices": [str(office.id)], "name-el": "Ληξιαρχική πράξη γέννησης",
            "documents-el": "Ταυτότητα\n\nΒιβλιάριο οικογενείας\n", "link-el": "not a url"}
    ctx, service_form = form(app_ctx, ServiceForm, data)
    service_form.offices.choices = choices([(office.id, office.code)])
    try:
        assert not service_form.validate()
        assert service_form.link.el.errors
    finally:
        ctx.pop()
    del data["link-el"]
    ctx, service_form = form(app_ctx, ServiceForm, data)
    service_form.offices.choices = choices([(office.id, office.code)])
    try:
        assert service_form.validate(), service_form.errors
        values = service_form.values({office.id: office})
        assert values["documents"] == {"el": ["Ταυτότητα", "Βιβλιάριο οικογενείας"]}
        with pytest.raises(ValidationError) as excinfo:
            service_ops.create_service(**values)
        excinfo.value.apply_to(service_form)
        assert service_form.ticket_prefix.errors
    finally:
        ctx.pop()


def test_counter_form_values(app_ctx):
    office = create_office()
    ctx, counter_form = form(app_ctx, CounterForm, {"code": "3", "label-el": "Θυρίδα 3",
                                                     "label-en": "Counter 3", "active": "y"})
    try:
        assert counter_form.validate(), counter_form.errors
        counter = ops.add_counter(office, **counter_form.values({}))
        assert counter.label == {"el": "Θυρίδα 3", "en": "Counter 3"} and counter.active
    finally:
        ctx.pop()
