"""Regression: every model remedy failed on a model that cannot be deep-copied (one holding a threading.Lock, a
file, a process pool): ``Remedy.apply`` deep-copied the model it had just built with ``model_fn`` to probe it,
so gd.repair recorded each one as "failed while training: TypeError while applying the remedy: cannot pickle
'_thread.lock' object" and concluded "no remedy could be compared with the baseline", though the copy was never
needed (model_fn builds a new model each call) and the trials themselves never copy. Now the probe edits its own
fresh model and such a model is repaired; calling a remedy directly on one (``remedy(model)``, which must copy
so as not to edit the input) raises a TypeError naming the model and the way round it."""
import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.repair.remedies import get_remedy


class Locked(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3))
        self.lock = threading.Lock()

    def forward(self, x):
        return self.net(x)


def test_model_remedies_apply_to_a_model_that_cannot_be_copied():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    case = gd.Case(model_fn=Locked, train=(X, y), loss_fn=F.cross_entropy, steps=4, batch_size=32)
    result = gd.repair(case, seeds=1, remedies=["use_relu_family", "xavier_init"], progress=False)
    for t in result.trials:
        assert t.failed is None and t.skipped is None, (t.name, t.failed, t.skipped)
        assert t.metrics and t.changes


def test_direct_call_names_the_copy_problem():
    with pytest.raises(TypeError, match="Locked cannot be deep-copied.*transform"):
        get_remedy("use_relu_family")(Locked())
