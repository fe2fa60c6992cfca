"""greeklish: phonetic skeletons of the Greek names and synonyms in the word index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

Search matches Greek typed in Latin letters (``pistopoiitiko``, ``amka``)
through rows of ``service_search_word`` under the language ``el-latn``: the
skeleton of each word of a service's Greek name (rank 10) and synonyms
(rank 11). The schema does not change; the upgrade adds these rows for the
services saved before it, the downgrade removes them. The folding and the
skeleton are copies of ``catalog/search/index.py`` and
``catalog/search/greeklish.py`` as they are at this revision, so that later
changes to the application don't change what this migration does. Both bump
the catalog revision, so no process keeps serving results cached before.
"""
import re
import secrets
import unicodedata

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

WORD_LENGTH = 64
GREEKLISH = 'el-latn'
FIELDS = {'name': 10, 'synonyms': 11}  # field → rank of its skeletons
_NON_WORD = re.compile(r"[^\w]+|_")

_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
service = sa.table('service', sa.column('id', sa.Integer()),
                   *[sa.column(field, _json) for field in FIELDS])
search_word = sa.table('service_search_word', sa.column('language', sa.String()),
                       sa.column('word', sa.String()), sa.column('service_id', sa.Integer()),
                       sa.column('rank', sa.Integer()))
catalog_revision = sa.table('catalog_revision', sa.column('id', sa.Integer()),
                            sa.column('revision', sa.BigInteger()))


def fold(text):
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = bare.casefold().replace("ς", "σ")
    return " ".join(_NON_WORD.sub(" ", folded).split())


_LATIN_VOWELS = frozenset("aeiouyw")
_VOICELESS = "tkpsfx8"
_GREEK_PAIRS = {"ου": "u", "οι": "i", "ει": "i", "υι": "i", "αι": "e",
                "αυ": "ab", "ευ": "eb", "ηυ": "ib", "γγ": "g", "γκ": "g", "γχ": "gx",
                "μπ": "b", "ντ": "d"}
_GREEK = dict(zip("αβγδεζηθικλμνξοπρστυφχψω",
                  ["a", "b", "g", "d", "e", "z", "i", "8", "i", "k", "l", "m", "n", "x", "o",
                   "p", "r", "s", "t", "i", "f", "x", "ps", "o"]))
_LATIN_PAIRS = {"ou": "u", "oy": "u", "ei": "i", "oi": "i", "yi": "i", "ui": "i", "ai": "e",
                "au": "ab", "ay": "ab", "eu": "eb", "ey": "eb", "ks": "x", "mp": "b",
                "mb": "b", "nt": "d", "nd": "d", "gk": "g", "ng": "g", "nk": "g"}
_LATIN = {"y": "i", "u": "i", "w": "o", "v": "b", "c": "k", "q": "k", "j": "g", "3": "x",
          "8": "8"}
_AFTER = [(re.compile(r"(?<=[ae])b(?=[" + _VOICELESS + "])"), "f"),
          (re.compile(r"mp|mb"), "b"), (re.compile(r"n[td]"), "d"), (re.compile(r"ng|gk|nk"), "g"),
          (re.compile(r"ks"), "x"), (re.compile(r"oi"), "i"), (re.compile(r"(.)\1+"), r"\1")]
_LATIN_LETTER = re.compile(r"[a-z]")


def _h_pair(word, i):
    first, after = word[i], word[i + 2:i + 3]
    if first == "c":
        return "x"
    if after and (after in _LATIN_VOWELS or after == "r" or after == "l" and first != "t"):
        return {"t": "8", "p": "f", "k": "x"}[first]
    return None


def skeleton(word):
    out = []
    i, size = 0, len(word)
    digits_are_letters = _LATIN_LETTER.search(word) is not None
    while i < size:
        char, pair = word[i], word[i:i + 2]
        if pair in _GREEK_PAIRS:
            out.append(_GREEK_PAIRS[pair])
            i += 2
        elif char in _GREEK:
            out.append(_GREEK[char])
            i += 1
        elif pair in _LATIN_PAIRS:
            out.append(_LATIN_PAIRS[pair])
            i += 2
        elif char in "tpkc" and word[i + 1:i + 2] == "h" and (letter := _h_pair(word, i)):
            out.append(letter)
            i += 2
        elif char == "h":
            following = word[i + 1:i + 2]
            out.append("x" if following and following in _LATIN_VOWELS else "i")
            i += 1
        elif char in _LATIN and (char.isalpha() or digits_are_letters):
            out.append(_LATIN[char])
            i += 1
        else:
            out.append(char)
            i += 1
    result = "".join(out)
    for pattern, replacement in _AFTER:
        result = pattern.sub(replacement, result)
    return result


def _rows(row):
    """The Greeklish rows of one service: the skeletons of its Greek name and synonyms."""
    wanted = set()
    for field, rank in FIELDS.items():
        text = (getattr(row, field) or {}).get('el')
        if isinstance(text, list):
            text = " ".join(text)
        for word in fold(text).split():
            wanted.add((skeleton(word)[:WORD_LENGTH], rank))
    return [{'language': GREEKLISH, 'word': word, 'service_id': row.id, 'rank': rank}
            for word, rank in sorted(wanted)]


def _new_revision(conn):
    conn.execute(catalog_revision.update().where(catalog_revision.c.id == 1)
                 .values(revision=secrets.randbits(62)))


def upgrade():
    conn = op.get_bind()
    # Rows the application may have written already (it ran this code before the upgrade).
    conn.execute(search_word.delete().where(search_word.c.language == GREEKLISH))
    pending = []
    for row in conn.execute(sa.select(service).order_by(service.c.id)).all():
        pending.extend(_rows(row))
        if len(pending) >= 2000:
            conn.execute(search_word.insert(), pending)
            pending = []
    if pending:
        conn.execute(search_word.insert(), pending)
    _new_revision(conn)


def downgrade():
    conn = op.get_bind()
    conn.execute(search_word.delete().where(search_word.c.language == GREEKLISH))
    _new_revision(conn)
