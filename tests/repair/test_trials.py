"""Trials are controlled and reproducible; repair() picks a winner only with evidence; Ctrl-C and user loops."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair import MIN_GAIN, rank_remedies
from graddoctor.repair.case import CaseError
from graddoctor.repair.trials import run_seed

from .repair_cases import deep_sigmoid, digits, digits_case, mlp


def test_same_seed_same_numbers() -> None:
    c = deep_sigmoid(steps=60)
    a, b = run_seed(c, 3, diagnose=False), run_seed(c, 3, diagnose=False)
    assert (a.metric, a.loss, a.first_layer_speed) == (b.metric, b.loss, b.first_layer_speed)
    other = run_seed(c, 4, diagnose=False)
    assert other.loss != a.loss


def test_repair_reproducible_and_controlled() -> None:
    c = deep_sigmoid(steps=150)
    kw = dict(seeds=2, remedies=["use_relu_family", "xavier_init"], progress=False)
    r1, r2 = gd.repair(c, **kw), gd.repair(c, **kw)
    for t1, t2 in zip([r1.baseline, *r1.trials], [r2.baseline, *r2.trials]):
        assert t1.metrics == t2.metrics and t1.losses == t2.losses and t1.speeds == t2.speeds
    assert r1.baseline.seeds == [0, 1] and all(t.seeds == [0, 1] for t in r1.trials)
    assert r1.best is not None and r1.best.remedy == "use_relu_family"
    assert r1.best.gain > max(r1.best.margin, MIN_GAIN)
    assert r1.best.first_layer_speed > 10 * r1.baseline.first_layer_speed  # the first layer learns again
    assert isinstance(r1.model, nn.Sequential) and sum(isinstance(m, nn.ReLU) for m in r1.model) == 6
    d = json.loads(json.dumps(r1.to_dict()))
    assert d["best"]["remedy"] == "use_relu_family" and d["baseline"]["remedy"] is None
    assert d["trials"][0]["changes"]


def test_guided_repair_follows_the_diagnosis() -> None:
    r = gd.repair(deep_sigmoid(steps=150), seeds=1, budget_s=1e9, progress=False)
    problems = [f for f in r.baseline.findings if f.is_problem]
    assert r.guided and problems
    assert r.candidates == rank_remedies(r.baseline.findings)
    assert [t.remedy for t in r.trials] == [c.partition(":")[0] for c in r.candidates]
    assert r.best is not None and r.best.fixes is True
    assert not any(f.kind == "vanishing_gradient" and f.is_problem for f in r.best.findings)


def test_healthy_case_left_untouched() -> None:
    healthy = digits_case(lambda: mlp(2, 64, nn.ReLU), lr=0.1, steps=150)
    r = gd.repair(healthy, seeds=1, progress=False)
    assert r.best is None and r.model is None and r.stopped == "healthy" and r.trials == []
    assert r.baseline.metric > 0.8


def test_no_win_without_gain_beyond_spread() -> None:
    healthy = digits_case(lambda: mlp(2, 64, nn.ReLU), lr=0.1, steps=100)
    r = gd.repair(healthy, seeds=2, remedies=["weight_decay"], progress=False)
    t = r.trials[0]
    assert t.margin >= max(r.baseline.spread, t.spread, MIN_GAIN)
    assert r.best is None  # weight decay barely changes 100 steps


def test_not_applicable_is_recorded_not_raised() -> None:
    r = gd.repair(deep_sigmoid(steps=30), seeds=1, remedies=["use_lstm_or_gru", "forget_gate_bias"], progress=False)
    assert [t.skipped is not None for t in r.trials] == [True, True]
    assert "no plain nn.RNN" in r.trials[0].skipped and r.trials[0].metrics == []


def test_ctrl_c_returns_what_was_measured() -> None:
    calls = {"n": 0}

    def train_fn(model: nn.Module, case: gd.Case) -> dict:
        calls["n"] += 1
        if calls["n"] == 2:  # interrupted during the first remedy's trial
            raise KeyboardInterrupt
        opt = case.make_optimizer(model.parameters())
        for x, y in case.batches(0):
            opt.zero_grad()
            case.loss_fn(model(x), y).backward()
            opt.step()
        return {}

    r = gd.repair(deep_sigmoid(steps=20), seeds=1, remedies=["use_relu_family", "he_init"], train_fn=train_fn,
                  progress=False)
    assert r.stopped == "interrupted" and len(r.baseline.metrics) == 1 and r.best is None
    assert all(not t.metrics for t in r.trials)


def test_user_loop_is_watched() -> None:
    steps_seen = []

    def train_fn(model: nn.Module, case: gd.Case) -> float:
        opt = case.make_optimizer(model.parameters())
        n = 0
        for x, y in case.batches(0):
            opt.zero_grad()
            case.loss_fn(model(x), y).backward()
            opt.step()
            n += 1
        steps_seen.append(n)
        return 0.5

    c = deep_sigmoid(steps=25)
    r = run_seed(c, 0, train_fn=train_fn, diagnose=False)
    assert r.metric == 0.5 and steps_seen == [25]
    assert r.data.n_steps == 25  # every optimizer step of the user's loop was recorded


def test_dataloader_case() -> None:
    X, y, Xv, yv = digits()
    ds = torch.utils.data.TensorDataset(X, y)
    c = gd.Case(model_fn=lambda: mlp(1, 16, nn.ReLU), train=torch.utils.data.DataLoader(ds, batch_size=64),
                val=torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xv, yv), batch_size=100), steps=30)
    a, b = run_seed(c, 0, diagnose=False), run_seed(c, 0, diagnose=False)
    assert a.metric == b.metric and 0 <= a.metric <= 1


@pytest.mark.parametrize("kw,match", [
    ({"model_fn": nn.Linear(2, 2)}, "model_fn must be a function"),
    ({"train": [1, 2, 3]}, "pair of tensors"),
    ({"train": (torch.zeros(3, 2), torch.zeros(4))}, "as many samples"),
    ({"steps": 0}, "steps must be"),
])
def test_case_errors_name_the_fix(kw: dict, match: str) -> None:
    base = dict(model_fn=lambda: nn.Linear(2, 2), train=(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)))
    base.update(kw)
    with pytest.raises(CaseError, match=match):
        gd.Case(**base)


def test_repair_rejects_non_case() -> None:
    with pytest.raises(CaseError, match="needs a graddoctor.Case"):
        gd.repair("my_net.py")


def test_later_candidate_must_beat_the_winner_beyond_the_spread() -> None:
    from graddoctor.repair import RepairResult, Trial, _judge

    base = Trial(remedy=None, metrics=[0.1, 0.1])
    result = RepairResult(baseline=base)
    first = Trial(remedy="use_relu_family", metrics=[0.80, 0.82])
    close = Trial(remedy="add_batchnorm", metrics=[0.805, 0.825])
    clear = Trial(remedy="add_residual", metrics=[0.95, 0.95])
    for t in (first, close):
        _judge(result, t, base, MIN_GAIN, None, None)
    assert result.best is first  # 0.815 vs 0.81: inside the spread, the diagnosis' first choice stays
    _judge(result, clear, base, MIN_GAIN, None, None)
    assert result.best is clear
