"""Regression: a Linear wrapped with torch.nn.utils.parametrizations (weight_norm, spectral_norm, orthogonal)
was split into two "layers": ``0.parametrizations.weight`` (a ParametrizationList whose "output" is the weight
itself, so its signal_norm was ||dL/dW|| and its activation statistics described W) and ``0`` owning only its
bias (weight_grad_norm NaN, no update ratio). The originals behind a parametrized tensor belong to the
parametrized module, which is reported with its real type."""
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations as P

import graddoctor as gd


@pytest.mark.parametrize("wrap", [P.weight_norm, P.spectral_norm, P.orthogonal])
def test_parametrized_linear_is_one_layer(wrap) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(wrap(nn.Linear(6, 6)), nn.Tanh(), nn.Linear(6, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    captured = {}

    def keep_signal(module, args, out) -> None:
        out.register_hook(lambda g: captured.__setitem__("sig", g))

    model[0].register_forward_hook(keep_signal)
    with gd.watch(model, opt, detail_every=1) as run:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        originals = [p for n, p in model[0].named_parameters() if "original" in n]
        w_grad = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in originals))
        opt.step()
    d = run.data
    assert [layer.name for layer in d.layers] == ["0", "2"]
    assert d.layers[0].type == "Linear" and d.layers[0].activation == "tanh"
    assert d.stat("weight_grad_norm")[0, 0] == pytest.approx(float(w_grad), rel=1e-5)
    assert d.stat("signal_norm")[0, 0] == pytest.approx(float(captured["sig"].norm()), rel=1e-5)
    assert np.isfinite(d.stat("update_ratio")[0, 0])
    assert d.layers[0].info["fan_in"] == 6
