#!/usr/bin/env bash
# Installs the project into .venv (once) and runs `supportbot demo`: no tokens, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .
.venv/bin/supportbot demo
