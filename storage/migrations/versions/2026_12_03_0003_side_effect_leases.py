"""side effects get a lease: a claim ends, so a stop mid-way leaves the effect to the next attempt

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('side_effects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index('ix_side_effects_due', ['done_at', 'claimed_until'], unique=False)
    # Every earlier row was claimed by an attempt that had no lease. Those not done were left by a process
    # that stopped mid-way (the card or kickoff that was never posted): due at once, and looked up first.
    op.execute("UPDATE side_effects SET attempts = 1")


def downgrade() -> None:
    with op.batch_alter_table('side_effects', schema=None) as batch_op:
        batch_op.drop_index('ix_side_effects_due')
        batch_op.drop_column('attempts')
        batch_op.drop_column('claimed_until')
