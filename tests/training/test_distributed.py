"""The same train command under torchrun: two processes, gradients averaged, rank 0 checkpoints."""

import json
import os
import subprocess
import sys

import torch
from PIL import Image

from imagegen import natural_like


def test_two_process_data_parallel_training(tmp_path):
    data = tmp_path / "images"
    data.mkdir()
    for seed in range(3):
        Image.fromarray(natural_like(64, 96, 3, seed)).save(data / f"{seed}.png")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "convpress", "train", "--data", str(data), "--name", "ddp", "--model", "cp-tiny",
        "--steps", "4", "--batch-size", "2", "--crop", "64", "--final-crop", "64", "--threads", "1",
        "--no-bf16", "--runs-dir", str(tmp_path / "runs"),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    assert result.returncode == 0, result.stderr[-8000:]
    state = torch.load(tmp_path / "runs" / "ddp" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4
    assert not any(key.startswith("module.") for key in state["model"])
    log = (tmp_path / "runs" / "ddp" / "log.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["step"] == 4
