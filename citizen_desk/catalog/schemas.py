"""What the catalog's JSON API reads and answers: search parameters in, services and offices out.

The shapes are documented in ``docs/openapi.yaml`` (``ServiceSummary``,
``OfficeSummary``, ``Office``); ``tests/core/test_openapi.py`` checks real
answers against it. Dump with ``core.schemas.dump(schema, obj, language=…)``
so that names and texts come in the language asked for.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from citizen_desk.catalog.search.index import MAX_QUERY_LENGTH
from citizen_desk.core.schemas import (LanguageQuery, Schema, Translated, WholeNumber,
                                       max_length, output_language)
from citizen_desk.offices.schemas import OfficeField

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


class ServiceQuery(LanguageQuery):
    """``GET /services``: ``?q=`` (words to search for), ``office=``, ``limit=``, ``lang=``."""

    q = fields.String(load_default="", validate=max_length(MAX_QUERY_LENGTH))
    office = OfficeField(load_default=None)
    # One message for "not a number" and "out of range", as the range is the help.
    limit = WholeNumber(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT, error=_l("Give a whole number from 1 to %(max)d.",
                                                        max=MAX_LIMIT)),
        error_messages={"invalid": _l("Give a whole number from 1 to %(max)d.", max=MAX_LIMIT)})


class ServiceSchema(Schema):
    """A service as the search lists it."""

    code = fields.String()
    name = fields.Function(lambda service: service.display_name(output_language()))
    summary = Translated()
    duration_minutes = fields.Integer()
    category = fields.Function(lambda service: service.category.code if service.category
                               else None)
    bookable_online = fields.Boolean()
    walk_in = fields.Boolean()
    offices = fields.Function(lambda service: [office.code for office in service.offices
                                               if not office.retired])
    url = fields.Function(lambda service: url_for("catalog.service", code=service.code,
                                                  lang=output_language()))


class OfficeSchema(Schema):
    """An office in the list of offices."""

    code = fields.String()
    name = fields.Function(lambda office: office.display_name(output_language()))
    address = Translated()
    timezone = fields.String()
    url = fields.Function(lambda office: url_for("catalog.office", code=office.code,
                                                 lang=output_language()))


class ClosedDaySchema(Schema):
    """A day the office is closed (``catalog.hours.ClosedDay``), wholly or in part."""

    date = fields.Date(attribute="day")
    whole_day = fields.Boolean()
    start_time = fields.Time(format="%H:%M")
    end_time = fields.Time(format="%H:%M")
    reason = Translated()
    public_holiday = fields.Boolean(attribute="holiday")


class CounterSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    label = fields.Function(lambda counter: counter.display_label(output_language()))
    active = fields.Boolean()
    services = fields.Pluck(ServiceSchema, "code", many=True)


@dataclass
class OfficeDetail:
    """An office with what applies from today in its zone, for ``OfficeDetailSchema``."""

    office: object
    #: The rules still valid, as the catalog file writes them (``transfer.exporter.export_rule``).
    opening_rules: list[dict]
    #: ``ClosedDay``s of the coming days.
    closures: list

    def __getattr__(self, name):
        return getattr(self.office, name)


class OfficeDetailSchema(OfficeSchema):
    """One office with its opening rules, upcoming closures and counters."""

    language = fields.Function(lambda detail: output_language())
    directions = Translated()
    phone = fields.String()
    email = fields.String()
    slot_minutes = fields.Integer()
    min_notice_hours = fields.Integer()
    max_days_ahead = fields.Integer()
    opening_rules = fields.List(fields.Dict())
    closures = fields.List(fields.Nested(ClosedDaySchema))
    counters = fields.List(fields.Nested(CounterSchema))
