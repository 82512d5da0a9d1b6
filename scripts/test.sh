#!/usr/bin/env bash
# Set everything up, then run the test suite (slow benchmarks are excluded by pytest's config).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
