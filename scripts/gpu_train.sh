#!/usr/bin/env bash
# Train on a lent GPU machine, inside one device call (10 minutes at most): installs the carried
# wheels, trains for MINUTES, then exports the weights (fp16 safetensors, in parts of 15 MiB), the
# model card and the run log to $OUT, which the device tool brings back. A machine still warm
# keeps runs/, so a later call with the same NAME resumes the run exactly (pass only a new --steps
# then); on a fresh machine pass --init-from with the weights an earlier call brought back. Pack first with scripts/gpu_pack.sh, then, through the device tool:
#   run(command="bash scripts/gpu_train.sh NAME 8 --init-from src/convpress/weights/cp-checkerboard.safetensors
#        --rate-proxy rounded --steps 12000 --batch-size 64 --crop 256 --lr 1e-4", carry=["gpu"])
#   (an H100 ran ~25 steps/s of 64x256² here, the steps bound by kernel launches: README)
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 minutes=$2
shift 2
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site gpu/wheels/*.whl
export PYTHONPATH=/tmp/site:src PYTHONUNBUFFERED=1
out=${OUT:-out}
mkdir -p "$out"
resume=()
[ -f "runs/$name/checkpoint.pt" ] && resume=(--resume)
log="$out/$name.train.txt"
if ! python3 -m convpress train --data gpu/train --val-data gpu/val --name "$name" --threads 8 \
    --time-limit "$minutes" --validate-every 2000 "${resume[@]}" "$@" >"$log" 2>&1; then
  tr '\r' '\n' <"$log" | tail -30
  exit 1
fi
tr '\r' '\n' <"$log" | grep -v "it/s\|img/s" | tail -20
tr '\r' '\n' <"$log" | grep "it/s" | tail -1
python3 -m convpress export "runs/$name/checkpoint.pt" --name cp-checkerboard --out-dir "runs/$name/export" --force
cp "runs/$name/export/cp-checkerboard.md" "runs/$name/log.jsonl" "$out/"
# The device tool brings back files of at most 16 MiB: a wider model's weights come in parts,
# joined again with `cat cp-checkerboard.safetensors.part* > cp-checkerboard.safetensors`.
split -b 15m -d "runs/$name/export/cp-checkerboard.safetensors" "$out/cp-checkerboard.safetensors.part"
