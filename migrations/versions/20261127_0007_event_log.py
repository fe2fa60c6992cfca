"""event log: the append-only table of what happened, followed by displays by id

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

The id is a BIGINT on PostgreSQL and an INTEGER PRIMARY KEY AUTOINCREMENT on
SQLite (the rowid, never reused), because readers resume "after id N".
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_token_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_token_id'], ['access_token.id'], name=op.f('fk_event_actor_token_id_access_token')),
    sa.ForeignKeyConstraint(['actor_user_id'], ['staff_user.id'], name=op.f('fk_event_actor_user_id_staff_user')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_event_office_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sqlite_autoincrement=True
    )
    # Not in a batch: on SQLite a table rebuilt by a batch could lose AUTOINCREMENT.
    op.create_index('ix_event_office_id_id', 'event', ['office_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_event_office_id_id', table_name='event')
    op.drop_table('event')
