#!/usr/bin/env bash
# Pack what a lent GPU machine needs to train a codec (README, "Training on a lent GPU") into gpu/
# (git-ignored; the device tool carries it): the training photos, four validation images, and
# wheels of the two packages the device image lacks. Everything that travels, repository
# included, must stay under 64 MiB; the script prints the total.
#   bash scripts/gpu_pack.sh [DATA_ROOT]      (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
rm -rf gpu
mkdir -p gpu/train gpu/val gpu/wheels
cp "$data"/train/bsds400/* gpu/train/
cp "$data"/kodak/kodim0[1-4].png gpu/val/
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d gpu/wheels "constriction==0.5.0" "pytorch-msssim==1.0.0"
tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
packed=$(du -sb gpu | cut -f1)
echo "gpu/: $((packed / 1048576)) MiB; with the repository: $(((tracked + packed) / 1048576)) MiB of 64"
