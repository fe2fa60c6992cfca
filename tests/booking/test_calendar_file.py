"""The ``.ics`` of an appointment, read back by icalendar and by a second parser (``ical``)."""
from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
from flask_babel import force_locale, gettext
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo

from citizen_desk import create_app
from citizen_desk.booking.calendar_file import content_type, filename, ics_for

UTC = timezone.utc
ATHENS = ZoneInfo("Europe/Athens")
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pure_app():
    """An application for configuration and translations only: the file reads no database."""
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests"})


@pytest.fixture(autouse=True)
def request_ctx(pure_app):
    # The page asking is English: the file must still follow the booking's language.
    with pure_app.test_request_context("/?lang=en"):
        yield


class Status(enum.Enum):
    pending = "pending"
    confirmed = "confirmed"
    cancelled = "cancelled"
    expired = "expired"
    attended = "attended"
    no_show = "no_show"


@dataclasses.dataclass
class Office:
    timezone: str = "Europe/Athens"
    name: dict = dataclasses.field(default_factory=lambda: {
        "el": "ΚΕΠ Δήμου Αθηναίων", "en": "KEP of the Municipality of Athens"})
    address: dict = dataclasses.field(default_factory=lambda: {
        "el": "Αθηνάς 63, 105 52 Αθήνα", "en": "63 Athinas St, 105 52 Athens"})
    phone: str | None = "+30 210 3721600"
    email: str | None = "kep@athens.example.gr"

    def display_name(self, language=None):
        return self.name.get(language) or self.name["el"]


@dataclasses.dataclass
class Service:
    name: dict = dataclasses.field(default_factory=lambda: {
        "el": "Πιστοποιητικό οικογενειακής κατάστασης", "en": "Certificate of family status"})
    documents: dict = dataclasses.field(default_factory=lambda: {
        "el": ["Αστυνομική ταυτότητα ή διαβατήριο",
               "Εξουσιοδότηση με θεώρηση γνησίου υπογραφής, αν δεν έρχεστε εσείς"],
        "en": ["Identity card or passport", "An authorisation, if someone else comes for you"]})

    def display_name(self, language=None):
        return self.name.get(language) or self.name["el"]

    def document_list(self, language=None):
        return self.documents.get(language) or self.documents.get("el", [])


@dataclasses.dataclass
class Appointment:
    """Shaped like ``booking.models.Appointment`` for what the file reads."""

    start_dt: datetime = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)   # 09:00 in Athens
    end_dt: datetime = datetime(2026, 12, 3, 7, 15, tzinfo=UTC)
    uid: str = "4c1b6f2e-3d9a-4f57-a0a5-6f1b1d2f9e10@citizen-desk"
    code: str = "K7M4QX"
    sequence: int = 0
    status: Status = Status.confirmed
    created_dt: datetime = datetime(2026, 2, 20, 8, 30, tzinfo=UTC)
    language: str = "el"
    office: Office = dataclasses.field(default_factory=Office)
    service: Service = dataclasses.field(default_factory=Service)
    manage_url: str | None = "https://desk.example.gr/appointments/K7M4QX?token=s3cr3t"

    @property
    def display_code(self):
        return f"{self.code[:3]}-{self.code[3:]}"


def local(year, month, day, hour, minute=0, tz=ATHENS) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def booked_at(start: datetime, minutes: int = 15, **kw) -> Appointment:
    start = start.astimezone(UTC)
    return Appointment(start_dt=start, end_dt=start + timedelta(minutes=minutes), **kw)


def parse(data: bytes):
    """The file read by both parsers: icalendar's calendar and event, then ical's."""
    assert isinstance(data, bytes)
    first = icalendar.Calendar.from_ical(data)
    events = first.walk("VEVENT")
    assert len(events) == 1
    second = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    assert len(second.events) == 1
    return first, events[0], second, second.events[0]


def description_lines(event) -> list[str]:
    return str(event["DESCRIPTION"]).split("\n")


# -- identity and versions ----------------------------------------------------------------------

