"""Benchmark of the scheduler tick against a long history: 100,000 open tickets and 1,000,000 timers.

On SQLite and on a throwaway PostgreSQL cluster (tests/postgres.py), migrated to head, it fills the tables
(benchmarks/tick_fill.py: almost every timer fired or cancelled long ago, 2,000 pending in the future) and
measures, with the functions the scheduler really uses:

  idle claim   `claim_due_timers` with nothing due, one transaction each: database time (the statements' execute
               calls, timed by an event listener around the cursor) and wall time (with the commit);
  100 due      100 timers armed due, then `TimerService.fire_due()` with a handler that appends an audit event in
               the timer's transaction (as reminders do); also the bare repository loop (one claim of 100, then
               marking each fired) in one transaction;
  plans        EXPLAIN QUERY PLAN (SQLite) / EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL) of exactly the statements the
               claim emitted (captured with the same listener), for an idle claim and a claim of 100;
  memory       `supportbot run` (run_bot.py, scheduler tick 1 s, Slack sandbox) ticking for a few seconds on the
               same database at 10,000 and at 100,000 open tickets: RSS and CPU.

Targets (issue 12): idle claim < 2 ms and 100 due claimed and fired in < 50 ms of database time, on both.

    .venv/bin/python benchmarks/bench_tick.py                       # both databases, 100k tickets / 1M timers
    .venv/bin/python benchmarks/bench_tick.py --databases sqlite --tickets 20000 --claims 50 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Self

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
for entry in (str(ROOT), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import fleet  # noqa: E402
import tick_fill  # noqa: E402
from bench_intake import resolve_config  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from bot.core.clock import SystemClock  # noqa: E402
from bot.core.scheduler import BackgroundWork, TimerService  # noqa: E402
from bot.core.timers import TicketTimerKey, fields, number, schedule  # noqa: E402
from storage.db import create_engine, create_sessionmaker, is_sqlite  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402
from storage.repositories import audit, timers  # noqa: E402

LEASE = timedelta(seconds=60)
CLAIMANT = "bench-host:1"
IDLE_TARGET_MS = 2.0
DUE_TARGET_MS = 50.0


@dataclass(frozen=True)
class BenchReminder(TicketTimerKey):
    """A reminder-like deadline of one ticket, for this benchmark only."""

    kind: ClassVar[str] = "bench_reminder"
    run: int
    index: int

    def encode(self) -> str:
        return f"ticket:{self.ticket}:bench_reminder:{self.run}:{self.index}"

    @classmethod
    def parse(cls, text: str) -> Self:
        ticket, _, run, index = fields(text, "ticket", 4)
        return cls(number(ticket), number(run), number(index))


class Statements:
    """Every statement the engine sends, with the time its cursor execute took (the driver's round trip)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.records: list[tuple[str, Any, float]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool) -> None:
        self.records.append((statement, params, time.perf_counter() - conn.info["bench_started"].pop()))

    def take(self) -> list[tuple[str, Any, float]]:
        taken, self.records = self.records, []
        return taken


def stats(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def fmt(values: list[float]) -> str:
    low, mid, high = stats(values)
    return f"{low:8.2f} {mid:8.2f} {high:8.2f}"


async def vacuum_analyze(engine: AsyncEngine) -> None:
    """What autovacuum does after a bulk load (statistics, visibility map), done now rather than some time later."""
    if not is_sqlite(engine.url.render_as_string()):
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")


async def fire_timer(session: AsyncSession, timer_id: int, now: datetime) -> None:
    """Marks one claimed timer fired with whichever function the repository has (the API is being reworked)."""
    if hasattr(timers, "mark_fired"):
        await timers.mark_fired(session, timer_id=timer_id, claimant=CLAIMANT, now=now)
    else:
        await timers.complete_timer(session, timer_id=timer_id, now=now)  # type: ignore[attr-defined]


class TickBench:
    def __init__(self, engine: AsyncEngine, tickets: int) -> None:
        self.engine = engine
        self.sessions = create_sessionmaker(engine)
        self.log = Statements(engine)
        self.clock = SystemClock()
        self.tickets = tickets
        self.rng = random.Random(7)
        self.run = 0
        self.service = TimerService(sessions=self.sessions, clock=self.clock, tick=timedelta(seconds=15),
                                    background=BackgroundWork())
        self.service.on(BenchReminder, self._handler)

    async def _handler(self, session: AsyncSession, key: BenchReminder, _timer: timers.DueTimer) -> None:
        await audit.append_audit_event(session, ticket_number=key.ticket, action="bench_reminder_posted",
                                       actor="supportbot", at=self.clock.now())

    async def arm(self, n: int) -> None:
        self.run += 1
        due = self.clock.now() - timedelta(seconds=1)
        async with self.sessions.begin() as session:
            for i in range(n):
                await schedule(session, BenchReminder(self.rng.randint(1, self.tickets), self.run, i), due_at=due)

    async def idle_claims(self, n: int) -> dict[str, Any]:
        db, wall, count = [], [], []
        for _ in range(n):
            self.log.take()
            started = time.perf_counter()
            async with self.sessions.begin() as session:
                due = await timers.claim_due_timers(session, now=self.clock.now(), limit=50, lease=LEASE,
                                                    claimant=CLAIMANT)
            wall.append((time.perf_counter() - started) * 1000)
            assert not due, f"{len(due)} timers were due in an idle claim"
            records = self.log.take()
            db.append(sum(r[2] for r in records) * 1000)
            count.append(len(records))
        return {"db_ms": db, "wall_ms": wall, "statements": statistics.median(count)}

    async def due_runs(self, runs: int, n: int) -> dict[str, Any]:
        out: dict[str, list[float]] = {k: [] for k in ("svc_db", "svc_wall", "svc_n", "repo_db", "repo_wall",
                                                       "repo_n")}
        for _ in range(runs):
            await self.arm(n)
            self.log.take()
            started = time.perf_counter()
            fired = await self.service.fire_due(settle=True)
            out["svc_wall"].append((time.perf_counter() - started) * 1000)
            records = self.log.take()
            assert fired == n, f"fired {fired} of {n}"
            out["svc_db"].append(sum(r[2] for r in records) * 1000)
            out["svc_n"].append(len(records))
            await self.arm(n)
            self.log.take()
            started = time.perf_counter()
            async with self.sessions.begin() as session:
                now = self.clock.now()
                claimed = await timers.claim_due_timers(session, now=now, limit=n, lease=LEASE, claimant=CLAIMANT)
                for timer in claimed:
                    await fire_timer(session, timer.id, now)
            out["repo_wall"].append((time.perf_counter() - started) * 1000)
            records = self.log.take()
            assert len(claimed) == n, f"claimed {len(claimed)} of {n}"
            out["repo_db"].append(sum(r[2] for r in records) * 1000)
            out["repo_n"].append(len(records))
        return out

    async def plans(self, n: int) -> dict[str, list[str]]:
        """The plans of the statements an idle claim and a claim of n due timers emit (the latter rolled back)."""
        self.log.take()
        async with self.sessions.begin() as session:
            await timers.claim_due_timers(session, now=self.clock.now(), limit=50, lease=LEASE, claimant=CLAIMANT)
        idle = await self._explain(self.log.take())  # now, before anything is armed: nothing is due
        await self.arm(n)
        self.log.take()
        async with self.sessions() as session:
            await timers.claim_due_timers(session, now=self.clock.now(), limit=n, lease=LEASE, claimant=CLAIMANT)
            busy = self.log.take()
            await session.rollback()
        out = {"idle claim": idle, f"claim of {n} due": await self._explain(busy)}
        async with self.sessions.begin() as session:
            await timers.cancel_timers(session, now=self.clock.now(), kinds=[BenchReminder.kind])
        return out

    async def _explain(self, records: list[tuple[str, Any, float]]) -> list[str]:
        sqlite = is_sqlite(self.engine.url.render_as_string())
        seen: dict[str, int] = {}
        first: dict[str, Any] = {}
        for statement, params, _ in records:
            seen[statement] = seen.get(statement, 0) + 1
            first.setdefault(statement, params)
        lines: list[str] = []
        for statement, count in seen.items():
            lines.append(f"-- sent {count}x: " + " ".join(statement.split()))
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
            async with self.engine.connect() as connection:
                result = await connection.exec_driver_sql(prefix + statement, first[statement])
                rows: list[Any] = list(result.all())
                await connection.rollback()  # EXPLAIN ANALYZE of an UPDATE really updates
            # SQLite's rows are (id, parent, notused, detail); PostgreSQL's one text column per line.
            lines += [f"   {row[-1]}" for row in rows]
        return lines


async def memory(url: str, config: Path, log_dir: Path, seconds: float) -> dict[str, float]:
    """`supportbot run` ticking every second on this database: RSS after start-up and at the end, CPU used."""
    sandbox = await fleet.start_sandbox(config, log_dir)
    bot = None
    try:
        bot, _ = await fleet.start_bot("bot", database_url=url, config=fleet.bot_config(config, log_dir, tick="1s"),
                                       api_url=sandbox.api_url, log_dir=log_dir)
        assert bot.proc is not None
        await asyncio.sleep(2.0)
        first = fleet.proc_status(bot.proc.pid)
        peak = first["VmRSS"]
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            await asyncio.sleep(0.25)
            bot.check_alive()
            peak = max(peak, fleet.proc_status(bot.proc.pid)["VmRSS"])
        last = fleet.proc_status(bot.proc.pid)
        return {"rss_start_mb": first["VmRSS"] / 1024, "rss_end_mb": last["VmRSS"] / 1024, "rss_peak_mb": peak / 1024,
                "cpu_s_per_tick": (last["cpu_ticks"] - first["cpu_ticks"]) / 100 / seconds}
    finally:
        if bot is not None:
            await bot.stop()
        await sandbox.child.stop()


async def bench_database(name: str, url: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"database": name}
    now = datetime.now(UTC)
    small = max(args.tickets // 10, 1)
    engine = create_engine(url)
    await upgrade_to_head(engine)
    filled = await tick_fill.fill(engine, first=1, last=small, now=now)
    await vacuum_analyze(engine)
    await engine.dispose()
    config = resolve_config(args.config)
    if args.memory:
        out["memory_small"] = await memory(url, config, log_dir, args.memory)
    engine = create_engine(url)
    more = await tick_fill.fill(engine, first=small + 1, last=args.tickets, now=now)
    await vacuum_analyze(engine)
    out["fill_s"] = filled["seconds"] + more["seconds"]
    out["timers"] = filled["timers"] + more["timers"]
    print(f"  {name}: filled {args.tickets} tickets and {out['timers']} timers in {out['fill_s']:.0f} s",
          file=sys.stderr, flush=True)
    bench = TickBench(engine, args.tickets)
    await bench.idle_claims(5)  # warm: connections, statement caches
    out["idle"] = await bench.idle_claims(args.claims)
    out["plans"] = await bench.plans(args.due)
    out["due"] = await bench.due_runs(args.runs, args.due)
    await engine.dispose()
    if args.memory:
        out["memory_big"] = await memory(url, config, log_dir, args.memory)
    return out


def render(results: list[dict[str, Any]], args: argparse.Namespace, load_before: str) -> str:
    small = max(args.tickets // 10, 1)
    lines = [f"command: {shlex.join([sys.executable, *sys.argv])}",
             f"load average before {load_before}, after {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
             f"{os.cpu_count()} CPUs",
             "", f"{'database':<11}{'figure (ms)':<44}{'min':>8} {'median':>8} {'max':>8}  target"]
    for r in results:
        idle, due = r["idle"], r["due"]
        rows = [
            (f"idle claim, database ({idle['statements']:.0f} stmt), {args.claims}x", idle["db_ms"],
             IDLE_TARGET_MS),
            ("idle claim, wall with commit", idle["wall_ms"], None),
            (f"fire_due {args.due} due, database ({statistics.median(due['svc_n']):.0f} stmt)", due["svc_db"],
             DUE_TARGET_MS),
            (f"fire_due {args.due} due, wall", due["svc_wall"], None),
            (f"repo claim+mark {args.due}, database ({statistics.median(due['repo_n']):.0f} stmt)", due["repo_db"],
             DUE_TARGET_MS),
            (f"repo claim+mark {args.due}, wall", due["repo_wall"], None),
        ]
        for label, values, target in rows:
            verdict = "" if target is None else f"< {target:g} {'PASS' if max(values) < target else 'FAIL'}" \
                + ("" if max(values) < target else f" (median {'PASS' if stats(values)[1] < target else 'FAIL'})")
            lines.append(f"{r['database']:<11}{label:<44}{fmt(values)}  {verdict}")
        lines.append(f"{r['database']:<11}fill: {args.tickets} tickets, {r['timers']} timers in {r['fill_s']:.0f} s; "
                     f"{args.runs} runs of {args.due} due")
    if args.memory:
        lines += ["", f"{'database':<11}{'open tickets':>13}{'RSS start':>11}{'RSS end':>9}{'RSS peak':>10}"
                      f"{'CPU s/s':>9}   (supportbot run, tick 1 s, {args.memory:g} s)"]
        for r in results:
            for size, key in ((small, "memory_small"), (args.tickets, "memory_big")):
                m = r[key]
                lines.append(f"{r['database']:<11}{size:>13}{m['rss_start_mb']:>9.1f}MB{m['rss_end_mb']:>7.1f}MB"
                             f"{m['rss_peak_mb']:>8.1f}MB{m['cpu_s_per_tick']:>9.3f}")
    for r in results:
        for title, plan in r["plans"].items():
            lines += ["", f"plan, {r['database']}, {title}:", *plan]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-tick-")))
        for name in args.databases.split(","):
            log_dir = folder / name
            log_dir.mkdir()
            if name == "sqlite":
                url = f"sqlite+aiosqlite:///{log_dir / 'tick.db'}"
            else:
                from tests.postgres import postgres_server

                url = stack.enter_context(postgres_server())
            results.append(await bench_database(name, url, args, log_dir))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--tickets", type=int, default=100_000, help="open tickets (10 timers each)")
    parser.add_argument("--claims", type=int, default=200, help="idle claims measured")
    parser.add_argument("--due", type=int, default=100, help="timers due per run")
    parser.add_argument("--runs", type=int, default=5, help="runs of the due-timer measurement")
    parser.add_argument("--memory", type=float, default=8.0, help="seconds the bot ticks per memory figure (0: skip)")
    parser.add_argument("--config", help="supportbot.toml (default: the shared contract, else the demo's)")
    args = parser.parse_args()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results = asyncio.run(main_async(args))
    print(render(results, args, load_before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
