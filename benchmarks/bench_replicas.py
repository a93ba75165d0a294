"""Benchmark of tickets filed per second end to end: SQLite (1 process), PostgreSQL (1 replica), 2 replicas.

One Slack sandbox (sandbox_server.py) and three `supportbot run` processes (run_bot.py, the real CLI path):
one on a SQLite file, and two replicas on one throwaway PostgreSQL cluster (tests/postgres.py, migrated first,
as an operator would with `supportbot migrate`). Each run files K tickets through each target, in a rotating
order so no target is always first:

  1. K signed `/ticket` commands at once (round-robin over the target's ports), waiting for the K views.open;
  2. K signed view_submissions at once, built by the sandbox exactly as Slack would, round-robin again;
  3. tickets/s = cards posted / (first submission sent to the last card posted in the triage channel); a
     submission the bot refuses (answered with errors, e.g. "the database did not answer") is counted and shown.

"pg x1" sends everything to replica A (replica B is up and ticking but gets no requests); "pg x2" alternates
between A and B, like a round-robin load balancer. The ratio x2/x1 is taken within each run. Beside each run:
the bots' CPU per ticket (from /proc) and how busy the machine's CPUs were while filing.

    .venv/bin/python benchmarks/bench_replicas.py                   # 5 runs of 60 tickets per target
    .venv/bin/python benchmarks/bench_replicas.py --runs 3 --tickets 40 --targets pg1,pg2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
for entry in (str(ROOT), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import fleet  # noqa: E402
from bench_intake import (  # noqa: E402
    POLL_INTERVAL,
    REQUEST_TIMEOUT,
    Child,
    RunBroken,
    Sample,
    SandboxControl,
    burst,
    client_session,
    command_body,
    open_connections,
    percentile,
    resolve_config,
)

from bot.core.config import load_config  # noqa: E402
from bot.sandbox.workspace import AGENT, GENERAL, ticket_values  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402

CARDS_WAIT = 60.0
LABELS = {"sqlite": "sqlite x1", "pg1": "pg x1", "pg2": "pg x2"}


@dataclass
class Target:
    name: str
    urls: list[str]
    bots: list[Child]
    rates: list[float] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def bots_cpu(bots: list[Child]) -> float:
    return sum(fleet.proc_status(b.proc.pid)["cpu_ticks"] for b in bots if b.proc is not None) / 100


async def spread(session: aiohttp.ClientSession, urls: list[str], bodies: list[tuple[str, bytes]]) -> list[Sample]:
    """Sends the bodies at once, the i-th to urls[i % len(urls)]: a round-robin balancer."""
    groups = [bodies[i::len(urls)] for i in range(len(urls))]
    answered = await asyncio.gather(*(burst(session, url, group) for url, group in zip(urls, groups, strict=True)))
    return [sample for group in answered for sample in group]


async def wait_cards(sandbox: SandboxControl, since: int, channel: str, tags: set[str]) -> list[float]:
    """When each tagged card was posted (top-level chat.postMessage to the triage channel), until all or timeout."""
    found: dict[str, float] = {}
    cursor, deadline = since, time.monotonic() + CARDS_WAIT
    while len(found) < len(tags) and time.monotonic() < deadline:
        cursor, rows = await sandbox.calls(cursor, "chat.postMessage")
        for row in rows:
            if row["ok"] and row["channel"] == channel and not row["thread_ts"]:
                tag = next((t for t in tags if t in (row.get("text") or "")), None)
                if tag and tag not in found:
                    found[tag] = row["at"]
        await asyncio.sleep(POLL_INTERVAL)
    return list(found.values())


async def file_tickets(sandbox: SandboxControl, target: Target, k: int, triage: str) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    async with client_session(k) as session:
        for url in target.urls:
            await open_connections(session, url, k)
        mark = await sandbox.mark()
        items = await sandbox.triggers(k, user=AGENT.user_id, channel=GENERAL)
        commands = [(it["trigger_id"], command_body(it, text=f"bench {run}")) for it in items]
        await spread(session, target.urls, commands)
        views = await sandbox.wait_views_open(mark, [key for key, _ in commands])
        opened = [key for key, _ in commands if views.get(key, {}).get("ok")]
        if len(opened) < k:
            raise RunBroken(f"{target.name}: {k - len(opened)} of {k} modals did not open")
        tags = {tid: f"Bench replicas {run}-{i:03d}" for i, tid in enumerate(opened)}
        built = await sandbox.submissions([{"trigger_id": tid, "values": ticket_values(Summary=tag)}
                                           for tid, tag in tags.items()])
        if any("payload" not in b for b in built):
            raise RunBroken(f"{target.name}: a view submission could not be built: {built[0]}")
        bodies = [(tags[b["trigger_id"]], urlencode({"payload": b["payload"]}).encode()) for b in built]
        mark = await sandbox.mark()
        cpu_before, (busy_before, total_before) = bots_cpu(target.bots), machine_busy()
        acks = await spread(session, target.urls, bodies)
        # A submission answered with errors (the modal stays open, saying why) files nothing: no card to wait for.
        accepted = {a.key for a in acks if a.status == 200 and not a.body.strip()}
        cards = await wait_cards(sandbox, mark, triage, accepted)
        cpu_after, (busy_after, total_after) = bots_cpu(target.bots), machine_busy()
    for bot in target.bots:
        bot.check_alive()
    if len(cards) < len(accepted) or not cards:
        raise RunBroken(f"{target.name}: {len(cards)} of {len(accepted)} cards were posted within {CARDS_WAIT:.0f} s"
                        + "".join(bot.tail(15) for bot in target.bots))
    span = max(cards) - min(a.sent_wall for a in acks)
    return {"tickets_per_s": len(cards) / span, "span_s": span,
            "ack_p99_ms": percentile([a.latency_ms for a in acks if a.status == 200], 99),
            "rejected": k - len(accepted),
            "rejections": sorted({f"{a.status} {a.body[:100]}" for a in acks if a.key not in accepted})[:2],
            "bot_cpu_ms_per_ticket": (cpu_after - cpu_before) * 1000 / k,
            "machine_busy": (busy_after - busy_before) / max(total_after - total_before, 1)}


async def run(args: argparse.Namespace) -> list[Target]:
    config = resolve_config(args.config)
    triage = load_config(config).slack.triage_channel
    wanted = args.targets.split(",")
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-replicas-")))
        bot_config = fleet.bot_config(config, folder)
        sandbox = await fleet.start_sandbox(config, folder)
        children: list[Child] = [sandbox.child]
        targets: list[Target] = []
        try:
            if "sqlite" in wanted:
                bot, port = await fleet.start_bot("sqlite", database_url=f"sqlite+aiosqlite:///{folder / 'b.db'}",
                                                  config=bot_config, api_url=sandbox.api_url, log_dir=folder)
                children.append(bot)
                targets.append(Target("sqlite", [f"http://127.0.0.1:{port}/slack/events"], [bot]))
            if {"pg1", "pg2"} & set(wanted):
                from tests.postgres import postgres_server

                url = stack.enter_context(postgres_server())
                engine = create_engine(url)
                await upgrade_to_head(engine)
                await engine.dispose()
                replicas = []
                for name in ("pg-a", "pg-b"):
                    bot, port = await fleet.start_bot(name, database_url=url, config=bot_config,
                                                      api_url=sandbox.api_url, log_dir=folder)
                    children.append(bot)
                    replicas.append((bot, f"http://127.0.0.1:{port}/slack/events"))
                if "pg1" in wanted:
                    targets.append(Target("pg1", [replicas[0][1]], [replicas[0][0]]))
                if "pg2" in wanted:
                    targets.append(Target("pg2", [u for _, u in replicas], [b for b, _ in replicas]))
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as http:
                control = SandboxControl(http, sandbox.control_url)
                for target in targets:  # warm-up, untimed: imports, caches, connections, the pool
                    await file_tickets(control, target, min(args.tickets, 20), triage)
                for rep in range(args.runs):
                    turn = rep % len(targets)
                    for target in targets[turn:] + targets[:turn]:
                        await asyncio.sleep(0.5)
                        result = await file_tickets(control, target, args.tickets, triage)
                        result["run"] = rep
                        target.rates.append(result["tickets_per_s"])
                        target.details.append(result)
                        print(f"  run {rep + 1} {LABELS[target.name]}: {result['tickets_per_s']:.1f} tickets/s",
                              file=sys.stderr, flush=True)
        finally:
            for child in reversed(children):
                await child.stop()
    return targets


def render(targets: list[Target], args: argparse.Namespace, load_before: str) -> str:
    lines = [f"command: {shlex.join([sys.executable, *sys.argv])}",
             f"load average before {load_before}, after {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
             f"{os.cpu_count()} CPUs; {args.runs} runs of {args.tickets} tickets per target, rotating order", "",
             f"{'target':<11}{'tickets/s min':>14}{'median':>8}{'max':>8}{'bot CPU ms/ticket':>19}"
             f"{'machine busy':>14}{'submit ack p99':>16}"]
    for t in targets:
        cpu = statistics.median(d["bot_cpu_ms_per_ticket"] for d in t.details)
        busy = statistics.median(d["machine_busy"] for d in t.details)
        ack = statistics.median(d["ack_p99_ms"] or 0 for d in t.details)
        rejected = sum(d["rejected"] for d in t.details)
        lines.append(f"{LABELS[t.name]:<11}{min(t.rates):>14.1f}{statistics.median(t.rates):>8.1f}"
                     f"{max(t.rates):>8.1f}{cpu:>19.1f}{busy:>13.0%}{ack:>13.0f} ms"
                     + (f"  [{rejected} of {args.tickets * len(t.details)} submissions refused]" if rejected else ""))
        for d in t.details:
            if d["rejections"]:
                lines.append(f"{'':<11}run {d['run'] + 1}: {d['rejected']} refused, e.g. {d['rejections'][0]}")
    by_name = {t.name: t for t in targets}
    if "pg1" in by_name and "pg2" in by_name:
        ratios = [two / one for one, two in zip(by_name["pg1"].rates, by_name["pg2"].rates, strict=True)]
        lines += ["", f"pg x2 / pg x1 within each run: min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x,"
                      f" max {max(ratios):.2f}x  (runs: {' '.join(f'{r:.2f}' for r in ratios)})"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="sqlite,pg1,pg2")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tickets", type=int, default=60, help="tickets filed at once per run and target")
    parser.add_argument("--config", help="supportbot.toml (default: the shared contract, else the demo's)")
    args = parser.parse_args()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        targets = asyncio.run(run(args))
    except RunBroken as exc:
        print(f"bench_replicas: the run broke: {exc}", file=sys.stderr)
        return 1
    print(render(targets, args, load_before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
