"""Regression (QA of the diagnosis outside the corpus): an 8-block transformer without any LayerNorm at N(0, 0.5)
init is a critical exploding_gradient (forward growth ~1e15), but the finding named only the last block's layers:
its backward signal overflows to Inf/NaN in every earlier layer, and the finding listed the layers of the
backward fit (finite signal only). A forward-growth finding now names the chain layers whose output was
measured, from the first."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd

V, T = 40, 16


class _Block(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x, x, x, need_weights=False)[0]
        return x + self.fc2(F.gelu(self.fc1(x)))


class _NoNorm(nn.Module):
    def __init__(self, d: int = 32) -> None:
        super().__init__()
        self.tok = nn.Embedding(V, d)
        self.blocks = nn.Sequential(*[_Block(d) for _ in range(8)])
        self.lm = nn.Linear(d, V)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lm(self.blocks(self.tok(x)))


def test_forward_growth_names_the_first_layers() -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, V, (16, T), generator=g)
    y = torch.randint(0, V, (16, T), generator=g)
    diag = gd.check(_NoNorm(), x, y, lambda o, t: F.cross_entropy(o.reshape(-1, V), t.reshape(-1)))
    found = [f for f in diag.by_kind("exploding_gradient") if f.detector == "exploding_depth"]
    assert found and found[0].severity == "critical"
    assert "forward_growth" in found[0].evidence["symptoms"]
    assert found[0].layers[0] == "blocks.0.attn"
