"""The staff side of booking: the front desk's phone and counter bookings, the office's day
and week, and the NGOs' bookings for the people they support.

``views.py`` (blueprint ``booking_staff`` under ``/staff/appointments``),
``book.py`` (the booking page), ``forms.py``, ``queries.py`` (what the pages
read) and ``texts.py`` (the text message and the printed confirmation, in the
booking's language).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from citizen_desk.booking.models import Appointment
from citizen_desk.core import audit
from citizen_desk.extensions import db


def _name_appointments(ids) -> dict:
    """The audit log names an appointment by its code: never the citizen's name."""
    rows = db.session.execute(select(Appointment.id, Appointment.code).where(
        Appointment.id.in_(audit.numeric_ids(ids))))
    return {str(row_id): f"{code[:3]}-{code[3:]}" for row_id, code in rows}


audit.describe({
    "booking.book": _l("Appointment booked"),
    "booking.cancel": _l("Appointment cancelled"),
    "booking.reschedule": _l("Appointment moved to another time"),
    "booking.attended": _l("Appointment marked attended"),
    "booking.no_show": _l("Appointment marked as not come"),
}, {"appointment": _l("Appointment")}, {"appointment": _name_appointments})


def init_app(app):
    from citizen_desk.booking.staff import book  # noqa: F401  (its routes are on bp)
    from citizen_desk.booking.staff.views import bp
    from citizen_desk.core import menus

    app.register_blueprint(bp)
    menus.add_item(app, "staff", "booking_staff.index", _l("Appointments"), order=10)
