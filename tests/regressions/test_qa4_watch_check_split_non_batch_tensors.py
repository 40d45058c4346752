"""Regression: gd.check(..., batches=n) split every tensor of the inputs along dim 0, also those that are not
per-sample: an attention mask (T, T) was cut into (T/n, T) pieces and a scalar temperature raised "cannot split a
batch of 0 rows". Only tensors with the batch's rows are split now; the others go whole with every chunk."""
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.q = nn.Linear(16, 16)
        self.head = nn.Linear(16, 50)

    def forward(self, ids, mask, temperature):
        h = self.emb(ids)
        w = (self.q(h) @ h.transpose(1, 2) / temperature).masked_fill(mask, float("-inf")).softmax(-1)
        return self.head(w @ h)


def test_masks_and_scalars_go_whole_with_every_chunk():
    torch.manual_seed(0)
    ids = torch.randint(0, 50, (8, 12))
    mask = torch.triu(torch.ones(12, 12, dtype=torch.bool), 1)
    inputs = {"ids": ids, "mask": mask, "temperature": torch.tensor(4.0)}
    diag = gd.check(Attention(), inputs, ids, lambda o, t: F.cross_entropy(o.reshape(-1, 50), t.reshape(-1)),
                    batches=2)
    assert diag.meta["batches"] == 2 and len(diag.meta["loss"]) == 2
    assert not diag.by_kind("non_finite")
