#!/usr/bin/env bash
# Installs the project into .venv (once) and runs `supportbot demo`: no tokens, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .
rm -rf supportbot.egg-info  # setuptools' leftover: the editable install's metadata lives in .venv
.venv/bin/supportbot demo
