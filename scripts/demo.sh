#!/usr/bin/env bash
# Set everything up, then compress a sample photo with every codec (the learned one included) at the
# same size and print the comparison table; files, decoded images and a side-by-side figure go to out/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/convpress compare --sample --target-bpp 0.5 --out out/demo --force "$@"
