"""tickets: what the live customer check at filing concluded (never the customer data itself)

The requester's verification ("verified", "not_authorized", "unknown"), whether account details must not be
shared (HIPAA or SOC 2 and not verified), and the labels automation rules added.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds them in place (a batch rebuild of `tickets` would fight its foreign keys).
    op.add_column('tickets', sa.Column('requester_verification', sa.String(length=16), nullable=True))
    op.add_column('tickets', sa.Column('share_restricted', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('tickets', sa.Column('labels', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    for column in ('labels', 'share_restricted', 'requester_verification'):
        op.drop_column('tickets', column)
