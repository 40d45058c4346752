"""Regression: an nn.EmbeddingBag (a lookup table like nn.Embedding, N(0, 1) rows by design) was put in the depth
chain, so the initialisation audit flagged it (variance ~1 against Xavier 2/(16+50)) as poor_initialization
and its signal entered the depth fit; nn.Embedding was already left out."""
import torch
from torch import nn

import graddoctor as gd


def test_embedding_bag_is_not_a_depth_layer() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.EmbeddingBag(50, 16, mode="mean"), nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4))
    x, y = torch.randint(0, 50, (32, 6)), torch.randint(0, 4, (32,))
    diag = gd.check(model, x, y, nn.functional.cross_entropy)
    assert [f.kind for f in diag.findings if "0" in (f.layers or [])] == []
