"""queue: tickets, their per office/prefix/day numbering row, and who holds each counter

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27

``ticket_sequence`` is the row an atomic upsert increments for every ticket
issued (``citizen_desk/queue/models.py``); ``ticket`` carries a unique
idempotency key per office and a unique appointment (one check-in each).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ticket_sequence',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=2), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.CheckConstraint('last >= 0', name=op.f('ck_ticket_sequence_last_positive')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_ticket_sequence_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_id', 'prefix', 'day', name=op.f('pk_ticket_sequence'))
    )
    op.create_table('counter_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('started_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paused', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['counter_id'], ['counter.id'], name=op.f('fk_counter_session_counter_id_counter'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_counter_session_user_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_session')),
    sa.UniqueConstraint('counter_id', name=op.f('uq_counter_session_counter_id'))
    )
    with op.batch_alter_table('counter_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counter_session_user_id'), ['user_id'], unique=False)

    op.create_table('ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=43), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=2), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('walk_in', 'appointment', 'staff', name='ticket_kind', native_enum=False, length=16), nullable=False),
    sa.Column('priority', sa.String(length=32), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('needs', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'called', 'serving', 'done', 'no_show', 'transferred', 'cancelled', 'expired', name='ticket_status', native_enum=False, length=16), nullable=False),
    sa.Column('issued_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('called_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('serving_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recalls', sa.Integer(), server_default='0', nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('called_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('length(prefix) BETWEEN 1 AND 2', name=op.f('ck_ticket_prefix_length')),
    sa.CheckConstraint('recalls >= 0', name=op.f('ck_ticket_recalls_positive')),
    sa.CheckConstraint('seq >= 1', name=op.f('ck_ticket_seq_positive')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_ticket_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['called_by_id'], ['staff_user.id'], name=op.f('fk_ticket_called_by_id_staff_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['counter_id'], ['counter.id'], name=op.f('fk_ticket_counter_id_counter'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_ticket_office_id_office')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_ticket_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_ticket_appointment_id')),
    sa.UniqueConstraint('office_id', 'day', 'number', name='uq_ticket_office_day_number'),
    sa.UniqueConstraint('office_id', 'idempotency_key', name='uq_ticket_office_idempotency'),
    sa.UniqueConstraint('public_id', name=op.f('uq_ticket_public_id'))
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_counter_id'), ['counter_id'], unique=False)
        batch_op.create_index('ix_ticket_office_status_service', ['office_id', 'status', 'service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_service_id'), ['service_id'], unique=False)



def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_service_id'))
        batch_op.drop_index('ix_ticket_office_status_service')
        batch_op.drop_index(batch_op.f('ix_ticket_counter_id'))

    op.drop_table('ticket')
    with op.batch_alter_table('counter_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counter_session_user_id'))

    op.drop_table('counter_session')
    op.drop_table('ticket_sequence')
