"""What the staff pages read: an office's day or week, an organisation's bookings, free times.

Days are the office's local days: a day's appointments are those starting
from its local midnight to the next, converted to UTC instants for the query.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from citizen_desk.booking import availability
from citizen_desk.booking.models import Appointment, AppointmentStatus, normalise_code
from citizen_desk.catalog.models import Service
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff.models import Role
from citizen_desk.staff.permissions import Actor

#: Days ahead shown as quick links on the booking page.
DAYS_AHEAD = 14


def desk_offices(actor: Actor) -> list[Office]:
    """The offices whose appointments ``actor`` sees: every one for an administrator."""
    query = select(Office).where(Office.retired.is_(False)).order_by(Office.code)
    if not actor.is_admin:
        query = query.where(Office.code.in_(actor.office_codes(Role.manager, Role.clerk)))
    return list(db.session.scalars(query))


def office_by_code(code: str) -> Office | None:
    return db.session.scalar(select(Office).where(Office.code == code))


# -- days and weeks ------------------------------------------------------------------------

def local_midnight(office: Office, day: date) -> datetime:
    """The UTC instant at which ``day`` begins at the office."""
    return datetime.combine(day, time()).replace(tzinfo=office.zone).astimezone(timezone.utc)


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the week of ``day``."""
    monday = day - timedelta(days=day.isoweekday() - 1)
    return monday, monday + timedelta(days=6)


def appointments_between(office: Office, first: date, last: date) -> list[Appointment]:
    """The office's appointments from ``first`` to ``last`` (local days, inclusive), in order.

    Expired ones (a double opt-in never confirmed) never held a seat: left out.
    """
    return list(db.session.scalars(
        select(Appointment).where(
            Appointment.office_id == office.id,
            Appointment.start_dt >= local_midnight(office, first),
            Appointment.start_dt < local_midnight(office, last + timedelta(days=1)),
            Appointment.status != AppointmentStatus.expired)
        .options(selectinload(Appointment.service))
        .order_by(Appointment.start_dt, Appointment.code)))


def by_local_day(office: Office, appointments, first: date, last: date) -> list[tuple]:
    """``[(day, [appointments of that day])]`` for every day from ``first`` to ``last``."""
    days: dict[date, list] = {first + timedelta(days=n): [] for n in range((last - first).days + 1)}
    for appointment in appointments:
        days.setdefault(appointment.start_dt.astimezone(office.zone).date(), []).append(
            appointment)
    return sorted(days.items())


def office_appointment(office: Office, code: str) -> Appointment | None:
    """The office's appointment with ``code``; another office's is not found."""
    code = normalise_code(code)
    if not code:
        return None
    return db.session.scalar(select(Appointment).where(
        Appointment.code == code, Appointment.office_id == office.id))


# -- an organisation's bookings ------------------------------------------------------------

def organisation_appointment(organisation_id: int, code: str) -> Appointment | None:
    """The organisation's appointment with ``code``; any other is not found."""
    code = normalise_code(code)
    if not code:
        return None
    return db.session.scalar(select(Appointment).where(
        Appointment.code == code, Appointment.organisation_id == organisation_id))


def organisation_appointments(organisation_id: int, *, past: bool, page: int,
                              per_page: int) -> tuple[list[Appointment], int]:
    """A page of the organisation's coming (or past) appointments, and how many there are."""
    now = utcnow()
    where = [Appointment.organisation_id == organisation_id,
             Appointment.status != AppointmentStatus.expired,
             Appointment.end_dt <= now if past else Appointment.end_dt > now]
    total = db.session.scalar(select(func.count(Appointment.id)).where(*where))
    order = (Appointment.start_dt.desc(),) if past else (Appointment.start_dt,)
    rows = db.session.scalars(
        select(Appointment).where(*where)
        .options(selectinload(Appointment.service), selectinload(Appointment.office))
        .order_by(*order, Appointment.code).limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


# -- what can be booked ------------------------------------------------------------------

def services_at(office: Office) -> list[Service]:
    """The services the office offers (staff book those not bookable online too)."""
    return sorted((s for s in office_services(office) if not s.retired),
                  key=lambda s: s.display_name().casefold())


def office_services(office: Office) -> list[Service]:
    return list(db.session.scalars(select(Service).where(Service.offices.contains(office))))


def services_offered() -> list[Service]:
    """Every service offered at an office that is open for business."""
    services = db.session.scalars(select(Service).where(
        Service.retired.is_(False),
        Service.offices.any(Office.retired.is_(False)))).all()
    return sorted(services, key=lambda s: s.display_name().casefold())


def offices_offering(service: Service) -> list[Office]:
    return [office for office in service.offices if not office.retired]


@dataclass
class TimeRow:
    """A start time of the day and the free seats of each pool (``None``: no such seats)."""

    start: datetime
    end: datetime
    free: dict = field(default_factory=dict)

    def bookable(self, pool: str | None = None) -> bool:
        pools = [pool] if pool else list(self.free)
        return any(self.free.get(p) for p in pools)


def time_rows(office: Office, service: Service, day: date, pools: tuple[str, ...]) -> list[TimeRow]:
    """The day's start times with their free seats in each of ``pools`` (full ones too)."""
    rows: dict[datetime, TimeRow] = {}
    for pool in pools:
        for slot in availability.free_slots(office, service, day, day, pool=pool,
                                            include_full=True, notice=False):
            row = rows.setdefault(slot.start, TimeRow(slot.start, slot.end))
            row.free[pool] = slot.free
    for row in rows.values():
        for pool in pools:
            row.free.setdefault(pool, None)
    return [rows[start] for start in sorted(rows)]


def free_days(office: Office, service: Service, first: date,
              pools: tuple[str, ...]) -> dict[date, int]:
    """``{day: times with a free seat}`` for ``DAYS_AHEAD`` days from ``first``, in any of
    ``pools`` (a time free in two pools counts once)."""
    last = first + timedelta(days=DAYS_AHEAD - 1)
    starts = set()
    for pool in pools:
        starts.update(slot.start for slot in availability.free_slots(
            office, service, first, last, pool=pool, notice=False))
    counts: dict[date, int] = {}
    for start in starts:
        day = start.astimezone(office.zone).date()
        counts[day] = counts.get(day, 0) + 1
    return dict(sorted(counts.items()))
