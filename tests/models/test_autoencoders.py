"""The learned codec's models in training: what the rate is measured on."""

import torch

from imagegen import natural_like


def _likelihoods(model, batch, training: bool, rate_proxy: str) -> torch.Tensor:
    model.train(training)
    model.rate_proxy = rate_proxy
    torch.manual_seed(1)
    try:
        with torch.no_grad():
            return model(batch, torch.tensor([0.0]))["likelihoods"]["y"]
    finally:
        model.eval()
        model.rate_proxy = "noise"


def test_rounded_rate_proxy_trains_on_the_likelihoods_of_the_coded_latents(tiny_codec_model):
    batch = torch.from_numpy(natural_like(64, 64, 3, seed=4)).permute(2, 0, 1)[None].float() / 255
    coded = _likelihoods(tiny_codec_model, batch, training=False, rate_proxy="noise")
    assert torch.equal(_likelihoods(tiny_codec_model, batch, training=True, rate_proxy="rounded"), coded)
    noisy = _likelihoods(tiny_codec_model, batch, training=True, rate_proxy="noise")
    # Uniform noise makes near-certain (zero) latents look expensive: the rate it measures is higher.
    assert (-torch.log2(noisy).sum()) > (-torch.log2(coded).sum())
