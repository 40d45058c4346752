"""Regression (QA of the diagnosis outside the corpus): a 20-hidden-layer sigmoid MLP at N(0, 0.01) init is a
critical vanishing_gradient, but the finding named layers '18', '20', ... (the deep end of the net): the
backward signal of the first nine layers underflows to exactly 0 in float32, the depth fit (log10) skipped
them, and the finding listed only the fitted layers. Layers whose signal is exactly 0 before the fitted ones
now come first in ``layers`` and are listed in the evidence (``layers_without_signal``), in check and in
watched runs."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def _deep_sigmoid() -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(21):
        lin = nn.Linear(32, 32 if i < 20 else 10)
        nn.init.normal_(lin.weight, 0.0, 0.01)
        layers += [lin, nn.Sigmoid()]
    return nn.Sequential(*layers[:-1])


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 32, generator=g), torch.randint(0, 10, (64,), generator=g)


def _check_finding(f: object) -> None:
    assert f.severity == "critical"  # type: ignore[attr-defined]
    silent = f.evidence["layers_without_signal"]  # type: ignore[attr-defined]
    assert silent and silent[0] == "0"
    assert f.layers[:len(silent)] == silent  # type: ignore[attr-defined]


def test_underflowed_layers_are_named_first() -> None:
    torch.manual_seed(0)
    model = _deep_sigmoid()
    x, y = _batch()
    found = gd.check(model, x, y, F.cross_entropy).by_kind("vanishing_gradient")
    assert found
    _check_finding(found[0])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt) as run:
        for _ in range(3):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    found = run.diagnose().by_kind("vanishing_gradient")
    assert found and found[0].step == 0
    _check_finding(found[0])