def test_uid_stays_and_sequence_counts_the_reschedules():
    before = booked_at(local(2026, 12, 3, 9))
    after = dataclasses.replace(before, sequence=1, start_dt=before.start_dt + timedelta(days=1),
                                end_dt=before.end_dt + timedelta(days=1))
    again = dataclasses.replace(after, sequence=2)
    parsed = [parse(ics_for(appointment, now=NOW)) for appointment in (before, after, again)]
    for _, event, _, second in parsed:
        assert str(event["UID"]) == before.uid
        assert second.uid == before.uid
    assert [int(event["SEQUENCE"]) for _, event, _, _ in parsed] == [0, 1, 2]
    assert [second.sequence for _, _, _, second in parsed] == [0, 1, 2]
    assert parsed[1][3].dtstart == local(2026, 12, 4, 9)


def test_calendar_header_and_event_stamp():
    first, event, second, second_event = parse(ics_for(booked_at(local(2026, 12, 3, 9)), now=NOW))
    assert str(first["VERSION"]) == "2.0"
    assert str(first["PRODID"]) == "-//citizen_desk//Appointments//EL"
    assert str(first["METHOD"]) == "REQUEST"
    assert second.method == "REQUEST"
    assert event.decoded("DTSTAMP") == NOW
    assert event.to_ical().count(b"DTSTAMP:20260301T100000Z") == 1
    assert second_event.dtstamp == NOW
    assert second_event.created == datetime(2026, 2, 20, 8, 30, tzinfo=UTC)


# -- status -------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, method, event_status", [
    (Status.confirmed, "REQUEST", "CONFIRMED"),
    (Status.pending, "REQUEST", "TENTATIVE"),
    (Status.attended, "REQUEST", "CONFIRMED"),
    (Status.no_show, "REQUEST", "CONFIRMED"),
    (Status.cancelled, "CANCEL", "CANCELLED"),
    (Status.expired, "CANCEL", "CANCELLED"),
])
def test_method_and_status_follow_the_appointment(status, method, event_status):
    appointment = booked_at(local(2026, 12, 3, 9), status=status)
    first, event, second, second_event = parse(ics_for(appointment, now=NOW))
    assert str(first["METHOD"]) == method
    assert second.method == method
    assert str(event["STATUS"]) == event_status
    assert second_event.status.value == event_status
    assert content_type(appointment) == f"text/calendar; method={method}; charset=utf-8"


def test_cancelled_keeps_uid_and_says_so():
    live = booked_at(local(2026, 12, 3, 9), sequence=1)
    cancelled = dataclasses.replace(live, status=Status.cancelled, sequence=2)
    _, event, _, second = parse(ics_for(cancelled, language="en", now=NOW))
    assert str(event["UID"]) == live.uid
    assert int(event["SEQUENCE"]) == 2
    assert str(event["SUMMARY"]) == ("Cancelled: Certificate of family status at "
                                     "KEP of the Municipality of Athens")
    lines = description_lines(event)
    assert lines[0] == "This appointment has been cancelled."
    assert "Bring with you:" not in lines
    assert second.summary == str(event["SUMMARY"])


def test_status_given_as_a_plain_string():
    appointment = booked_at(local(2026, 12, 3, 9), status="cancelled")
    first, _, _, _ = parse(ics_for(appointment, now=NOW))
    assert str(first["METHOD"]) == "CANCEL"


# -- times in the office's zone ----------------------------------------------------------------

