"""An error other than NotApplicable/ValueError while *applying* a remedy (a custom Remedy passed in
``remedies=[...]``, or a transform whose probe forward raises RuntimeError) escaped repair() and lost every
trial measured so far; errors while *training* a remedy were already recorded as failed. Both are now recorded
on the trial (``failed``) and the next remedy is tried."""
from __future__ import annotations

import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair import Remedy


class Boom(Remedy):
    code = "he_init"

    def apply(self, case: gd.Case, ctx: object = None) -> gd.Case:
        raise RuntimeError("transform exploded")


def test_apply_error_is_recorded_and_the_next_remedy_runs() -> None:
    X = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))
    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)),
                   train=(X, (X[:, 0] > 0).long()), steps=3, batch_size=8)
    result = gd.repair(case, seeds=1, remedies=[Boom(), "use_adam"], progress=False)
    boom, adam = result.trials
    assert boom.failed and "transform exploded" in boom.failed and result.best is not boom
    assert adam.failed is None and adam.metrics
