"""Regression: a 10-layer net whose middle block (4 sigmoid layers at N(0, 0.02)) sits between He-init ReLU
layers loses its backward signal in that block only (measured gains 0.04-0.12 per layer there, 0.35-1.07
elsewhere). The vanishing finding said "the backward signal shrinks by x0.16 per layer (first/last 6.9e-08)":
a fit spread over every layer, which neither says where the signal dies nor matches the stored signal norms
(their first/last ratio is 2.7e-06). The message now gives the measured ratio beside the fitted one and, when
the layers below max_signal_gain carry at least STEEP_SHARE (3/4) of the decay, where it shrinks (evidence
steep_layers)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import graddoctor as gd


def _net() -> nn.Module:
    layers: list[nn.Module] = []
    for i in range(10):
        lin = nn.Linear(64, 64)
        if 3 <= i <= 6:
            nn.init.normal_(lin.weight, 0, 0.02)
            layers += [lin, nn.Sigmoid()]
        else:
            nn.init.kaiming_normal_(lin.weight)
            layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(64, 10))


def test_middle_block_is_located_and_measured_ratio_quoted():
    torch.manual_seed(0)
    x, y = torch.randn(128, 64), torch.randint(0, 10, (128,))
    d = gd.check(_net(), x, y, F.cross_entropy)
    (f,) = [f for f in d.problems if f.kind == "vanishing_gradient"]
    assert set(f.evidence["steep_layers"]) <= {"4", "6", "8", "10", "12"} and {"6", "8", "10"} <= set(
        f.evidence["steep_layers"])
    assert "between layers" in f.message
    measured = f.evidence["measured_signal_ratio_first_last"]
    assert f"{measured:.2g} measured" in f.message
