"""`supportbot runbook import`: added, updated, unchanged and skipped (with why) on a real SQLite file, the
progress bar quiet when nobody watches, and the starter runbook importing cleanly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.runbook.cli import import_runbook
from bot.runbook.service import RunbookService
from bot.sandbox.clock import ManualClock
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.repositories import runbook as repo
from tests.conftest import START

STARTER = Path(__file__).resolve().parents[3] / "runbook"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    (folder / "Support space").mkdir(parents=True)
    (folder / "sso.md").write_text("---\ntitle: SSO drift\nkeywords: login loop\n---\n1. Compare fingerprints.\n")
    (folder / "Support space" / "webhooks 3f2a9c.md").write_text("# Webhook retries\n\n1. Replay deliveries.\n")
    (folder / "empty.md").write_text("\n")
    (folder / "notes.md").write_text("no heading here\n")
    (folder / "latin1.md").write_bytes("# Caf\xe9\n\n1. x\n".encode("latin-1"))
    (folder / "sso-copy.md").write_text("# SSO drift\n\n1. Same title, second file.\n")
    (folder / "image.png").write_bytes(b"\x89PNG")  # not a page: not mentioned at all
    return folder


async def test_an_import_adds_updates_and_skips_with_reasons(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_to_head(engine)
    service = RunbookService(sessions=create_sessionmaker(engine), clock=ManualClock(START))
    folder = _folder(tmp_path)
    try:
        seen: list[str] = []
        report = await service.import_folder(folder, progress=lambda path: seen.append(path.name))
        assert [t for t, _ in report.added] == ["Webhook retries", "SSO drift"]
        assert dict(report.skipped) == {
            "empty.md": "empty file",
            "latin1.md": "not UTF-8 (at byte offset 5; export it again as UTF-8)",
            "notes.md": "no title (no `title:` in front matter and no `# heading`)",
            "sso.md": "duplicate of sso-copy.md in this import (same title or slug)",
        }
        assert len(seen) == 6 and "image.png" not in seen

        (folder / "Support space" / "webhooks 3f2a9c.md").write_text("# Webhook retries\n\n1. Replay them all.\n")
        again = await service.import_folder(folder)
        assert [t for t, _ in again.updated] == ["Webhook retries"]
        assert [t for t, _ in again.unchanged] == ["SSO drift"] and not again.added
        async with create_sessionmaker(engine)() as session:
            assert await repo.count_entries(session) == 2
            entry = await repo.get_entry(session, slug="webhook-retries")
        assert entry is not None and entry.steps == "1. Replay them all."
        assert entry.source == "Support space/webhooks 3f2a9c.md"
    finally:
        await engine.dispose()


async def test_the_command_prints_a_summary_and_the_bar_stays_quiet_without_a_terminal(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()  # not a TTY: no bar, no crash
    code = await import_runbook(_folder(tmp_path), database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
                                out=out, err=err)
    assert code == 0 and err.getvalue() == ""
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(": 2 added, 0 updated, 0 unchanged, 4 skipped")
    assert "  added: SSO drift (sso-copy.md)" in lines
    assert "  skipped: empty.md: empty file" in lines
    missing = io.StringIO()
    assert await import_runbook(tmp_path / "nope", database_url="sqlite+aiosqlite://", err=missing) == 2
    assert "is not a folder" in missing.getvalue()


def test_supportbot_runbook_import_loads_the_starter_runbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'starter.db'}")
    assert main(["runbook", "import", str(STARTER)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith(": 5 added, 0 updated, 0 unchanged, 0 skipped"), first
    assert main(["runbook", "import", str(STARTER)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(": 0 added, 0 updated, 5 unchanged, 0 skipped")


async def test_the_starter_runbook_answers_the_common_symptoms(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_to_head(engine)
    service = RunbookService(sessions=create_sessionmaker(engine), clock=ManualClock(START))
    try:
        report = await service.import_folder(STARTER)
        assert not report.skipped and len(report.added) == 5
        expected = {
            "customer upgraded to Business but still sees the old plan limits": "Cache invalidation",
            "SSO login broken for everyone since IT rotated the Okta certificate": "SSO configuration drift",
            "webhooks stopped arriving, delivery log says retries exhausted": "Webhook retry exhaustion",
            "new SAML setup fails with invalid audience": "Misconfigured SAML metadata",
            "Salesforce integration disconnected with invalid_grant": "Expired OAuth refresh tokens",
        }
        for words, title in expected.items():
            found = await service.search(words)
            assert found and found[0].entry.title.startswith(title), (words, [m.entry.title for m in found])
        saml = (await service.search("invalid audience"))[0].entry
        assert saml.workaround is None  # none documented, so none is offered
        assert "Created by" not in saml.steps and "Document generated" not in saml.steps
    finally:
        await engine.dispose()
