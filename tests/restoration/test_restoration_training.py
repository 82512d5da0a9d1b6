"""Restoration training: degradations made on the fly, and a tiny network that learns."""

import numpy as np
import torch

from convpress.restoration.degradations import jpeg_roundtrip
from convpress.restoration.network import create_network
from convpress.training.data import RandomCrops, list_images, load_images
from convpress.training.loop import TrainConfig, Trainer
from convpress.training.restore import add_jpeg, add_noise, grayify, restoration_step

from imagegen import natural_like


def _clean_batch(count=6, seed=0):
    arrays = [natural_like(32, 32, 3, seed + i) for i in range(count)]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


def test_grayify_turns_the_chosen_fraction_gray_and_marks_gray_samples():
    batch = _clean_batch()
    _, none_gray = grayify(batch, 0.0, torch.Generator().manual_seed(0))
    grays, all_gray = grayify(batch, 1.0, torch.Generator().manual_seed(0))
    assert not none_gray.any() and all_gray.all()
    assert torch.equal(grays[:, 0], grays[:, 2]) and torch.equal(grays, torch.round(grays * 255) / 255)


def test_noise_is_unclipped_and_shared_by_the_channels_of_gray_samples():
    clean, is_gray = grayify(_clean_batch(), 0.5, torch.Generator().manual_seed(1))
    noisy, levels = add_noise(clean, is_gray, torch.Generator().manual_seed(2))
    noise = noisy - clean
    assert 0 <= levels.min() and levels.max() <= 75 / 255 and (noisy < 0).any()
    for sample, gray, level in zip(noise, is_gray, levels):
        assert torch.equal(sample[0], sample[2]) == bool(gray)
        assert abs(float(sample.std()) - float(level)) < 0.1 * float(level) + 1e-3


def test_jpeg_samples_are_the_libjpeg_roundtrip_of_each_crop():
    clean, is_gray = grayify(_clean_batch(), 0.5, torch.Generator().manual_seed(1))
    compressed, levels = add_jpeg(clean, is_gray, torch.Generator().manual_seed(3))
    pixels = torch.round(clean * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for index, (gray, level) in enumerate(zip(is_gray.tolist(), levels.tolist())):
        quality = round(100 - 100 * level)
        assert 5 <= quality <= 95
        expected = jpeg_roundtrip(pixels[index][:, :, 0], quality)[:, :, None] if gray else jpeg_roundtrip(pixels[index], quality)
        assert np.array_equal(np.round(compressed[index].permute(1, 2, 0).numpy() * 255) * np.ones(3), expected * np.ones(3))


def test_tiny_denoiser_learns(training_folder, tmp_path):
    torch.manual_seed(0)
    data = RandomCrops(load_images(list_images([training_folder]), min_side=64, progress=False), seed=1)
    config = TrainConfig(name="t", steps=60, batch_size=8, crop=32, final_crop=32, lr=3e-3, warmup_steps=1,
                         lr_milestones=[], log_every=10, bf16=False)
    model = create_network("restore-tiny")
    clean = data.batch(8, 64)
    noisy = clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(5)) * (30 / 255)

    def held_out_error() -> float:
        with torch.no_grad():
            return float((model(noisy, torch.full((8,), 30 / 255)) - clean).abs().mean())

    before = held_out_error()  # the untrained network is the identity: the noise itself
    Trainer(model, data, config, tmp_path / "run", restoration_step("denoise", 0.2)).run()
    model.eval()
    assert len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 6
    assert held_out_error() < 0.9 * before  # 0.84 after these 60 deterministic steps


def test_fine_tuning_starts_from_exported_weights(training_folder, tmp_path):
    from convpress.restoration.inference import save_weights
    from convpress.training.restore import train_restore

    torch.manual_seed(3)
    start = create_network("restore-tiny")
    save_weights(tmp_path / "start.safetensors", start, "denoise")
    config = TrainConfig(name="tuned", steps=1, batch_size=2, crop=32, final_crop=32, lr=1e-9, warmup_steps=1,
                         lr_milestones=[], log_every=1, bf16=False, threads=1)
    trainer = train_restore(config, [str(training_folder)], "denoise", "restore-tiny", tmp_path, resume=False,
                            init_from=tmp_path / "start.safetensors")
    for key, value in start.state_dict().items():  # float16 file, a step of lr 1e-9: the same weights
        assert torch.allclose(trainer.model.state_dict()[key].float(), value, atol=2e-3), key
