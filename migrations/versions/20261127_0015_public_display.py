"""office: a public waiting-room display (no device token needed to watch it)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27

``office.public_display``: when true, anyone may open the office's display
page, its state JSON and its event stream (``citizen_desk/display``); they
show ticket numbers and counters only. Off by default: a display then needs
the office's display token or a member of its staff.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_display', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('public_display')
