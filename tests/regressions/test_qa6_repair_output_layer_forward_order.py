"""Regression: add_batchnorm/add_layernorm never normalise the output layer and dropout never follows the
output, but "the output" was the last Linear/Conv (or leaf) in ``__init__`` order. A model whose head is
defined before its body (``self.head = nn.Sequential(nn.Linear(16, 3))`` then ``self.body = ...``) had
BatchNorm inserted after its logits and none after its last hidden layer, and an output Sigmoid defined first
got a Dropout after it (the model's probabilities were zeroed and rescaled by 1/0.8 in training). The output is
now the module that runs last in a forward pass on the training batch."""
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext

CTX = RepairContext(sample=(torch.randn(8, 8, generator=torch.Generator().manual_seed(0)), None))


class HeadFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Linear(16, 3), nn.Sigmoid())
        self.body = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh())

    def forward(self, x):
        return self.head(self.body(x))


def test_batchnorm_skips_the_head_defined_first() -> None:
    new = get_remedy("add_batchnorm")(HeadFirst(), CTX)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in new.head), new
    assert sum(isinstance(m, nn.BatchNorm1d) for m in new.body) == 2, new


def test_dropout_never_follows_the_output_defined_first() -> None:
    new = get_remedy("dropout")(HeadFirst(), CTX)
    assert not any(isinstance(m, nn.Dropout) for m in new.head), new
    assert sum(isinstance(m, nn.Dropout) for m in new.body) == 2, new
