"""Regression: a layer under ``weight_norm``/``spectral_norm`` computes ``layer.weight`` from its stored parts on
every access, so he_init, xavier_init, orthogonal_init, lsuv_init and use_relu_family's re-initialisation ran
``nn.init.*_(layer.weight)`` on a temporary and left the layer as it was (a 1e-2-scaled weight-normed layer kept
std 7e-4 after "He init"); such a layer also has a child (``parametrizations``), so it was no leaf and the
activation swap never found it as the layer feeding an activation. The new weight is now assigned through the
parametrization (or, for the older hook-based weight_norm, into weight_g/weight_v)."""
import math
import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext

WIDTH = 256
X = torch.randn(32, WIDTH, generator=torch.Generator().manual_seed(0))


def _old_weight_norm(layer: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated in favour of the parametrization, still in use
        return torch.nn.utils.weight_norm(layer)


def _net(wrap) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(wrap(nn.Linear(WIDTH, WIDTH)), nn.Sigmoid(), nn.Linear(WIDTH, WIDTH), nn.Sigmoid(),
                        nn.Linear(WIDTH, 2))
    with torch.no_grad():  # a tiny init, the kind the remedies exist to fix
        for p in net.parameters():
            p.mul_(0.01)
    return net


@pytest.mark.parametrize("wrap", [weight_norm, _old_weight_norm], ids=["parametrization", "hook"])
@pytest.mark.parametrize("code", ["he_init", "xavier_init", "orthogonal_init", "lsuv_init", "use_relu_family"])
def test_weight_normed_layer_is_reinitialised(code: str, wrap) -> None:
    # .transform edits in place (a hook-based weight_norm model cannot be deep-copied, as remedy(model) would)
    new = get_remedy(code).transform(_net(wrap), RepairContext(sample=(X, None)))
    new(X)  # a hook-based weight norm recomputes the weight in the forward: it must keep the new one
    std = float(new[0].weight.detach().std())
    assert std > 0.3 / math.sqrt(WIDTH), (code, std)  # every scheme draws std ~ 1/sqrt(fan) or more; it was 7e-4
