"""A watch without an optimizer, in a loop that clears the gradients at the end of each iteration and calls
``run.step()`` after that (``backward(); opt.step(); opt.zero_grad(); run.step(loss=...)``): every gradient statistic
was NaN, without a warning, and the diagnosis reported a healthy run (no finding) for any model. After two such
steps (a backward pass seen by the signal hooks, no gradient on any trainable parameter) a warning now says to call
``run.step()`` before ``zero_grad()`` or to pass the optimizer; a model with nothing trainable (an input optimised by
gradient) is not warned about."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


def _run(order: str, frozen: bool = False, **kw) -> list[str]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.Tanh(), nn.Linear(20, 3))
    x, y = torch.randn(32, 10), torch.randint(0, 3, (32,))
    if frozen:  # an adversarial input: the model is fixed, the input is optimised
        model.requires_grad_(False)
        x.requires_grad_(True)
        opt = torch.optim.SGD([x], lr=0.1)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gd.watch(model, **kw) as run:
            for _ in range(5):
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                if order == "zero_grad_first":
                    opt.zero_grad()
                    run.step(loss=loss)
                else:
                    run.step(loss=loss)
                    opt.zero_grad()
    return [str(w.message) for w in caught if issubclass(w.category, gd.GradDoctorWarning)]


def test_run_step_after_zero_grad_is_warned_once() -> None:
    msgs = _run("zero_grad_first")
    assert len(msgs) == 1
    assert "steps 0, 1" in msgs[0] and "before optimizer.zero_grad()" in msgs[0]


@pytest.mark.parametrize("order, frozen, kw", [("step_first", False, {}), ("zero_grad_first", True, {}),
                                               ("zero_grad_first", False, {"activations": False})],
                         ids=["right_order", "nothing_trainable", "no_signal_hooks"])
def test_no_warning(order: str, frozen: bool, kw: dict) -> None:
    assert _run(order, frozen, **kw) == []
