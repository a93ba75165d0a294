"""Ports for the servers tests start (bots, stand-ins, PostgreSQL clusters), taken below the kernel's ephemeral
range and apart per pytest-xdist worker.

A port found free by binding to port 0 comes from the ephemeral range, which is also where every outgoing
connection gets its local port: between the probe and the server's own bind, a client socket anywhere on the
machine (another worker's, PostgreSQL's) could take it, and `supportbot run` then died with "address already in
use" (seen once in CI, test_quiet_logs). Below the range only servers bind; each worker draws from a block of
its own, never hands out a port twice, and checks that it binds."""

from __future__ import annotations

import os
import random
import socket

LOWEST, BLOCK = 20000, 3000  # four workers' blocks end at 32000, under Linux's default range (32768-60999)
_given: set[int] = set()


def _ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as limits:
            return int(limits.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _binds(port: int) -> bool:
    for host in ("0.0.0.0", "127.0.0.1"):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """A port nothing listens on, from this worker's block below the ephemeral range (when there is room)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    low = LOWEST + (index % 4) * BLOCK
    high = min(low + BLOCK, _ephemeral_start()) - 1
    if high > low:
        for _ in range(200):
            port = random.randint(low, high)
            if port not in _given and _binds(port):
                _given.add(port)
                return port
    with socket.socket() as probe:  # no room below the range on this machine: the kernel's choice
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