@pytest.mark.parametrize("wall, utc", [
    (local(2026, 3, 28, 9), datetime(2026, 3, 28, 7, 0, tzinfo=UTC)),    # EET, the day before
    (local(2026, 3, 29, 9), datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),    # clocks went forward
    (local(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # just before
    (local(2026, 3, 29, 4, 30), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # just after
    (local(2026, 10, 24, 9), datetime(2026, 10, 24, 6, 0, tzinfo=UTC)),  # EEST, the day before
    (local(2026, 10, 25, 9), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),  # clocks went back
    (local(2026, 10, 25, 2, 30), datetime(2026, 10, 24, 23, 30, tzinfo=UTC)),
    (local(2026, 10, 25, 4, 30), datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
    (local(2026, 12, 31, 23, 45), datetime(2026, 12, 31, 21, 45, tzinfo=UTC)),  # into next year
])
def test_wall_clock_time_in_athens_maps_to_the_right_instant(wall, utc):
    appointment = booked_at(wall)
    assert appointment.start_dt == utc
    data = ics_for(appointment, now=NOW)
    stamp = wall.strftime("%Y%m%dT%H%M%S").encode()
    assert b"DTSTART;TZID=Europe/Athens:" + stamp + b"\r\n" in data
    first, event, second, second_event = parse(data)

    # icalendar: the TZID resolved, and the VTIMEZONE of the file applied by itself
    assert event.decoded("DTSTART") == utc
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=15)
    [vtimezone] = first.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Athens"
    own_zone = vtimezone.to_tz()
    assert wall.replace(tzinfo=own_zone).astimezone(UTC) == utc

    # ical: the same, independently
    assert second_event.dtstart == utc
    assert second_event.dtstart.replace(tzinfo=None) == wall.replace(tzinfo=None)
    [second_zone] = second.timezones
    assert second_zone.tz_id == "Europe/Athens"
    assert wall.replace(tzinfo=IcsTimezoneInfo.from_timezone(second_zone)).astimezone(UTC) == utc


def test_the_vtimezone_is_one_yearly_rule_each_way_as_outlook_reads_it():
    first, _, second, _ = parse(ics_for(booked_at(local(2026, 6, 1, 9)), now=NOW))
    [vtimezone] = first.walk("VTIMEZONE")
    assert [sub.name for sub in vtimezone.subcomponents] == ["DAYLIGHT", "STANDARD"]
    daylight, standard = vtimezone.subcomponents
    assert daylight["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"
    assert standard["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"
    # the onset in the wall-clock time before the change (RFC 5545 §3.6.5)
    assert daylight.decoded("DTSTART") == datetime(2025, 3, 30, 3, 0)
    assert standard.decoded("DTSTART") == datetime(2025, 10, 26, 4, 0)
    assert (daylight.decoded("TZOFFSETFROM"), daylight.decoded("TZOFFSETTO")) == (
        timedelta(hours=2), timedelta(hours=3))
    assert (str(daylight["TZNAME"]), str(standard["TZNAME"])) == ("EEST", "EET")
    assert "RDATE" not in daylight and "RDATE" not in standard
    [second_zone] = second.timezones
    assert len(second_zone.daylight) == len(second_zone.standard) == 1


def test_times_are_in_the_offices_own_zone():
    office = Office(timezone="America/New_York")
    start = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)  # 09:00 in New York
    appointment = Appointment(start_dt=start, end_dt=start + timedelta(minutes=30), office=office)
    data = ics_for(appointment, now=NOW)
    assert b"DTSTART;TZID=America/New_York:20261203T090000" in data
    first, event, second, second_event = parse(data)
    assert [str(tz["TZID"]) for tz in first.walk("VTIMEZONE")] == ["America/New_York"]
    assert second_event.dtstart == start
    assert second_event.dtend == start + timedelta(minutes=30)


def test_an_event_across_new_year_is_placed_in_both_years():
    start = local(2026, 12, 31, 23, 30)
    first, event, second, second_event = parse(ics_for(booked_at(start, minutes=60), now=NOW))
    assert second_event.dtend == local(2027, 1, 1, 0, 30)
    zones = (first.walk("VTIMEZONE")[0].to_tz(),
             IcsTimezoneInfo.from_timezone(second.timezones[0]))
    for zone in zones:
        for wall in (local(2027, 1, 1, 0, 30), local(2027, 3, 28, 9), local(2027, 10, 31, 9)):
            assert wall.replace(tzinfo=zone).astimezone(UTC) == wall.astimezone(UTC)


@pytest.mark.parametrize("key, first_year, last_year", [
    ("Europe/Athens", 2026, 2026),
    ("Asia/Nicosia", 2027, 2027),
    ("Asia/Tokyo", 2026, 2026),          # no daylight saving time
    ("Australia/Sydney", 2026, 2026),    # daylight saving time across new year
    ("America/Sao_Paulo", 2019, 2019),   # abolished that February: no yearly rule
    ("America/Sao_Paulo", 2018, 2019),   # an event at new year: the rule of 2018 stops
    ("Asia/Tehran", 2022, 2022),         # its last year with daylight saving time
])
def test_every_hour_of_the_years_reads_back_as_zoneinfo_says(key, first_year, last_year):
    zone = ZoneInfo(key)
    if first_year == last_year:
        start = datetime(first_year, 6, 1, 9, tzinfo=zone)
    else:
        start = datetime(first_year, 12, 31, 23, 30, tzinfo=zone)
    start = start.astimezone(UTC)
    appointment = Appointment(start_dt=start, end_dt=start + timedelta(hours=1),
                              office=Office(timezone=key))
    first, _, second, second_event = parse(ics_for(appointment, now=NOW))
    assert second_event.dtstart == start
    readers = (first.walk("VTIMEZONE")[0].to_tz(),
               IcsTimezoneInfo.from_timezone(second.timezones[0]))
    instant = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    while instant < end:
        wall = instant.astimezone(zone)
        if wall.fold == 0:  # an hour that happens twice is read as its first time
            naive = wall.replace(tzinfo=None)
            for reader in readers:
                assert naive.replace(tzinfo=reader).astimezone(UTC) == instant, (reader, naive)
        instant += timedelta(hours=1)


# -- text in the booking's language -------------------------------------------------------------

def test_greek_booking_is_written_in_greek():
    _, event, _, second = parse(ics_for(booked_at(local(2026, 3, 29, 9)), now=NOW))
    assert str(event["SUMMARY"]).startswith("Πιστοποιητικό οικογενειακής κατάστασης")
    assert str(event["SUMMARY"]).endswith("ΚΕΠ Δήμου Αθηναίων")
    assert str(event["LOCATION"]) == "Αθηνάς 63, 105 52 Αθήνα"
    lines = description_lines(event)
    # Babel's Greek calendar, though the page asking was in English
    assert any("Κυριακή, 29 Μαρτίου 2026, 09:00" in line for line in lines)
    with force_locale("el"):
        assert lines[0] == gettext("Appointment code: %(code)s", code="K7M-4QX")
        assert gettext("Bring with you:") in lines
    assert second.summary == str(event["SUMMARY"])
    assert second.location == "Αθηνάς 63, 105 52 Αθήνα"


def test_english_booking_is_written_in_english():
    appointment = booked_at(local(2026, 3, 29, 9), language="en")
    with force_locale("el"):  # asked from a Greek page
        _, event, _, second = parse(ics_for(appointment, now=NOW))
    assert str(event["SUMMARY"]) == ("Certificate of family status at "
                                     "KEP of the Municipality of Athens")
    assert str(event["LOCATION"]) == "63 Athinas St, 105 52 Athens"
    assert description_lines(event)[:4] == [
        "Appointment code: K7M-4QX",
        "When: Sunday, 29 March 2026, 09:00",
        "Where: KEP of the Municipality of Athens, 63 Athinas St, 105 52 Athens",
        "Office phone: +30 210 3721600",
    ]
    assert second.description == str(event["DESCRIPTION"])


def test_the_language_given_wins_over_the_bookings():
    _, event, _, _ = parse(ics_for(booked_at(local(2026, 3, 29, 9)), language="en", now=NOW))
    assert "When: Sunday, 29 March 2026, 09:00" in description_lines(event)


def test_unknown_languages_fall_back_to_greek():
    appointment = booked_at(local(2026, 3, 29, 9), language="xx")
    _, event, _, _ = parse(ics_for(appointment, language="de", now=NOW))
    assert str(event["LOCATION"]) == "Αθηνάς 63, 105 52 Αθήνα"


@pytest.mark.parametrize("language", ["el", "en"])
def test_documents_to_bring_are_listed_one_per_line(language):
    appointment = booked_at(local(2026, 12, 3, 9), language=language)
    _, event, _, second = parse(ics_for(appointment, now=NOW))
    lines = description_lines(event)
    documents = appointment.service.document_list(language)
    with force_locale(language):
        heading = lines.index(gettext("Bring with you:"))
    assert lines[heading + 1:heading + 1 + len(documents)] == [f"– {text}" for text in documents]
    assert second.description.split("\n") == lines


def test_no_documents_no_heading():
    appointment = booked_at(local(2026, 12, 3, 9), language="en",
                            service=Service(documents={}))
    _, event, _, _ = parse(ics_for(appointment, now=NOW))
    assert "Bring with you:" not in description_lines(event)


def test_manage_link_in_url_and_description():
    appointment = booked_at(local(2026, 12, 3, 9), language="en")
    _, event, _, second = parse(ics_for(appointment, now=NOW))
    assert str(event["URL"]) == appointment.manage_url
    assert description_lines(event)[-1] == (
        f"See, change or cancel your appointment: {appointment.manage_url}")
    assert second.url == appointment.manage_url


def test_manage_link_given_by_the_caller_or_none():
    appointment = booked_at(local(2026, 12, 3, 9), language="en", manage_url=None)
    _, event, _, second = parse(ics_for(appointment, now=NOW))
    assert "URL" not in event
    assert not any("See, change" in line for line in description_lines(event))
    link = "https://desk.example.gr/appointments/K7M4QX?token=other"
    _, event, _, _ = parse(ics_for(appointment, manage_url=link, now=NOW))
    assert str(event["URL"]) == link


def test_organizer_is_the_office_email_when_it_has_one():
    _, event, _, second = parse(ics_for(booked_at(local(2026, 12, 3, 9)), now=NOW))
    assert str(event["ORGANIZER"]) == "mailto:kep@athens.example.gr"
    assert event["ORGANIZER"].params["CN"] == "ΚΕΠ Δήμου Αθηναίων"
    assert second.organizer.uri == "mailto:kep@athens.example.gr"
    no_mail = booked_at(local(2026, 12, 3, 9), office=Office(email=None, phone=None,
                                                              address={}))
    _, event, _, _ = parse(ics_for(no_mail, now=NOW))
    assert "ORGANIZER" not in event
    assert str(event["LOCATION"]) == "ΚΕΠ Δήμου Αθηναίων"  # no address: the office's name


def test_lines_are_folded_within_75_octets_without_breaking_letters():
    long_service = Service(name={"el": "Έκδοση " + "πιστοποιητικού " * 20},
                           documents={"el": ["Ένα έγγραφο με πολύ μεγάλη περιγραφή " * 8]})
    data = ics_for(booked_at(local(2026, 12, 3, 9), service=long_service), now=NOW)
    assert data.endswith(b"\r\n")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # no multi-byte letter cut in two
    _, event, _, second = parse(data)
    assert second.summary == str(event["SUMMARY"])
    assert "πιστοποιητικού " * 20 in second.summary


def test_filename_carries_the_code():
    assert filename(Appointment()) == "appointment-K7M-4QX.ics"


# -- the real model ------------------------------------------------------------------------------

def test_the_booking_model_has_what_the_file_reads():
    models = pytest.importorskip("citizen_desk.booking.models")
    from citizen_desk.catalog.models import Service as ServiceModel
    from citizen_desk.offices.models import Office as OfficeModel

    office = OfficeModel(code="ATH1", name={"el": "ΚΕΠ Αθηνών", "en": "KEP Athens"},
                         address={"el": "Αθηνάς 63, Αθήνα"}, timezone="Europe/Athens",
                         email="kep@example.gr", phone="+302103721600")
    service = ServiceModel(code="family-status", name={"el": "Οικογενειακή κατάσταση"},
                           documents={"el": ["Ταυτότητα"]})
    start = local(2026, 10, 25, 9).astimezone(UTC)
    appointment = models.Appointment(
        uid="u-1@citizen-desk", code="K7M4QX", sequence=3,
        status=models.AppointmentStatus.confirmed, start_dt=start,
        end_dt=start + timedelta(minutes=15), created_dt=NOW, language="el",
        office=office, service=service)
    data = ics_for(appointment, manage_url="https://desk.example.gr/m/K7M4QX", now=NOW)
    first, event, second, second_event = parse(data)
    assert str(event["UID"]) == "u-1@citizen-desk"
    assert second_event.sequence == 3
    assert second_event.dtstart == start
    assert b"DTSTART;TZID=Europe/Athens:20261025T090000" in data
    assert "– Ταυτότητα" in description_lines(event)
    assert any("K7M-4QX" in line for line in description_lines(event))
