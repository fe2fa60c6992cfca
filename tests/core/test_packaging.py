"""A wheel built from the tree is a working install.

The release path, end to end: ``python -m build`` makes the sdist and, from
it, the wheel (out of a copy of the checkout, so the tree gets no ``build/``);
the wheel is installed into a fresh virtual environment outside the tree;
from a directory outside the tree ``flask --app citizen_desk db upgrade``
migrates a new SQLite database and gunicorn serves the home page in Greek
(the compiled catalog) with the GOV.GR stylesheet (the vendored CSS).

The new environment receives the wheel alone, offline. Its dependencies come
from the environment running the tests, through a ``.pth`` line appended
after its own site-packages: the packages there are importable, but their
``.pth`` files are not run, so this environment's editable install of the
checkout stays out and the wheel's copy of citizen_desk is the one imported.

Marked ``packaging`` (``pytest -m 'not packaging'`` leaves it out locally);
``make test`` runs it. It runs once, in the SQLite pass: nothing in it
depends on the test database's engine.

Also here: a clone is complete — the README and ``docs/`` link only to files
inside the repository.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from tests.concurrency import Server, _stop, _wait_until_healthy

#: The tests that build and install (the docs' link check below is instant).
building = pytest.mark.packaging
once = pytest.mark.skipif(bool(os.environ.get("CITIZEN_DESK_TEST_DATABASE_URL")),
                          reason="engine-independent: runs in the SQLite pass")

ROOT = Path(__file__).resolve().parents[2]
#: Not part of a build: environments, caches, local data, earlier build output.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "instance", "build", "dist", "*.egg-info",
    "__pycache__", "*.py[cod]", ".pytest_cache", "test-artifacts", "tests", "bench", "*.mo")
#: Each step's limit in seconds; the whole test takes ~20 s.
STEP_TIMEOUT = 90
GREEK_HOME = "Τι θέλετε να κάνετε;"


def run(*args, cwd, env=None, timeout=STEP_TIMEOUT) -> str:
    """Run a command; fail the test with its output unless it succeeds. Returns the output."""
    done = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-6000:]}"
    return done.stdout


def clean_environment(**extra) -> dict:
    """The test run's environment without what would point a command back at the checkout."""
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("CITIZEN_DESK_", "PYTHON", "FLASK_", "VIRTUAL_ENV"))
               and key not in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL")}
    environ.update(extra)
    return environ


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build sdist and wheel from a copy of the checkout; return (wheel path, build log)."""
    if not (ROOT / "citizen_desk/static/vendor/digigov.css").is_file():
        pytest.fail("citizen_desk/static/vendor/digigov.css is missing: run `make assets`")
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    # As `pip install .` and a release build do: in an isolated environment with
    # the newest setuptools (pip fetches pyproject.toml's build requirements from
    # the package index, as `make install` does), whose warnings are the ones
    # that matter. PYTHONDONTWRITEBYTECODE (cleared by clean_environment) would
    # only add a "byte-compiling is disabled" notice.
    log = run(sys.executable, "-m", "build", "--outdir", work / "dist", source,
              cwd=work, env=clean_environment())
    wheels = list((work / "dist").glob("citizen_desk-*.whl"))
    assert len(wheels) == 1, log
    return wheels[0], log


@building
@once
def test_the_build_is_clean(built):
    _, log = built
    warnings = [line for line in log.splitlines() if re.search(r"warn", line, re.IGNORECASE)]
    assert warnings == [], "\n".join(warnings)


@building
@once
def test_the_wheel_carries_templates_catalogs_migrations_and_stylesheet(built):
    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("templates/base.html", "templates/catalog/_home.html",
                 "translations/el/LC_MESSAGES/messages.mo",
                 "translations/en/LC_MESSAGES/messages.mo",
                 "migrations/env.py", "migrations/alembic.ini", "migrations/script.py.mako",
                 "migrations/versions/20261126_0001_foundation.py",
                 "static/vendor/digigov.css", "static/css/app.css",
                 "schemas/catalog.schema.json", "data/demo-catalog.json"):
        assert f"citizen_desk/{name}" in names, name
    assert not [name for name in names if name.endswith(".po") or "__pycache__" in name]
    assert not [name for name in names if name.startswith("tests/")]


@building
@once
def test_an_installed_wheel_migrates_and_serves_a_greek_page_with_its_stylesheet(
        built, tmp_path):
    wheel, _ = built
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    # This environment's pip installs into the new one; the wheel only, offline.
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index",
        "--no-deps", "--disable-pip-version-check", wheel, cwd=tmp_path,
        env=clean_environment())
    site_packages = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                             cwd=tmp_path, env=clean_environment()).strip())
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site_packages / "zz_test_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))

    here = tmp_path / "elsewhere"  # not the checkout: nothing can be found relative to it
    here.mkdir()
    environ = clean_environment(
        CITIZEN_DESK_ENV="production", SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=f"sqlite:///{tmp_path / 'installed.sqlite'}", PYTHONUNBUFFERED="1")
    where = run(python, "-c", "import citizen_desk; print(citizen_desk.__file__)",
                cwd=here, env=environ)
    assert Path(where.strip()).is_relative_to(site_packages), where

    run(python, "-m", "flask", "--app", "citizen_desk", "db", "upgrade", cwd=here, env=environ)

    with serve(python, here, environ) as server:
        home = server.get("/", headers={"Accept-Language": "el"})
        assert home.status == 200, server.log()[-4000:]
        assert GREEK_HOME in home.body, home.body[:2000]
        assert 'lang="el"' in home.body
        assert "/static/vendor/digigov.css" in home.body
        stylesheet = server.get("/static/vendor/digigov.css")
        assert stylesheet.status == 200
        assert stylesheet.header("Content-Type", "").startswith("text/css")
        assert "@digigov/css" in stylesheet.body[:400]
        services = server.get("/services")  # reads the migrated tables
        assert services.status == 200, server.log()[-4000:]
        assert "Traceback" not in server.log()


class serve:
    """gunicorn from the installed environment on a free loopback port, stopped on exit."""

    def __init__(self, python: Path, cwd: Path, environ: dict):
        self.args = (python, cwd, environ)

    def __enter__(self) -> Server:
        python, cwd, environ = self.args
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile(prefix="citizen-desk-wheel-", suffix=".log",
                                               dir=cwd, delete=False)
        try:
            self.process = subprocess.Popen(
                [str(python), "-m", "gunicorn", "--bind", f"fd://{listener.fileno()}",
                 "--worker-class", "gthread", "--workers", "1", "--threads", "2",
                 "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning",
                 "--error-logfile", "-", "citizen_desk:create_app()"],
                cwd=cwd, env=environ, stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, pass_fds=(listener.fileno(),), start_new_session=True)
        finally:
            listener.close()
        self.server = Server(f"http://127.0.0.1:{port}", self.process, Path(self.log.name))
        try:
            _wait_until_healthy(self.server, time.monotonic() + 30)
        except BaseException:
            self.__exit__()
            raise
        return self.server

    def __exit__(self, *exc):
        _stop(self.process)
        self.log.close()



#: A Markdown link's target: ``[text](target)``.
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_docs_link_only_to_files_in_the_repository():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for document in documents:
        text = document.read_text(encoding="utf-8")
        if "../shared/" in text:
            broken.append(f"{document.name}: names ../shared/, which a clone lacks")
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:|#", target):
                continue  # a web address or an anchor on the same page
            path = (document.parent / target.split("#")[0]).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                broken.append(f"{document.name}: {target}")
    assert broken == []
    for name in ("design.md", "style.md"):
        assert f"]({name})" in (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
