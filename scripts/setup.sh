#!/usr/bin/env bash
# Create .venv and install convpress with its test extras. torch==2.13.0 (the CPU build) goes first,
# so no later requirement pulls the multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[test]"
