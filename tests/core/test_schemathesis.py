"""Schemathesis over the documented API (``docs/openapi.yaml``), through the WSGI app.

For every operation, Hypothesis generates up to ``MAX_EXAMPLES`` requests
from the document (valid parameters, and invalid ones in negative mode),
sends them to the application in-process and checks the answers: never a
server error, only documented status codes and content types, bodies
that match their schemas, invalid input refused.

One check is left out, on purpose: ``positive_data_acceptance`` expects a
2xx for any input the document allows, but an office or language *code*
of the right shape can name no office, or a language the application
does not speak, and that is a documented 422 (``office``, ``lang``), not
something the document can enumerate.

Runs in ``make test`` on both engines; the data is small (two offices, a
few services) so that a generated ``q``, ``office`` or ``code`` sometimes
finds something (the document's examples, ``ATH1`` and ``family-status``,
are tried first).
"""
from __future__ import annotations

import os
from datetime import date, time, timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from citizen_desk.catalog import operations as ops
from citizen_desk.extensions import db
from tests.factories import add_rule, create_office, create_service

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
#: Generated requests per operation (a few seconds for the whole document); set
#: ``SCHEMATHESIS_MAX_EXAMPLES=1000`` for a longer hunt.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", 30))


#: Loaded once; each test sends its cases to that test's application (``catalog``).
schema = schemathesis.openapi.from_path(SPEC_PATH)


@pytest.fixture
def catalog(app):
    """The application, with two offices and a few services to find."""
    with app.app_context():
        office = create_office("ATH1", timezone="Europe/Athens")
        create_office("THE1")
        add_rule(office)
        service = create_service(code="family-status", offices=[office])
        create_service(code="amka-issue", offices=[office])
        ops.add_counter(office, "C1", {"el": "Θυρίδα 1"}, services=[service])
        soon = date.today() + timedelta(days=5)
        ops.add_closure(office, soon, soon, {"el": "Απογραφή"},
                        start_time=time(8), end_time=time(10))
        db.session.commit()
    return app


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_keeps_its_documented_contract(case, catalog):
    case.call_and_validate(app=catalog, excluded_checks=[positive_data_acceptance])
