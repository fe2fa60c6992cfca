"""Offices: the places where citizens are served, which every capability points at.

Below staff and the catalog: staff roles and device tokens are scoped to an
office, the catalog gives an office its hours, counters and services, the
queue and bookings happen at one.
"""
from citizen_desk.offices import models  # noqa: F401  (registers the table)
