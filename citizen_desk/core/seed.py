"""Demo data: one entry point that every capability extends.

A capability registers a seeder with ``@demo_seeder(order=…)``; the function
receives a ``DemoReport`` and adds its realistic data to the session, noting
the links and accounts a person trying the demo needs. ``seed_demo()`` runs
them all in order inside one transaction, so the demo always shows
everything that exists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

_SEEDERS: list[tuple[int, str, Callable]] = []


@dataclass
class DemoReport:
    """What the demo prints once seeded: links and credentials per kind of user."""

    base_url: str = "http://127.0.0.1:5000"
    sections: dict[str, list[str]] = field(default_factory=dict)

    def add(self, who: str, line: str):
        self.sections.setdefault(who, []).append(line)

    def link(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def render(self) -> str:
        out = []
        for who, lines in self.sections.items():
            out.append(f"{who}:")
            out.extend(f"  {line}" for line in lines)
        return "\n".join(out)


def demo_seeder(order: int):
    """Register a demo seeder; lower ``order`` runs first."""
    def register(fn):
        if not any(existing is fn for _, _, existing in _SEEDERS):
            _SEEDERS.append((order, fn.__module__ + "." + fn.__name__, fn))
            _SEEDERS.sort(key=lambda item: (item[0], item[1]))
        return fn
    return register


def seed_demo(base_url: str = "http://127.0.0.1:5000") -> DemoReport:
    """Run every registered seeder as one unit of work."""
    from citizen_desk.core import uow
    from citizen_desk.extensions import db

    def seed():
        report = DemoReport(base_url=base_url)
        for _, _, seeder in _SEEDERS:
            seeder(report)
            db.session.flush()
        return report
    return uow.run(seed)
