"""``gd.check`` called under ``torch.inference_mode()`` (a notebook cell, an evaluation hook) failed with "the loss
does not require grad ... it ran under torch.no_grad()" (check enables grad itself, so the advice pointed nowhere),
and a batch made under inference mode (an evaluation loader) failed inside the pass with torch's "Inference tensors
cannot be saved for backward". The check now runs outside inference mode, on a normal copy of such a batch, and
gives what it gives outside, leaving the model as it was."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 20), nn.Sigmoid(), nn.Linear(20, 20), nn.Sigmoid(), nn.Linear(20, 3))


def _table(diag) -> list:
    return [(f.kind, f.layers) for f in diag.findings]


def test_check_under_inference_mode() -> None:
    x, y = torch.randn(32, 10), torch.randint(0, 3, (32,))
    ref = gd.check(_model(), x, y, F.cross_entropy)
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.inference_mode():
        diag = gd.check(model, x, y, F.cross_entropy)
        assert torch.is_inference_mode_enabled()  # the caller's mode is left as it was
    assert _table(diag) == _table(ref)
    assert diag.meta["loss"] == ref.meta["loss"]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_check_on_a_batch_made_in_inference_mode() -> None:
    with torch.inference_mode():
        x, y = torch.randn(32, 10), torch.randint(0, 3, (32,))
    diag = gd.check(_model(), x, y, F.cross_entropy)
    ref = gd.check(_model(), x.clone(), y.clone(), F.cross_entropy)
    assert _table(diag) == _table(ref)
    assert diag.meta["loss"] == ref.meta["loss"]
