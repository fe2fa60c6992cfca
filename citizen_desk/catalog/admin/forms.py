"""Flask-WTF forms for the staff screens that manage the catalog.

The forms check what a form can check alone (required fields, from < to);
the operations check the rest (overlapping rules, prefix clash, slot grid)
and raise ``ValidationError``, whose ``apply_to(form)`` puts it next to the field.
``values()`` gives the keyword arguments of the matching operation.
"""
from __future__ import annotations

from functools import lru_cache

from flask import current_app
from flask_babel import LazyString, gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, Form, FormField, IntegerField, SelectField,
                     SelectMultipleField, StringField, TextAreaField, TimeField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (URL, DataRequired, Email, InputRequired, Length, NumberRange,
                                Optional, Regexp, ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget

from citizen_desk.catalog.models import (PERSONAL_FIELD_LABELS, PERSONAL_FIELDS, Closure, Counter,
                                         OpeningRule, Service)
from citizen_desk.catalog.validation import MAX_ITEMS, MAX_LENGTH
from citizen_desk.core.forms import Versioned
from citizen_desk.core.validation import CODE_PATTERN
from citizen_desk.core.content import PRIMARY_LANGUAGE
from citizen_desk.core.templating import language_name

WEEKDAY_CHOICES = [SelectChoice(n, label) for n, label in (
    (1, _l("Monday")), (2, _l("Tuesday")), (3, _l("Wednesday")), (4, _l("Thursday")),
    (5, _l("Friday")), (6, _l("Saturday")), (7, _l("Sunday")))]


def choices(pairs) -> list[SelectChoice]:
    """``[(value, label), …]`` (e.g. offices or services by id) as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def language_label(code: str):
    """The name of the language ``code`` in the reader's language (“Αγγλικά”, “English”)."""
    return LazyString(lambda: language_name(code))


@lru_cache(maxsize=64)
def _translations_form(languages: tuple, kind: str, required: bool, lines: bool, url: bool):
    field = TextAreaField if (lines or kind in ("summary", "description", "directions")) else StringField
    max_length = MAX_LENGTH[kind] * (MAX_ITEMS if lines else 1)
    checks = [Length(max=max_length, message=_l("Enter at most %(max)d characters."))]
    if url:
        checks.append(URL(message=_l("Enter a web address starting with https://")))
    fields = {}
    for code in languages:
        first = ([DataRequired(message=_l("Enter the text in Greek."))]
                 if required and code == PRIMARY_LANGUAGE else [Optional()])
        fields[code] = field(language_label(code), [*first, *checks], filters=[_strip])
    return type(f"{kind.title()}Translations", (Form,), fields)


class TranslatedField(FormField):
    """One input per language of ``app.config["LANGUAGES"]`` (Greek required when ``required``).

    The sub-form is built when the form is, so a third language in the
    configuration adds inputs without a change here.
    """

    def __init__(self, label=None, kind: str = "name", required: bool = False,
                 lines: bool = False, url: bool = False, **kwargs):
        languages = tuple(current_app.config["LANGUAGES"])
        if PRIMARY_LANGUAGE not in languages:
            languages = (PRIMARY_LANGUAGE, *languages)
        super().__init__(_translations_form(languages, kind, required, lines, url),
                         label=label, **kwargs)
        self.lines = lines


def translated(kind: str, label, required: bool = False, lines: bool = False, url=False):
    """A sub-form with one input per configured language (see ``TranslatedField``)."""
    return TranslatedField(label, kind=kind, required=required, lines=lines, url=url)


def whole_number(low: int, high: int) -> list:
    """Validators of a required whole number between ``low`` and ``high``."""
    return [InputRequired(message=_l("Enter a whole number.")),
            NumberRange(low, high, message=_l("Enter a number from %(min)s to %(max)s."))]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _texts(subform) -> dict:
    return {language: field.data for language, field in subform._fields.items()
            if field.data}


def _lists(subform) -> dict:
    return {language: [line.strip() for line in field.data.splitlines() if line.strip()]
            for language, field in subform._fields.items() if field.data}


class OfficeForm(Versioned, FlaskForm):
    code = StringField(_l("Code"), [DataRequired(message=_l("Enter a code.")), Regexp(
        CODE_PATTERN, message=_l("Use letters, digits, dots, dashes or underscores."))])
    name = translated("name", _l("Name"), required=True)
    address = translated("address", _l("Address"))
    directions = translated("directions", _l("How to get there"))
    timezone = StringField(_l("Time zone"), [DataRequired(
        message=_l("Enter a time zone, e.g. Europe/Athens."))], default="Europe/Athens")
    phone = StringField(_l("Phone"), [Optional(), Length(max=40)])
    email = StringField(_l("Email"), [Optional(), Email(message=_l("Enter an email address."))])
    slot_minutes = IntegerField(_l("Length of an appointment slot (minutes)"),
                                whole_number(1, 240), default=15)
    min_notice_hours = IntegerField(_l("Minimum notice for a booking (hours)"),
                                    whole_number(0, 1440), default=12)
    max_days_ahead = IntegerField(_l("Furthest day that can be booked (days ahead)"),
                                  whole_number(1, 730), default=180)
    holiday_country = StringField(_l("Country for public holidays"),
                                  [Optional(), Length(max=2)], default="GR",
                                  description=_l("Leave empty to ignore public holidays."))
    holiday_subdivision = StringField(_l("Region for public holidays"),
                                      [Optional(), Length(max=10)])
    confirm_by_email = BooleanField(
        _l("Online bookings must be confirmed by e-mail"),
        description=_l("The citizen gets a link by e-mail; the booking is kept only if they "
                       "open it in time."))
    proof_of_work = BooleanField(
        _l("Online bookings must pass an automatic check against booking programs"),
        description=_l("The citizen's browser works for a second or two before the booking is "
                       "sent (no puzzle to solve). It needs JavaScript."))

    def values(self) -> dict:
        return dict(code=self.code.data.strip(), name=_texts(self.name),
                    confirm_by_email=bool(self.confirm_by_email.data),
                    proof_of_work=bool(self.proof_of_work.data),
                    address=_texts(self.address), directions=_texts(self.directions),
                    timezone=self.timezone.data.strip(), phone=self.phone.data or None,
                    email=self.email.data or None, slot_minutes=self.slot_minutes.data,
                    min_notice_hours=self.min_notice_hours.data,
                    max_days_ahead=self.max_days_ahead.data,
                    holiday_country=(self.holiday_country.data or "").upper() or None,
                    holiday_subdivision=self.holiday_subdivision.data or None)


class OpeningRuleForm(Versioned, FlaskForm):
    weekdays = MultiCheckboxField(_l("Days"), choices=WEEKDAY_CHOICES, coerce=int,
                                  validators=[DataRequired(
                                      message=_l("Choose at least one day of the week."))])
    start_time = TimeField(_l("Opens at"), [InputRequired(message=_l("Enter a time."))])
    end_time = TimeField(_l("Closes at"), [InputRequired(message=_l("Enter a time."))])
    valid_from = DateField(_l("First day"), [InputRequired(message=_l("Enter a date."))])
    valid_until = DateField(_l("Last day"), [Optional()],
                            description=_l("Leave empty if the hours have no end date."))
    repeat_weeks = IntegerField(_l("Repeat every how many weeks"),
                                whole_number(1, 52), default=1)
    seats_public = IntegerField(_l("Seats per slot for citizens booking online"),
                                whole_number(0, 1000), default=0)
    seats_staff = IntegerField(_l("Seats per slot for bookings made by staff"),
                               whole_number(0, 1000), default=0)
    seats_ngo = IntegerField(_l("Seats per slot for bookings made by NGOs"),
                             whole_number(0, 1000), default=0,
                             description=_l("No seats in any pool makes walk-in hours."))
    services = MultiCheckboxField(_l("Services"), coerce=int, choices=[],
                                  description=_l("None chosen: every service of the office."))

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise ValidationError(_l("The closing time must be after the opening time."))

    def validate_valid_until(self, field):
        if self.valid_from.data and field.data and field.data < self.valid_from.data:
            raise ValidationError(_l("The last day must be on or after the first day."))

    def values(self, services_by_id: dict) -> dict:
        return dict(weekdays=self.weekdays.data, start_time=self.start_time.data,
                    end_time=self.end_time.data, valid_from=self.valid_from.data,
                    valid_until=self.valid_until.data, repeat_weeks=self.repeat_weeks.data,
                    seats={"public": self.seats_public.data, "staff": self.seats_staff.data,
                           "ngo": self.seats_ngo.data},
                    services=[services_by_id[i] for i in self.services.data])


class ClosureForm(Versioned, FlaskForm):
    start_date = DateField(_l("First day"), [InputRequired(message=_l("Enter a date."))])
    end_date = DateField(_l("Last day"), [InputRequired(message=_l("Enter a date."))])
    start_time = TimeField(_l("Closed from"), [Optional()],
                           description=_l("Leave both times empty to close whole days."))
    end_time = TimeField(_l("Closed until"), [Optional()])
    reason = translated("reason", _l("Reason shown to citizens"), required=True)

    def validate_end_date(self, field):
        if self.start_date.data and field.data and field.data < self.start_date.data:
            raise ValidationError(_l("The last day must be on or after the first day."))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        start, end = self.start_time.data, self.end_time.data
        if (start is None) != (end is None):
            self.end_time.errors = [*self.end_time.errors, _l(
                "Give both times for a closure of part of the day, or neither for whole days.")]
            return False
        if start and end and end <= start:
            self.end_time.errors = [*self.end_time.errors,
                                    _l("The end time must be after the start time.")]
            return False
        return valid

    def values(self) -> dict:
        return dict(start_date=self.start_date.data, end_date=self.end_date.data,
                    start_time=self.start_time.data, end_time=self.end_time.data,
                    reason=_texts(self.reason))


class CounterForm(Versioned, FlaskForm):
    code = StringField(_l("Code"), [DataRequired(message=_l("Enter a code.")), Length(max=16)])
    label = translated("label", _l("Label on the display"), required=True)
    services = MultiCheckboxField(_l("Services served"), coerce=int, choices=[])
    active = BooleanField(_l("In use"), default=True)

    def values(self, services_by_id: dict) -> dict:
        return dict(code=self.code.data.strip(), label=_texts(self.label),
                    services=[services_by_id[i] for i in self.services.data],
                    active=self.active.data)


class ServiceForm(FlaskForm):
    code = StringField(_l("Code"), [DataRequired(message=_l("Enter a code.")), Regexp(
        CODE_PATTERN, message=_l("Use letters, digits, dots, dashes or underscores."))])
    ticket_prefix = StringField(_l("Ticket prefix"), [DataRequired(
        message=_l("Enter a ticket prefix.")), Regexp(
        r"^[A-Za-z]{1,2}$", message=_l("Enter one or two Latin letters (e.g. A or BC)."))])
    duration_minutes = IntegerField(_l("Duration (minutes)"),
                                    whole_number(1, 480), default=15)
    bookable_online = BooleanField(_l("Can be booked online"), default=True)
    walk_in = BooleanField(_l("Served without an appointment"), default=True)
    required_fields = MultiCheckboxField(
        _l("Personal details to ask for"),
        choices=[SelectChoice(name, PERSONAL_FIELD_LABELS[name]) for name in PERSONAL_FIELDS])
    offices = MultiCheckboxField(_l("Offered at"), coerce=int, choices=[])
    name = translated("name", _l("Name"), required=True)
    summary = translated("summary", _l("Summary"))
    description = translated("description", _l("Description"))
    documents = translated("document", _l("Documents to bring (one per line)"), lines=True)
    fees = translated("fees", _l("Fees"))
    link = translated("link", _l("Official procedure page"), url=True)
    synonyms = translated("synonym", _l("Other words people search with (one per line)"),
                          lines=True)

    def values(self, offices_by_id: dict, category=None) -> dict:
        return dict(code=self.code.data.strip(), ticket_prefix=self.ticket_prefix.data.upper(),
                    duration_minutes=self.duration_minutes.data, category=category,
                    bookable_online=self.bookable_online.data, walk_in=self.walk_in.data,
                    required_fields=self.required_fields.data,
                    offices=[offices_by_id[i] for i in self.offices.data],
                    name=_texts(self.name), summary=_texts(self.summary),
                    description=_texts(self.description), documents=_lists(self.documents),
                    fees=_texts(self.fees), link=_texts(self.link),
                    synonyms=_lists(self.synonyms))


class ServiceEditForm(Versioned, ServiceForm):
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
