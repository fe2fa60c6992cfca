"""Build hook: a wheel carries what the checkout keeps at the top level.

The metadata lives in ``setup.cfg``; this file only extends ``build_py`` so
that a wheel built from the tree (``pip install .``, ``python -m build``) is a
working install. Into the package it copies ``templates/`` and
``migrations/``, and the catalogs of ``translations/`` compiled to ``.mo``
files; it refuses to build without the GOV.GR stylesheet that ``make
assets`` copies from npm. ``citizen_desk.config.RESOURCE_ROOT`` finds the
copies in an installed package and the top-level folders in a checkout.

An editable install (``pip install -e .``) reads the checkout and skips all
of this.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import FileError

ROOT = Path(__file__).resolve().parent
PACKAGE = "citizen_desk"
#: Top-level folders copied as they are into the built package.
COPIED = ("templates", "migrations")
#: The design system's stylesheet, copied from node_modules by ``make assets``.
VENDORED_CSS = Path(PACKAGE, "static", "vendor", "digigov.css")
JUNK = shutil.ignore_patterns("__pycache__", "*.py[cod]", ".*")


class BuildWithResources(build_py):
    """``build_py``, then the templates, migrations and compiled catalogs."""

    def run(self):
        editable = getattr(self, "editable_mode", False)
        if not editable and not (ROOT / VENDORED_CSS).is_file():
            raise FileError(
                f"{VENDORED_CSS} is missing: run `make assets` (npm ci, then a copy of "
                "@digigov/css) before building a wheel; without it every page is unstyled.")
        super().run()
        if editable:
            return
        target = Path(self.build_lib, PACKAGE)
        for name in COPIED:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(ROOT / name, target / name, ignore=JUNK)
        compile_catalogs(ROOT / "translations", target / "translations")


def compile_catalogs(source: Path, target: Path):
    """Compile every ``<lang>/LC_MESSAGES/*.po`` under ``source`` into ``target``."""
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:  # pragma: no cover - pyproject.toml's build requirements name it
        raise FileError("Babel is needed to compile the translations: pip install Babel")
    shutil.rmtree(target, ignore_errors=True)
    catalogs = sorted(source.glob("*/LC_MESSAGES/*.po"))
    if not catalogs:
        raise FileError(f"no message catalogs under {source}")
    for po in catalogs:
        language = po.parent.parent.name
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language, abort_invalid=True)
        if catalog.fuzzy:
            # `pybabel compile` would skip the whole catalog: the language would
            # silently fall back to the msgids.
            raise FileError(f"{po.relative_to(ROOT)} is marked fuzzy in its header")
        mo = target / language / "LC_MESSAGES" / f"{po.stem}.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as fh:
            write_mo(fh, catalog)


setup(cmdclass={"build_py": BuildWithResources})
