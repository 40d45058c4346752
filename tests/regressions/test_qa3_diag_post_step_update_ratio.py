"""Regression (QA of the diagnosis outside the corpus): the oversized-step rule compared the recorded update
ratio ||W_t - W_{t-1}|| / ||W_t|| with 1.0, "the optimizer moved the weights by their own norm". That ratio divides
by the norm *after* the step, so an update r times the old weights, orthogonal to them, reads r / sqrt(1 + r^2) < 1
whatever r: a 4-block GPT at N(0, 0.02) under Adam at lr 0.1 (first step ~4.9x the weights, ratio 0.98 in the
median over layers; loss 3.7 -> 5.0 and stuck at 3.7, where lr 1e-3 reaches 3.26) got no finding. The bound on
the recorded ratio is now max_update / sqrt(1 + max_update^2) (0.71); lr 1e-3 stays silent."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from . import watched_batches

V, T = 40, 16


class _Block(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class _GPT(nn.Module):
    def __init__(self, d: int = 32, blocks: int = 4) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, d), nn.Embedding(T, d)
        self.blocks = nn.ModuleList([_Block(d) for _ in range(blocks)])
        self.lnf, self.lm = nn.LayerNorm(d), nn.Linear(d, V, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = torch.triu(torch.full((T, T), float("-inf")), 1)
        h = self.tok(x) + self.pos(torch.arange(T))
        for b in self.blocks:
            h = b(h, mask)
        return self.lm(self.lnf(h))


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    s = torch.randint(0, V, (16, T + 1), generator=g)
    s[:, 1::2] = (s[:, 0:-1:2] * 3 + 1) % V
    return s[:, :-1], s[:, 1:]


@pytest.mark.parametrize("lr,flagged", [(0.1, True), (1e-3, False)])
def test_step_larger_than_the_weights_is_oversized(lr: float, flagged: bool) -> None:
    torch.manual_seed(0)
    model = _GPT()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    run, _ = watched_batches(model, opt, _batch, 12)
    diag = run.diagnose()
    if not flagged:
        assert not diag.problems
        return
    found = diag.by_kind("exploding_gradient")
    assert found and found[0].step == 0 and found[0].causes[0] == "learning_rate_too_high"
    assert found[0].evidence["oversized_updates"][0]["median_update_ratio"] > 0.9
