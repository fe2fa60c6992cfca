"""docs/openapi.yaml is a valid OpenAPI document and tells the truth about the API."""
from pathlib import Path

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from citizen_desk.extensions import db
from tests.factories import add_rule, create_office, create_service

SPEC_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def test_spec_is_valid_openapi(spec):
    validate(spec)


def test_every_api_route_is_documented_and_every_documented_path_exists(app, spec):
    routes = {rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    documented = set(spec["paths"])
    assert routes - documented == set(), "routes missing from docs/openapi.yaml"
    assert documented - routes == set(), "docs/openapi.yaml documents routes that do not exist"


def _validator(spec, name):
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture
def catalog(app):
    with app.app_context():
        office = create_office("ATH1", timezone="Europe/Athens")
        add_rule(office)
        create_service(code="family-status", offices=[office])
        db.session.commit()


@pytest.mark.parametrize("path, status, schema", [
    ("/api/v1/health", 200, "Health"),
    ("/api/v1/services?q=υπηρεσια&lang=en", 200, "ServiceList"),
    ("/api/v1/services?limit=0", 422, "Error"),
    ("/api/v1/offices", 200, "OfficeList"),
    ("/api/v1/offices/ATH1?lang=el", 200, "Office"),
    ("/api/v1/offices/NOPE", 404, "Error"),
])
def test_responses_match_the_documented_schemas(client, spec, catalog, path, status, schema):
    response = client.get(path)
    assert response.status_code == status
    _validator(spec, schema).validate(response.json)
