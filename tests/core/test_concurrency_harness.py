"""The concurrency harness itself (``tests/concurrency.py``): it serves, races and cleans up."""
from __future__ import annotations

import socket
import time

import pytest

from tests.concurrency import OneEach, Response, http, race, served_app, summary


def refuses_connections(url: str) -> bool:
    try:
        http("GET", url + "/api/v1/health", timeout=2)
    except OSError:
        return True
    return False


def test_the_app_is_served_with_its_settings_and_stopped_after(database_url, dialect):
    with served_app(database_url, workers=1, threads=2, SERVICE_NAME="Γραφείο δοκιμών") as server:
        health = server.get("/api/v1/health")
        assert health.status == 200 and health.json()["dialect"] == dialect
        assert "Γραφείο δοκιμών" in server.get("/").body
        redirect = server.get("/staff/")
        assert redirect.status == 302 and "/staff/login" in redirect.location  # not followed
        process = server.process
    assert process.poll() is not None
    assert refuses_connections(server.url)


def test_the_server_is_stopped_when_the_test_fails(database_url):
    with pytest.raises(RuntimeError, match="the test failed"):
        with served_app(database_url, workers=1, threads=1) as server:
            raise RuntimeError("the test failed")
    assert server.process.poll() is not None
    assert refuses_connections(server.url)


def test_a_server_that_cannot_start_is_reported(database_url):
    with pytest.raises(RuntimeError, match="could not start the app") as failure:
        with served_app(database_url, workers=1, threads=1, env="no-such-environment"):
            pass
    assert "CITIZEN_DESK_ENV must be production, development or testing" in str(failure.value)


def test_race_releases_workers_together_and_keeps_every_outcome():
    def work(i):
        started = time.monotonic()
        if i % 3 == 0:
            raise ValueError(f"worker {i} failed")
        return started

    results = race(12, work)
    assert len(results) == 12
    failed = [i for i, r in enumerate(results) if isinstance(r, ValueError)]
    assert failed == [0, 3, 6, 9] and str(results[3]) == "worker 3 failed"
    started = [r for r in results if not isinstance(r, Exception)]
    assert max(started) - min(started) < 0.5  # released by one barrier
    assert summary(results)["ValueError"] == 4


def test_race_is_bounded_in_time_and_count():
    results = race(2, lambda i: time.sleep(3 if i == 0 else 0), timeout=0.5)
    assert isinstance(results[0], TimeoutError) and results[1] is None
    with pytest.raises(ValueError):
        race(1000, lambda i: None)


def test_refused_connections_are_results():
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    results = race(3, lambda i: http("GET", f"http://127.0.0.1:{port}/"))
    assert summary(results) == {"ConnectionRefusedError": 3}
    with pytest.raises(ValueError):
        http("GET", "http://example.org/")  # loopback only


def test_race_in_processes_against_the_served_app(database_url):
    with served_app(database_url, workers=2, threads=2) as server:
        requests = [server.request("GET", "/api/v1/health") for _ in range(4)]
        results = race(4, OneEach(requests), mode="processes", timeout=60)
    assert all(isinstance(r, Response) for r in results), results
    assert summary(results) == {200: 4}
