"""Runbook entries and their full-text search: FTS5 `MATCH` ranked by `bm25()` on SQLite, a `tsvector` ranked by
`ts_rank()` on PostgreSQL (migration 0008 builds both).

What people type never reaches either engine as query syntax: it is cut into word tokens, each one quoted (FTS5)
or handed to `plainto_tsquery` as a bound value (PostgreSQL), and the tokens are OR-ed, so quotes, `*`, `NEAR`,
`-`, `AND` or a stray parenthesis are words at most and never an error.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import RunbookEntry, RunbookMatch
from storage.models import RunbookEntryRow
from storage.repositories._upsert import insert_ignoring_conflicts, rows_affected

Outcome = Literal["added", "updated", "unchanged"]

# A ticket's summary and "what happened" are sentences: without these, "the" and "is" would match every entry.
_STOPWORDS_TEXT = ("a an and are as at be been but by can cannot could did do does for from had has have he her his "
                   "how i if in into is it its me my no not of on or our she so that the their them then there they "
                   "this to too us was we were what when where which who why will with would you your")
STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))
# Enough words for a ticket's summary and first lines; a pasted log would only make the query slow.
MAX_TERMS = 32
# Title and symptoms say what an entry is for; a word in the workaround counts more than one in the steps.
_BM25_WEIGHTS = "10.0, 8.0, 1.0, 2.0"  # title, symptoms, steps, workaround (the FTS5 column order)


def search_terms(words: str) -> list[str]:
    """The distinct word tokens of what was typed, lowercased, without stop words or single letters."""
    seen: dict[str, None] = {}
    for token in re.findall(r"\w+", words.lower()):
        if len(token) > 1 and token not in STOPWORDS:
            seen.setdefault(token)
    return list(seen)[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 query matching any of the terms: each a quoted string (so no term is ever an operator)."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _entry(row: Any) -> RunbookEntry:
    return RunbookEntry(slug=row.slug, title=row.title, symptoms=row.symptoms, steps=row.steps,
                        workaround=row.workaround, source=row.source)


async def search(session: AsyncSession, query: str, limit: int = 3) -> list[RunbookMatch]:
    """The entries best matching the words in `query`, best first (at most `limit`); [] when no word counts."""
    terms = search_terms(query)
    if not terms or limit < 1:
        return []
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        # `||` of tsqueries is OR; each plainto_tsquery takes one bound token, stemmed by the English dictionary.
        names = [f"t{i}" for i in range(len(terms))]
        tsquery = " || ".join(f"plainto_tsquery('english', :{name})" for name in names)
        statement = text(
            f"WITH q AS (SELECT ({tsquery}) AS query) "
            "SELECT e.slug, e.title, e.symptoms, e.steps, e.workaround, e.source, ts_rank(e.search, q.query) AS score "
            "FROM runbook_entries e, q WHERE e.search @@ q.query ORDER BY score DESC, e.id LIMIT :limit")
        params: dict[str, Any] = dict(zip(names, terms, strict=True))
        rows = (await session.execute(statement, {**params, "limit": limit})).all()
        return [RunbookMatch(entry=_entry(row), rank=float(row.score)) for row in rows]
    statement = text(
        "SELECT e.slug, e.title, e.symptoms, e.steps, e.workaround, e.source, "
        f"bm25(runbook_search, {_BM25_WEIGHTS}) AS score "
        "FROM runbook_search JOIN runbook_entries e ON e.id = runbook_search.rowid "
        "WHERE runbook_search MATCH :query ORDER BY score, e.id LIMIT :limit")
    rows = (await session.execute(statement, {"query": fts5_query(terms), "limit": limit})).all()
    # bm25() is lower for better matches; the rank handed on grows with relevance, as ts_rank does.
    return [RunbookMatch(entry=_entry(row), rank=-float(row.score)) for row in rows]


async def upsert_entry(session: AsyncSession, entry: RunbookEntry, *, now: datetime) -> Outcome:
    """Adds the entry, or updates the one with the same slug (else the same title, in any case); "unchanged"
    when that one says exactly this already.

    The unique slug decides a race, not the look-up: the same modal delivered to two replicas at once finds
    nothing on both, and the one whose insert lost finds its twin's entry and leaves it "unchanged"."""
    found = await _same_entry(session, entry)
    values = {"slug": entry.slug, "title": entry.title, "symptoms": entry.symptoms, "steps": entry.steps,
              "workaround": entry.workaround, "source": entry.source}
    if found is None:
        inserted = await session.execute(insert_ignoring_conflicts(
            session, RunbookEntryRow.__table__, {**values, "updated_at": now}, ["slug"]))  # type: ignore[arg-type]
        if rows_affected(inserted):
            return "added"
        found = await _same_entry(session, entry)
        assert found is not None, "the insert clashed on a slug no row has"
    if all(getattr(found, key) == value for key, value in values.items() if key != "source"):
        return "unchanged"
    for key, value in values.items():
        setattr(found, key, value)
    found.updated_at = now
    await session.flush()
    return "updated"


async def _same_entry(session: AsyncSession, entry: RunbookEntry) -> RunbookEntryRow | None:
    return (await session.scalars(
        select(RunbookEntryRow)
        .where(or_(RunbookEntryRow.slug == entry.slug, func.lower(RunbookEntryRow.title) == entry.title.lower()))
        .order_by(case((RunbookEntryRow.slug == entry.slug, 0), else_=1)).limit(1)
        .execution_options(populate_existing=True))).first()


async def get_entry(session: AsyncSession, *, slug: str) -> RunbookEntry | None:
    """The entry with this slug, or None."""
    row = (await session.scalars(select(RunbookEntryRow).where(RunbookEntryRow.slug == slug))).first()
    return _entry(row) if row is not None else None


async def count_entries(session: AsyncSession) -> int:
    """How many entries the runbook holds."""
    return int(await session.scalar(select(func.count()).select_from(RunbookEntryRow)) or 0)
