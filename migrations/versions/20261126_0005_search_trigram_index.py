"""search trigram index

A pg_trgm GIN index lets PostgreSQL answer the catalog search's
LIKE '%word%' from an index. pg_trgm is a trusted extension (PostgreSQL 13+):
the database owner may create it. SQLite has no such index and scans.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_service_search_text_trigram", "service_search_text", ["text"],
                    unique=False, postgresql_using="gin",
                    postgresql_ops={"text": "gin_trgm_ops"})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_service_search_text_trigram", table_name="service_search_text",
                  postgresql_using="gin")
