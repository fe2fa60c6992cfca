"""versions: a row version on every object edited through a form

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

Each of these tables gets a ``version`` integer that SQLAlchemy's
``version_id_col`` increments on every UPDATE and checks in its WHERE clause,
so that a save made from a form opened at an older version (or a concurrent
flush of the same row) is refused instead of silently reverting the other
person's change. Existing rows start at 1.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ('office', 'service', 'opening_rule', 'closure', 'counter', 'staff_user')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
