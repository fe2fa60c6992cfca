"""Changes the display capability makes: whether an office's display is public."""
from __future__ import annotations

from citizen_desk.core import audit
from citizen_desk.offices.models import Office


def set_public(office: Office, public: bool, *, actor_user=None) -> bool:
    """Open (or close) ``office``'s display to anyone; whether it changed. Audited."""
    if office.public_display == public:
        return False
    office.public_display = public
    audit.record("display.public" if public else "display.private", office,
                 office_id=office.id, actor_user=actor_user)
    return True
