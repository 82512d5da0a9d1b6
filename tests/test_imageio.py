"""Image loading: modes normalised, 16-bit reduced with a warning, atomic writes that never clobber."""

import numpy as np
import pytest
from PIL import Image

from convpress.errors import OutputExistsError, UnsupportedImageError
from convpress.imageio import open_image, write_atomic


def test_sixteen_bit_gray_is_reduced_to_eight_bits_with_a_warning(tmp_path):
    array = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 31)
    path = tmp_path / "deep.png"
    Image.fromarray(array).save(path)
    with pytest.warns(UserWarning, match="reducing to 8-bit"):
        image = open_image(path)
    assert image.mode == "L"
    expected = np.clip(np.round(array / 65535 * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(np.asarray(image), expected)


@pytest.mark.parametrize(("mode", "expected"), [("P", "RGB"), ("LA", "RGBA"), ("CMYK", "RGB"), ("1", "L")])
def test_other_modes_are_normalised(mode, expected):
    assert open_image(Image.new(mode, (5, 4))).mode == expected


def test_garbage_is_refused(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"not an image")
    with pytest.raises(UnsupportedImageError, match="cannot read image"):
        open_image(path)


def test_write_atomic_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "out.bin"
    write_atomic(path, b"first")
    with pytest.raises(OutputExistsError):
        write_atomic(path, b"second")
    assert path.read_bytes() == b"first"
    write_atomic(path, b"second", force=True)
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
