"""Benchmark of `/customer`: 50 agents asking about one customer at once.

Reports, beside the customer endpoint's own latency measured in the same run (one signed request straight to
the stand-in): the time from each `/customer` command to its card being posted (p50/p99 over the 50), and how
many requests reached the endpoint for the 50 lookups (target: 1, by single-flight). Each run asks about a
new customer, so the 30-second reuse never answers for the endpoint.

    .venv/bin/python benchmarks/bench_customer.py              # 5 runs, endpoint answering in 100 ms
    .venv/bin/python benchmarks/bench_customer.py --runs 3 --latency 0.3
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import SupportBot  # noqa: E402
from bot.core.clock import SystemClock  # noqa: E402
from bot.core.config import EnvSettings, Settings, load_config  # noqa: E402
from bot.integrations.customer_connection import CustomerConnection, CustomerQuery  # noqa: E402
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document  # noqa: E402
from bot.sandbox.driver import SlackDriver  # noqa: E402
from bot.sandbox.slack import SlackSandbox  # noqa: E402
from bot.sandbox.workspace import populate  # noqa: E402

CONFIG = ROOT / "bot" / "sandbox" / "demo" / "supportbot.toml"
SECRET = "bench-secret"
TOKEN = "xoxb-bench"
AGENTS = 50


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def run(runs: int, latency: float) -> list[dict[str, float]]:
    config = load_config(CONFIG)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        async with SlackSandbox(bot_token=TOKEN) as sandbox, CustomerEndpointStandIn() as endpoint:
            populate(sandbox, config)
            agents = [f"U0BENCH{i:04d}" for i in range(AGENTS)]
            for agent in agents:
                sandbox.add_user(agent, agent.lower(), real_name=agent)
            sandbox.usergroups[config.slack.support_agents]["users"].extend(agents)
            endpoint.set_latency(latency)
            env = EnvSettings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=sandbox.api_url,
                              database_url=f"sqlite+aiosqlite:///{folder}/bench.db",
                              customer_connection_url=endpoint.url, customer_connection_secret=endpoint.secret)
            bot = await SupportBot.create(Settings(config=config, env=env), clock=SystemClock())
            port = await bot.start(host="127.0.0.1", port=0, scheduler=False)
            direct = CustomerConnection(url=endpoint.url, secret=endpoint.secret, timeout=5, reuse_seconds=0)
            try:
                async with SlackDriver(events_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SECRET,
                                       sandbox=sandbox) as slack:
                    for number in range(runs + 1):  # the first is a warm-up, not counted
                        workspace = f"ws_bench{number}"
                        endpoint.add(example_document(workspace), workspace_id=workspace)
                        endpoint.add(example_document(f"{workspace}_direct"), workspace_id=f"{workspace}_direct")
                        started = time.perf_counter()
                        await direct.fetch(CustomerQuery(why="lookup", workspace_id=f"{workspace}_direct"))
                        endpoint_alone = time.perf_counter() - started
                        before = len(endpoint.requests)
                        seen = len(sandbox.log)

                        async def ask(agent: str, workspace: str = workspace, seen: int = seen) -> float:
                            start = time.perf_counter()
                            await slack.slash_command(user_id=agent, command="/customer", text=workspace)
                            # The sandbox records the card; polling it costs the measured time nothing.
                            while not any(e.kind == "ephemeral" and e.note == agent  # noqa: ASYNC110
                                          for e in sandbox.log[seen:]):
                                await asyncio.sleep(0.002)
                            return time.perf_counter() - start

                        times = await asyncio.gather(*(ask(a) for a in agents))
                        upstream = len(endpoint.requests) - before
                        if number:
                            results.append({"endpoint": endpoint_alone, "p50": _percentile(list(times), 0.5),
                                            "p99": _percentile(list(times), 0.99), "upstream": upstream})
            finally:
                await direct.close()
                await bot.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1, help="the endpoint's own delay, seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(run(args.runs, args.latency))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {AGENTS} concurrent /customer, "
          f"endpoint delay {args.latency * 1000:.0f} ms, {len(results)} runs")
    for key, label in (("endpoint", "endpoint alone"), ("p50", "/customer → card p50"),
                       ("p99", "/customer → card p99")):
        values = [r[key] * 1000 for r in results]
        print(f"  {label:<22} min {min(values):7.1f} ms  median {statistics.median(values):7.1f} ms  "
              f"max {max(values):7.1f} ms")
    ratios = [r["p99"] / r["endpoint"] for r in results]
    print(f"  p99 / endpoint alone   min {min(ratios):.2f}x  median {statistics.median(ratios):.2f}x  "
          f"max {max(ratios):.2f}x")
    print(f"  upstream requests per 50 lookups: {sorted({int(r['upstream']) for r in results})} (target: 1)")


if __name__ == "__main__":
    main()
