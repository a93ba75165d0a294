"""`supportbot run` with the root logger at WARNING, for benchmarks.

bot/cli.py calls logging.basicConfig(level=INFO); basicConfig does nothing once the root logger has a
handler, so configuring it first is enough to keep the bot's INFO lines out of a timed run. Everything else
(reading the environment, migrating SQLite, serving HTTP on $PORT, the scheduler, SIGTERM handling) is the
real CLI path.

With SUPPORTBOT_PROFILE=<path>, the event loop's thread runs under cProfile, timed by that thread's own CPU
clock (so time spent waiting for the database thread or the network is not counted), and the stats are
written to <path> when the process exits (SIGTERM ends `run` normally).
"""

from __future__ import annotations

import logging
import os
import sys

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.cli import main

    profile_to = os.environ.get("SUPPORTBOT_PROFILE")
    if not profile_to:
        sys.exit(main(["run"]))
    import cProfile
    import time

    profiler = cProfile.Profile(time.thread_time)
    try:
        code = profiler.runcall(main, ["run"])
    finally:
        profiler.dump_stats(profile_to)
    sys.exit(code)
