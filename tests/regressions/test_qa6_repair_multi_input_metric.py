"""Regression: a model whose forward takes several inputs (a DataLoader of ``((x1, x2), y)`` batches) is a
classifier like any other, yet ``Case.metric_name`` ran the model on ``x[:2]``, which for the pair ``(x1, x2)``
is the pair itself (all samples), against two targets: the shapes did not match and the metric was named
"-loss" while ``Case.evaluate`` reported accuracy. Repair then judged accuracies with the relative-loss floor
(5 % of the loss, not one accuracy point), printed accuracy under "-loss" and skipped the chance-accuracy
reference. The first two samples of each input are taken now, and batch tensors inside tuples, lists and
dicts are moved to the model's device."""
import torch
from torch.utils.data import DataLoader, Dataset

import graddoctor as gd

from . import TwoInputNet

TwoInputs = TwoInputNet


class Pairs(Dataset):
    def __init__(self, n: int = 64) -> None:
        g = torch.Generator().manual_seed(0)
        self.x1, self.x2 = torch.randn(n, 4, generator=g), torch.randn(n, 3, generator=g)
        self.y = torch.randint(0, 3, (n,), generator=g)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return (self.x1[i], self.x2[i]), self.y[i]


def test_two_input_classifier_is_accuracy():
    loader = DataLoader(Pairs(), batch_size=16)
    case = gd.Case(model_fn=TwoInputs, train=loader, val=loader, steps=2)
    assert case.metric_name == "accuracy"
    assert 0.0 < case.chance_accuracy() <= 1.0


def test_head_and_to_reach_inside_structures():
    from graddoctor.repair.case import _head, _to

    t = torch.arange(10.0).reshape(5, 2)
    got = _head({"a": t, "b": (t, [t])}, 2)
    assert got["a"].shape[0] == 2 and got["b"][0].shape[0] == 2 and got["b"][1][0].shape[0] == 2
    moved = _to({"a": t, "b": (t, 3)}, torch.device("meta"))
    assert moved["a"].device.type == "meta" and moved["b"][0].device.type == "meta" and moved["b"][1] == 3
