"""The built-in status page as a customer sees it: rendered by a real headless Chromium at phone size."""

from __future__ import annotations

import asyncio
import shutil
import struct
from pathlib import Path
from typing import Any

import aiohttp

from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import COMMANDER, file_ticket, ticket_values
from tests.conftest import SIGNING_SECRET

SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500",
                        "Request ID": "req_8c1d2e3f", "Category": "Billing"})
PHONE = (390, 844)
# As the machine notes say: without these, Chromium tries the network at start and stalls on a closed one.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", f"--window-size={PHONE[0]},{PHONE[1]}"]


ARTIFACTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def _keep_for_a_person(png: bytes) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "status-page-phone.png").write_bytes(png)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium package is needed for this test (.ci/run installs it)"
    return path


async def _browse(url: str, tmp_path: Path, *extra: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        _chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    return stdout


async def test_the_built_in_status_page_reads_well_on_a_phone(
        start_bot: Any, sandbox: SlackSandbox, tmp_path: Path) -> None:
    bot = await start_bot()  # no Statuspage key: the built-in page
    base = f"http://127.0.0.1:{bot.port}"
    async with SlackDriver(events_url=f"{base}/slack/events", signing_secret=SIGNING_SECRET,
                           sandbox=sandbox) as slack:
        await file_ticket(slack, sandbox, values=SEV1)
        channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
        await sandbox.wait_for(lambda: any("What the bot did" in str(m.blocks) for m in sandbox.history(channel.id)))
    incident = await bot.incidents.get(1)
    from bot.domain import IncidentStatus
    from bot.incidents.status_updates import StatusDraft

    await bot.cadence.announce(await bot.cadence.record(incident.id, StatusDraft(IncidentStatus.IDENTIFIED,
                                                       "We found the cause & are deploying a fix <soon>.", None),
                              by=COMMANDER.user_id, submission_key="browser-test"))

    dom = (await _browse(f"{base}/status", tmp_path, "--dump-dom")).decode()
    assert "1 active incident" in dom
    assert "Service disruption affecting billing" in dom
    assert "We found the cause &amp; are deploying a fix &lt;soon&gt;." in dom  # escaped, shown as typed
    assert "We are investigating reports" in dom  # the history keeps the first update
    for internal in ("ws_4f2a9c", "req_8c1d2e3f", "dana@customer.example", "Checkout returns 500"):
        assert internal not in dom

    shot = tmp_path / "status.png"
    await _browse(f"{base}/status", tmp_path, f"--screenshot={shot}")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == PHONE
    _keep_for_a_person(png)

    async with aiohttp.ClientSession() as http, http.get(f"{base}/status.json") as response:
        page = await response.json()
    assert page["status"] == "major_outage"
    assert [u["status"] for u in page["incidents"][0]["updates"]] == ["identified", "investigating"]
