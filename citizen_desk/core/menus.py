"""Menus and page sections that capabilities contribute to shared templates.

Shared templates (``base.html``, the staff bar, the home page) name no
capability: each capability adds its entries here in its ``init_app`` —

    menus.add_item(app, "staff", "catalog_admin.offices", _l("Catalog"), order=20)
    menus.add_section(app, "home", "catalog/_home.html", order=10)

— and templates ask for ``menu("staff")`` or ``sections("home")``. A menu
item is shown only to an actor that the endpoint's own ``@permission``
policy lets in (and that ``when(actor)`` accepts, if given), so a link is
never offered to someone who would get a 403.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app, url_for

from citizen_desk.core.access import policy_of

_MENUS = "citizen_desk.menus"
_SECTIONS = "citizen_desk.sections"


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    label: object  # a lazy translation
    order: int = 100
    when: Callable[[object], bool] | None = None

    @property
    def url(self) -> str:
        return url_for(self.endpoint)


def add_item(app, menu: str, endpoint: str, label, *, order: int = 100,
             when: Callable[[object], bool] | None = None):
    """Add a link to ``endpoint`` (a view without arguments) to ``menu``."""
    items = app.extensions.setdefault(_MENUS, {}).setdefault(menu, [])
    items.append(MenuItem(endpoint, label, order, when))
    items.sort(key=lambda item: item.order)


def add_section(app, place: str, template: str, *, order: int = 100):
    """Include ``template`` where a shared template renders ``sections(place)``."""
    sections = app.extensions.setdefault(_SECTIONS, {}).setdefault(place, [])
    sections.append((order, template))
    sections.sort()


def _actor():
    resolve = current_app.extensions.get("citizen_desk.actor")
    return resolve() if resolve else None


def menu(name: str) -> list[MenuItem]:
    """The items of menu ``name`` that the current actor may follow."""
    actor = _actor()
    visible = []
    for item in current_app.extensions.get(_MENUS, {}).get(name, ()):
        policy = policy_of(item.endpoint)
        if policy is None or not policy.allows(actor):
            continue
        if item.when is not None and not item.when(actor):
            continue
        visible.append(item)
    return visible


def sections(place: str) -> list[str]:
    """The templates contributed to ``place``, in order."""
    return [template for _, template in current_app.extensions.get(_SECTIONS, {}).get(place, ())]


def init_app(app):
    app.jinja_env.globals.update(menu=menu, sections=sections)
