#!/usr/bin/env bash
# Installs the project into .venv (once) and runs lint, types and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'
.venv/bin/ruff check bot handlers blocks storage tests benchmarks
.venv/bin/mypy
.venv/bin/pytest -q "$@"
