"""booking: appointments, their manage tokens, the seat ledger and the per-citizen cap

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

``seat_claim`` has one row per taken seat of a slot under a unique
constraint: the database, not a count, refuses a second booking of a seat
(see ``citizen_desk/booking/models.py``). ``booking_cap`` does the same for
a citizen's future bookings of a service. Offices get two switches: double
opt-in by e-mail and the proof-of-work challenge.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appointment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('pool', sa.String(length=8), nullable=False),
    sa.Column('lane', sa.Integer(), nullable=False),
    sa.Column('seat_no', sa.Integer(), nullable=False),
    sa.Column('start_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'confirmed', 'cancelled', 'expired', 'attended', 'no_show', name='appointment_status', native_enum=False, length=16), nullable=False),
    sa.Column('channel', sa.Enum('online', 'phone', 'counter', 'ngo', 'api', name='appointment_channel', native_enum=False, length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('identifiers', sa.JSON(), nullable=False),
    sa.Column('needs', sa.JSON(), nullable=False),
    sa.Column('booked_by_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('confirm_by_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sequence', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cancelled_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('reminder_sent_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("pool IN ('public', 'staff', 'ngo')", name=op.f('ck_appointment_pool_known')),
    sa.CheckConstraint('end_dt > start_dt', name=op.f('ck_appointment_end_after_start')),
    sa.ForeignKeyConstraint(['booked_by_id'], ['staff_user.id'], name=op.f('fk_appointment_booked_by_id_staff_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_appointment_office_id_office')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_appointment_organisation_id_organisation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_appointment_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment')),
    sa.UniqueConstraint('code', name=op.f('uq_appointment_code')),
    sa.UniqueConstraint('uid', name=op.f('uq_appointment_uid'))
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_office_id'), ['office_id'], unique=False)
        batch_op.create_index('ix_appointment_office_id_start_dt', ['office_id', 'start_dt'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_service_id'), ['service_id'], unique=False)

    op.create_table('appointment_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_appointment_token_appointment_id_appointment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_appointment_token_token_hash'))
    )
    with op.batch_alter_table('appointment_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_token_appointment_id'), ['appointment_id'], unique=False)

    op.create_table('booking_cap',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('pool', sa.String(length=8), nullable=False),
    sa.Column('citizen_key', sa.String(length=300), nullable=False),
    sa.Column('slot_no', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('until_dt', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_booking_cap_appointment_id_appointment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_booking_cap_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_cap')),
    sa.UniqueConstraint('service_id', 'pool', 'citizen_key', 'slot_no', name='uq_booking_cap_slot')
    )
    with op.batch_alter_table('booking_cap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_cap_appointment_id'), ['appointment_id'], unique=False)

    op.create_table('seat_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('lane', sa.Integer(), nullable=False),
    sa.Column('pool', sa.String(length=8), nullable=False),
    sa.Column('start_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seat_no', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('hold_key', sa.String(length=64), nullable=True),
    sa.Column('expires_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("pool IN ('public', 'staff', 'ngo')", name=op.f('ck_seat_claim_pool_known')),
    sa.CheckConstraint('seat_no >= 0', name=op.f('ck_seat_claim_seat_no_positive')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_seat_claim_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_seat_claim_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_claim')),
    sa.UniqueConstraint('office_id', 'lane', 'pool', 'start_dt', 'seat_no', name='uq_seat_claim_seat')
    )
    with op.batch_alter_table('seat_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seat_claim_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_seat_claim_hold_key'), ['hold_key'], unique=False)
        batch_op.create_index('ix_seat_claim_office_pool_start', ['office_id', 'pool', 'start_dt'], unique=False)

    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_by_email', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('proof_of_work', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('proof_of_work')
        batch_op.drop_column('confirm_by_email')

    with op.batch_alter_table('seat_claim', schema=None) as batch_op:
        batch_op.drop_index('ix_seat_claim_office_pool_start')
        batch_op.drop_index(batch_op.f('ix_seat_claim_hold_key'))
        batch_op.drop_index(batch_op.f('ix_seat_claim_appointment_id'))

    op.drop_table('seat_claim')
    with op.batch_alter_table('booking_cap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_cap_appointment_id'))

    op.drop_table('booking_cap')
    with op.batch_alter_table('appointment_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_token_appointment_id'))

    op.drop_table('appointment_token')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_service_id'))
        batch_op.drop_index(batch_op.f('ix_appointment_organisation_id'))
        batch_op.drop_index('ix_appointment_office_id_start_dt')
        batch_op.drop_index(batch_op.f('ix_appointment_office_id'))

    op.drop_table('appointment')
