"""Command-line tools shared by every capability: translations and the demo."""
from __future__ import annotations

import os

import click
from babel.messages.frontend import CommandLineInterface
from flask.cli import AppGroup, with_appcontext

from citizen_desk.config import PROJECT_ROOT
from citizen_desk.core.seed import seed_demo

translate = AppGroup("translate", help="Extract, update and compile the UI's message catalogs.")
demo = AppGroup("demo", help="Demo data.")

TRANSLATIONS = PROJECT_ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"


def _pybabel(*args: str):
    # From the project root with relative inputs, so that the catalogs' source
    # references don't depend on where the checkout lives.
    previous = os.getcwd()
    os.chdir(PROJECT_ROOT)
    try:
        CommandLineInterface().run(["pybabel", "-q", *args])
    finally:
        os.chdir(previous)


@translate.command("extract")
def extract():
    """Extract messages from code and templates into messages.pot."""
    _pybabel("extract", "-F", str(PROJECT_ROOT / "babel.cfg"), "-k", "_l",
             "-k", "lazy_ngettext:1,2", "--add-comments=i18n:", "--sort-by-file",
             "-w", "100", "-o", str(POT), "citizen_desk", "templates")


#: The language the messages are written in: its catalog repeats each msgid.
SOURCE_LANGUAGE = "en"


@translate.command("update")
def update():
    """Extract, merge the new messages into every catalog, and fill the source language's."""
    extract.callback()
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-w", "100",
             "--no-fuzzy-matching", "--ignore-obsolete")
    _fill_source_language()


def _fill_source_language():
    """The English catalog says what the code says, so that no catalog has empty entries."""
    from babel.messages.pofile import read_po, write_po

    po_path = TRANSLATIONS / SOURCE_LANGUAGE / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=SOURCE_LANGUAGE)
    for message in catalog:
        if message.id and not any(message.string if message.pluralizable
                                  else [message.string]):
            message.string = tuple(message.id) if message.pluralizable else message.id
    with po_path.open("wb") as fh:
        write_po(fh, catalog, width=100)


@translate.command("init")
@click.argument("language")
def init(language):
    """Start a catalog for a new LANGUAGE (e.g. ``ar``)."""
    extract.callback()
    _pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", language, "-w", "100")


@translate.command("compile")
def compile_():
    """Compile every catalog to .mo (the set-up does this; .mo is never committed)."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


@demo.command("seed")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
              help="Where the demo will be served, for the printed links.")
@with_appcontext
def seed(base_url):
    """Fill an empty, migrated database with the demo data and print the links."""
    report = seed_demo(base_url)
    click.echo(report.render())


def init_app(app):
    app.cli.add_command(translate)
    app.cli.add_command(demo)


@translate.command("fill")
@click.argument("language")
@click.argument("source", type=click.File("r", encoding="utf-8"))
def fill(language, source):
    """Merge translations from a JSON object {msgid: msgstr} into LANGUAGE's catalog.

    For plural messages give a list of forms; for a message with a context
    (``pgettext``) write the key as ``context\x04msgid``, as gettext does.
    Unknown msgids are reported.
    """
    import json

    from babel.messages.pofile import read_po, write_po

    po_path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    unknown = []
    for msgid, msgstr in json.load(source).items():
        context, _sep, bare = msgid.rpartition("\x04")
        message = catalog.get(bare, context=context or None)
        if message is None:
            unknown.append(msgid)
            continue
        message.string = tuple(msgstr) if isinstance(msgstr, list) else msgstr
        message.flags.discard("fuzzy")
    with po_path.open("wb") as fh:
        write_po(fh, catalog, width=100)
    for msgid in unknown:
        click.echo(f"not in the catalog: {msgid!r}", err=True)
    missing = [m.id for m in catalog if m.id and not m.string]
    click.echo(f"{language}: {len(missing)} messages still untranslated")
