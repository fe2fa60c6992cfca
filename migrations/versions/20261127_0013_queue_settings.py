"""queue settings per office; a ticket's contact for "leave and come back"

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27

``office.queue_settings`` holds the call-next policy's knobs, the check-in
windows and the notice thresholds (``citizen_desk/queue/settings.py``);
``ticket.notify_phone`` / ``notify_email`` are erased at day end.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue_settings', sa.JSON(), server_default='{}',
                                      nullable=False))
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('notify_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('near_notified', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_index('ix_ticket_office_day_status', ['office_id', 'day', 'status'])


def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_office_day_status')
        batch_op.drop_column('near_notified')
        batch_op.drop_column('notify_email')
        batch_op.drop_column('notify_phone')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('queue_settings')
