"""The catalog's staff screens under ``/staff/catalog``: one module of views per screen.

``offices.py`` (offices and the services each offers), ``schedule.py``
(opening rules, closures, counters), ``services.py`` (services); their
forms in ``forms.py``; the blueprint they share in ``blueprint.py``.
"""
from citizen_desk.catalog.admin import offices, schedule, services  # noqa: F401  (routes)
from citizen_desk.catalog.admin.blueprint import bp

__all__ = ["bp"]
