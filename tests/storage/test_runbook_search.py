"""Runbook search on both databases, for real: FTS5 with bm25() on SQLite and a tsvector with ts_rank() on a
throwaway PostgreSQL. An entry written for the symptom outranks one that mentions a word once in its steps;
PostgreSQL stems English; FTS5 syntax typed by people is only ever words; the migration goes up and down."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import RunbookEntry
from storage.db import create_engine, create_sessionmaker
from storage.migrate import alembic_config, upgrade_to_head
from storage.repositories import runbook
from tests.postgres import postgres_server

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

SSO = RunbookEntry(slug="sso-drift", title="SSO login fails after IdP certificate rotation",
                   symptoms="SSO login loop, signature invalid, certificate rotated",
                   steps="1. Compare the certificate fingerprints.\n2. Upload the new certificate.",
                   workaround="Owners sign in with a password.")
WEBHOOKS = RunbookEntry(slug="webhooks", title="Webhook retry exhaustion",
                        symptoms="webhook deliveries failing, retries exhausted",
                        steps="1. Open the delivery log.\n2. If the customer also reports an SSO login problem, "
                              "treat it separately.\n3. Replay failed deliveries.")
CACHE = RunbookEntry(slug="cache", title="Cache invalidation after a plan change",
                     symptoms="old plan shown after upgrading, stale limits",
                     steps="1. Refresh entitlements.\n2. Ask the customer to sign out and in.")
# A runbook is dozens of pages: with only three, every word is in half of them and BM25's IDF says nothing.
OTHERS = [RunbookEntry(slug=f"other-{i}", title=title, symptoms=symptoms, steps=steps) for i, (title, symptoms, steps)
          in enumerate([("Password reset email never arrives", "no reset email, spam folder", "1. Check suppressions."),
                        ("CSV export times out", "export spinner, 504 on export", "1. Export a smaller range."),
                        ("Two-factor codes rejected", "2FA code invalid, clock skew", "1. Check the phone's time."),
                        ("API answers 429", "rate limited, too many requests", "1. Read Retry-After."),
                        ("Dashboard loads slowly", "slow charts, timeouts on reports", "1. Narrow the date range.")])]

HOSTILE = ['"', '""', 'sso"', 'login*', '*', 'NEAR(sso login)', 'sso NEAR login', '-sso', 'sso -login', 'NOT sso',
           'sso AND', 'OR', '(sso', 'title:sso', '^sso', "sso's login", '{title symptoms}: sso', "'; DROP TABLE x --",
           'sso + login', '💥 sso', '\x00sso', 'ﬁ ligature']


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated database of each kind, holding the three entries."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'runbook.db'}")
    await upgrade_to_head(engine)
    async with create_sessionmaker(engine).begin() as session:
        for entry in (WEBHOOKS, SSO, CACHE, *OTHERS):
            assert await runbook.upsert_entry(session, entry, now=NOW) == "added"
    yield engine
    await engine.dispose()


async def _titles(engine: AsyncEngine, query: str, limit: int = 3) -> list[str]:
    async with create_sessionmaker(engine)() as session:
        return [m.entry.title for m in await runbook.search(session, query, limit)]


async def test_an_entry_written_for_the_symptom_outranks_a_mention_in_the_steps(engine: AsyncEngine) -> None:
    assert await _titles(engine, "sso login") == [SSO.title, WEBHOOKS.title]
    async with create_sessionmaker(engine)() as session:
        found = await runbook.search(session, "SSO login problem", 3)
    assert found[0].rank > found[1].rank > 0  # the rank grows with relevance on both databases
    assert found[0].entry == SSO


async def test_any_word_matches_and_unknown_words_find_nothing(engine: AsyncEngine) -> None:
    assert await _titles(engine, "my plan looks stale, zzzunknown") == [CACHE.title]
    assert await _titles(engine, "zzzunknown qqqnothing") == []
    assert await _titles(engine, "the and of") == []  # only stop words: nothing to look for
    assert await _titles(engine, "   ") == []
    assert await _titles(engine, "sso", limit=1) == [SSO.title]


async def test_stemming_finds_other_forms_of_a_word(engine: AsyncEngine) -> None:
    # "rotating" and "rotated", "upgrades" and "upgrading": Porter on SQLite, the English dictionary on PostgreSQL.
    assert (await _titles(engine, "rotating certificates"))[0] == SSO.title
    assert (await _titles(engine, "customer upgrades"))[0] == CACHE.title


@pytest.mark.parametrize("typed", HOSTILE)
async def test_query_syntax_in_what_people_type_never_breaks_the_search(engine: AsyncEngine, typed: str) -> None:
    found = await _titles(engine, typed)
    if "sso" in typed.lower():
        assert found and found[0] == SSO.title
    else:
        assert isinstance(found, list)


async def test_updates_are_searched_and_the_old_words_are_not(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    changed = RunbookEntry(slug="cache", title=CACHE.title, symptoms="entitlements frozen", steps="1. Refresh.")
    async with sessions.begin() as session:
        assert await runbook.upsert_entry(session, changed, now=NOW) == "updated"
        assert await runbook.upsert_entry(session, changed, now=NOW) == "unchanged"
        # Same title in another case, another slug: the same entry.
        renamed = RunbookEntry(slug="cache-2", title=CACHE.title.upper(), symptoms="entitlements frozen",
                               steps="1. Refresh.")
        assert await runbook.upsert_entry(session, renamed, now=NOW) == "updated"
        assert await runbook.count_entries(session) == 3 + len(OTHERS)
    assert await _titles(engine, "frozen entitlements") == [CACHE.title.upper()]
    assert await _titles(engine, "stale upgrading") == []


def test_the_fts5_query_quotes_every_token() -> None:
    assert runbook.search_terms('Login* "loop" NEAR(sso) -x the a') == ["login", "loop", "near", "sso"]
    assert runbook.fts5_query(["login", "near"]) == '"login" OR "near"'
    assert len(runbook.search_terms(" ".join(f"w{i}" for i in range(100)))) == runbook.MAX_TERMS


async def test_the_migration_builds_the_index_and_takes_it_away(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "0008")
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await runbook.upsert_entry(session, SSO, now=NOW)
    finally:
        await engine.dispose()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT rowid FROM runbook_search WHERE runbook_search MATCH 'certificate'").fetchall()
        db.execute("DELETE FROM runbook_entries")
        assert not db.execute("SELECT rowid FROM runbook_search WHERE runbook_search MATCH 'certificate'").fetchall()
    await asyncio.to_thread(command.downgrade, config, "0007")
    with sqlite3.connect(path) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert not {n for n in names if n.startswith("runbook")}
