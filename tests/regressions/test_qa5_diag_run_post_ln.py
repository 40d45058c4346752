"""Regression: Post-LN was a cause only in `gd.check` (which reads TransformerEncoderLayer.norm_first); in a run
it was never named. A 16-block Post-LN nn.TransformerEncoder under Adam at lr 3e-3 without warmup stayed at
chance and was a critical `vanishing_gradient` (first layers learning 2e5x slower) with cause 'unknown'. A run
now infers Post-LN blocks from the forward order (`causes.post_ln_blocks`: a block with an
nn.MultiheadAttention whose last called layer is its norm), so the diagnosis' structure says post_layernorm and
depth findings get the cause `post_layernorm` (remedies pre_layernorm, lr_warmup). Pre-LN blocks
(norm_first=True) are not."""
import torch
from torch import nn

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.causes import post_ln_blocks, structure

from . import watched_batches


class _Encoder(nn.Module):
    def __init__(self, norm_first: bool) -> None:
        super().__init__()
        self.emb = nn.Embedding(16, 16)
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True, norm_first=norm_first)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(x)).mean(1))


def _ctx(norm_first: bool) -> Context:
    torch.manual_seed(0)
    model = _Encoder(norm_first)
    g = torch.Generator().manual_seed(0)

    def batch(_: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randint(0, 16, (8, 10), generator=g), torch.randint(0, 4, (8,), generator=g)
    run = watched_batches(model, torch.optim.Adam(model.parameters(), 1e-3), batch, 3)[0]
    return Context.from_run(run.data)


def test_post_ln_inferred_in_a_run():
    ctx = _ctx(norm_first=False)
    assert post_ln_blocks(ctx) == ["enc.layers.0", "enc.layers.1"]
    assert structure(ctx)["post_layernorm"] is True


def test_pre_ln_is_not_post_ln():
    ctx = _ctx(norm_first=True)
    assert post_ln_blocks(ctx) == [] and structure(ctx)["post_layernorm"] is False
