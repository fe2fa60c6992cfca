"""ticket: an index for the estimate's median of the last hour's service times

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27

``estimate.minutes_per_citizen`` reads the tickets of one service at one
office finished in the last hour. The existing indexes found every ticket of
the service ever served and filtered them: the cost grew with the office's
history (three months of a busy office: 24,000 rows, 10 ms a ticket issued).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_ticket_office_service_finished', 'ticket',
                    ['office_id', 'service_id', 'finished_dt'], unique=False)


def downgrade():
    op.drop_index('ix_ticket_office_service_finished', table_name='ticket')
