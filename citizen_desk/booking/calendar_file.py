"""The ``.ics`` calendar file of an appointment, in the booking's language.

One ``VEVENT`` (RFC 5545) whose ``UID`` never changes, so that a calendar
app replaces its copy when the file comes again: ``SEQUENCE`` counts the
reschedules, and a cancelled (or expired) booking comes as
``METHOD:CANCEL`` with ``STATUS:CANCELLED``, which removes it (RFC 5546).
Times are the office's wall-clock times with its ``TZID`` and a matching
``VTIMEZONE``, so the appointment stays at 09:00 in Athens whatever zone
the phone is in, on the days when clocks change too.

The ``VTIMEZONE`` is the form Google Calendar and Exchange write: one
``STANDARD`` and one ``DAYLIGHT`` observance, each a yearly rule
(``BYMONTH=3;BYDAY=-1SU``), read off ``zoneinfo`` for the years of the
event. icalendar's own ``Timezone.from_tzid`` lists each change as a
separate date (``RDATE``) instead: RFC 5545 allows it, but Outlook is
known to shift such events by an hour, and the ``ical`` parser ignores an
observance's first onset. A zone whose changes follow no yearly rule in
those years gets each change once (``RRULE:FREQ=YEARLY;COUNT=1``).

The appointment is read by its attributes (``booking.models.Appointment``
or anything shaped like it): ``uid``, ``code``, ``display_code``,
``sequence``, ``status``, ``start_dt``/``end_dt`` (aware), ``created_dt``,
``language``, ``office`` and ``service``.
"""
from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import (Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard,
                       vCalAddress, vRecur)

from citizen_desk.core.content import pick
from citizen_desk.core.i18n import available_languages, format_local, zone

PRODUCT = "-//citizen_desk//Appointments//{language}"
#: Statuses after which the event is withdrawn from the citizen's calendar.
WITHDRAWN = frozenset({"cancelled", "expired"})
#: STATUS of the VEVENT for each appointment status (others: CONFIRMED).
EVENT_STATUS = {"pending": "TENTATIVE", "cancelled": "CANCELLED", "expired": "CANCELLED"}


def _status(appointment) -> str:
    return getattr(appointment.status, "value", appointment.status)


def method_of(appointment) -> str:
    """``CANCEL`` once the appointment is withdrawn, ``REQUEST`` before."""
    return "CANCEL" if _status(appointment) in WITHDRAWN else "REQUEST"


def content_type(appointment) -> str:
    """The media type of the file, with its method, as a mail attachment needs it."""
    return f"text/calendar; method={method_of(appointment)}; charset=utf-8"


def filename(appointment) -> str:
    return f"appointment-{appointment.display_code}.ics"


def ics_for(appointment, *, language: str | None = None, manage_url: str | None = None,
            now: datetime | None = None) -> bytes:
    """The ``.ics`` of ``appointment`` in ``language`` (default: the booking's own).

    ``manage_url`` (default: the appointment's ``manage_url`` attribute, if
    any) goes into ``URL`` and the description; ``now`` is the ``DTSTAMP``.
    Needs an application context (translations and the office's zone).
    """
    language = _language(language, appointment)
    manage_url = manage_url or getattr(appointment, "manage_url", None)
    office, service = appointment.office, appointment.service
    tz = zone(office.timezone)
    start = appointment.start_dt.astimezone(tz)
    end = appointment.end_dt.astimezone(tz)
    method = method_of(appointment)

    with force_locale(language):
        office_name = office.display_name(language)
        summary = _("%(service)s at %(office)s",
                    service=service.display_name(language), office=office_name)
        if method == "CANCEL":
            summary = _("Cancelled: %(appointment)s", appointment=summary)
        description = _description(appointment, language, start, tz.key, manage_url)
    address = pick(office.address, language)

    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", int(appointment.sequence or 0))
    event.add("dtstamp", (now or datetime.now(timezone.utc)).astimezone(timezone.utc))
    if getattr(appointment, "created_dt", None):
        event.add("created", appointment.created_dt.astimezone(timezone.utc))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("location", address or office_name)
    event.add("description", description)
    event.add("status", EVENT_STATUS.get(_status(appointment), "CONFIRMED"))
    event.add("transp", "OPAQUE")
    if manage_url:
        event.add("url", manage_url)
    if getattr(office, "email", None):
        organizer = vCalAddress(f"mailto:{office.email}")
        organizer.params["cn"] = office_name
        event.add("organizer", organizer)

    calendar = Calendar()
    calendar.add("prodid", PRODUCT.format(language=language.upper()))
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(vtimezone(tz, start.year, end.year))
    calendar.add_component(event)
    return calendar.to_ical()


def _language(language: str | None, appointment) -> str:
    for code in (language, getattr(appointment, "language", None)):
        if code in available_languages():
            return code
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _description(appointment, language: str, start: datetime, tzid: str,
                 manage_url: str | None) -> str:
    """The event's text: code, time, place, documents to bring, the manage link; one per line."""
    office = appointment.office
    lines = []
    if method_of(appointment) == "CANCEL":
        lines += [_("This appointment has been cancelled."), ""]
    lines.append(_("Appointment code: %(code)s", code=appointment.display_code))
    lines.append(_("When: %(time)s", time=format_local(start, "full_time", tzid)))
    place = ", ".join(text for text in (office.display_name(language),
                                        pick(office.address, language)) if text)
    lines.append(_("Where: %(place)s", place=place))
    if getattr(office, "phone", None):
        lines.append(_("Office phone: %(phone)s", phone=office.phone))
    documents = [text for text in appointment.service.document_list(language) or [] if text]
    if documents and method_of(appointment) != "CANCEL":
        lines += ["", _("Bring with you:")]
        lines += [f"– {text}" for text in documents]
    if manage_url:
        lines += ["", _("See, change or cancel your appointment: %(url)s", url=manage_url)]
    return "\n".join(lines)


