"""Regression: a transformer checked with its causal mask among the inputs (``nn.Transformer.
generate_square_subsequent_mask``: 0 and -inf) got a CRITICAL "non_finite at <input>" finding on a healthy
model: the mask was the first float input tensor, and its -inf entries were taken for bad data. Additive
attention masks are no longer read as the data; a real NaN in the data still is."""
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
        self.head = nn.Linear(16, 50)

    def forward(self, ids, mask, extra=None):
        h = self.emb(ids) if extra is None else self.emb(ids) + extra
        return self.head(self.layer(h, src_mask=mask, is_causal=True))


def _loss(out, ids):
    return F.cross_entropy(out.reshape(-1, 50), ids.reshape(-1))


def test_a_causal_mask_is_not_non_finite_input():
    torch.manual_seed(0)
    ids = torch.randint(0, 50, (8, 12))
    mask = nn.Transformer.generate_square_subsequent_mask(12)
    diag = gd.check(Decoder(), {"ids": ids, "mask": mask}, ids, _loss)
    assert not diag.by_kind("non_finite"), diag.findings
    extra = torch.randn(8, 12, 16)
    extra[0, 0, 0] = float("nan")
    bad = gd.check(Decoder(), {"ids": ids, "mask": mask, "extra": extra}, ids, _loss)
    assert bad.by_kind("non_finite") and bad.by_kind("non_finite")[0].origin == "<input>"
