"""Regression: `gd.repair(case, train_fn=fn)` calls `fn(model, case)` without the seed, while the docs told
the loop to take its batches from `case.batches(seed)`: a user's loop could only write `case.batches(0)`, so
every seed trained on the same batch order and the seed-to-seed spread that a remedy has to beat measured the
initialisation alone. `case.batches()` now draws the order of the trial's own seed."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def test_case_batches_without_seed_follow_the_trial_seed():
    X, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    case = gd.Case(model_fn=lambda: nn.Linear(4, 2), train=(X, y), loss_fn=F.cross_entropy, steps=3, batch_size=8)
    first = []

    def my_loop(model, c):
        opt = c.make_optimizer(model.parameters())
        for i, (xb, yb) in enumerate(c.batches()):
            if i == 0:
                first.append(xb.clone())
            loss = c.loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    gd.repair(case, train_fn=my_loop, seeds=[0, 1], remedies=[], progress=False)
    assert len(first) == 2 and not torch.equal(first[0], first[1])
    for seed, xb in zip((0, 1), first):
        assert torch.equal(xb, next(iter(case.batches(seed)))[0])
    assert torch.equal(next(iter(case.batches()))[0], first[0])  # outside a trial: seed 0
