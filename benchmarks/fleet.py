"""Starting the Slack sandbox and one or more `supportbot run` processes, for bench_tick.py and bench_replicas.py.

The processes are bench_intake.py's (`Child`, the environment scrubbed of anything real): the sandbox from
sandbox_server.py and the bot from run_bot.py, the real CLI path with logging at WARNING. Each bot gets a copy of
the config without [[webhooks]] (they would need secrets and send to real URLs), optionally with another tick.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench_intake import (  # noqa: E402
    BOT_TOKEN,
    REQUEST_TIMEOUT,
    SIGNING_SECRET,
    Child,
    child_env,
    free_port,
    wait_healthy,
)


@dataclass
class Sandbox:
    child: Child
    api_url: str
    control_url: str


def bot_config(source: Path, folder: Path, *, tick: str | None = None) -> Path:
    """A copy of the config for a benchmarked bot: no [[webhooks]], and the scheduler tick when given."""
    text = re.sub(r"^\[\[webhooks\]\][^\n]*\n(?:(?!\[)[^\n]*(?:\n|$))*", "", source.read_text(), flags=re.MULTILINE)
    if tick is not None:
        text, found = re.subn(r'^tick = "[^"]*"', f'tick = "{tick}"', text, flags=re.MULTILINE)
        if not found:
            text += f'\n[scheduler]\ntick = "{tick}"\n'
    path = folder / "supportbot.toml"
    path.write_text(text)
    return path


async def start_sandbox(config: Path, log_dir: Path, cpus: set[int] | None = None) -> Sandbox:
    child = Child("sandbox", [sys.executable, str(HERE / "sandbox_server.py"), "--config", str(config),
                              "--bot-token", BOT_TOKEN], child_env({}), log_dir, cpus)
    announced = await child.start(announces=True)
    assert announced is not None
    return Sandbox(child, announced["api_url"], announced["control_url"])


async def start_bot(name: str, *, database_url: str, config: Path, api_url: str, log_dir: Path,
                    cpus: set[int] | None = None) -> tuple[Child, int]:
    """`supportbot run` on a free port, waited for until /healthz answers 200; returns the child and its port."""
    port = free_port()
    env = child_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": api_url,
                     "DATABASE_URL": database_url, "PORT": str(port), "SUPPORTBOT_CONFIG": str(config)})
    child = Child(name, [sys.executable, str(HERE / "run_bot.py")], env, log_dir, cpus)
    await child.start(announces=False)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
        await wait_healthy(session, f"http://127.0.0.1:{port}/healthz", child)
    return child, port


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (kB) and CPU seconds (user + system, in clock ticks / 100) of a process, from /proc."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    with open(f"/proc/{pid}/stat") as stat:
        parts = stat.read().rsplit(")", 1)[1].split()
    fields["cpu_ticks"] = int(parts[11]) + int(parts[12])  # utime, stime
    return fields