# -- the office's zone ---------------------------------------------------------------------------

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def vtimezone(tz: ZoneInfo, first_year: int, last_year: int) -> Timezone:
    """A ``VTIMEZONE`` for ``tz`` that holds through the years ``first_year``–``last_year``."""
    changes = _changes(tz, first_year, last_year)
    component = Timezone()
    component.add("tzid", tz.key)
    if not changes:  # no daylight saving time: one observance, repeated so every reader sees it
        offset = datetime(first_year, 1, 1, tzinfo=tz)
        onset = datetime.combine(_rule_date(first_year - 1, 1, "1SU"), time(0))
        component.add_component(_observance(
            TimezoneStandard, offset.tzname(), offset.utcoffset(), offset.utcoffset(),
            onset, {"BYMONTH": 1, "BYDAY": "1SU"}))
        return component
    rules = _yearly_rules(changes, first_year, last_year)
    if rules is None:  # the state at the start, then each change once
        start = _window(first_year, last_year)[0].astimezone(tz)
        component.add_component(_observance(
            TimezoneDaylight if start.dst() else TimezoneStandard, start.tzname(),
            start.utcoffset(), start.utcoffset(), start.replace(tzinfo=None), {"COUNT": 1}))
        for onset, before, after, name, dst in changes:
            component.add_component(_observance(
                TimezoneDaylight if dst else TimezoneStandard, name, before, after, onset,
                {"COUNT": 1}))
        return component
    for (kind, name, before, after, month, byday, clock) in rules:
        onset = datetime.combine(_rule_date(first_year - 1, month, byday), clock)
        component.add_component(_observance(kind, name, before, after, onset,
                                            {"BYMONTH": month, "BYDAY": byday}))
    return component


def _observance(kind, name, offset_from, offset_to, onset: datetime, rule: dict):
    observance = kind()
    observance.add("tzname", name)
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    observance.add("dtstart", onset)
    observance.add("rrule", vRecur(FREQ="YEARLY", **rule))
    return observance


def _changes(tz: ZoneInfo, first_year: int, last_year: int) -> list[tuple]:
    """``(local onset, offset before, offset after, name after, dst after)`` of each change.

    The onset is the wall-clock time just before the change, as ``DTSTART``
    of an observance is written (RFC 5545 §3.6.5): 03:00 for Athens in March.
    """
    def state(instant: datetime):
        local = instant.astimezone(tz)
        return local.utcoffset(), local.dst(), local.tzname()

    found = []
    moment, end = _window(first_year, last_year)
    while moment < end:
        later = moment + timedelta(days=1)
        if state(moment) != state(later):
            low, high = moment, later  # the change lies in (low, high]: halve to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if state(middle) == state(low) else (low, middle)
            (before, _, _), (after, dst, name) = state(low), state(high)
            found.append(((high + before).replace(tzinfo=None), before, after, name, bool(dst)))
        moment = later
    return found


def _window(first_year: int, last_year: int) -> tuple[datetime, datetime]:
    """The instants looked at: the years in every zone, a day either side."""
    return (datetime(first_year, 1, 1, tzinfo=timezone.utc) - timedelta(days=1),
            datetime(last_year + 1, 1, 1, tzinfo=timezone.utc) + timedelta(days=1))


def _yearly_rules(changes: list[tuple], first_year: int, last_year: int) -> list[tuple] | None:
    """One yearly weekday rule for going to and one for leaving daylight time, or ``None``."""
    rules = []
    for dst in (True, False):
        onsets = [change for change in changes if change[4] is dst]
        years = [onset.year for onset, *_ in onsets]
        if years != list(range(first_year, last_year + 1)):
            return None
        onset, before, after, name, _ = onsets[0]
        if any((b, a, n, o.month, o.time()) != (before, after, name, onset.month, onset.time())
               for o, b, a, n, _ in onsets):
            return None
        byday = next((rule for rule in _weekday_rules(onset.date())
                      if all(_rule_date(o.year, o.month, rule) == o.date() for o, *_ in onsets)),
                     None)
        if byday is None:
            return None
        kind = TimezoneDaylight if dst else TimezoneStandard
        rules.append((kind, name, before, after, onset.month, byday, onset.time()))
    return rules


def _weekday_rules(day: date) -> list[str]:
    """The ``BYDAY`` values that name ``day`` in its month: ``-1SU`` (last), ``4SU``…"""
    weekday = _WEEKDAYS[day.weekday()]
    rules = [f"{(day.day - 1) // 7 + 1}{weekday}"]
    if day.day + 7 > month_calendar.monthrange(day.year, day.month)[1]:
        rules.insert(0, f"-1{weekday}")
    return rules


def _rule_date(year: int, month: int, byday: str) -> date:
    weekday = _WEEKDAYS.index(byday[-2:])
    nth = int(byday[:-2])
    if nth > 0:
        return _nth_weekday(year, month, nth, weekday)
    last = date(year, month, month_calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _nth_weekday(year: int, month: int, nth: int, weekday: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
