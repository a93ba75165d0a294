"""Fixtures shared by every test: the contract configuration, a settable clock, the Slack sandbox, the bot."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import SupportBot
from bot.core.config import BotConfig, EnvSettings, Settings, load_config
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import populate
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from tests.databases import ON_POSTGRES, PostgresDatabases, postgres_databases

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT.parent / "shared" / "contract" / "supportbot.toml"
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-sandbox-token"
# A Monday afternoon in New York: inside business hours, far from any DST change.
START = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
# The contract's [[webhooks]] entry signs with this variable, and `supportbot run` and `check-config` refuse to
# start without it: every `supportbot` process a test starts inherits it. In-process bots are given no webhook
# secret, so their events stay queued in the outbox and nothing tries to reach the contract's bi.example.com.
WEBHOOK_SECRET_ENV = "SUPPORTBOT_WEBHOOK_SECRET"
os.environ.setdefault(WEBHOOK_SECRET_ENV, "test-webhook-secret")

# Every property test draws the same examples on every run: a CI run never meets a new failure by chance (an
# unseeded run once drew a lone surrogate no earlier run had). Exploring new examples is a deliberate act:
# `HYPOTHESIS_PROFILE=explore`.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def without_webhooks(toml: str) -> str:
    """A configuration's text without its [[webhooks]] tables: for `supportbot run` processes, which would
    otherwise deliver to the contract's real-looking URL."""
    return re.sub(r"^\[\[webhooks\]\][^\n]*\n(?:(?!\[)[^\n]*(?:\n|$))*", "", toml, flags=re.MULTILINE)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    """The session's PostgreSQL cluster (SUPPORTBOT_TEST_DATABASE=postgresql only)."""
    with postgres_databases() as databases:
        yield databases


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for this test: a SQLite file, or a PostgreSQL database of its own."""
    if not ON_POSTGRES:
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    with databases.fresh() as url:
        yield url


@pytest_asyncio.fixture
async def migrated_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's database, migrated to head (the repositories' and services' own tests)."""
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(migrated_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on this test's migrated database; a module needing another database defines its own."""
    return create_sessionmaker(migrated_engine)


@pytest.fixture
def postgres_url(postgres: PostgresDatabases) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for a test about replicas, whichever database the suite runs on."""
    with postgres.fresh() as url:
        yield url


@pytest.fixture
def config() -> BotConfig:
    return load_config(CONTRACT)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest_asyncio.fixture
async def sandbox(config: BotConfig) -> AsyncIterator[SlackSandbox]:
    slack = SlackSandbox(bot_token=BOT_TOKEN)
    await slack.start()
    populate(slack, config)
    yield slack
    await slack.stop()


@pytest.fixture
def env_settings(sandbox: SlackSandbox, database_url: str) -> EnvSettings:
    return EnvSettings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                       slack_api_url=sandbox.api_url, database_url=database_url,
                       config_path=str(CONTRACT))


BotFactory = Callable[..., "AsyncIterator[SupportBot]"]


@pytest_asyncio.fixture
async def start_bot(config: BotConfig, env_settings: EnvSettings,
                    clock: ManualClock) -> AsyncIterator[Callable[..., object]]:
    """Starts (and later stops) bots on the same database; call it again to 'restart the process'."""
    running: list[SupportBot] = []

    async def start(**env_overrides: object) -> SupportBot:
        settings = Settings(config=config, env=replace(env_settings, **env_overrides))  # type: ignore[arg-type]
        bot = await SupportBot.create(settings, clock=clock)
        await bot.start(host="127.0.0.1", port=0, scheduler=False)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        await bot.stop()


@pytest_asyncio.fixture
async def bot(start_bot: Callable[..., object]) -> SupportBot:
    return await start_bot()  # type: ignore[no-any-return,misc]


@pytest_asyncio.fixture
async def slack(bot: SupportBot, sandbox: SlackSandbox) -> AsyncIterator[SlackDriver]:
    driver = SlackDriver(events_url=f"http://127.0.0.1:{bot.port}/slack/events", signing_secret=SIGNING_SECRET,
                         sandbox=sandbox)
    yield driver
    await driver.close()
