"""The fixed-point entropy-parameter path: close to the float network, and bit-identical however run."""

import subprocess
import sys

import torch

from convpress.models.exact import ACT_BITS, exact_network, from_fixed_point, to_fixed_point
from convpress.zoo import create_model


def _hyper_path(seed: int = 0):
    torch.manual_seed(seed)
    model = create_model("cp-tiny").eval()
    z = torch.randint(-6, 7, (1, model.config["hyper"], 4, 6)).double()
    return model, z


def test_exact_network_matches_float_network_to_fixed_point_precision():
    model, z = _hyper_path()
    exact = exact_network(model.h_s)
    with torch.no_grad():
        expected = model.h_s(z.float()).double()
    got = from_fixed_point(exact(to_fixed_point(z)))
    assert (got - expected).abs().max() < 64 * 2.0**-ACT_BITS


def test_exact_outputs_are_integers():
    model, z = _hyper_path()
    out = exact_network(model.h_s)(to_fixed_point(z))
    assert torch.equal(out, torch.round(out))


def test_exact_network_identical_across_threads_and_onednn():
    model, z = _hyper_path(1)
    exact = exact_network(model.h_s)
    results = []
    threads = torch.get_num_threads()
    try:
        for count in (1, 2):
            for onednn in (True, False):
                torch.set_num_threads(count)
                with torch.backends.mkldnn.flags(enabled=onednn):
                    results.append(exact(to_fixed_point(z)))
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(results[0], other) for other in results[1:])


def test_exact_network_identical_in_a_fresh_process():
    code = (
        "import torch\n"
        "from convpress.models.exact import exact_network, to_fixed_point\n"
        "from convpress.zoo import create_model\n"
        "torch.manual_seed(0)\n"
        "model = create_model('cp-tiny').eval()\n"
        "z = torch.randint(-6, 7, (1, model.config['hyper'], 4, 6)).double()\n"
        "torch.set_num_threads(1)\n"
        "print(float(exact_network(model.h_s)(to_fixed_point(z)).sum()))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    model, z = _hyper_path(0)
    assert float(output) == float(exact_network(model.h_s)(to_fixed_point(z)).sum())
