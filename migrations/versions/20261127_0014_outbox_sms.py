"""outbox: text messages beside mails (a channel per row), for "leave and come back"

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27

An ``outbox_mail`` row with ``channel = 'sms'`` is a text message: the phone
number as its recipient, the text as its body. Existing rows are mails.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='mail',
                                      nullable=False))
        batch_op.create_check_constraint(op.f('ck_outbox_mail_channel_known'),
                                         "channel IN ('mail', 'sms')")


def downgrade():
    op.execute("DELETE FROM outbox_mail WHERE channel = 'sms'")
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_mail_channel_known'), type_='check')
        batch_op.drop_column('channel')
