"""Regression: gd.check took only a plain dict as keyword inputs: a tokenizer's output (transformers'
BatchEncoding is a UserDict, not a dict) was passed as one positional argument and the check crashed inside the
model; a namedtuple batch crashed while being moved to the device (``Batch(generator)``). Any mapping is now
``model(**inputs)`` and a namedtuple keeps its fields, split into batches too."""
from collections import UserDict, namedtuple

import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, input_ids, attention_mask):
        h = self.emb(input_ids) * attention_mask[..., None]
        return self.fc(torch.tanh(h.mean(1)))


def test_a_mapping_batch_is_passed_as_keywords():
    torch.manual_seed(0)
    ids = torch.randint(0, 20, (8, 5))
    enc = UserDict({"input_ids": ids, "attention_mask": torch.ones(8, 5)})
    diag = gd.check(Net(), enc, torch.randint(0, 2, (8,)), F.cross_entropy, batches=2)
    assert diag.meta["batches"] == 2 and len(diag.layers) == 2


def test_a_namedtuple_batch_is_passed_positionally():
    torch.manual_seed(0)
    Batch = namedtuple("Batch", ["input_ids", "attention_mask"])
    batch = Batch(torch.randint(0, 20, (8, 5)), torch.ones(8, 5))
    diag = gd.check(Net(), batch, torch.randint(0, 2, (8,)), F.cross_entropy, batches=2)
    assert len(diag.layers) == 2
