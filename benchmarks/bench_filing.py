"""Benchmark of filing on SQLite and PostgreSQL: ack latency beside the bare Bolt app, the bot's own CPU per
ticket, tickets per second at 50 concurrent filers; min/median/max over several runs, with the load average.

    .venv/bin/python benchmarks/bench_filing.py                        # SQLite and PostgreSQL, 3 runs each
    .venv/bin/python benchmarks/bench_filing.py --db sqlite --runs 5 --json benchmarks/results/filing.json

Each run, on each database: a burst of N concurrent `/ticket` commands at the bare app and at supportbot
(alternating which goes first) for each load, then K modals opened and K view submissions sent at once. The
bot's CPU (utime + stime of its process, from /proc) is read just before the submissions and once the bot is
quiet again after the last card, minus what it burns idle over the same time: that, divided by the tickets
filed, is its CPU per ticket. Reuses bench_intake's processes, sandbox control and load generation. Exits 0
when the report was produced, 1 when the run broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_intake import (  # noqa: E402
    BOT_TOKEN,
    REQUEST_TIMEOUT,
    SETTLE,
    SIGNING_SECRET,
    Bench,
    Child,
    RunBroken,
    SandboxControl,
    burst,
    child_env,
    client_session,
    free_port,
    open_connections,
    percentile,
    resolve_config,
    wait_healthy,
)

from bot.core.config import load_config  # noqa: E402
from bot.sandbox.workspace import ticket_values  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET_WAIT = 10.0  # seconds to wait for the bot to go quiet after the last card (draft notes, pages)


def process_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def idle_rate(pid: int, seconds: float = 1.0) -> float:
    """CPU seconds per second the bot burns with nothing to do (its scheduler's ticks)."""
    before, started = process_cpu(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (process_cpu(pid) - before) / (time.monotonic() - started)


async def until_quiet(pid: int, rate: float) -> float:
    """Waits until a quarter second passes with the bot near its idle rate; the CPU then."""
    deadline = time.monotonic() + QUIET_WAIT
    last = process_cpu(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = process_cpu(pid)
        if now - last <= rate * 0.25 + 1.5 / CLOCK_TICKS:
            return now
        last = now
    return last


Counter = Callable[[], Awaitable[int]]


def transaction_counter(db_url: str) -> tuple[Counter | None, Callable[[], Awaitable[None]]]:
    """PostgreSQL: a reader of the database's committed + rolled-back transactions so far (pg_stat_database),
    and its closer; SQLite keeps no such count."""
    if not db_url.startswith("postgresql"):
        async def nothing() -> None:
            return None
        return None, nothing
    from sqlalchemy import text

    from storage.db import create_engine
    engine = create_engine(db_url)

    async def count() -> int:
        await asyncio.sleep(1.2)  # the server publishes its counters at most once a second
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = (await conn.execute(text("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                           "WHERE datname = current_database()"))).one()
        return int(row[0]) - 1  # less this reader's own

    return count, engine.dispose


async def file_and_measure(bench: Bench, pid: int, k: int, transactions: Counter | None = None) -> dict[str, Any]:
    """K modals opened, then K submissions at once: tickets/s to the last card, submission acks, CPU/ticket,
    and with `transactions` the database transactions per ticket (the scheduler's idle ticks included)."""
    run = uuid.uuid4().hex[:6]
    async with client_session(k) as s:
        await open_connections(s, bench.urls["ours"], k)
        samples, views = await bench.commands("ours", k, text="bench " + run + " {i}", session=s)
        opened = [x.key for x in samples if views.get(x.key, {}).get("ok")]
        if not opened:
            raise RunBroken(f"filing: none of {k} modals opened")
        tags = {tid: f"Bench filing {run}-{i:03d}" for i, tid in enumerate(opened)}
        built = await bench.sandbox.submissions(
            [{"trigger_id": tid, "values": ticket_values(Summary=tag)} for tid, tag in tags.items()])
        bodies = [(tags[b["trigger_id"]], urlencode({"payload": b["payload"]}).encode()) for b in built]
        rate = await idle_rate(pid)
        xacts_before = await transactions() if transactions else None
        mark = await bench.sandbox.mark()
        cpu_before, started = process_cpu(pid), time.monotonic()
        acks = await burst(s, bench.urls["ours"], bodies)
        cards = await bench._wait_cards(mark, bench.triage_channel, set(tags.values()))
        cpu_after = await until_quiet(pid, rate)
        elapsed = time.monotonic() - started
        xacts_after = await transactions() if transactions else None
    bench.alive()
    sent = {x.key: x.sent_wall for x in acks}
    accepted = [x for x in acks if x.status == 200 and not x.body.strip()]
    card_times = cards["all"]
    span = (max(card_times) - min(sent.values())) if card_times else None
    filed = len(card_times)
    cpu = cpu_after - cpu_before - rate * elapsed
    return {"tickets": len(bodies), "filed": filed, "rejected": len(acks) - len(accepted),
            "tickets_per_s": filed / span if span else None,
            "submit_ack_p50": percentile([x.latency_ms for x in accepted], 50),
            "submit_ack_p99": percentile([x.latency_ms for x in accepted], 99),
            "cpu_ms_per_ticket": 1000 * cpu / filed if filed else None,
            "transactions_per_ticket": (xacts_after - xacts_before) / filed
            if filed and xacts_after is not None and xacts_before is not None else None}


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A database URL for the bot: a fresh SQLite file, or a throwaway PostgreSQL cluster, migrated."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        return
    from storage.db import create_engine
    from storage.migrate import upgrade_to_head
    from tests.postgres import postgres_server

    async def migrate(url: str) -> None:
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()

    with postgres_server() as url:
        asyncio.run(migrate(url))
        yield url


async def run_one_database(db_url: str, config_path: Path, log_dir: Path, loads: Sequence[int], runs: int,
                           tickets: int, progress: Any, profile: str | None = None) -> list[dict[str, Any]]:
    python = sys.executable
    children: list[Child] = []
    transactions, close_counter = transaction_counter(db_url)
    try:
        sandbox = Child("sandbox", [python, str(HERE / "sandbox_server.py"), "--config", str(config_path),
                                    "--bot-token", BOT_TOKEN], child_env({}), log_dir)
        children.append(sandbox)
        announced = await sandbox.start(announces=True) or {}
        bare = Child("bare", [python, str(HERE / "bare_app.py"), "--signing-secret", SIGNING_SECRET, "--token",
                              BOT_TOKEN, "--api-url", announced["api_url"]], child_env({}), log_dir)
        children.append(bare)
        urls = {"bare": f"http://127.0.0.1:{(await bare.start(announces=True) or {})['port']}/slack/events"}
        bot_config = log_dir / "supportbot.toml"
        # Without [[webhooks]]: they would refuse to start without their secrets, then send to a real URL.
        import re
        bot_config.write_text(re.sub(r"^\[\[webhooks\]\][^\n]*\n(?:(?!\[)[^\n]*(?:\n|$))*", "",
                                     config_path.read_text(), flags=re.MULTILINE))  # noqa: ASYNC240
        port = free_port()
        bot = Child("ours", [python, str(HERE / "run_bot.py")], child_env({
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": announced["api_url"], "DATABASE_URL": db_url, "PORT": str(port),
            "SUPPORTBOT_CONFIG": str(bot_config), **({"SUPPORTBOT_PROFILE": profile} if profile else {})}), log_dir)
        children.append(bot)
        await bot.start(announces=False)
        assert bot.proc is not None
        pid = bot.proc.pid

        def alive() -> None:
            for child in children:
                child.check_alive()

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as control:
            await wait_healthy(control, f"http://127.0.0.1:{port}/healthz", bot)
            urls["ours"] = f"http://127.0.0.1:{port}/slack/events"
            bench = Bench(control, SandboxControl(control, announced["control_url"]), urls, alive)
            bench.triage_channel = load_config(config_path).slack.triage_channel
            for app in ("bare", "ours"):
                await bench.warm_up(app)
                for load in loads:  # the first burst of a new size pays one-off costs: untimed
                    await bench.commands(app, load)
            await file_and_measure(bench, pid, min(10, tickets))  # the first filing too
            results = []
            for rep in range(runs):
                one: dict[str, Any] = {"loadavg": os.getloadavg()[0]}
                for li, load in enumerate(loads):
                    order = ("bare", "ours") if (rep + li) % 2 == 0 else ("ours", "bare")
                    for app in order:
                        await asyncio.sleep(SETTLE)
                        measured = await bench.measure(app, load, rep)
                        one[f"{app}_ack_p99_{load}"] = measured.ack_p99
                        if app == "ours":
                            one[f"views_p99_{load}"] = measured.views_p99
                    one[f"ratio_{load}"] = one[f"ours_ack_p99_{load}"] / one[f"bare_ack_p99_{load}"]
                await asyncio.sleep(SETTLE)
                one.update(await file_and_measure(bench, pid, tickets, transactions))
                progress(f"run {rep + 1}/{runs}: {json.dumps(one, default=str)}")
                results.append(one)
        return results
    finally:
        await close_counter()
        for child in reversed(children):
            await child.stop()


FIGURES = [  # (key, label, unit, reference key or None)
    ("ours_ack_p99_{load}", "/ticket ack p99 at {load}", "ms", "bare_ack_p99_{load}"),
    ("ratio_{load}", "  ratio to bare, same run", "x", None),
    ("views_p99_{load}", "views.open p99 at {load}", "ms", None),
]
FILING = [("submit_ack_p99", "view_submission ack p99 at {tickets}", "ms"),
          ("tickets_per_s", "tickets/s at {tickets} concurrent", "/s"),
          ("cpu_ms_per_ticket", "bot CPU per ticket", "ms"),
          ("transactions_per_ticket", "database transactions per ticket", "n")]


def _spread(values: Sequence[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return f"{'-':>26}"
    return f"{min(got):8.2f} {statistics.median(got):8.2f} {max(got):8.2f}"


def render(report: dict[str, Any]) -> str:
    lines = [f"supportbot filing benchmark: {report['machine']['cpus']} CPUs, Python {report['machine']['python']},"
             f" {report['runs']} runs per database; figures are min / median / max over the runs"]
    loads, tickets = report["loads"], report["tickets"]
    for db, results in report["databases"].items():
        loadavgs = [r["loadavg"] for r in results]
        lines.append(f"\n{db}  (1-min load average at each run: {', '.join(f'{x:.2f}' for x in loadavgs)})")
        lines.append(f"  {'figure':38} {'min':>8} {'median':>8} {'max':>8}   reference (bare), min / median / max")
        for load in loads:
            for key, label, unit, ref in FIGURES:
                name = label.format(load=load) + f" ({unit})"
                row = f"  {name:38} {_spread([r.get(key.format(load=load)) for r in results])}"
                if ref:
                    row += f"   {_spread([r.get(ref.format(load=load)) for r in results])}"
                lines.append(row)
        for key, label, unit in FILING:
            name = label.format(tickets=tickets) + f" ({unit})"
            lines.append(f"  {name:38} {_spread([r.get(key) for r in results])}")
        rejected = sum(r["rejected"] for r in results)
        filed = sum(r["filed"] for r in results)
        lines.append(f"  tickets filed {filed} of {sum(r['tickets'] for r in results)}, submissions refused {rejected}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--runs", type=int, default=3, help="runs per database (default 3)")
    parser.add_argument("--loads", default="50,200", help="/ticket burst sizes (default 50,200)")
    parser.add_argument("--tickets", type=int, default=50, help="concurrent filers per run (default 50)")
    parser.add_argument("--config", help="supportbot.toml (default: the contract's)")
    parser.add_argument("--json", metavar="PATH", help="also write every run's figures as JSON")
    parser.add_argument("--deadline", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--profile-bot", metavar="PATH",
                        help="profile the bot's event loop (cProfile, its thread's CPU clock) into PATH.<db> "
                        "(read with pstats; the profiler slows the bot: not for figures)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each run's figures as it ends")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    if not kinds or any(k not in ("sqlite", "postgresql") for k in kinds) or args.runs < 1 or args.tickets < 1:
        parser.error("--db takes sqlite and/or postgresql; --runs and --tickets must be positive")
    loads = [int(x) for x in args.loads.split(",") if x.strip()]

    def progress(text: str) -> None:
        if args.verbose:
            print(f"  … {text}", file=sys.stderr, flush=True)

    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_before": os.getloadavg()},
        "runs": args.runs, "loads": loads, "tickets": args.tickets, "databases": {}}
    try:
        config_path = resolve_config(args.config)
        for kind in kinds:
            folder = Path(tempfile.mkdtemp(prefix=f"bench-filing-{kind}-"))
            with database(kind, folder) as url:
                progress(f"{kind}: {url}")
                report["databases"][kind] = asyncio.run(asyncio.wait_for(
                    run_one_database(url, config_path, folder, loads, args.runs, args.tickets, progress,
                                     f"{args.profile_bot}.{kind}" if args.profile_bot else None),
                    args.deadline))
    except TimeoutError:
        print(f"bench_filing: the run broke: not finished within {args.deadline:.0f} s", file=sys.stderr)
        return 1
    except RunBroken as exc:
        print(f"bench_filing: the run broke: {exc}", file=sys.stderr)
        return 1
    report["machine"]["loadavg_after"] = os.getloadavg()
    print(render(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
