"""Regression: models using torch.utils.checkpoint.

* use_reentrant=True runs the checkpointed layers under no_grad in the forward pass and again, with grad,
  when backward recomputes them, i.e. after the layers above them. The layer order came from the recompute,
  so a deep sigmoid net was laid out head first and its vanishing gradient was reported as exploding.
* use_reentrant=False recomputes the forward on the same input tensors during backward: the input-gradient
  hook was put on them twice and in_signal_norm came out sqrt(2) too large.
"""
import numpy as np
import pytest
import torch
from tests.integrations.common import plain_run
from torch import nn
from torch.utils.checkpoint import checkpoint

import graddoctor as gd


class Deep(nn.Module):
    def __init__(self, reentrant: bool | None) -> None:
        super().__init__()
        self.inp = nn.Linear(20, 32)
        self.act = nn.Sigmoid()
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(32, 32), nn.Sigmoid()) for _ in range(6)])
        self.head = nn.Linear(32, 4)
        self.reentrant = reentrant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.inp(x))
        for b in self.blocks:
            h = b(h) if self.reentrant is None else checkpoint(b, h, use_reentrant=self.reentrant)
        return self.head(h)


def _run(reentrant: bool | None) -> gd.Monitor:
    torch.manual_seed(0)
    model = Deep(reentrant)
    data = [(torch.randn(64, 20), torch.randn(64, 4))] * 3
    return plain_run(model, data, detail_every=1)


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpointed_layers_match_the_plain_model(reentrant: bool) -> None:
    plain, ckpt = _run(None).data, _run(reentrant).data
    names = [layer.name for layer in plain.layers]
    assert [layer.name for layer in ckpt.layers] == names  # forward order: inp, blocks.0.0, ..., head
    for stat in ("signal_norm", "in_signal_norm", "weight_grad_norm", "out_rms", "act_deriv"):
        np.testing.assert_allclose(ckpt.stat(stat), plain.stat(stat), rtol=1e-4, err_msg=stat)


def test_reentrant_checkpoint_vanishing_is_not_exploding() -> None:
    kinds = {f.kind for f in _run(True).diagnose().findings if f.severity != "info"}
    assert "vanishing_gradient" in kinds and "exploding_gradient" not in kinds
