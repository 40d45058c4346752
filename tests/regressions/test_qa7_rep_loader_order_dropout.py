"""Regression: with a shuffled DataLoader (the usual training set-up) every epoch's order was drawn from the
global RNG when the epoch started, after the dropout masks of the epoch before, so a remedy that draws random
numbers differently (``dropout``, asked for with remedies=["dropout"]) trained on other batches than the baseline
from the second epoch on: the trial compared two data orders as well as two models. The loader now draws from a
stream of its own, forked from the global RNG at the trial's first batch."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
import graddoctor.repair as repair_pkg

SEEN: list[int] = []


class Logged(torch.utils.data.Dataset):
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(40, 6, generator=g), torch.randint(0, 3, (40,), generator=g)

    def __len__(self) -> int:
        return 40

    def __getitem__(self, i: int):
        SEEN.append(i)
        return self.x[i], self.y[i]


def build() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def test_batches_do_not_depend_on_what_the_model_draws() -> None:
    loader = torch.utils.data.DataLoader(Logged(), batch_size=10, shuffle=True)
    case = gd.Case(model_fn=build, train=loader, val=(Logged().x, Logged().y), steps=12)
    orders = []
    for draws in (0, 50):
        torch.manual_seed(7)
        order = []
        for x, _ in case.batches(0):
            order.append(x.sum().item())
            torch.rand(draws)  # what a dropout layer draws in the step
        orders.append(order)
    assert orders[0] == orders[1]


def test_dropout_trial_sees_the_baseline_batches(monkeypatch) -> None:
    loader = torch.utils.data.DataLoader(Logged(), batch_size=10, shuffle=True)
    case = gd.Case(model_fn=build, train=loader, val=(Logged().x, Logged().y), loss_fn=F.cross_entropy, steps=12)
    runs: list[list[int]] = []
    run_seed = repair_pkg.run_seed

    def logged(*args, **kwargs):
        SEEN.clear()
        out = run_seed(*args, **kwargs)
        runs.append(list(SEEN))
        return out

    monkeypatch.setattr(repair_pkg, "run_seed", logged)
    result = gd.repair(case, seeds=1, remedies=["dropout"], progress=False)
    assert result.trials[0].skipped is None and result.trials[0].failed is None
    baseline, dropout = runs[0], runs[-1]
    assert len(baseline) >= 120 and dropout[:120] == baseline[:120]
