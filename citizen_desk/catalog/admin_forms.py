"""Forms and form helpers of the catalog's staff screens, beside those in ``forms.py``.

``forms.py`` holds the forms themselves; this module adds what only the
screens need: the category choice, the services an office offers, and
filling a form from an existing object (lists shown one per line).
"""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from citizen_desk.catalog.forms import (MultiCheckboxField, ServiceForm, choices)
from citizen_desk.catalog.models import Closure, Counter, OpeningRule, Service


class ServiceEditForm(ServiceForm):
    category = SelectField(_l("Category"), choices=[], validators=[Optional()])

    def set_category_choices(self, categories, language: str):
        self.category.choices = [SelectChoice("", _("No category"))] + [
            SelectChoice(str(c.id), c.display_name(language)) for c in categories]


class OfficeServicesForm(FlaskForm):
    services = MultiCheckboxField(_l("Services offered at this office"), coerce=int,
                                  choices=[])


def service_choices(services, language: str) -> list[SelectChoice]:
    return choices((s.id, f"{s.display_name(language)} ({s.code})") for s in services)


def _lines(values: dict | None) -> dict:
    return {language: "\n".join(items) for language, items in (values or {}).items()}


def service_data(service: Service) -> dict:
    """Initial values of ``ServiceEditForm`` for ``service``."""
    data = {name: getattr(service, name) for name in (
        "code", "ticket_prefix", "duration_minutes", "bookable_online", "walk_in",
        "required_fields", "name", "summary", "description", "fees", "link")}
    data.update(documents=_lines(service.documents), synonyms=_lines(service.synonyms),
                offices=[o.id for o in service.offices],
                category=str(service.category_id) if service.category_id else "")
    return data


def rule_data(rule: OpeningRule) -> dict:
    return dict(weekdays=rule.weekday_numbers, start_time=rule.start_time,
                end_time=rule.end_time, valid_from=rule.valid_from,
                valid_until=rule.valid_until, repeat_weeks=rule.repeat_weeks,
                seats_public=rule.seats_public, seats_staff=rule.seats_staff,
                seats_ngo=rule.seats_ngo, services=[s.id for s in rule.services])


def closure_data(closure: Closure) -> dict:
    return dict(start_date=closure.start_date, end_date=closure.end_date,
                start_time=closure.start_time, end_time=closure.end_time,
                reason=dict(closure.reason))


def counter_data(counter: Counter) -> dict:
    return dict(code=counter.code, label=dict(counter.label), active=counter.active,
                services=[s.id for s in counter.services])
