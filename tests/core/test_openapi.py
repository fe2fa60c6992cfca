"""docs/openapi.yaml is a valid OpenAPI document and tells the truth about the API.

Real answers must match the documented schemas and carry no member that the
document does not describe.
"""
import re
from datetime import date, time, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from citizen_desk.catalog import operations as ops
from citizen_desk.extensions import db
from tests.factories import add_rule, create_office, create_service

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def test_spec_is_valid_openapi(spec):
    validate(spec)


def test_every_api_route_is_documented_and_every_documented_path_exists(app, spec):
    # ``<int:counter>`` is documented as ``{counter}`` (an integer parameter).
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    documented = set(spec["paths"])
    assert routes - documented == set(), "routes missing from docs/openapi.yaml"
    assert documented - routes == set(), "docs/openapi.yaml documents routes that do not exist"


def _validator(spec, name):
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _undocumented(spec, schema, value, path="$"):
    """The members of ``value`` (a decoded answer) that ``schema`` does not describe."""
    schema = _resolve(spec, schema)
    if isinstance(value, list):
        return [found for n, item in enumerate(value)
                for found in _undocumented(spec, schema.get("items", {}), item, f"{path}[{n}]")]
    if not isinstance(value, dict) or "additionalProperties" in schema:
        return []
    properties = {}
    for part in (schema, *schema.get("allOf", ())):
        properties.update(_resolve(spec, part).get("properties", {}))
    return [f"{path}.{key}" for key in value if key not in properties] + [
        found for key, item in value.items() if key in properties
        for found in _undocumented(spec, properties[key], item, f"{path}.{key}")]


@pytest.fixture
def catalog(app):
    with app.app_context():
        office = create_office("ATH1", timezone="Europe/Athens")
        add_rule(office)
        service = create_service(code="family-status", offices=[office])
        ops.add_counter(office, "C1", {"el": "Θυρίδα 1"}, services=[service])
        soon = date.today() + timedelta(days=5)
        ops.add_closure(office, soon, soon, {"el": "Απογραφή"},
                        start_time=time(8), end_time=time(10))
        db.session.commit()


@pytest.mark.parametrize("path, status, schema", [
    ("/api/v1/health", 200, "Health"),
    ("/api/v1/challenge", 200, "Challenge"),
    ("/api/v1/services?q=υπηρεσια&lang=en", 200, "ServiceList"),
    ("/api/v1/services?limit=0", 422, "Error"),
    ("/api/v1/services?limit=0&office=NOPE&lang=en", 422, "Error"),
    ("/api/v1/offices", 200, "OfficeList"),
    ("/api/v1/offices?lang=%3F", 422, "Error"),
    ("/api/v1/offices/ATH1?lang=el", 200, "Office"),
    ("/api/v1/offices/NOPE", 404, "Error"),
])
def test_responses_match_the_documented_schemas(client, spec, catalog, path, status, schema):
    response = client.get(path)
    assert response.status_code == status
    _validator(spec, schema).validate(response.json)
    assert _undocumented(spec, {"$ref": f"#/components/schemas/{schema}"}, response.json) == []


def test_the_office_answer_exercises_every_documented_part(client, catalog):
    body = client.get("/api/v1/offices/ATH1?lang=el").json
    assert body["counters"] and body["opening_rules"]
    assert any(not closed["whole_day"] for closed in body["closures"])


def test_a_422_lists_every_problem(client, spec, catalog):
    body = client.get("/api/v1/services?limit=0&office=NOPE&lang=en").json
    assert body["errors"] == {"limit": "Give a whole number from 1 to 200.",
                              "office": "There is no office with this code."}
    assert "field" not in body["error"]
