"""The API's schema layer: bad query strings and JSON bodies are a translated 422, never a 500.

The JSON-body route lives on an app of its own (``make_app``), so that the
route × actor matrix of ``tests/test_permissions.py`` never sees it.
"""
import io
import json

import pytest
from flask import Blueprint, jsonify
from marshmallow import fields

from citizen_desk.core.access import permission, public
from citizen_desk.core.schemas import (MAX_JSON_BYTES, MAX_JSON_DEPTH, LanguageCode, OfficeCode,
                                       Schema, max_length, one_of, use_kwargs, whole_number)
from citizen_desk.extensions import csrf


class PersonSchema(Schema):
    name = fields.String(required=True, validate=max_length(20))
    email = fields.Email()


class BookingBody(Schema):
    office = OfficeCode(required=True)
    seats = fields.Integer(strict=True, load_default=1, validate=whole_number(1, 4))
    language = LanguageCode(load_default="el")
    pool = fields.String(load_default="public", validate=one_of(["public", "ngo"]))
    person = fields.Nested(PersonSchema, required=True)
    documents = fields.List(fields.String(), load_default=list)
    extra = fields.Raw(load_default=None)


@pytest.fixture
def probe(make_app):
    app = make_app(RATELIMIT_ENABLED=False)
    bp = Blueprint("schemas_probe", __name__)

    @bp.post("/bookings")
    @permission(public)
    @use_kwargs(BookingBody, location="json")
    def book(**body):
        body["person"] = dict(body["person"])
        return jsonify(body), 201

    @bp.get("/search")
    @permission(public)
    @use_kwargs({"page": fields.Integer(load_default=1, validate=whole_number(1, 9))},
                location="query")
    def search(page):
        return jsonify(page=page)

    app.register_blueprint(bp, url_prefix="/api/v1/probe")
    csrf.exempt(bp)
    return app.test_client()


GOOD = {"office": "ATH1", "seats": 2, "person": {"name": "Ada", "email": "ada@example.gr"}}


def post(client, body, lang="en", **kw):
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    kw.setdefault("content_type", "application/json")
    return client.post(f"/api/v1/probe/bookings?lang={lang}", data=body, **kw)


def test_a_good_body_reaches_the_view_with_defaults(probe):
    response = post(probe, GOOD)
    assert response.status_code == 201
    assert response.json == {**GOOD, "language": "el", "pool": "public", "documents": [],
                             "extra": None}


def test_field_errors_name_every_field_in_english(probe):
    body = {"office": "../etc", "seats": 2.5, "language": "<b>", "pool": "vip",
            "person": {"email": "nope"}, "documents": "passport", "colour": "red"}
    response = post(probe, body)
    assert response.status_code == 422
    assert "field" not in response.json["error"]  # several problems: see "errors"
    assert response.json["errors"] == {
        "office": "There is no office with this code.",
        "seats": "Enter a whole number.",
        "language": "Give a language code such as el or en.",
        "pool": "must be one of: public, ngo",
        "person.name": "required",
        "person.email": "Enter an e-mail address like name@example.gr.",
        "documents": "Give a list.",
        "colour": "unknown field",
    }


def test_field_errors_are_translated(probe):
    response = post(probe, {"office": "ATH1", "seats": 9, "person": {"name": "x" * 21}},
                    lang="el")
    assert response.json["errors"] == {
        "seats": "Συμπληρώστε αριθμό από 1 έως 4.",
        "person.name": "Συμπληρώστε έως 20 χαρακτήρες.",
    }
    response = post(probe, {"person": None}, lang="el")
    assert response.json["errors"] == {"office": "υποχρεωτικό πεδίο",
                                       "person": "δεν μπορεί να είναι κενό"}


def test_one_problem_is_also_named_in_the_error(probe):
    response = post(probe, {**GOOD, "seats": "two"})
    assert response.json["error"]["field"] == "seats"
    assert response.json["error"]["message"] == "Enter a whole number."
    assert response.json["errors"] == {"seats": "Enter a whole number."}


def deep(levels):
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("body, message", [
    ("{not json", "This is not valid JSON: Expecting property name enclosed in double quotes "
                  "(line 1, column 2)."),
    (b"\xff\xfe{}", "Check what you entered and try again."),
    ('{"office": NaN}', "Check what you entered and try again."),
    ('{"seats": ' + "9" * 5000 + "}", "Check what you entered and try again."),
    (deep(30_000), "Check what you entered and try again."),
    (json.dumps({**GOOD, "extra": json.loads(deep(MAX_JSON_DEPTH))}),
     "Check what you entered and try again."),
    ("[1, 2]", "must be of type object"),
    ('"ATH1"', "must be of type object"),
])
def test_a_body_that_is_not_a_json_object_is_a_422_about_the_whole(probe, body, message):
    response = post(probe, body)
    assert response.status_code == 422
    assert response.json["errors"] == {"": message}
    assert response.json["error"]["message"] == message


def test_nesting_up_to_the_limit_is_accepted(probe):
    extra = json.loads(deep(MAX_JSON_DEPTH - 1))
    assert post(probe, {**GOOD, "extra": extra}).status_code == 201


def test_the_body_is_read_as_json_whatever_its_content_type(probe):
    assert post(probe, GOOD, content_type="text/plain").status_code == 201
    # A form or no body at all: nothing was given.
    response = probe.post("/api/v1/probe/bookings?lang=en", data={"office": "ATH1"})
    assert response.status_code == 422
    assert response.json["errors"] == {"office": "required", "person": "required"}
    assert post(probe, "").json["errors"] == {"office": "required", "person": "required"}


def test_a_body_too_large_is_a_413(probe):
    body = {**GOOD, "extra": "x" * MAX_JSON_BYTES}
    assert post(probe, body).status_code == 413


@pytest.mark.parametrize("query, status, errors", [
    ("page=3", 200, None), ("page=", 200, None), ("page=3&other=1", 200, None),
    ("page=0", 422, {"page": "Enter a number from 1 to 9."}),
    ("page=x", 422, {"page": "Enter a whole number."}),
])
def test_query_strings_ignore_unknown_and_empty_parameters(probe, query, status, errors):
    response = probe.get("/api/v1/probe/search?lang=en&" + query)
    assert response.status_code == status
    assert response.json.get("errors") == errors




class CountingStream(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.given = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.given += len(chunk)
        return chunk

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.given += n
        return n


@pytest.mark.parametrize("size", [10 * MAX_JSON_BYTES, 3 * 2**20])
def test_a_streamed_body_too_large_is_a_413_and_is_not_read_whole(probe, size):
    # Chunked, without a Content-Length: the limits apply while the body is read. The
    # request-wide cap (MAX_CONTENT_LENGTH) buffers at most that much; the JSON parser
    # then refuses what is over its own, smaller limit.
    stream = CountingStream(json.dumps({**GOOD, "extra": "x" * size}).encode())
    response = probe.post("/api/v1/probe/bookings", content_type="application/json",
                          headers={"Transfer-Encoding": "chunked"},
                          environ_overrides={"wsgi.input_terminated": True,
                                             "wsgi.input": stream})
    assert response.status_code == 413
    assert stream.given <= 2**20 + 1  # MAX_CONTENT_LENGTH
    assert stream.given < len(stream.getvalue()) or size < 2**20
