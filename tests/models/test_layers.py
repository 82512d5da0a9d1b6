import torch

from convpress.models.layers import CheckerboardMaskedConv, SimplifiedGDN, SubpixelUp, anchor_mask


def test_anchor_mask_is_a_checkerboard_starting_with_an_anchor():
    mask = anchor_mask(3, 4)[0, 0]
    assert mask.tolist() == [[True, False, True, False], [False, True, False, True], [True, False, True, False]]


def test_masked_context_of_non_anchors_ignores_non_anchor_values():
    torch.manual_seed(0)
    conv = CheckerboardMaskedConv(4, 4, 5, groups=4)
    anchors = anchor_mask(8, 8)
    x = torch.randn(1, 4, 8, 8)
    changed = torch.where(anchors, x, torch.randn(1, 4, 8, 8))  # only non-anchor values differ
    non_anchors = ~anchors.expand(1, 4, 8, 8)
    assert torch.allclose(conv(x)[non_anchors], conv(changed)[non_anchors])
    changed_anchor = x.clone()
    changed_anchor[0, :, 2, 2] += 1.0  # an anchor next to non-anchors (2,1), (2,3)
    assert not torch.allclose(conv(x)[0, :, 2, 3], conv(changed_anchor)[0, :, 2, 3])


def test_gdn_and_its_inverse_are_inverse_for_identity_gamma():
    gdn, igdn = SimplifiedGDN(3), SimplifiedGDN(3, inverse=True)
    with torch.no_grad():
        for layer in (gdn, igdn):
            layer.gamma.copy_(layer._gamma_param.init(torch.zeros(3, 3)))
    x = torch.randn(2, 3, 4, 4)
    assert torch.allclose(igdn(gdn(x)), x, atol=1e-5)


def test_subpixel_up_doubles_resolution():
    assert SubpixelUp(8, 3)(torch.randn(1, 8, 5, 7)).shape == (1, 3, 10, 14)
