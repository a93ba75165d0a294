"""One real `supportbot run` process for tests: its environment, its configuration, start (until /healthz is
200), end by a signal, and its log when something goes wrong."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from tests.conftest import BOT_TOKEN, CONTRACT, ROOT, SIGNING_SECRET, without_webhooks
from tests.ports import free_port as free_port  # re-exported: the fault tests take it from here

# Variables of outside systems a process must not inherit from the developer's shell: each test names its own.
OUTSIDE = ("SLACK_APP_TOKEN", "PAGERDUTY_ROUTING_KEY", "PAGERDUTY_ROUTING_KEY_PAYMENTS", "PAGERDUTY_EVENTS_URL",
           "STATUSPAGE_API_KEY", "STATUSPAGE_PAGE_ID", "STATUSPAGE_API_URL", "JIRA_BASE_URL", "JIRA_EMAIL",
           "JIRA_API_TOKEN", "JIRA_WEBHOOK_SECRET", "CUSTOMER_CONNECTION_URL", "CUSTOMER_CONNECTION_SECRET")


def write_config(folder: Path, *, tick: str, lease: str, extra: str = "", webhooks: bool = False) -> Path:
    """The contract with its scheduler's tick and lease set (and `extra` TOML appended); without the contract's
    [[webhooks]] unless asked, so nothing tries to reach its real-looking URL."""
    text = CONTRACT.read_text() if webhooks else without_webhooks(CONTRACT.read_text())
    text, ticks = re.subn(r'tick = "[^"]+"', f'tick = "{tick}"\nlease = "{lease}"', text)
    assert ticks == 1, "the contract's [scheduler] section moved"
    path = folder / "supportbot.toml"
    path.write_text(f"{text}\n{extra}")
    return path


def bot_env(*, sandbox: SlackSandbox, database_url: str, port: int, config: Path,
            **variables: str) -> dict[str, str]:
    """The process's environment: this test's Slack, database, port and configuration, and `variables`."""
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
    env.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": sandbox.api_url,
                "DATABASE_URL": database_url, "PORT": str(port), "SUPPORTBOT_CONFIG": str(config), **variables})
    return env


class BotProcess:
    """`supportbot run` started and ended by a test; its stderr goes to `log`."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.env = dict(env)
        self.port = int(self.env["PORT"])
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *, within: float = 20.0) -> float:
        """Starts the process and waits for /healthz to say 200; the seconds that took."""
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=self.env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log)
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < started + within:
                assert self.process.returncode is None, f"supportbot run exited; its log ends:\n{self.tail()}"
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return time.monotonic() - started
                await asyncio.sleep(0.05)
        raise AssertionError(f"supportbot run did not answer /healthz within {within} s; its log ends:\n"
                             f"{self.tail()}")

    async def end(self, how: signal.Signals = signal.SIGTERM, *, within: float = 15.0) -> float:
        """Sends the signal and waits for the process to be gone; the seconds that took."""
        process, self.process = self.process, None
        assert process is not None and process.returncode is None, "the process is not running"
        sent = time.monotonic()
        process.send_signal(how)
        try:
            await asyncio.wait_for(process.wait(), within)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"still running {within} s after {how.name}; its log ends:\n{self.tail()}") from None
        return time.monotonic() - sent

    async def kill(self) -> None:
        """SIGKILL if still running (a test's cleanup)."""
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    def tail(self, size: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""

    def driver(self, sandbox: SlackSandbox) -> SlackDriver:
        return SlackDriver(events_url=f"{self.url}/slack/events", signing_secret=SIGNING_SECRET, sandbox=sandbox)

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}/healthz") as response:
            return response.status, await response.json()


@asynccontextmanager
async def bot_process(env: Mapping[str, str], log: Path) -> AsyncIterator[BotProcess]:
    """A BotProcess that is killed at the end if the test left it running."""
    process = BotProcess(env, log)
    try:
        yield process
    finally:
        await process.kill()


async def until(check: Any, what: str, *, within: float, process: BotProcess | None = None,
                every: float = 0.05) -> Any:
    """Polls `check()` (sync or async) until it is truthy; its value. Fails naming `what` and the log's tail."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {within} s" + (f"; the log ends:\n{process.tail()}"
                                                                if process else ""))
        await asyncio.sleep(every)
