"""used_challenge: proof-of-work solutions already spent, so that each is used once

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27

One row per solved ALTCHA challenge presented with a form, keyed by the
challenge's signature (``citizen_desk/core/challenge.py``). Rows of expired
challenges are deleted as new ones come in.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('used_challenge',
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('expires_dt', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('signature', name=op.f('pk_used_challenge'))
    )
    with op.batch_alter_table('used_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_challenge_expires_dt'), ['expires_dt'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('used_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_challenge_expires_dt'))
    op.drop_table('used_challenge')
