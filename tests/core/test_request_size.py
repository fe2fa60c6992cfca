"""Request bodies are limited (MAX_CONTENT_LENGTH): 413 before the body is read (issue 8)."""
import http.client
import io
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import EnvironBuilder, encode_multipart

from citizen_desk import create_app
from citizen_desk.core.access import permission, public
from citizen_desk.core.audit import AuditEntry
from citizen_desk.core.errors import body_limit
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff.models import Role, StaffUser
from tests.concurrency import served_app
from tests.factories import create_office, create_user
from tests.staff.test_admin import as_user

TWO_MB = 2 * 1024 * 1024
TOO_LARGE_EL = "Αυτό που στείλατε είναι πολύ μεγάλο"


class CountingStream(io.BytesIO):
    """A request body that remembers how much of it was read."""

    taken = 0

    def read(self, size=-1):
        data = super().read(size)
        self.taken += len(data)
        return data

    def readline(self, size=-1):
        data = super().readline(size)
        self.taken += len(data)
        return data


@pytest.fixture
def setup(app):
    with app.app_context():
        office = create_office("ATH1")
        admin = create_user("admin@example.gr", Role.admin)
        clerk = create_user("clerk@example.gr", Role.clerk, office)
        db.session.commit()
        return {"admin": admin.id, "clerk": clerk.id}


def post(client, path, body: bytes, content_type="application/x-www-form-urlencoded",
         chunked=False):
    """POST ``body``; ``chunked``: without Content-Length, as a chunked request arrives."""
    stream = CountingStream(body)
    # A chunked request: Werkzeug ignores any Content-Length; gunicorn and
    # Werkzeug's server mark the stream as ending by itself.
    builder = EnvironBuilder(
        path=path, method="POST", input_stream=stream, content_type=content_type,
        headers={"Transfer-Encoding": "chunked"} if chunked else None,
        environ_overrides={"wsgi.input_terminated": True} if chunked else None)
    return client.open(builder), stream


def login_body(email: str, padding: int = 0) -> bytes:
    return (f"email={email}&password=wrong-password-here&comment=".encode()
            + b"a" * padding)


def state(app, user_id):
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        return user.failed_logins, db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_the_limit_is_one_mebibyte_and_configurable(monkeypatch):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["MAX_CONTENT_LENGTH"] == 2**20
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 2**20 and app.config["MAX_FORM_PARTS"] == 1000
    monkeypatch.setenv("CITIZEN_DESK_MAX_CONTENT_LENGTH", "5242880")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 2**20


def test_a_two_megabyte_sign_in_form_is_refused_unread(app, setup):
    before = state(app, setup["clerk"])
    response, stream = post(app.test_client(), "/staff/login",
                            login_body("clerk@example.gr", TWO_MB))
    assert response.status_code == 413
    assert TOO_LARGE_EL in response.get_data(as_text=True)
    assert stream.taken == 0, "the body must not be read"
    assert state(app, setup["clerk"]) == before  # no failed sign-in counted, nothing audited


def multipart(fields: dict) -> tuple[bytes, str]:
    """A multipart body (built here: the test client's own would leave a temporary file open)."""
    boundary, body = encode_multipart(MultiDict(fields))
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_two_megabyte_file_in_a_multipart_form_is_refused(app, setup):
    body, content_type = multipart({
        "email": "clerk@example.gr", "password": "wrong-password-here",
        "file": FileStorage(io.BytesIO(b"x" * TWO_MB), "big.bin")})
    response, stream = post(app.test_client(), "/staff/login", body, content_type)
    assert response.status_code == 413 and stream.taken == 0


def test_a_small_sign_in_form_still_works(app, setup):
    response, _ = post(app.test_client(), "/staff/login", login_body("clerk@example.gr", 1000))
    assert response.status_code == 200  # the form again: wrong password
    assert state(app, setup["clerk"])[0] == 1


