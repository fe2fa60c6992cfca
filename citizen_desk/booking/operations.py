"""Holding, booking, confirming, cancelling, rescheduling and closing appointments.

Each operation changes the session, flushes, appends its event and, when
staff acted, its audit entry; the caller's unit of work commits once.
Seats are taken only through ``_claim``, which inserts the seat ledger's
rows (``models.py`` explains why that cannot overbook) and tries the next
seat when another request got there first.

Details (name, contact, identifiers, needs) arrive already cleaned by
``identity.clean_details``; ``citizen_keys`` are what the per-citizen cap
counts.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from citizen_desk.booking import availability, notices
from citizen_desk.booking.availability import Slot
from citizen_desk.booking.models import (LIVE_STATUSES, Appointment, AppointmentStatus,
                                         AppointmentToken, BookingCap, Channel, SeatClaim,
                                         hash_token, new_code, normalise_code)
from citizen_desk.catalog.models import POOLS, Service
from citizen_desk.core import audit, events, uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.errors import Conflict
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office


class SlotTaken(Conflict):
    """Every seat of the chosen time is taken (409); ``alternatives`` are the nearest free."""

    def __init__(self, alternatives: list[Slot] = ()):
        super().__init__(_l("This time was just taken. Choose another one."))
        self.alternatives = list(alternatives)


class CapReached(Conflict):
    def __init__(self):
        super().__init__(_l("You already have the most appointments allowed for this service. "
                            "Cancel one before booking another."))


class NotChangeable(Conflict):
    def __init__(self, message=None):
        super().__init__(message or _l("This appointment can no longer be changed."))


@dataclass
class Booked:
    appointment: Appointment
    #: The manage link's secret; shown once, never stored.
    token: str


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


# -- checks ----------------------------------------------------------------------------------

def check_bookable(office: Office | None, service: Service | None, *, online: bool = True):
    """Refuse an unknown or retired office or service, or one not offered there."""
    errors = {}
    if office is None or office.retired:
        errors["office"] = _l("Choose one of our offices.")
    if service is None or service.retired or (online and not service.bookable_online):
        errors["service"] = _l("This service cannot be booked online.")
    elif office is not None and office not in service.offices:
        errors["service"] = _l("This service is not offered at this office.")
    if errors:
        raise ValidationError(errors)


def check_pool(pool: str):
    if pool not in POOLS:
        raise ValidationError.at("pool", _l("Choose the public, staff or NGO seats."))


def slot_at(office: Office, service: Service, start: datetime, pool: str, *,
            notice: bool = True) -> Slot:
    """The bookable slot at ``start``, or a translated error saying why there is none.

    ``notice=False``: staff booking for a caller, who may take a time later today.
    """
    if start.tzinfo is None:
        raise ValidationError.at("start", _l("Give the time with its UTC offset."))
    now = utcnow()
    if start <= now:
        raise ValidationError.at("start", _l("This time has passed. Choose a later one."))
    slot = availability.find_slot(office, service, start, pool, now=now, notice=notice)
    if slot is None:
        if notice and start < availability.first_bookable(office, now):
            raise ValidationError.at("start", _l(
                "Appointments must be booked at least %(hours)s hours ahead.",
                hours=office.min_notice_hours))
        if start.astimezone(office.zone).date() > availability.last_bookable_day(office, now):
            raise ValidationError.at("start", _l(
                "Appointments can be booked at most %(days)s days ahead.",
                days=office.max_days_ahead))
        raise ValidationError.at("start", _l(
            "The office does not take appointments for this service at this time."))
    return slot


# -- the seat ledger -------------------------------------------------------------------------

def _claim_filter(office_id: int, slot: Slot, pool: str):
    return and_(SeatClaim.office_id == office_id, SeatClaim.lane == slot.lane,
                SeatClaim.pool == pool, SeatClaim.start_dt.in_(slot.starts))


def _claim(office: Office, service: Service, slot: Slot, pool: str, *,
           appointment: Appointment | None = None, hold_key: str | None = None,
           expires: datetime | None = None, notice: bool = True) -> int:
    """Take one seat of every grid slot of ``slot`` (the same seat number); return it.

    Raises ``SlotTaken`` with the nearest free times when no seat is left.
    """
    now = utcnow()
    # Expired holds, unconfirmed bookings and released seats are free: clear them away.
    db.session.execute(delete(SeatClaim).where(
        _claim_filter(office.id, slot, pool), SeatClaim.expires_dt.is_not(None),
        SeatClaim.expires_dt <= now).execution_options(synchronize_session=False))
    used = set(db.session.scalars(select(SeatClaim.seat_no).where(
        _claim_filter(office.id, slot, pool))))
    for seat in range(slot.seats):
        if seat in used:
            continue
        try:
            with uow.savepoint():
                db.session.add_all([
                    SeatClaim(office_id=office.id, lane=slot.lane, pool=pool, start_dt=start,
                              seat_no=seat, appointment=appointment, hold_key=hold_key,
                              expires_dt=expires)
                    for start in slot.starts])
                db.session.flush()
        except IntegrityError:
            continue  # another request took this seat a moment ago: try the next one
        return seat
    raise SlotTaken(availability.nearest_free(office, service, slot.start, pool, now=now,
                                              notice=notice))


def _release(appointment: Appointment, now: datetime, claim_ids: list[int] | None = None):
    """Give the appointment's seats back: public ones after the release delay (ZMS's 15 min).

    ``claim_ids`` limits it to those claims (a reschedule's old seats).
    """
    claims = (SeatClaim.appointment_id == appointment.id if claim_ids is None
              else SeatClaim.id.in_(claim_ids))
    if appointment.pool == "public":
        delay = timedelta(minutes=_setting("BOOKING_RELEASE_MINUTES", 15))
        db.session.execute(update(SeatClaim).where(claims).values(
            expires_dt=now + delay, appointment_id=None).execution_options(
            synchronize_session=False))
    else:
        db.session.execute(delete(SeatClaim).where(claims).execution_options(
            synchronize_session=False))


def _claim_cap(appointment: Appointment, keys: list[str], now: datetime):
    """Count the booking against each of the citizen's keys; ``CapReached`` past the cap."""
    limit = _setting("BOOKING_CAP_PER_CITIZEN", 1)
    if limit <= 0 or not keys:
        return
    dead = select(Appointment.id).where(or_(
        Appointment.status.not_in(LIVE_STATUSES),
        and_(Appointment.status == AppointmentStatus.pending, Appointment.confirm_by_dt <= now)))
    for key in sorted(set(keys)):
        mine = and_(BookingCap.service_id == appointment.service_id,
                    BookingCap.pool == appointment.pool, BookingCap.citizen_key == key)
        db.session.execute(delete(BookingCap).where(
            mine, or_(BookingCap.until_dt <= now, BookingCap.appointment_id.in_(dead)))
            .execution_options(synchronize_session=False))
        used = set(db.session.scalars(select(BookingCap.slot_no).where(mine)))
        for number in range(limit):
            if number in used:
                continue
            try:
                with uow.savepoint():
                    db.session.add(BookingCap(
                        service_id=appointment.service_id, pool=appointment.pool,
                        citizen_key=key, slot_no=number, appointment_id=appointment.id,
                        until_dt=appointment.end_dt))
                    db.session.flush()
            except IntegrityError:
                continue
            break
        else:
            raise CapReached()


# -- holds -----------------------------------------------------------------------------------

def new_hold_key() -> str:
    return secrets.token_urlsafe(24)


def hold(office: Office, service: Service, start: datetime, hold_key: str, *,
         pool: str = "public") -> datetime:
    """Hold a seat at ``start`` for the holder of ``hold_key``; return when the hold ends.

    A holder has at most one live hold: taking a new one releases the old.
    """
    check_pool(pool)
    check_bookable(office, service, online=pool == "public")
    release_hold(hold_key)
    slot = slot_at(office, service, start, pool)
    expires = utcnow() + timedelta(minutes=_setting("BOOKING_HOLD_MINUTES", 10))
    _claim(office, service, slot, pool, hold_key=hold_key, expires=expires)
    return expires


def release_hold(hold_key: str | None):
    if hold_key:
        db.session.execute(delete(SeatClaim).where(
            SeatClaim.hold_key == hold_key, SeatClaim.appointment_id.is_(None))
            .execution_options(synchronize_session=False))


def held_start(hold_key: str | None, office: Office) -> tuple[datetime, datetime] | None:
    """``(start, expires)`` of the live hold of ``hold_key`` at ``office``, if any."""
    if not hold_key:
        return None
    row = db.session.execute(
        select(SeatClaim.start_dt, SeatClaim.expires_dt).where(
            SeatClaim.hold_key == hold_key, SeatClaim.office_id == office.id,
            SeatClaim.expires_dt > utcnow()).order_by(SeatClaim.start_dt).limit(1)).first()
    return (row[0], row[1]) if row else None


def _take_hold(office: Office, slot: Slot, pool: str, hold_key: str | None,
               appointment: Appointment, expires: datetime | None) -> int | None:
    """Turn the holder's live hold of ``slot`` into the appointment's seat; its number."""
    if not hold_key:
        return None
    now = utcnow()
    held = db.session.scalars(select(SeatClaim).where(
        _claim_filter(office.id, slot, pool), SeatClaim.hold_key == hold_key,
        SeatClaim.expires_dt > now)).all()
    seats = {claim.seat_no for claim in held}
    if len(held) != len(slot.starts) or len(seats) != 1:
        return None
    for claim in held:
        claim.appointment = appointment
        claim.hold_key = None
        claim.expires_dt = expires
    db.session.flush()
    return seats.pop()


# -- booking ---------------------------------------------------------------------------------

def _event(kind: str, appointment: Appointment, **extra):
    events.append(f"appointment.{kind}", office_id=appointment.office_id,
                  subject=f"appointment:{appointment.id}",
                  payload={"code": appointment.code, "service": appointment.service.code,
                           "start": appointment.start_dt.isoformat(),
                           "pool": appointment.pool, **extra})


def _audit(action: str, appointment: Appointment, by_staff, **details):
    if by_staff is not None:
        audit.record(f"booking.{action}", appointment, office_id=appointment.office_id,
                     actor_user=by_staff, code=appointment.code, **details)


def _unique_code() -> str:
    for _ in range(20):
        code = new_code()
        if db.session.scalar(select(Appointment.id).where(Appointment.code == code)) is None:
            return code
    raise RuntimeError("no free appointment code after 20 draws")  # 32**6 codes


def book(office: Office, service: Service, start: datetime, details: dict, *,
         pool: str = "public", channel: Channel = Channel.online, hold_key: str | None = None,
         citizen_keys: list[str] = (), booked_by=None, organisation_id: int | None = None,
         manage_url=None) -> Booked:
    """Book ``service`` at ``office`` at ``start`` for the citizen of ``details``.

    ``details``: ``{name, email, phone, language, identifiers, needs}``,
    cleaned. Uses the holder's seat when ``hold_key`` holds this slot, else
    takes a free one. An office with ``confirm_by_email`` keeps an online
    booking pending until its mailed link is opened. ``manage_url(code,
    token)`` builds the link for the mails.
    """
    check_pool(pool)
    online = channel in (Channel.online, Channel.api)
    check_bookable(office, service, online=online)
    slot = slot_at(office, service, start, pool, notice=online)
    now = utcnow()
    pending = bool(office.confirm_by_email and channel == Channel.online and details.get("email"))
    confirm_by = (now + timedelta(minutes=_setting("BOOKING_CONFIRM_MINUTES", 30))
                  if pending else None)
    appointment = Appointment(
        code=_unique_code(), office=office, service=service, pool=pool, lane=slot.lane,
        start_dt=slot.start, end_dt=slot.end, channel=channel,
        status=AppointmentStatus.pending if pending else AppointmentStatus.confirmed,
        confirm_by_dt=confirm_by, name=details["name"], email=details.get("email"),
        phone=details.get("phone"), language=details.get("language") or "el",
        identifiers=details.get("identifiers") or {}, needs=details.get("needs") or {},
        booked_by_id=getattr(booked_by, "id", None), organisation_id=organisation_id)
    db.session.add(appointment)
    db.session.flush()
    seat = _take_hold(office, slot, pool, hold_key, appointment, confirm_by)
    if seat is None:
        release_hold(hold_key)
        seat = _claim(office, service, slot, pool, appointment=appointment, expires=confirm_by,
                      notice=online)
    appointment.seat_no = seat
    _claim_cap(appointment, list(citizen_keys), now)
    token = AppointmentToken.issue(appointment)
    db.session.flush()
    _event("booked", appointment, channel=channel.value)
    _audit("book", appointment, booked_by, channel=channel.value, pool=pool)
    notices.booked(appointment, token, manage_url)
    return Booked(appointment, token)


def confirm(appointment: Appointment) -> bool:
    """Open the double opt-in link: ``True`` if now confirmed (or already was)."""
    if appointment.status == AppointmentStatus.confirmed:
        return True
    now = utcnow()
    if appointment.status != AppointmentStatus.pending:
        return False
    if appointment.confirm_by_dt is None or appointment.confirm_by_dt <= now:
        _expire(appointment)
        return False
    appointment.status = AppointmentStatus.confirmed
    appointment.confirm_by_dt = None
    db.session.execute(update(SeatClaim).where(SeatClaim.appointment_id == appointment.id)
                       .values(expires_dt=None).execution_options(synchronize_session=False))
    db.session.flush()
    _event("confirmed", appointment)
    notices.confirmed(appointment)
    return True


def _expire(appointment: Appointment):
    appointment.status = AppointmentStatus.expired
    db.session.execute(delete(SeatClaim).where(SeatClaim.appointment_id == appointment.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(BookingCap).where(BookingCap.appointment_id == appointment.id)
                       .execution_options(synchronize_session=False))
    db.session.flush()
    _event("expired", appointment)


def expire_unconfirmed(now: datetime | None = None) -> int:
    """Mark pending bookings past their deadline expired (their seats are free already)."""
    now = now or utcnow()
    stale = db.session.scalars(select(Appointment).where(
        Appointment.status == AppointmentStatus.pending, Appointment.confirm_by_dt <= now)).all()
    for appointment in stale:
        _expire(appointment)
    return len(stale)


def cancel(appointment: Appointment, *, reason: str | None = None, by_staff=None):
    """Cancel a live appointment; its seat returns (public seats after the release delay)."""
    now = utcnow()
    if not appointment.is_live or (by_staff is None and not appointment.can_change(now)):
        raise NotChangeable()
    if reason is not None:
        reason = " ".join(reason.split())[:500] or None
    appointment.status = AppointmentStatus.cancelled
    appointment.cancelled_dt = now
    appointment.cancel_reason = reason
    appointment.sequence += 1
    _release(appointment, now)
    db.session.execute(delete(BookingCap).where(BookingCap.appointment_id == appointment.id)
                       .execution_options(synchronize_session=False))
    db.session.flush()
    _event("cancelled", appointment, by_staff=by_staff is not None)
    _audit("cancel", appointment, by_staff, reason=reason)
    notices.cancelled(appointment, by_staff=by_staff is not None)


def reschedule(appointment: Appointment, start: datetime, *, hold_key: str | None = None,
               by_staff=None, manage_url=None, token: str | None = None) -> Appointment:
    """Move a live appointment to ``start``: the new seat is taken before the old is released.

    When the new time is full nothing changes (``SlotTaken``).
    """
    now = utcnow()
    if not appointment.is_live or (by_staff is None and not appointment.can_change(now)):
        raise NotChangeable()
    office, service, pool = appointment.office, appointment.service, appointment.pool
    check_bookable(office, service, online=False)
    slot = slot_at(office, service, start, pool, notice=by_staff is None)
    if slot.start == appointment.start_dt:
        raise ValidationError.at("start", _l("This is the time you already have."))
    old_start = appointment.start_dt
    expires = appointment.confirm_by_dt if appointment.status == AppointmentStatus.pending \
        else None
    old_claims = list(db.session.scalars(select(SeatClaim.id).where(
        SeatClaim.appointment_id == appointment.id)))
    # The new seat first (the hold's, or a free one); only then are the old seats released.
    seat = _take_hold(office, slot, pool, hold_key, appointment, expires)
    if seat is None:
        release_hold(hold_key)
        seat = _claim(office, service, slot, pool, appointment=appointment, expires=expires,
                      notice=by_staff is None)
    _release(appointment, now, old_claims)
    appointment.start_dt, appointment.end_dt = slot.start, slot.end
    appointment.lane, appointment.seat_no = slot.lane, seat
    appointment.sequence += 1
    appointment.reminder_sent_dt = None
    db.session.execute(update(BookingCap).where(BookingCap.appointment_id == appointment.id)
                       .values(until_dt=slot.end).execution_options(synchronize_session=False))
    db.session.flush()
    _event("rescheduled", appointment, previous=old_start.isoformat())
    _audit("reschedule", appointment, by_staff, previous=old_start.isoformat())
    notices.rescheduled(appointment, token, manage_url)
    return appointment


def close(appointment: Appointment, status: AppointmentStatus, *, by_staff=None):
    """Mark a confirmed appointment attended or no-show (the queue will do it at check-in)."""
    if status not in (AppointmentStatus.attended, AppointmentStatus.no_show):
        raise ValueError(status)
    if not appointment.can_close():
        raise NotChangeable(_l("Only a confirmed appointment that has begun can be marked."))
    appointment.status = status
    appointment.closed_dt = utcnow()
    db.session.flush()
    _event(status.value, appointment)
    _audit(status.value, appointment, by_staff)


def checked_in(appointment: Appointment):
    """The citizen checked in at the office (the queue's kiosk or desk): attended.

    Guarded: only a confirmed appointment is marked, once.
    """
    result = db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status == AppointmentStatus.confirmed)
        .values(status=AppointmentStatus.attended, closed_dt=utcnow(),
                version=Appointment.version + 1)
        .execution_options(synchronize_session=False))
    db.session.refresh(appointment)
    if result.rowcount != 1:
        raise NotChangeable(_l("This appointment cannot be checked in."))
    _event("checked_in", appointment)


# -- look-ups --------------------------------------------------------------------------------

def find_by_token(code: str | None, token: str | None) -> Appointment | None:
    """The appointment whose manage link is ``code`` + ``token``; ``None`` for any mismatch.

    An unknown code, a wrong token and another booking's token all look the same.
    """
    code = normalise_code(code)
    if not code or not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    found = db.session.execute(
        select(Appointment, AppointmentToken.token_hash).join(
            AppointmentToken, AppointmentToken.appointment_id == Appointment.id).where(
            AppointmentToken.token_hash == hash_token(token))).first()
    if found is None:
        return None
    appointment, stored = found
    if not (hmac.compare_digest(appointment.code, code)
            and hmac.compare_digest(stored, hash_token(token))):
        return None
    return appointment


def find_by_code(code: str | None, office_ids) -> Appointment | None:
    """Staff look-up by code, within the offices they work at."""
    code = normalise_code(code)
    if not code:
        return None
    return db.session.scalar(select(Appointment).where(
        Appointment.code == code, Appointment.office_id.in_(list(office_ids))))
