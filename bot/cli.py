"""`supportbot run | migrate | check-config | route | webhooks status | demo`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading

from sqlalchemy.engine import make_url

from bot.core.config import ConfigError, EnvSettings, Settings, load_config
from bot.domain import Severity
from storage.migrate import DatabaseRefused
from storage.single_process import AnotherProcessRuns, SingleProcess

# However stuck a call is (a worker thread waiting on a vendor, a lock), the process is gone this long after
# SIGTERM: the orderly stop takes at most 8 s (bot/app.py STOP_SECONDS), this ends anything left past it.
EXIT_DEADLINE_SECONDS = 9.5
AFTER_STOP_SECONDS = 1.0


def _settings(config_path: str | None = None) -> Settings:
    env = EnvSettings.from_environ()
    config = load_config(config_path or env.config_path)
    env = env.with_team_routing_keys((team.name, team.pagerduty_routing_key_env) for team in config.teams)
    env = env.with_webhook_secrets((hook.url, hook.secret_env) for hook in config.webhooks)
    return Settings(config=config, env=env)


async def _run() -> None:
    from bot.app import SupportBot

    settings = _settings()
    for warning in settings.env.warnings():
        logging.getLogger("supportbot").warning("%s", warning)
    single = SingleProcess(settings.env.database_url)
    single.acquire()  # before anything migrates or claims a deadline
    bot = await SupportBot.create(settings)
    await bot.start()
    handler = None
    if bot.settings.env.slack_app_token:
        handler = await bot.connect_socket_mode()
        logging.getLogger("supportbot").info("connected to Slack over Socket Mode")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    _exit_anyway_after(EXIT_DEADLINE_SECONDS)
    logging.getLogger("supportbot").info("stopping: finishing acknowledged work, then closing")
    if handler is not None:
        await handler.close_async()
    await bot.stop()
    single.release()
    logging.getLogger("supportbot").info("stopped")
    # What is recorded is recorded; a worker thread still waiting on a vendor must not keep the process.
    _exit_anyway_after(AFTER_STOP_SECONDS, code=0)


def _exit_anyway_after(seconds: float, *, code: int = 1) -> None:
    """Ends the process `seconds` from now if it has not ended by then (threads still blocked keep Python from
    exiting on its own)."""
    def exit_now() -> None:
        logging.getLogger("supportbot").log(logging.ERROR if code else logging.INFO,
                                            "still exiting %.1f s later: exiting now", seconds)
        logging.shutdown()
        os._exit(code)

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()


async def _live_problems(settings: Settings) -> list[str]:
    from bot.core.slack import slack_client
    from bot.escalation.live_check import live_problems
    from bot.tickets.live_check import scope_problems

    if not settings.env.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN", "is required for check-config --live")
    slack = slack_client(token=settings.env.slack_bot_token, base_url=settings.env.slack_api_url)
    return await scope_problems(slack) + await live_problems(settings.config, slack)


async def _migrate() -> None:
    from storage.db import create_engine
    from storage.migrate import upgrade_to_head

    env = EnvSettings.from_environ()
    engine = create_engine(env.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def _report(month_text: str, out: str) -> list[str]:
    """Writes the month's report files (report.md, chart.png, tickets.csv) into `out`, from $DATABASE_URL."""
    from pathlib import Path

    from bot.core.clock import SystemClock
    from bot.trend_figures import Month
    from bot.trends.service import build_report, report_month, write_report
    from storage.db import create_engine, create_sessionmaker, is_sqlite
    from storage.migrate import upgrade_to_head

    clock = SystemClock()
    month = report_month(month_text, now_month=Month.of(clock.now()))
    env = EnvSettings.from_environ()
    engine = create_engine(env.database_url)
    try:
        if is_sqlite(env.database_url):  # embedded: the schema is ours to keep current, as `run` does
            await upgrade_to_head(engine)
        files = await build_report(create_sessionmaker(engine), month, clock=clock)
    finally:
        await engine.dispose()
    return [str(path) for path in write_report(files, Path(out))]


def _severity(text: str) -> Severity:
    """A severity as typed on the command line, in any case ("sev2", "SEV2")."""
    try:
        return Severity(text.strip().upper())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of SEV1, SEV2, SEV3, SEV4") from None