def test_a_two_megabyte_catalog_form_is_refused_and_changes_nothing(app, setup):
    client = as_user(app, setup["admin"])
    body = b"code=ATH1&name-el=" + "Άλλο όνομα".encode() + b"&notes=" + b"n" * TWO_MB
    response, stream = post(client, "/staff/catalog/offices/ATH1/edit", body)
    assert response.status_code == 413 and stream.taken == 0
    assert TOO_LARGE_EL in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Office.name).where(Office.code == "ATH1"))["el"] != \
            "Άλλο όνομα"


def test_a_chunked_body_over_the_limit_is_refused(app, setup):
    before = state(app, setup["clerk"])
    response, stream = post(app.test_client(), "/staff/login",
                            login_body("clerk@example.gr", TWO_MB), chunked=True)
    assert response.status_code == 413
    assert stream.taken <= 2**20 + 1, "read no further than the limit"
    assert state(app, setup["clerk"]) == before


def test_a_chunked_body_under_the_limit_is_read_whole(app, setup):
    """Werkzeug alone would cut a chunked body at the limit and parse the rest as if whole."""
    body = login_body("clerk@example.gr", 2**20 - 200)
    response, _ = post(app.test_client(), "/staff/login", body, chunked=True)
    assert response.status_code == 200
    assert state(app, setup["clerk"])[0] == 1


def test_an_api_json_body_over_the_limit_gets_413_json(app):
    client = app.test_client()
    body = b'{"q": "' + b"a" * TWO_MB + b'"}'
    for method in ("GET", "POST"):
        response = client.open("/api/v1/services", method=method, data=body,
                               content_type="application/json")
        assert response.status_code == 413
        assert response.is_json and response.get_json()["error"]["status"] == 413
    response, _ = post(client, "/api/v1/services", body, "application/json", chunked=True)
    assert response.status_code == 413 and response.is_json


def test_a_view_raises_its_own_limit_for_an_upload(database_url, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})

    @permission(public)
    @body_limit(4 * 2**20)
    def upload():
        from flask import request
        return {"size": len(request.files["file"].read())}

    app.add_url_rule("/upload-test", view_func=upload, methods=["POST"])
    client = app.test_client()
    two, content_type = multipart({"file": FileStorage(io.BytesIO(b"x" * TWO_MB), "a.bin")})
    response, _ = post(client, "/upload-test", two, content_type)
    assert response.status_code == 200 and response.get_json() == {"size": TWO_MB}
    response, _ = post(client, "/upload-test", two, content_type, chunked=True)
    assert response.status_code == 200 and response.get_json() == {"size": TWO_MB}
    five, five_type = multipart({"file": FileStorage(io.BytesIO(b"x" * 5 * 2**20), "a.bin")})
    response, stream = post(client, "/upload-test", five, five_type)
    assert response.status_code == 413 and stream.taken == 0
    # The CSRF check, which reads the form before the view, sees the view's limit too.
    app.config["WTF_CSRF_ENABLED"] = True
    response, _ = post(client, "/upload-test", two, content_type)
    assert response.status_code == 400  # no CSRF token: refused as such, not as too large


def test_gunicorn_answers_413_to_a_large_chunked_body(app, database_url):
    with served_app(database_url, workers=1, threads=2) as server:
        url = urlsplit(server.url)
        status = {}
        for size in (1000, TWO_MB):
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            try:
                conn.putrequest("POST", "/staff/login")
                conn.putheader("Content-Type", "application/x-www-form-urlencoded")
                conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders()
                body = login_body("nobody@example.gr", size)
                try:
                    for start in range(0, len(body), 65536):
                        chunk = body[start:start + 65536]
                        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    conn.send(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server answered and closed before the end
                status[size] = conn.getresponse().status
            finally:
                conn.close()
        assert status == {1000: 200, TWO_MB: 413}, (status, server.log()[-2000:])
        assert "Traceback" not in server.log()
