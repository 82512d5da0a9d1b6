"""Tiled inference and weight files."""

import numpy as np
import pytest

from convpress.errors import CodecUnavailableError, CorruptDataError
from convpress.restoration.inference import load_model, restore, save_weights

from restoration_helpers import random_network
from imagegen import natural_like


@pytest.mark.parametrize("channels", [1, 3])
def test_tiled_result_equals_untiled_one(channels):
    model = random_network().eval()
    image = natural_like(90, 131, channels).astype(np.float32)  # odd sizes: padding and partial tiles
    whole = restore(model, image, 0.2, tile=1024, progress=False)
    tiled = restore(model, image, 0.2, tile=32, progress=False)  # 3 x 5 tiles, margins of 28 px
    assert whole.shape == image.shape and whole.dtype == np.float32
    assert np.abs(whole - image).max() > 1  # the network does change the image
    np.testing.assert_allclose(tiled, whole, atol=2e-4)


def test_gray_image_is_the_mean_of_the_three_outputs():
    model = random_network().eval()
    gray = natural_like(40, 40, 1).astype(np.float32)
    as_color = restore(model, np.repeat(gray[:, :, None], 3, axis=2), 0.1, progress=False)
    np.testing.assert_allclose(restore(model, gray, 0.1, progress=False), as_color.mean(axis=2), atol=1e-4)


def test_weights_round_trip_in_float16(tmp_path):
    model = random_network(seed=4)
    path = save_weights(tmp_path / "w.safetensors", model, "denoise", {"steps": 7})
    loaded = load_model("denoise", path)
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(loaded.state_dict()[key].numpy(), value.half().float().numpy())
    assert path.stat().st_size < 0.6 * sum(v.numel() * 4 for v in model.state_dict().values()) + 4096


def test_missing_wrong_task_and_corrupt_weights_are_clear_errors(tmp_path):
    with pytest.raises(CodecUnavailableError, match="no deblock weights at .*train-restore"):
        load_model("deblock", tmp_path / "absent.safetensors")
    path = save_weights(tmp_path / "d.safetensors", random_network(), "denoise")
    with pytest.raises(CodecUnavailableError, match="holds 'denoise' weights, not 'deblock'"):
        load_model("deblock", path)
    (tmp_path / "bad.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json")
    with pytest.raises(CorruptDataError, match="not a convpress restoration weights file"):
        load_model("denoise", tmp_path / "bad.safetensors")
