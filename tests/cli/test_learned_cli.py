"""The learned codec through the command line: encode with a target, info, decode."""

import json
from collections import OrderedDict

import numpy as np
import pytest
import torch
from PIL import Image

from convpress.cli import main
from convpress.codecs import learned
from convpress.models.compression import ModelTables
from convpress.models.loading import save_model_file
from convpress.zoo import create_model
from imagegen import natural_like


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    model = create_model("cp-tiny").eval()
    path = tmp_path_factory.mktemp("m") / "tiny.safetensors"
    save_model_file(path, "cp-tiny", model, ModelTables.build(model))
    return path


def test_encode_info_decode(tmp_path, model_file, capsys, monkeypatch):
    source = tmp_path / "in.png"
    Image.fromarray(natural_like(70, 90, 3, 1)).save(source)
    coded, decoded = tmp_path / "out.cpz", tmp_path / "out.png"
    assert main(["encode", str(source), str(coded), "--codec", "learned", "-o", f"model={model_file}", "-q", "80"]) == 0
    capsys.readouterr()
    assert main(["info", str(coded), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["width"] == 90 and info["height"] == 70 and info["model_name"] == "cp-tiny"
    monkeypatch.setattr(learned, "_loaded_models", OrderedDict())  # as in a fresh process
    assert main(["decode", str(coded), str(decoded)]) == 2  # the file names a model that is not shipped
    assert "no weights for model 'cp-tiny'" in capsys.readouterr().err
    assert main(["decode", str(coded), str(decoded), "--model", str(model_file)]) == 0
    assert Image.open(decoded).size == (90, 70)


def test_target_size_is_met_or_reported(tmp_path, model_file, capsys):
    source = tmp_path / "in.png"
    Image.fromarray(natural_like(128, 128, 3, 2)).save(source)
    coded = tmp_path / "out.cpz"
    assert main(["encode", str(source), str(coded), "--codec", "learned", "-o", f"model={model_file}", "--target-size", "100KB"]) == 0
    assert "target not reachable" in capsys.readouterr().err
    assert coded.stat().st_size < 100_000
