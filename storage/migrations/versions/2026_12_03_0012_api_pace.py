"""api_pace: one row per outside API key (by its hash), the moment its next request may go out

Statuspage allows about one request a second per key; with several replicas the pace has to live where they
all see it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_pace',
                    sa.Column('key_hash', sa.String(length=64), nullable=False),
                    sa.Column('next_at', sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint('key_hash'))


def downgrade() -> None:
    op.drop_table('api_pace')
