"""What the citizen is told after each change: mails through the outbox, in their language.

Placeholders until the mails land: each function is called by the
operations inside the unit of work (mails queued here are sent only after
its commit).
"""
from __future__ import annotations


def booked(appointment, token, manage_url=None):
    pass


def confirmed(appointment):
    pass


def rescheduled(appointment, token=None, manage_url=None):
    pass


def cancelled(appointment, *, by_staff=False):
    pass
