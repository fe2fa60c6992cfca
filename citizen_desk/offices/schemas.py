"""API fields every capability needs about offices (booking, the queue and the catalog name one)."""
from __future__ import annotations

from citizen_desk.core.schemas import OfficeCode
from citizen_desk.offices.queries import live_office


class OfficeField(OfficeCode):
    """An office code in the input; the live office (``offices.models.Office``) in the view."""

    def _deserialize(self, value, attr, data, **kwargs):
        office = live_office(super()._deserialize(value, attr, data, **kwargs))
        if office is None:
            raise self.make_error("invalid_code")
        return office
