"""The office's queue settings page, for its managers and administrators.

Every knob of ``QueueSettings`` on one form, each with a plain-words hint of
what it does and its house default. ``QueueSettings.clean`` decides what is
valid (a bad value is shown beside its field and nothing is saved);
``settings.save`` stores the office's choice with its audit entry. The form
carries the office's version, so a save made from a page opened before
someone else's change is refused and shows the settings as they are now.
"""
from __future__ import annotations

from flask import Blueprint, abort, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from citizen_desk.core.access import permission
from citizen_desk.core.forms import Versioned, save
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import settings as queue_settings
from citizen_desk.queue.models import PRIORITY_CLASSES
from citizen_desk.queue.settings import QueueSettings
from citizen_desk.staff.permissions import manager_of

bp = Blueprint("queue_admin", __name__, url_prefix="/staff/offices")

DEFAULTS = QueueSettings()


def _number(label, hint, default: int) -> StringField:
    # A text input checked by ``QueueSettings.clean`` (one set of rules and messages for the
    # form and any other caller); ``inputmode`` brings up the phone's number pad.
    return StringField(label, [InputRequired(message=_l("Enter a whole number."))],
                       description=hint, default=default,
                       render_kw={"inputmode": "numeric", "autocomplete": "off"})


class QueueSettingsForm(Versioned, FlaskForm):
    """Every setting of ``QueueSettings``: the call-next policy, check-in, recalls, notices."""

    appointment_early_minutes = _number(
        _l("An appointment is due this many minutes before its time"),
        _l("From then on a checked-in appointment is called before everyone else. "
           "Default: %(default)s.", default=DEFAULTS.appointment_early_minutes),
        DEFAULTS.appointment_early_minutes)
    fairness_max_consecutive = _number(
        _l("Most appointment or priority calls in a row"),
        _l("After this many such calls, a citizen without an appointment who has waited "
           "longer than the time below is called first. Default: %(default)s.",
           default=DEFAULTS.fairness_max_consecutive),
        DEFAULTS.fairness_max_consecutive)
    fairness_wait_minutes = _number(
        _l("Waiting time that earns a walk-in their turn (minutes)"),
        _l("How long a citizen without an appointment waits before the limit above "
           "protects them. Default: %(default)s.", default=DEFAULTS.fairness_wait_minutes),
        DEFAULTS.fairness_wait_minutes)
    priority_classes = SelectMultipleField(
        _l("Priority groups offered at the kiosk"),
        choices=[SelectChoice(code, label) for code, label in PRIORITY_CLASSES.items()],
        description=_l("Citizens in these groups are called before the others, in the order "
                       "listed. Clear them all to offer no priority. Default: all three."),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    checkin_early_minutes = _number(
        _l("Check-in opens this many minutes before the appointment"),
        _l("Earlier, the kiosk asks the citizen to come back later. Default: %(default)s.",
           default=DEFAULTS.checkin_early_minutes),
        DEFAULTS.checkin_early_minutes)
    checkin_late_minutes = _number(
        _l("Check-in closes this many minutes after the appointment's start"),
        _l("Later, the kiosk offers an ordinary ticket instead. Default: %(default)s.",
           default=DEFAULTS.checkin_late_minutes),
        DEFAULTS.checkin_late_minutes)
    max_recalls = _number(
        _l("Recalls before a ticket counts as a no-show"),
        _l("A called citizen who does not come is announced again this many times; "
           "one more recall marks the ticket as a no-show. Default: %(default)s.",
           default=DEFAULTS.max_recalls),
        DEFAULTS.max_recalls)
    notify_people_ahead = _number(
        _l("Tell the citizen their turn nears when this many people are ahead"),
        _l("On the tracking page, and by SMS or e-mail if they gave one. "
           "Default: %(default)s.", default=DEFAULTS.notify_people_ahead),
        DEFAULTS.notify_people_ahead)
    notify_minutes = _number(
        _l("… or when the estimated wait is this many minutes or less"),
        _l("Whichever comes first. Default: %(default)s.", default=DEFAULTS.notify_minutes),
        DEFAULTS.notify_minutes)

    def raw(self) -> dict:
        """The submitted values, as ``QueueSettings.clean`` takes them (groups in house order)."""
        values = {name: self[name].data for name in _RANGED}
        chosen = set(self.priority_classes.data or ())
        values["priority_classes"] = [code for code in PRIORITY_CLASSES if code in chosen]
        return values


_RANGED = [name for name in QueueSettings.__dataclass_fields__ if name != "priority_classes"]


def get_office(code: str) -> Office:
    """The office ``code`` (retired ones too: their settings stay theirs), or 404."""
    office = db.session.scalar(select(Office).where(Office.code == code))
    if office is None:
        abort(404)
    return office


def form_data(office) -> dict:
    """The office's settings in force, as the form's values."""
    current = QueueSettings.of(office)
    data = {name: getattr(current, name) for name in _RANGED}
    data["priority_classes"] = list(current.priority_classes)
    return data


@bp.route("/<office>/queue-settings", methods=["GET", "POST"])
@permission(manager_of("office"))
def settings(office):
    """Change how the office's queue calls, checks in, recalls and notifies."""
    found = get_office(office)
    form = QueueSettingsForm(data=form_data(found))
    return save(form, lambda: queue_settings.save(found, QueueSettings.clean(form.raw())),
                _("The queue settings have been saved."),
                url_for("catalog_admin.office", office=found.code),
                "queue/admin/settings.html", current=found, data=form_data, office=found)
