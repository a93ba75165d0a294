"""Runs Alembic migrations from code, so `supportbot migrate` and `supportbot run` need no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import refusal_reason

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for the bundled migrations, needing no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's options go through ConfigParser, where `%` starts an interpolation: a percent-encoded password
    # (`p%40ss`) must reach it doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


class DatabaseRefused(Exception):
    """The database could not be brought to the newest schema; the message says why in a few words."""


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Migrate through an existing engine, so in-process callers share its connection settings; raises
    DatabaseRefused ("the database is read-only", "disk full", ...) when the database will not take it."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: object) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseRefused(refusal_reason(exc) or f"it did not answer ({type(exc).__name__})") from exc
