"""Runs Alembic migrations from code, so `supportbot migrate` and `supportbot run` need no alembic.ini.

Alembic (and through it mako and pygments) costs most of a second to import, so it is imported only when the
database is behind: a database already at the newest revision is recognised by reading `alembic_version` with
plain SQLAlchemy and comparing it to the head found by reading the revision files as text.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import refusal_reason

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for the bundled migrations, needing no alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's options go through ConfigParser, where `%` starts an interpolation: a percent-encoded password
    # (`p%40ss`) must reach it doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


@cache
def head_revision(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The newest revision id, read from the revision files as text; None when that is not one clear answer
    (several heads, a merge, a file this reading does not understand), and then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            return None  # a merge revision (a tuple of parents): leave it to Alembic
        revisions.add(revision)
        if down is not None:
            parents.add(down)
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


async def current_revision(connection: AsyncConnection) -> str | None:
    """The revision the database is at, or None when it has never been migrated (no `alembic_version`)."""
    def read(sync: object) -> str | None:
        from sqlalchemy import inspect

        if not inspect(sync).has_table("alembic_version"):
            return None
        rows = sync.execute(text("SELECT version_num FROM alembic_version")).scalars().all()  # type: ignore[attr-defined]
        return str(rows[0]) if len(rows) == 1 else None
    return await connection.run_sync(read)


async def is_at_head(engine: AsyncEngine) -> bool:
    """True when the database is at the newest revision, known without importing Alembic."""
    head = head_revision()
    if head is None:
        return False
    async with engine.connect() as connection:
        return await current_revision(connection) == head


class DatabaseRefused(Exception):
    """The database could not be brought to the newest schema; the message says why in a few words."""


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Migrate through an existing engine, so in-process callers share its connection settings; raises
    DatabaseRefused ("the database is read-only", "disk full", ...) when the database will not take it.
    A database already at the newest revision costs one read, and Alembic is not imported."""
    try:
        if await is_at_head(engine):
            return
        config = alembic_config(engine.url.render_as_string(hide_password=False))

        def run(connection: object) -> None:
            from alembic import command

            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with engine.begin() as connection:
            await connection.run_sync(run)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseRefused(refusal_reason(exc) or f"it did not answer ({type(exc).__name__})") from exc
