"""Benchmark of the SEV1 opening: page, channel and status-page incident, concurrent versus one after another.

Every outside API (the Slack sandbox, the PagerDuty stand-in, the Statuspage stand-in) answers after
--latency seconds (300 ms by default). The target: all three done within the slowest API plus 50 ms of
the submission (0.35 s); one after another they would take about 0.9 s. "Answered" is when the last of the
three outside systems answered; "recorded" adds the bot writing each outcome to its database.

    .venv/bin/python benchmarks/bench_sev1.py            # 5 runs of each, on SQLite and on PostgreSQL
    .venv/bin/python benchmarks/bench_sev1.py --runs 2 --databases sqlite   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import SupportBot  # noqa: E402
from bot.core.clock import SystemClock  # noqa: E402
from bot.core.config import EnvSettings, Settings, load_config  # noqa: E402
from bot.domain import IncidentStep, StepState  # noqa: E402
from bot.sandbox.driver import SlackDriver  # noqa: E402
from bot.sandbox.pagerduty import PagerDutyStandIn  # noqa: E402
from bot.sandbox.slack import SlackSandbox  # noqa: E402
from bot.sandbox.statuspage import StatuspageStandIn  # noqa: E402
from bot.sandbox.workspace import AGENT, populate, ticket_values  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402
from storage.repositories import incidents as incident_repo  # noqa: E402

CONFIG = ROOT / "bot" / "sandbox" / "demo" / "supportbot.toml"
SECRET = "bench-secret"
TOKEN = "xoxb-bench"
KEY = "B3NCHR0UT1NGKEY00000000000000001"
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout is down"})


async def _all_done(bot: SupportBot, number: int) -> bool:
    async with bot.sessions() as session:
        incident = await incident_repo.latest_incident(session, ticket_number=number)
    return incident is not None and all(incident.step(s).state is StepState.DONE for s in IncidentStep)


async def _wait_done(bot: SupportBot, number: int, deadline: float = 10.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < deadline:
        if await _all_done(bot, number):
            return time.perf_counter()
        await asyncio.sleep(0.002)
    raise TimeoutError(f"ticket #{number}: the SEV1 steps did not finish within {deadline}s")


async def run(runs: int, latency: float, database: str) -> dict[str, list[float]]:
    config = load_config(CONFIG)
    results: dict[str, list[float]] = {"concurrent": [], "sequential": []}
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        database_url = f"sqlite+aiosqlite:///{folder}/bench.db"
        if database == "postgresql":
            from tests.postgres import postgres_server

            database_url = stack.enter_context(postgres_server())
            engine = create_engine(database_url)  # the bot migrates only SQLite itself: `supportbot migrate`
            await upgrade_to_head(engine)
            await engine.dispose()
        async with SlackSandbox(bot_token=TOKEN) as sandbox, PagerDutyStandIn() as pagerduty, \
                StatuspageStandIn(requests_per_second=None) as statuspage:
            populate(sandbox, config)
            env = EnvSettings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=sandbox.api_url,
                              database_url=database_url, pagerduty_routing_key=KEY,
                              pagerduty_events_url=pagerduty.url, statuspage_api_key=statuspage.api_key,
                              statuspage_page_id=statuspage.page_id, statuspage_api_url=statuspage.api_url)
            bot = await SupportBot.create(Settings(config=config, env=env), clock=SystemClock())
            port = await bot.start(host="127.0.0.1", port=0, scheduler=False)
            # The bot paces Statuspage to one call a second; that pacing is not what is measured here.
            bot.status_page._min_interval = 0.0  # type: ignore[attr-defined]
            try:
                async with SlackDriver(events_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SECRET,
                                       sandbox=sandbox) as slack:
                    for number in range(1, runs + 2):  # the first is a warm-up, not counted
                        sandbox.set_latency(0)
                        await slack.slash_command(user_id=AGENT.user_id, command="/ticket")
                        view = await sandbox.wait_for(lambda: next((v for v in sandbox.views.values()
                                                                 if v.user == AGENT.user_id and not v.closed), None))
                        sandbox.set_latency(latency)
                        pagerduty.set_latency(latency)
                        statuspage.set_latency(latency)
                        started, wall = time.perf_counter(), time.time()
                        await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=SEV1)
                        took = await _wait_done(bot, number) - started
                        if number == 1:
                            await asyncio.sleep(latency * 4)
                            continue
                        results["concurrent"].append(took)
                        create = next(c for c in sandbox.calls_to("conversations.create") if c.at >= wall)
                        results.setdefault("page sent after", []).append(pagerduty.events[-1].at - wall - latency)
                        results.setdefault("channel asked after", []).append(create.at - wall - latency)
                        results.setdefault("status page sent after", []).append(
                            statuspage.requests[-1].at - wall - latency)
                        # The stand-ins stamp a request when they answer it: that is when each step is done.
                        results.setdefault("answered", []).append(
                            max(pagerduty.events[-1].at, create.at, statuspage.requests[-1].at) - wall)
                        await asyncio.sleep(latency * 4)  # let the follow-up messages finish
                    for _ in range(runs):
                        results["sequential"].append(await _sequential(bot, sandbox, pagerduty, statuspage, latency))
            finally:
                await bot.stop()
    return results


async def _sequential(bot: SupportBot, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn,
                      statuspage: StatuspageStandIn, latency: float) -> float:
    """The same three steps, one after another, on a ticket filed below SEV1 and opened by hand."""
    from bot.domain import Impact, PlanTier
    from bot.tickets.intake import TicketForm

    sandbox.set_latency(0)
    form = TicketForm(workspace_id="ws_bench", requester_email="b@x.example", summary="Sequential baseline",
                      what_happened="x", expected="y", impact=Impact.MINOR_BROKEN, plan_tier=PlanTier.PRO)
    filed = await bot.tickets.file(form, filed_by=AGENT.user_id, submission_key=f"seq-{time.time_ns()}",
                                   origin_channel=None)
    from datetime import UTC, datetime

    async with bot.sessions.begin() as session:
        incident, _ = await incident_repo.open_incident_once(
            session, ticket_number=filed.ticket.number, generation=1, public_title="Service disruption",
            message="We are investigating.", now=datetime.now(UTC), steps=list(IncidentStep))
    sandbox.set_latency(latency)
    pagerduty.set_latency(latency)
    statuspage.set_latency(latency)
    started = time.perf_counter()

    async def one_after_another() -> None:
        # The channel last, so its follow-up messages (topic, invites, kickoff) do not count against it.
        for step in (IncidentStep.PAGE, IncidentStep.STATUSPAGE, IncidentStep.CHANNEL):
            await bot.incidents.retry_step(incident.id, step)

    steps = asyncio.create_task(one_after_another())
    done = await _wait_done(bot, filed.ticket.number) - started
    await steps
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    measured = {database: asyncio.run(run(args.runs, args.latency, database))
                for database in args.databases.split(",")}
    target = args.latency + 0.05
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"load average before {load_before}, after {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} CPUs")
    print(f"SEV1 opening with every outside API answering in {args.latency * 1000:.0f} ms ({args.runs} runs each)")
    print(f"{'database':<11}{'from the submission until':<34}{'min':>8}{'median':>8}{'max':>8}")
    verdicts = []
    for database, results in measured.items():
        rows = (("all three answered (concurrent)", results["answered"]),
                ("all three recorded (concurrent)", results["concurrent"]),
                ("all three recorded (sequential)", results["sequential"]))
        for label, values in rows:
            print(f"{database:<11}{label:<34}{min(values):>7.3f}s{statistics.median(values):>7.3f}s"
                  f"{max(values):>7.3f}s")
        print(f"{'':<11}" + ", ".join(f"{what} {statistics.median(results[what]) * 1000:.0f} ms"
                                     for what in ("page sent after", "channel asked after", "status page sent after"))
              + " (medians)")
        for label, values in rows[:2]:
            verdicts.append(f"target ({database}): {label} within {target:.2f}s (slowest API + 50 ms): "
                            f"every run {'PASS' if max(values) <= target else 'FAIL'}, "
                            f"median {'PASS' if statistics.median(values) <= target else 'FAIL'}")
    print("\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
