"""A watched model called inside ``torch.func`` transforms (``vmap(grad(...))`` over ``functional_call``: per-sample
gradients for DP-SGD, influence functions, per-sample gradient norms): the forward hooks recorded functorch-wrapped
tensors, and folding them after the transform failed inside torch (``maybe_level.has_value() INTERNAL ASSERT
FAILED``), which stopped watching at the first step with a warning blaming graddoctor, and the run held no step.
Forward passes inside a transform are now ignored, like those under ``no_grad``: the steps are recorded, and the
ordinary passes of the same steps give the statistics they give without the transform."""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap
from torch.nn import functional as F

import graddoctor as gd


def _train(per_sample: str):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.Tanh(), nn.Linear(20, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(16, 10), torch.randint(0, 3, (16,))

    def loss_one(params, xi, yi):
        return F.cross_entropy(functional_call(model, params, (xi.unsqueeze(0),)), yi.unsqueeze(0))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gd.watch(model, opt, detail_every=1) as run:
            for _ in range(3):
                opt.zero_grad()
                params = {k: v.detach() for k, v in model.named_parameters()}
                if per_sample == "dp_sgd":  # the update is the mean of the per-sample gradients
                    g = vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y)
                    for k, p in model.named_parameters():
                        p.grad = g[k].mean(0)
                else:  # an ordinary step, and per-sample gradient norms computed beside it (for logging)
                    F.cross_entropy(model(x), y).backward()
                    if per_sample == "beside":
                        vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y)
                opt.step()
    assert run.error is None, run.error
    return run.data, [str(w.message) for w in caught if issubclass(w.category, gd.GradDoctorWarning)]


def test_dp_sgd_steps_recorded() -> None:
    data, msgs = _train("dp_sgd")
    assert msgs == []
    assert data.steps.tolist() == [0, 1, 2]
    assert np.isfinite(data.layer_stats["weight_grad_norm"]).all()


def test_transform_beside_the_step_changes_nothing() -> None:
    ref, _ = _train("none")
    data, msgs = _train("beside")
    assert msgs == []
    for k, v in ref.layer_stats.items():
        np.testing.assert_array_equal(data.layer_stats[k], v, err_msg=k)


def _train_with_batched_backward(kind: str):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.Tanh(), nn.Linear(20, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(16, 10), torch.randint(0, 3, (16,))
    with gd.watch(model, opt, detail_every=1) as run:
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            if kind == "jacobian":  # a Jacobian penalty or a sensitivity measurement beside the step
                torch.autograd.functional.jacobian(model, x[:2], vectorize=True)
            elif kind == "batched_grads":
                out = model(x[:2])
                torch.autograd.grad(out, list(model.parameters()), torch.eye(6).reshape(6, 2, 3),
                                    is_grads_batched=True)
    assert run.error is None, run.error
    return run.data


def test_batched_backward_beside_the_step() -> None:
    """``jacobian(vectorize=True)`` and ``autograd.grad(is_grads_batched=True)`` run a vectorized backward through the
    layers' signal hooks, whose batched gradients failed the same way; they are ignored, and the backward-signal and
    parameter statistics are those of the run without them (forward statistics take the extra forward pass, as any
    forward with grad enabled)."""
    ref = _train_with_batched_backward("none")
    for kind in ("jacobian", "batched_grads"):
        data = _train_with_batched_backward(kind)
        assert data.steps.tolist() == [0, 1, 2]
        for k in ("signal_norm", "in_signal_norm", "weight_grad_norm", "update_ratio"):
            np.testing.assert_array_equal(data.layer_stats[k], ref.layer_stats[k], err_msg=f"{kind} {k}")
