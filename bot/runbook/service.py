"""Searching the runbook (`/runbook`, the ticket card) and importing Markdown folders into it
(`supportbot runbook import`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks.refusals import agents_only
from bot.core.clock import Clock
from bot.core.slack import Directory
from bot.domain import RunbookEntry, RunbookMatch
from bot.runbook.markdown import Skipped, parse, slugify
from storage.repositories import runbook as repo

SUFFIXES = (".md", ".markdown")
# What `/runbook` shows: enough to choose from, few enough that each entry's steps fit in one message.
SEARCH_LIMIT = 3


@dataclass
class ImportReport:
    """What an import did, file by file: titles added, updated or already so, and files skipped with why."""

    added: list[tuple[str, str]] = field(default_factory=list)  # (title, file)
    updated: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


def runbook_files(folder: Path) -> list[Path]:
    """The Markdown files under `folder`, at any depth (Notion nests pages in folders), in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def read_entry(path: Path, *, source: str) -> RunbookEntry | Skipped:
    """One file as an entry, or why not (not UTF-8 among them)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(f"not UTF-8 (at byte offset {exc.start}; export it again as UTF-8)")
    except OSError as exc:
        return Skipped(f"cannot be read ({exc.strerror or type(exc).__name__})")
    return parse(text, source=source)


class RunbookService:
    """Finds entries by symptom words (only support agents may ask from Slack) and imports folders of pages."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 directory: Directory | None = None, agents_group: str | None = None) -> None:
        self._sessions = sessions
        self._clock = clock
        self._directory = directory
        self._agents = agents_group

    async def refusal_for(self, user_id: str) -> str | None:
        """Why this person may not search the runbook from Slack (only support agents may), or None."""
        if self._directory is None or self._agents is None:
            return None
        if await self._directory.is_member(user_id, self._agents):
            return None
        return agents_only(self._agents, "search the runbook")

    async def search(self, words: str, *, limit: int = SEARCH_LIMIT) -> list[RunbookMatch]:
        """The entries best matching the symptom words, best first."""
        async with self._sessions() as session:
            return await repo.search(session, words, limit)

    async def add_entry(self, *, title: str, keywords: str, steps: str, source: str) -> str:
        """An entry written at closure for a novel troubleshooting path; "added" or "updated"."""
        entry = RunbookEntry(slug=slugify(title) or "entry", title=title, symptoms=keywords, steps=steps,
                             source=source)
        async with self._sessions.begin() as session:
            return await repo.upsert_entry(session, entry, now=self._clock.now())

    async def import_folder(self, folder: Path, *, progress: Callable[[Path], None] | None = None) -> ImportReport:
        """Adds or updates an entry for every Markdown page under `folder`, in one transaction (an import that
        fails half-way changes nothing); `progress` hears of each file as it is done."""
        report = ImportReport()
        seen: dict[str, str] = {}  # slug or lowercased title → the file that brought it in this import
        async with self._sessions.begin() as session:
            for path in await asyncio.to_thread(runbook_files, folder):
                source = path.relative_to(folder).as_posix()
                entry = await asyncio.to_thread(read_entry, path, source=source)  # off the event loop
                if isinstance(entry, Skipped):
                    report.skipped.append((source, entry.reason))
                elif first := seen.get(entry.slug) or seen.get(entry.title.lower()):
                    report.skipped.append((source, f"duplicate of {first} in this import (same title or slug)"))
                else:
                    seen[entry.slug] = seen[entry.title.lower()] = source
                    outcome = await repo.upsert_entry(session, entry, now=self._clock.now())
                    getattr(report, outcome).append((entry.title, source))
                if progress is not None:
                    progress(path)
        return report
