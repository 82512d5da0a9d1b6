"""Training: a tiny model learns, and a resumed run is identical to an uninterrupted one."""

import json

import numpy as np
import pytest
import torch

from convpress.training.codec import codec_step
from convpress.training.data import RandomCrops, list_images, load_images
from convpress.training.loop import TrainConfig, Trainer
from convpress.zoo import create_model


def _trainer(folder, run_dir, steps, lr=2e-3):
    torch.manual_seed(0)
    model = create_model("cp-tiny")
    data = RandomCrops(load_images(list_images([folder]), min_side=64, progress=False), seed=1)
    config = TrainConfig(name="t", steps=steps, batch_size=4, crop=64, final_crop=64, lr=lr, warmup_steps=1,
                         lr_milestones=[], log_every=5, bf16=False)
    return Trainer(model, data, config, run_dir, codec_step("mse"))


def test_tiny_model_loss_falls(training_folder, tmp_path):
    trainer = _trainer(training_folder, tmp_path / "run", steps=40)
    trainer.run()
    losses = [json.loads(line)["loss"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 8
    assert losses[-1] < 0.5 * losses[0]


def test_resume_continues_exactly(training_folder, tmp_path):
    straight = _trainer(training_folder, tmp_path / "a", steps=6)
    straight.run()
    interrupted = _trainer(training_folder, tmp_path / "b", steps=6)
    interrupted.run(stop_at=3)
    assert interrupted.step == 3 and (tmp_path / "b" / "checkpoint.pt").exists()
    resumed = _trainer(training_folder, tmp_path / "b", steps=6)
    resumed.load()
    resumed.run()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_a_resumed_rank_other_than_0_draws_its_own_streams(training_folder, tmp_path, monkeypatch):
    _trainer(training_folder, tmp_path / "r", steps=4).run(stop_at=2)
    main = _trainer(training_folder, tmp_path / "r", steps=4)
    main.load()
    monkeypatch.setenv("RANK", "1")
    other = _trainer(training_folder, tmp_path / "r", steps=4)
    other.load()
    assert other.step == main.step == 2
    for key, value in main.model.state_dict().items():  # the weights are every rank's
        assert torch.equal(value, other.model.state_dict()[key]), key
    assert not torch.equal(other.data.batch(2, 64), main.data.batch(2, 64))
    assert not torch.equal(torch.rand(4, generator=other.generator), torch.rand(4, generator=main.generator))


def test_first_record_after_resume_averages_only_the_steps_it_saw(training_folder, tmp_path):
    def with_constant(trainer):
        step = trainer.step_fn
        trainer.step_fn = lambda *args: {**step(*args), "one": torch.tensor(1.0)}
        return trainer

    with_constant(_trainer(training_folder, tmp_path / "r", steps=10)).run(stop_at=7)
    resumed = with_constant(_trainer(training_folder, tmp_path / "r", steps=10))
    resumed.load()
    resumed.run()
    records = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["one"]) for r in records] == [(5, 1.0), (10, 1.0)]  # steps 8-10 averaged over 3


def test_random_crops_shapes_and_flips_are_reproducible(training_folder):
    images = load_images(list_images([training_folder]), min_side=64, progress=False)
    first = RandomCrops(images, seed=5, downscale=1.5).batch(3, 64)
    second = RandomCrops(images, seed=5, downscale=1.5).batch(3, 64)
    assert first.shape == (3, 3, 64, 64) and torch.equal(first, second)
    assert 0.0 <= float(first.min()) and float(first.max()) <= 1.0


def test_learning_rate_schedule_warms_up_and_decays():
    config = TrainConfig(name="s", steps=100, lr=1e-3, warmup_steps=10, lr_milestones=[0.5, 0.9])
    assert config.lr_at(0) == pytest.approx(1e-4)
    assert config.lr_at(20) == pytest.approx(1e-3)
    assert config.lr_at(60) == pytest.approx(1e-4)
    assert config.lr_at(95) == pytest.approx(1e-5)
    assert config.crop_at(0) == 128 and config.crop_at(95) == 256
    assert np.isclose(config.lr_at(49), 1e-3)


def test_interrupt_writes_a_checkpoint_of_the_steps_done(training_folder, tmp_path):
    trainer = _trainer(training_folder, tmp_path / "run", steps=10)
    step_fn = trainer.step_fn

    def interrupted_at_step_3(model, batch, generator):
        if trainer.step == 3:
            raise KeyboardInterrupt
        return step_fn(model, batch, generator)

    trainer.step_fn = interrupted_at_step_3
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 3


def test_initial_weights_come_from_a_checkpoint_or_a_safetensors_file(tmp_path):
    from convpress.models.compression import ModelTables
    from convpress.models.loading import save_model_file
    from convpress.training.loop import load_initial_weights

    torch.manual_seed(1)
    source = create_model("cp-tiny")
    torch.save({"model": source.state_dict()}, tmp_path / "checkpoint.pt")
    save_model_file(tmp_path / "model.safetensors", "cp-tiny", source, ModelTables.build(source.eval()), half=False)
    for path in (tmp_path / "checkpoint.pt", tmp_path / "model.safetensors"):
        target = create_model("cp-tiny")
        load_initial_weights(target, path)
        for key, value in source.state_dict().items():
            assert torch.equal(target.state_dict()[key], value), (path.name, key)


def test_initial_weights_of_another_architecture_are_refused_clearly(tmp_path):
    from convpress.errors import ConvpressError
    from convpress.training.loop import load_initial_weights

    torch.save({"model": create_model("cp-tiny").state_dict()}, tmp_path / "checkpoint.pt")
    with pytest.raises(ConvpressError, match="do not fit this architecture"):
        load_initial_weights(create_model("cp-factorized"), tmp_path / "checkpoint.pt")
    with pytest.raises(ConvpressError, match="no such file"):
        load_initial_weights(create_model("cp-tiny"), tmp_path / "missing.pt")


def test_initial_weights_can_grow_from_a_narrower_network(tmp_path):
    from convpress.errors import ConvpressError
    from convpress.training.loop import load_initial_weights

    torch.manual_seed(1)
    source = create_model("cp-tiny")
    torch.save({"model": source.state_dict()}, tmp_path / "checkpoint.pt")
    wide = create_model("cp-tiny", latent=32)
    with pytest.raises(ConvpressError, match="do not fit this architecture"):
        load_initial_weights(wide, tmp_path / "checkpoint.pt")
    load_initial_weights(wide, tmp_path / "checkpoint.pt", grow=True)
    assert torch.equal(wide.state_dict()["g_a.0.weight"], source.state_dict()["g_a.0.weight"])
    assert torch.equal(wide.state_dict()["h_a.0.weight"][:, 24:], torch.zeros(16, 8, 3, 3))
    with pytest.raises(ConvpressError, match="cannot grow into"):
        load_initial_weights(create_model("cp-tiny", latent=16), tmp_path / "checkpoint.pt", grow=True)
