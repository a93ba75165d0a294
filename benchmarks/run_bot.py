"""`supportbot run` with the root logger at WARNING, for benchmarks.

bot/cli.py calls logging.basicConfig(level=INFO); basicConfig does nothing once the root logger has a
handler, so configuring it first is enough to keep the bot's INFO lines out of a timed run. Everything else
(reading the environment, migrating SQLite, serving HTTP on $PORT, the scheduler, SIGTERM handling) is the
real CLI path.
"""

from __future__ import annotations

import logging
import sys

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.cli import main

    sys.exit(main(["run"]))
