"""Recipe remedies change the optimizer the recipe builds (clipping, optimizer class, learning rate,
warm-up, weight decay), with thresholds measured on the baseline, and never touch the model."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from graddoctor.repair.remedies import NotApplicable, RepairContext, get_remedy
from graddoctor.repair.remedies.clipping import NORM_FACTOR, VALUE_FACTOR
from graddoctor.repair.remedies.learning_rate import MAX_FACTOR, TARGET_UPDATE_RATIO, WARMUP_FRACTION
from graddoctor.repair.remedies.regularization import WEIGHT_DECAY
from graddoctor.store.run_data import LayerInfo, RunData

from .repair_cases import digits_case, mlp


def fake_baseline(grad_norms: list[float], update: float = 0.5) -> RunData:
    n = len(grad_norms)
    layers = [LayerInfo(index=i, name=str(i), type="Linear", order=i) for i in range(2)]
    return RunData(layers=layers, steps=np.arange(n), layer_stats={"update_ratio": np.full((2, n), update)},
                   step_stats={"total_grad_norm": np.array(grad_norms, dtype=float)})


def case():
    return digits_case(lambda: mlp(1, 8, nn.ReLU), lr=0.5, steps=40)


def big_grads(opt: torch.optim.Optimizer, scale: float = 100.0) -> list[torch.Tensor]:
    ps = [p for g in opt.param_groups for p in g["params"]]
    for p in ps:
        p.grad = torch.full_like(p, scale)
    return ps


def test_clip_grad_norm_threshold_measured_and_applied() -> None:
    norms = [2.0, 4.0, 6.0, 8.0] + [1e6] * 12  # explosion after the early (typical) steps
    new = get_remedy("clip_grad_norm").apply(case(), RepairContext(baseline=fake_baseline(norms)))
    limit = NORM_FACTOR * 5.0  # median of the first quarter
    assert "clipped the gradient norm at 5" in new.changes[-1]
    model = new.build_model()
    opt = new.make_optimizer(model.parameters())
    before = [p.detach().clone() for p in model.parameters()]
    ps = big_grads(opt)
    opt.step()
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in ps]))
    assert total.item() == pytest.approx(limit, rel=1e-4)
    moved = torch.linalg.vector_norm(torch.cat([(p.detach() - b).reshape(-1) for p, b in zip(model.parameters(),
                                                                                             before)]))
    assert moved.item() == pytest.approx(0.5 * limit, rel=1e-3)  # SGD: lr x clipped gradient


def test_clip_grad_value() -> None:
    c = case()
    new = get_remedy("clip_grad_value").apply(c, RepairContext(baseline=fake_baseline([4.0] * 8)))
    model = new.build_model()
    n = sum(p.numel() for p in model.parameters())
    opt = new.make_optimizer(model.parameters())
    ps = big_grads(opt)
    opt.step()
    assert max(p.grad.abs().max().item() for p in ps) == pytest.approx(VALUE_FACTOR * 4.0 / math.sqrt(n), rel=1e-4)


def test_clipping_needs_a_measurement() -> None:
    with pytest.raises(NotApplicable, match="measured"):
        get_remedy("clip_grad_norm").apply(case(), RepairContext(baseline=None))


@pytest.mark.parametrize("code,cls", [("use_adam", torch.optim.Adam), ("use_rmsprop", torch.optim.RMSprop),
                                      ("use_adagrad", torch.optim.Adagrad)])
def test_switch_optimizer(code: str, cls: type) -> None:
    new = get_remedy(code).apply(case(), RepairContext())
    opt = new.make_optimizer(nn.Linear(2, 2).parameters())
    assert type(opt) is cls
    with pytest.raises(NotApplicable, match="already"):
        get_remedy(code).apply(new, RepairContext())


def test_lower_learning_rate_by_measured_factor() -> None:
    new = get_remedy("lower_learning_rate").apply(case(), RepairContext(baseline=fake_baseline([1.0] * 10, 0.5)))
    lr = new.make_optimizer(nn.Linear(2, 2).parameters()).param_groups[0]["lr"]
    assert lr == pytest.approx(0.5 * TARGET_UPDATE_RATIO / 0.5)  # factor = target / measured ratio
    new = get_remedy("lower_learning_rate").apply(case(), RepairContext(baseline=fake_baseline([1.0] * 10, 0.02)))
    assert new.make_optimizer(nn.Linear(2, 2).parameters()).param_groups[0]["lr"] == pytest.approx(0.5 * MAX_FACTOR)
    with pytest.raises(NotApplicable, match="already small"):
        get_remedy("lower_learning_rate").apply(case(), RepairContext(baseline=fake_baseline([1.0] * 10, 1e-4)))


def test_warmup_ramps_the_learning_rate() -> None:
    c = case()
    new = get_remedy("lr_warmup").apply(c, RepairContext())
    n = round(c.steps * WARMUP_FRACTION)
    lin = nn.Linear(2, 2)
    opt = new.make_optimizer(lin.parameters())
    seen = []  # the rate each step runs at (the warm-up puts the group's own rate back after the step)
    opt.register_step_pre_hook(lambda o, a, k: seen.append(o.param_groups[0]["lr"]))
    for _ in range(n + 2):
        lin(torch.ones(1, 2)).sum().backward()
        opt.step()
    assert seen[0] == pytest.approx(0.5 / n) and seen[n - 1] == pytest.approx(0.5) and seen[-1] == pytest.approx(0.5)
    assert all(a <= b for a, b in zip(seen, seen[1:]))


def test_weight_decay_added_once() -> None:
    new = get_remedy("weight_decay").apply(case(), RepairContext())
    assert new.make_optimizer(nn.Linear(2, 2).parameters()).param_groups[0]["weight_decay"] == WEIGHT_DECAY
    with pytest.raises(NotApplicable, match="already"):
        get_remedy("weight_decay").apply(new, RepairContext())


def test_recipe_remedy_keeps_the_original_case() -> None:
    c = case()
    new = get_remedy("use_adam").apply(c, RepairContext())
    assert type(c.make_optimizer(nn.Linear(2, 2).parameters())) is torch.optim.SGD
    assert c.changes == () and len(new.changes) == 1 and new.model_fn is c.model_fn


def test_raise_learning_rate_by_measured_factor() -> None:
    from graddoctor.repair.remedies.learning_rate import MAX_RAISE, RAISE_FALLBACK
    # case() trains at lr 0.5: measured early update 1e-3 -> factor target / 1e-3
    new = get_remedy("raise_learning_rate").apply(case(), RepairContext(baseline=fake_baseline([1.0] * 10, 1e-3)))
    lr = new.make_optimizer(nn.Linear(2, 2).parameters()).param_groups[0]["lr"]
    assert lr == pytest.approx(0.5 * TARGET_UPDATE_RATIO / 1e-3)
    assert "multiplied the learning rate by 10" in new.changes[-1]
    new = get_remedy("raise_learning_rate").apply(case(), RepairContext(baseline=fake_baseline([1.0] * 10, 1e-7)))
    assert new.make_optimizer(nn.Linear(2, 2).parameters()).param_groups[0]["lr"] == pytest.approx(0.5 * MAX_RAISE)
    new = get_remedy("raise_learning_rate").apply(case(), RepairContext(baseline=None))
    assert new.make_optimizer(nn.Linear(2, 2).parameters()).param_groups[0]["lr"] == pytest.approx(
        0.5 * RAISE_FALLBACK)
    with pytest.raises(NotApplicable, match="already large"):
        get_remedy("raise_learning_rate").apply(case(), RepairContext(baseline=fake_baseline([1.0] * 10, 0.02)))
