"""incident steps as rows: one row per step, keyed by what it is, instead of columns per step

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Which incident column carried what, per step, before this migration.
_OLD = {
    "page": {"external_id": "page_dedup_key", "external_name": None, "external_url": None,
             "closed_at": "page_resolved_at"},
    "channel": {"external_id": "channel_id", "external_name": "channel_name", "external_url": None,
                "closed_at": None},
    "statuspage": {"external_id": "statuspage_incident_id", "external_name": None,
                   "external_url": "statuspage_url", "closed_at": None},
}


def upgrade() -> None:
    op.create_table('incident_steps',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('external_name', sa.String(length=80), nullable=True),
    sa.Column('external_url', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('incident_id', 'step')
    )
    with op.batch_alter_table('incident_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_steps_external_id'), ['external_id'], unique=False)

    # Today's data comes along: the failures so far were only in the audit log, so they are counted from it.
    for step, columns in _OLD.items():
        chosen = ", ".join(f"{columns[c]}" if columns[c] else "NULL" for c in
                           ("external_id", "external_name", "external_url", "closed_at"))
        op.execute(
            "INSERT INTO incident_steps (incident_id, step, state, detail, claimed_until, failures, external_id, "
            f"external_name, external_url, closed_at) SELECT i.id, '{step}', i.{step}_state, i.{step}_detail, "
            f"i.{step}_claimed_until, (SELECT COUNT(*) FROM audit_log a WHERE a.ticket_number = i.ticket_number "
            f"AND a.action = 'incident_{step}_failed'), {chosen} FROM incidents i")

    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): rebuilding `incidents` in batch mode would trip the
    # foreign keys that timers and status updates hold on it.
    for step, columns in _OLD.items():
        for column in (f"{step}_state", f"{step}_detail", f"{step}_claimed_until"):
            op.drop_column('incidents', column)
        for carried in columns.values():
            if carried:
                op.drop_column('incidents', carried)


def downgrade() -> None:
    for step in _OLD:
        op.add_column('incidents', sa.Column(f"{step}_state", sa.String(length=16), nullable=False,
                                             server_default="pending"))
        op.add_column('incidents', sa.Column(f"{step}_detail", sa.Text(), nullable=True))
        op.add_column('incidents', sa.Column(f"{step}_claimed_until", sa.DateTime(), nullable=True))
    op.add_column('incidents', sa.Column('page_dedup_key', sa.String(length=100), nullable=True))
    op.add_column('incidents', sa.Column('page_resolved_at', sa.DateTime(), nullable=True))
    op.add_column('incidents', sa.Column('channel_id', sa.String(length=32), nullable=True))
    op.add_column('incidents', sa.Column('channel_name', sa.String(length=80), nullable=True))
    op.add_column('incidents', sa.Column('statuspage_incident_id', sa.String(length=64), nullable=True))
    op.add_column('incidents', sa.Column('statuspage_url', sa.Text(), nullable=True))
    for step, columns in _OLD.items():
        sets = [f"{step}_state = s.state", f"{step}_detail = s.detail", f"{step}_claimed_until = s.claimed_until"]
        sets += [f"{old} = s.{new}" for new, old in columns.items() if old]
        for assignment in sets:
            target, _, source = assignment.partition(" = s.")
            op.execute(f"UPDATE incidents SET {target} = (SELECT s.{source} FROM incident_steps s "
                       f"WHERE s.incident_id = incidents.id AND s.step = '{step}') "
                       f"WHERE EXISTS (SELECT 1 FROM incident_steps s WHERE s.incident_id = incidents.id "
                       f"AND s.step = '{step}')")
    with op.batch_alter_table('incident_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_steps_external_id'))
    op.drop_table('incident_steps')
