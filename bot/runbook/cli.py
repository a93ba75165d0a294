"""`supportbot runbook import <folder>`: the import with a progress bar, then what was added, updated and skipped."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.core.clock import SystemClock
from bot.runbook.service import ImportReport, RunbookService, runbook_files
from storage.db import create_engine, create_sessionmaker, is_sqlite
from storage.migrate import upgrade_to_head


def summary_lines(report: ImportReport, *, folder: str) -> list[str]:
    """The import's outcome for the operator: the counts, then each title added or updated and each skipped file
    with why."""
    lines = [f"runbook import from {folder}: {len(report.added)} added, {len(report.updated)} updated, "
             f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped"]
    # Unchanged pages are only counted: re-importing a whole export would otherwise bury what changed.
    for word, done in (("added", report.added), ("updated", report.updated)):
        lines += [f"  {word}: {title} ({source})" for title, source in done]
    lines += [f"  skipped: {source}: {reason}" for source, reason in report.skipped]
    return lines


async def import_runbook(folder: Path, *, database_url: str, out: TextIO | None = None,
                         err: TextIO | None = None) -> int:
    """Imports the folder into the database (migrating SQLite first, as `run` does); prints the summary and
    returns the exit code: 0 when it ran (skipped files are reported, not failures), 2 without a folder."""
    out, err = out or sys.stdout, err or sys.stderr
    if not await asyncio.to_thread(folder.is_dir):
        print(f"supportbot: {folder} is not a folder of Markdown files", file=err)
        return 2
    engine = create_engine(database_url)
    try:
        # SQLite is embedded and kept current by the bot itself; PostgreSQL is migrated by its operator.
        if is_sqlite(database_url):
            await upgrade_to_head(engine)
        service = RunbookService(sessions=create_sessionmaker(engine), clock=SystemClock())
        console = Console(file=err)
        # Off when nobody watches (CI, a pipe): a bar redrawn into a log file is only noise.
        with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                      console=console, disable=not console.is_terminal, transient=True) as bar:
            task = bar.add_task("", total=len(await asyncio.to_thread(runbook_files, folder)))
            report = await service.import_folder(
                folder, progress=lambda path: bar.update(task, advance=1, description=path.name))
    finally:
        await engine.dispose()
    print("\n".join(summary_lines(report, folder=str(folder))), file=out)
    return 0
