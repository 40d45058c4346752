"""docs/robustness.md listed as a known limit that "a layer that owns only a bias (e.g. the second module of a tied
pair) reports weight_grad_norm 0 rather than NaN", while the code records NaN for it (fixed earlier,
tests/regressions/test_bias_only_layer.py): a reader was told to expect a made-up 0 that never appears. The known
limit is gone and the bad-input table says what a tied pair's second module records; this checks both the
behaviour, on a tied embedding/output head, and that the page no longer claims the 0."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

import graddoctor as gd

DOC = Path(__file__).resolve().parents[2] / "docs" / "robustness.md"


class _TiedLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(12, 6)
        self.head = nn.Linear(6, 12)
        self.head.weight = self.emb.weight  # tied: the head is left with its bias only

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.emb(t)))


def test_tied_head_has_no_weight_gradient_and_the_docs_say_so() -> None:
    torch.manual_seed(0)
    model = _TiedLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    t = torch.randint(0, 12, (4, 5))
    with gd.watch(model, opt) as run:
        nn.functional.cross_entropy(model(t).reshape(-1, 12), t.reshape(-1)).backward()
        opt.step()
    d = run.data
    head = d.layer_names.index("head")
    assert np.isnan(d.stat("weight_grad_norm")[head, 0]) and d.stat("bias_grad_norm")[head, 0] > 0
    emb = d.layer_names.index("emb")
    assert np.isclose(d.stat("weight_grad_norm")[emb, 0], float(model.emb.weight.grad.norm()), rtol=1e-5)
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    assert "reports `weight_grad_norm` 0 rather than NaN" not in text
    assert "has `weight_grad_norm` NaN" in text
