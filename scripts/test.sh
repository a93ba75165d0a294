#!/usr/bin/env bash
# Installs everything the tests need and runs lint, types and the whole test suite twice: on SQLite, then on
# PostgreSQL (each pytest worker starts a throwaway cluster on loopback; if it cannot start, the run fails).
# Debian packages: chromium renders the built-in status page; postgresql is the second database and the replicas'.
# Installed only when missing, with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_ apt-get update -qq >/dev/null
  $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'
rm -rf supportbot.egg-info  # setuptools' leftover: the editable install's metadata lives in .venv
.venv/bin/ruff check bot handlers blocks storage tests benchmarks
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
# Four workers on two cores: most of the suite waits (on real processes, leases, ticks, sockets), not computes.
workers="${SUPPORTBOT_TEST_WORKERS:-4}"
echo "== the suite on SQLite =="
# The two-replica test always runs on PostgreSQL (several replicas are what it is for): once, in the second run.
SUPPORTBOT_TEST_DATABASE=sqlite .venv/bin/pytest -q -n "$workers" --ignore=tests/replicas/test_two_replicas.py "$@"
echo "== the suite on PostgreSQL =="
SUPPORTBOT_TEST_DATABASE=postgresql .venv/bin/pytest -q -n "$workers" "$@"
