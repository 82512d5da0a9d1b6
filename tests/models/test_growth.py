"""Function-preserving growth: a wider network, or one for more rates, computes what the smaller one did."""

import pytest
import torch

from convpress.models.growth import grow_state_dict
from convpress.restoration.network import create_network
from convpress.zoo import create_model


def _outputs(model, x):
    with torch.no_grad():
        return model.eval()(x, torch.tensor([2.5]))


@pytest.mark.parametrize("context", [True, False])
def test_widened_model_reconstructs_and_rates_the_old_latents_exactly_as_before(context):
    torch.manual_seed(0)
    narrow = create_model("cp-tiny", context=context)
    wide = create_model("cp-tiny", context=context, widths=[8, 24, 32], latent=40)
    wide.load_state_dict(grow_state_dict(wide, narrow.state_dict()))
    x = torch.rand(1, 3, 128, 128)
    before, after = _outputs(narrow, x), _outputs(wide, x)
    # Equal up to float summation order (the wider convolutions add exact zeros in other blockings).
    same = dict(rtol=0, atol=1e-5)
    torch.testing.assert_close(after["x_hat"], before["x_hat"], **same)
    torch.testing.assert_close(after["likelihoods"]["z"], before["likelihoods"]["z"], **same)
    torch.testing.assert_close(after["likelihoods"]["y"][:, :24], before["likelihoods"]["y"], **same)
    # The new latent channels are live (fresh weights), so training can bring them in.
    assert after["likelihoods"]["y"][:, 24:].std() > 0


def test_widened_model_trains_its_new_channels_from_the_first_step():
    torch.manual_seed(0)
    narrow = create_model("cp-tiny")
    wide = create_model("cp-tiny", widths=[8, 16, 24], latent=32)
    wide.load_state_dict(grow_state_dict(wide, narrow.state_dict()))
    output = wide.train()(torch.rand(2, 3, 64, 64), torch.tensor([1.0, 6.0]))
    loss = ((output["x_hat"] - 0.5) ** 2).mean() - sum(torch.log2(v).sum() for v in output["likelihoods"].values())
    loss.backward()
    # The zeroed connections from the new 1/8-resolution channels into the old ones get a gradient.
    assert wide.g_s[2][0].weight.grad[:64, 16:].abs().sum() > 0


def test_widening_to_the_same_size_copies_the_weights():
    torch.manual_seed(0)
    source = create_model("cp-tiny")
    widened = grow_state_dict(create_model("cp-tiny"), source.state_dict())
    for key, value in source.state_dict().items():
        assert torch.equal(widened[key], value), key


def test_shrinking_or_undeclared_layouts_are_refused():
    with pytest.raises(ValueError, match="cannot widen"):
        grow_state_dict(create_model("cp-tiny"), create_model("cp-tiny", latent=32).state_dict())
    with pytest.raises(ValueError, match="lack"):
        grow_state_dict(create_model("cp-tiny"), {})
    denoiser = create_network()
    with pytest.raises(ValueError, match="channel layout"):
        grow_state_dict(denoiser, denoiser.state_dict())


def test_grown_rate_levels_reproduce_the_old_rates_and_extend_the_gain_line_below():
    torch.manual_seed(0)
    old = create_model("cp-tiny")
    with torch.no_grad():  # trained-looking gains: log-gain 0.5 log(lambda) + a per-channel offset
        offset = torch.randn(1, 24)
        old.gain.log_encoder_gain.copy_(0.5 * torch.log(old.gain.lambdas).view(-1, 1) + offset)
    lambdas = [0.00045, 0.0009, *old.gain.lambdas.tolist()]
    new = create_model("cp-tiny", lambdas=lambdas)
    new.load_state_dict(grow_state_dict(new, old.state_dict()))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before = old.eval()(x, torch.tensor([3.0]))
        after = new.eval()(x, torch.tensor([5.0]))  # the same lambda, two levels up
    torch.testing.assert_close(after["x_hat"], before["x_hat"], rtol=0, atol=1e-6)
    expected = 0.5 * torch.log(torch.tensor([0.00045, 0.0009])).view(-1, 1) + offset
    torch.testing.assert_close(new.gain.log_encoder_gain[:2].detach(), expected, rtol=0, atol=1e-5)
    assert torch.equal(new.gain.lambdas, torch.tensor(lambdas))
