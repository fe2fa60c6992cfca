"""search words: folded words searched by prefix instead of folded texts searched with LIKE

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

``LIKE '%word%'`` read every stored text on each search; a table of folded
words lets a query word be a range of a b-tree. The migration fills the new
tables from the existing services (and downgrade fills the old one again),
folding in Python with a copy of the folding of ``catalog/search.py`` as it
is at this revision, so that later changes to the application don't change
what this migration does.
"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

WORD_LENGTH = 64
FIELDS = ('name', 'synonyms', 'summary', 'description')  # ranks 0-3, in this order
RANK_ANY = 9
_NON_WORD = re.compile(r"[^\w]+|_")

_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
service = sa.table('service', sa.column('id', sa.Integer()),
                   *[sa.column(field, _json) for field in FIELDS])
search_word = sa.table('service_search_word', sa.column('language', sa.String()),
                       sa.column('word', sa.String()), sa.column('service_id', sa.Integer()),
                       sa.column('rank', sa.Integer()))
search_name = sa.table('service_search_name', sa.column('service_id', sa.Integer()),
                       sa.column('language', sa.String()), sa.column('name', sa.Text()))
search_text = sa.table('service_search_text', sa.column('service_id', sa.Integer()),
                       sa.column('language', sa.String()), sa.column('rank', sa.Integer()),
                       sa.column('text', sa.Text()))


def fold(text):
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = bare.casefold().replace("ς", "σ")
    return " ".join(_NON_WORD.sub(" ", folded).split())


def _folded_fields(row):
    """``{language: [folded name, synonyms, summary, description]}`` of one service row."""
    values = [getattr(row, field) or {} for field in FIELDS]
    languages = sorted(set().union(*values))
    result = {}
    for language in languages:
        texts = []
        for value in values:
            text = value.get(language)
            texts.append(fold(" ".join(text) if isinstance(text, list) else text))
        result[language] = texts
    return result


def _fill(conn, rows_of):
    """Insert, per table, the rows ``rows_of(service row)`` gives, a few services at a time."""
    pending = {}
    services = conn.execute(sa.select(service).order_by(service.c.id)).all()
    for number, row in enumerate(services, 1):
        for table, rows in rows_of(row):
            pending.setdefault(table, []).extend(rows)
        if number % 200 == 0:
            _flush(conn, pending)
    _flush(conn, pending)


def _flush(conn, pending):
    for table, rows in pending.items():
        if rows:
            conn.execute(table.insert(), rows)
    pending.clear()


def _words_and_names(row):
    words, names = set(), []
    for language, texts in _folded_fields(row).items():
        for rank, text in enumerate(texts):
            words.update((language, word[:WORD_LENGTH], rank) for word in text.split())
        if texts[0]:
            names.append({'service_id': row.id, 'language': language, 'name': texts[0]})
    return [(search_word, [{'language': language, 'word': word, 'service_id': row.id,
                            'rank': rank} for language, word, rank in sorted(words)]),
            (search_name, names)]


def _texts(row):
    rows = []
    for language, texts in _folded_fields(row).items():
        ranked = dict(enumerate(texts))
        ranked[RANK_ANY] = " ".join(text for text in texts if text)
        rows.extend({'service_id': row.id, 'language': language, 'rank': rank, 'text': text}
                    for rank, text in ranked.items() if text)
    return [(search_text, rows)]


def upgrade():
    op.create_table('service_search_word',
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('word', sa.String(length=WORD_LENGTH).with_variant(sa.String(length=WORD_LENGTH, collation='C'), 'postgresql'), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), autoincrement=False, nullable=False),
    sa.CheckConstraint('rank >= 0', name=op.f('ck_service_search_word_rank_positive')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_search_word_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('language', 'word', 'service_id', 'rank', name=op.f('pk_service_search_word'))
    )
    with op.batch_alter_table('service_search_word', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_search_word_service_id'), ['service_id'], unique=False)

    op.create_table('service_search_name',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_search_name_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'language', name=op.f('pk_service_search_name'))
    )
    _fill(op.get_bind(), _words_and_names)

    with op.batch_alter_table('service_search_text', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_search_text_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_search_text_language'))
    op.drop_table('service_search_text')


def downgrade():
    op.create_table('service_search_text',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.CheckConstraint('rank >= 0', name=op.f('ck_service_search_text_rank_positive')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_search_text_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_search_text'))
    )
    with op.batch_alter_table('service_search_text', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_search_text_language'), ['language'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_search_text_service_id'), ['service_id'], unique=False)
    _fill(op.get_bind(), _texts)

    op.drop_table('service_search_name')
    with op.batch_alter_table('service_search_word', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_search_word_service_id'))
    op.drop_table('service_search_word')
