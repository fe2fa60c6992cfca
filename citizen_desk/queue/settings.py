"""One office's walk-in queue settings, stored in ``office.queue_settings``.

An office that never changed them runs on the house defaults below. The
call-next policy's knobs (``policy.Knobs``) live here too, so a manager
changes everything about the queue in one place.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from flask_babel import lazy_gettext as _l

from citizen_desk.core import audit
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.queue import policy
from citizen_desk.queue.models import PRIORITY_CLASSES

#: Each whole-number setting's allowed range.
_RANGES = {
    "appointment_early_minutes": (0, 120),
    "fairness_max_consecutive": (0, 50),
    "fairness_wait_minutes": (1, 600),
    "checkin_early_minutes": (0, 240),
    "checkin_late_minutes": (0, 240),
    "max_recalls": (0, 10),
    "notify_people_ahead": (0, 50),
    "notify_minutes": (0, 240),
}


@dataclass(frozen=True)
class QueueSettings:
    """What an office chose for its queue (house defaults when it chose nothing)."""

    #: The call-next policy (``policy.Knobs``): an appointment is due this early …
    appointment_early_minutes: int = 5
    #: … at most K appointment/priority calls in a row while a walk-in waited longer than T.
    fairness_max_consecutive: int = 3
    fairness_wait_minutes: int = 20
    #: The priority groups the kiosk offers, highest first (codes of ``PRIORITY_CLASSES``).
    priority_classes: tuple[str, ...] = policy.DEFAULT_PRIORITY_CLASSES
    #: Check-in at the kiosk: from this many minutes before the appointment …
    checkin_early_minutes: int = 30
    #: … until this many minutes after its start (later: a walk-in ticket is offered).
    checkin_late_minutes: int = 15
    #: Recalls before a called ticket becomes a no-show.
    max_recalls: int = 3
    #: "Your turn nears" when this many people or fewer are ahead …
    notify_people_ahead: int = 3
    #: … or the estimated wait is this many minutes or less.
    notify_minutes: int = 10

    @classmethod
    def of(cls, office) -> QueueSettings:
        """The office's settings; stored values the code no longer knows are ignored."""
        stored = dict(office.queue_settings or {})
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in stored.items() if k in known and v is not None}
        if "priority_classes" in values:
            values["priority_classes"] = tuple(values["priority_classes"])
        try:
            return cls(**values)
        except TypeError:
            return cls()

    @classmethod
    def clean(cls, raw: dict) -> QueueSettings:
        """Settings from a form or the API; a ``ValidationError`` per bad field."""
        errors, values = {}, {}
        for name, (low, high) in _RANGES.items():
            if name not in raw or raw[name] in (None, ""):
                continue
            value = raw[name]
            try:
                number = int(value)
                if isinstance(value, bool) or str(number) != str(value).strip():
                    raise ValueError
            except (TypeError, ValueError):
                errors[name] = _l("Enter a whole number.")
                continue
            if not low <= number <= high:
                errors[name] = _l("Enter a number from %(low)s to %(high)s.", low=low, high=high)
                continue
            values[name] = number
        if "priority_classes" in raw and raw["priority_classes"] is not None:
            classes = raw["priority_classes"]
            if (not isinstance(classes, (list, tuple))
                    or any(c not in PRIORITY_CLASSES for c in classes)
                    or len(set(classes)) != len(classes)):
                errors["priority_classes"] = _l("Choose from the priority groups listed.")
            else:
                values["priority_classes"] = tuple(classes)
        if errors:
            raise ValidationError(errors)
        return cls(**values)

    def stored(self) -> dict:
        """What goes into ``office.queue_settings`` (JSON)."""
        values = asdict(self)
        values["priority_classes"] = list(self.priority_classes)
        return values

    @property
    def knobs(self) -> dict:
        """The call-next policy's part, for ``policy.Knobs.from_mapping``."""
        return {"appointment_early_minutes": self.appointment_early_minutes,
                "fairness_max_consecutive": self.fairness_max_consecutive,
                "fairness_wait_minutes": self.fairness_wait_minutes,
                "priority_classes": self.priority_classes}


def save(office, settings: QueueSettings) -> QueueSettings:
    """Store ``settings`` as the office's queue settings, with a ``queue.settings`` audit entry.

    The entry names the settings that changed and their new values (numbers and
    codes only). Saving what is already in force changes nothing and records nothing.
    """
    before = QueueSettings.of(office).stored()
    after = settings.stored()
    changed = sorted(name for name in after if before.get(name) != after[name])
    if not changed:
        return settings
    office.queue_settings = after
    db.session.flush()
    audit.record("queue.settings", office, office_id=office.id, code=office.code,
                 fields=changed, values={name: after[name] for name in changed})
    return settings


def priority_choices(office) -> list[tuple[str, str]]:
    """The priority groups the office offers, highest first: ``(code, label)``."""
    return [(code, PRIORITY_CLASSES[code]) for code in QueueSettings.of(office).priority_classes
            if code in PRIORITY_CLASSES]
