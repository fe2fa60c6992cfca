"""The Greek glossary (docs/translations.md) holds: no Greek message, template, script or
seed text uses a word it retired, so the same thing is not called two names on one screen."""
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from citizen_desk.catalog.search.index import fold

ROOT = Path(__file__).resolve().parents[2]

#: Retired word (accent- and case-folded stem) → the glossary's word.
RETIRED = {"γκισε": "θυρίδα", "εισιτηρι": "αριθμός (προτεραιότητας)"}


def retired_in(text: str) -> list[str]:
    folded = fold(text)
    return [stem for stem in RETIRED if stem in folded]


def greek_messages():
    with open(ROOT / "translations" / "el" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if string:
                yield message.id, string


def test_the_greek_catalog_uses_no_retired_word():
    found = [(msgid, string) for msgid, string in greek_messages() if retired_in(string)]
    assert found == []


LITERAL_SOURCES = ["templates/**/*.html", "templates/**/*.txt", "citizen_desk/static/js/*.js",
                   "citizen_desk/data/*.json", "citizen_desk/**/demo.py"]


@pytest.mark.parametrize("pattern", LITERAL_SOURCES)
def test_greek_literals_outside_the_catalog_use_no_retired_word(pattern):
    found = [str(path.relative_to(ROOT)) for path in ROOT.glob(pattern)
             if retired_in(path.read_text(encoding="utf-8"))]
    assert found == []


def test_the_check_sees_retired_words_in_any_case_and_accent():
    assert retired_in("Στο ΓΚΙΣΕ") == ["γκισε"] and retired_in("το εισιτήριό σας") == ["εισιτηρι"]
    assert retired_in("Στη θυρίδα 3: ο αριθμός προτεραιότητάς σας") == []