def main(argv: list[str] | None = None) -> int:
    """Runs the `supportbot` command (run, migrate, check-config, route or demo); returns the process exit code."""
    parser = argparse.ArgumentParser(prog="supportbot", description="Slack-first support-to-engineering bot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve Slack (HTTP on $PORT, or Socket Mode when SLACK_APP_TOKEN is set)")
    commands.add_parser("migrate", help="bring the database at $DATABASE_URL to the newest schema")
    check = commands.add_parser("check-config", help="validate a supportbot.toml and the environment")
    check.add_argument("path", nargs="?", help="the file to check (default: $SUPPORTBOT_CONFIG)")
    check.add_argument("--live", action="store_true",
                       help="also check every team channel and user group against Slack (needs SLACK_BOT_TOKEN)")
    routing = commands.add_parser("route", help="say which team an escalation would reach and how, touching nothing")
    routing.add_argument("--severity", required=True, type=_severity, metavar="SEV1..SEV4")
    routing.add_argument("--component", help="the component the agent would pick in the escalation modal")
    routing.add_argument("--url", help="the URL or endpoint the customer reported")
    routing.add_argument("--config", help="the configuration file (default: $SUPPORTBOT_CONFIG or ./supportbot.toml)")
    webhooks = commands.add_parser("webhooks", help="the activity webhooks' outbox")
    webhooks.add_subparsers(dest="webhooks_command", required=True).add_parser(
        "status", help="each webhook URL's backlog and last error, read from $DATABASE_URL (the bot not started)")
    runbook = commands.add_parser("runbook", help="the runbook that /runbook and ticket cards search")
    runbook_commands = runbook.add_subparsers(dest="runbook_command", required=True)
    runbook_import = runbook_commands.add_parser(
        "import", help="add or update runbook entries from a folder of Markdown pages (Notion, Confluence)")
    runbook_import.add_argument("folder", help="the folder to import, e.g. runbook/ for the starter set")
    report = commands.add_parser("report", help="write a month's support report (report.md, chart.png, tickets.csv)")
    report.add_argument("month", nargs="?", default="", help="YYYY-MM (default: last month, UTC)")
    report.add_argument("--out", required=True, help="the directory to write the three files into")
    demo = commands.add_parser("demo", help="run the bot against the local Slack sandbox and tell a story")
    demo.add_argument("--quiet-logs", action="store_true", default=True, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from bot.core import logs

    logs.configure(os.environ.get("LOG_FORMAT"), os.environ.get("LOG_LEVEL"))  # JSON lines with LOG_FORMAT=json
    # Alembic narrates every step at INFO, and APScheduler says "Running job" and "executed successfully" on
    # every tick: a quiet log says what the bot did, and only problems of theirs.
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(logging.WARNING)

    try:
        if args.command == "check-config":
            settings = _settings(args.path)
            for warning in settings.env.warnings():
                print(f"supportbot: warning: {warning}", file=sys.stderr)
            if args.live and (problems := asyncio.run(_live_problems(settings))):
                for problem in problems:
                    print(f"supportbot: {problem}", file=sys.stderr)
                return 1
            teams = len(settings.config.teams)
            checked = ", channels and user groups checked against Slack" if args.live else ""
            print(f"ok: {args.path or settings.env.config_path} ({teams} teams, "
                  f"{len(settings.config.automation)} automation rules, {len(settings.config.webhooks)} webhooks"
                  f"{checked})")
        elif args.command == "route":
            from bot.escalation.route_report import UnknownComponent, explain

            # Only the file's path from the environment: a bad PORT or half-set Jira is no concern of routing.
            path = args.config or os.environ.get("SUPPORTBOT_CONFIG", "").strip() or EnvSettings.config_path
            try:
                lines = explain(load_config(path), severity=args.severity, component=args.component, url=args.url,
                                environ=os.environ)
            except UnknownComponent as exc:
                print(f"supportbot: {exc}", file=sys.stderr)
                return 2
            print("\n".join(lines))
        elif args.command == "migrate":
            asyncio.run(_migrate())
            print("database is at the newest schema")
        elif args.command == "run":
            asyncio.run(_run())
        elif args.command == "runbook":
            from pathlib import Path

            from bot.runbook.cli import import_runbook

            return asyncio.run(import_runbook(Path(args.folder),
                                              database_url=EnvSettings.from_environ().database_url))
        elif args.command == "webhooks":
            from bot.webhooks.status import status_lines

            print("\n".join(asyncio.run(status_lines(EnvSettings.from_environ().database_url))))
        elif args.command == "report":
            from bot.trend_figures import BadMonth

            try:
                for path in asyncio.run(_report(args.month, args.out)):
                    print(path)
            except BadMonth as exc:
                print(f"supportbot: {exc}", file=sys.stderr)
                return 2
        elif args.command == "demo":
            from bot.sandbox.demo import run_demo

            logging.getLogger().setLevel(logging.WARNING)
            return asyncio.run(run_demo())
    except ConfigError as exc:
        print(f"supportbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except AnotherProcessRuns as exc:
        print(f"supportbot: {exc}", file=sys.stderr)
        return 1
    except DatabaseRefused as exc:
        # One line an operator can act on; the driver's own text can carry paths or SQL, so it stays out.
        where = make_url(EnvSettings.from_environ().database_url).render_as_string(hide_password=True)
        print(f"supportbot: the database at {where} refused: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
