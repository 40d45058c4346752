"""Regression: gd.watch() and gd.check() on a TorchScript model (torch.jit.script/trace), or on a model holding a
scripted submodule, crashed with torch's "register_forward_hook is not supported on ScriptModules". Scripted
layers now get parameter statistics only, with one warning naming them; the other layers are watched as usual."""
import math
import warnings

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import GradDoctorWarning


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.jit.script(nn.Sequential(nn.Linear(8, 16), nn.Tanh()))
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.body(x))


def _train(model):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    with gd.watch(model, opt) as run:
        for _ in range(3):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run


def test_scripted_layers_get_parameter_statistics_and_the_rest_everything():
    torch.manual_seed(0)
    with pytest.warns(GradDoctorWarning, match="TorchScript"):
        run = _train(Net())
    data = run.data
    assert run.error is None
    body, head = data.layer_names.index("body.0"), data.layer_names.index("head")
    assert math.isfinite(data.layer_stats["weight_grad_norm"][body, -1])
    assert math.isnan(data.layer_stats["signal_norm"][body, -1])  # never seen running: listed after the others
    assert math.isfinite(data.layer_stats["signal_norm"][head, -1])


def test_fully_scripted_model_is_watched_and_checked():
    torch.manual_seed(0)
    model = torch.jit.script(nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = _train(model)
        diag = gd.check(model, torch.randn(16, 8), torch.randint(0, 3, (16,)), nn.functional.cross_entropy)
    assert math.isfinite(run.data.layer_stats["weight_grad_norm"][1, -1])
    assert [r["type"] for r in diag.layers] == ["Linear", "Linear"]
    assert math.isfinite(diag.layers[0]["grad_ratio"])
