"""runbook: entries imported from Markdown, and a full-text index over them

SQLite: an external-content FTS5 table (`runbook_search`, Porter stemming) kept in step with `runbook_entries`
by triggers, so no writer can forget it; ranked with bm25(). PostgreSQL: a generated `tsvector` column
(`search`, English stemming, title and symptoms weighted above the steps) with a GIN index; ranked with
ts_rank().

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_COLUMNS = "title, symptoms, steps, workaround"

# Weights A (title, symptoms) > B (workaround) > D (steps): an entry written for the symptom beats one that
# mentions the word once on the way.
_PG_SEARCH = ("setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
              "setweight(to_tsvector('english', coalesce(symptoms, '')), 'A') || "
              "setweight(to_tsvector('english', coalesce(workaround, '')), 'B') || "
              "setweight(to_tsvector('english', coalesce(steps, '')), 'D')")


def upgrade() -> None:
    op.create_table(
        'runbook_entries',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('slug', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('symptoms', sa.Text(), nullable=False, server_default=''),
        sa.Column('steps', sa.Text(), nullable=False),
        sa.Column('workaround', sa.Text(), nullable=True),
        sa.Column('source', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('slug', name='uq_runbook_entries_slug'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"ALTER TABLE runbook_entries ADD COLUMN search tsvector GENERATED ALWAYS AS ({_PG_SEARCH}) "
                   "STORED")
        op.execute("CREATE INDEX ix_runbook_entries_search ON runbook_entries USING GIN (search)")
        return
    op.execute(f"CREATE VIRTUAL TABLE runbook_search USING fts5({_COLUMNS}, content='runbook_entries', "
               "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')")
    # External content: FTS5 keeps only the index, so every change to a row is told to it, old values first.
    new = "new.id, new.title, new.symptoms, new.steps, new.workaround"
    old = "'delete', old.id, old.title, old.symptoms, old.steps, old.workaround"
    op.execute(f"CREATE TRIGGER runbook_entries_ai AFTER INSERT ON runbook_entries BEGIN "
               f"INSERT INTO runbook_search (rowid, {_COLUMNS}) VALUES ({new}); END")
    op.execute(f"CREATE TRIGGER runbook_entries_ad AFTER DELETE ON runbook_entries BEGIN "
               f"INSERT INTO runbook_search (runbook_search, rowid, {_COLUMNS}) VALUES ({old}); END")
    op.execute(f"CREATE TRIGGER runbook_entries_au AFTER UPDATE ON runbook_entries BEGIN "
               f"INSERT INTO runbook_search (runbook_search, rowid, {_COLUMNS}) VALUES ({old}); "
               f"INSERT INTO runbook_search (rowid, {_COLUMNS}) VALUES ({new}); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        for trigger in ('runbook_entries_au', 'runbook_entries_ad', 'runbook_entries_ai'):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS runbook_search")
    op.drop_table('runbook_entries')
