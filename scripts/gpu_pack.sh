#!/usr/bin/env bash
# Pack what a lent GPU machine needs to train a codec (README, "Training on a lent GPU") into gpu/
# (git-ignored; the device tool carries it): four validation images, wheels of the two packages
# the device image lacks, the BSDS400 photos as they are, then CQ100 and SunHays80 halved as
# lossless WebP (scripts/pack_lossless.py) while room is left: everything that travels,
# repository included, must stay under 64 MiB, so the photos stop at 62 MiB in all.
#   bash scripts/gpu_pack.sh [DATA_ROOT]      (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
rm -rf gpu
mkdir -p gpu/train gpu/val gpu/wheels
cp "$data"/kodak/kodim0[1-4].png gpu/val/
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d gpu/wheels "constriction==0.5.0" "pytorch-msssim==1.0.0"
tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
budget=$((62 * 1048576 - tracked - $(du -sb gpu | cut -f1)))
mkdir -p gpu/train/bsds400
for photo in "$data"/train/bsds400/*; do
  size=$(stat -c %s "$photo")
  [ "$size" -gt "$budget" ] && break
  cp "$photo" gpu/train/bsds400/
  budget=$((budget - size))
done
python=${PYTHON:-.venv/bin/python}
for set in cq100 sunhays80; do
  "$python" scripts/pack_lossless.py "$data/train/$set" "gpu/train/$set-half" --scale 0.5 --budget "$budget"
  budget=$((62 * 1048576 - tracked - $(du -sb gpu | cut -f1)))
done
packed=$(du -sb gpu | cut -f1)
echo "gpu/train: $(find gpu/train -type f | wc -l) photos"
echo "gpu/: $((packed / 1048576)) MiB; with the repository: $(((tracked + packed) / 1048576)) MiB of 64"
