"""Regression (QA of the diagnosis outside the corpus): a small ViT whose class token and positional embeddings
are parameters of the model itself, initialised at zero (timm's class token; many ViTs), was an exploding_gradient
warning at layer '<model>' after the first update (||gW||/||W|| 725: the zero-started embeddings are ~1e-3 after
one Adam step), and the init audit called '<model>' too small (a 0.02 positional embedding). The root module's
own parameters are used inside its forward, while its output is the model's output: it was a link of the depth
chain (after the head) and had its relative gradient compared like a weight matrix's. Containers (modules with
child layers that own parameters) are now left out of the chain and count only as gains there."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd

from . import watched_batches


class _Block(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class _ViT(nn.Module):
    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.patch = nn.Conv2d(1, d, 2, 2)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.zeros(1, 17, d))
        self.blocks = nn.Sequential(_Block(d), _Block(d))
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.blocks(x)[:, 0]))


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    return torch.randn(32, 1, 8, 8, generator=g), torch.randint(0, 10, (32,), generator=g)


def test_zero_initialised_tokens_are_not_exploding() -> None:
    torch.manual_seed(0)
    model = _ViT()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    run, _ = watched_batches(model, opt, _batch, 15)
    diag = run.diagnose()
    assert not diag.problems
    assert not any("<model>" in f.layers for f in diag.findings)


def test_small_positional_embedding_is_not_poor_init() -> None:
    torch.manual_seed(0)
    model = _ViT()
    with torch.no_grad():
        model.pos.normal_(0.0, 0.02)
    x, y = _batch(100)
    diag = gd.check(model, x, y, F.cross_entropy)
    assert not any("<model>" in f.layers for f in diag.findings)
