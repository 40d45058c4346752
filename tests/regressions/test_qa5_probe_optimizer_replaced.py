"""A training that builds a new optimizer after ``gd.watch(model, opt)`` (gradual unfreezing: unfreeze the
backbone and build an optimizer over all parameters; or a switch from Adam to SGD) stopped being recorded,
silently: graddoctor marks steps with the watched optimizer's step hook, which the old optimizer no longer runs, so
the run ended at the switch and the diagnosis saw only the first phase. Now, when another optimizer steps the
watched optimizer's parameters OTHER_OPTIMIZER_STEPS times with no step of the watched one in between, one warning
says that nothing more is recorded and what to do. A second optimizer over other parameters (a GAN) or a wrapper
that steps an inner optimizer (ZeroRedundancyOptimizer, Lookahead) does not warn."""
from __future__ import annotations

import warnings

import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import GradDoctorWarning


def _ours(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, GradDoctorWarning)]


def _step(model, opt, x, y) -> None:
    opt.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    opt.step()


def test_new_optimizer_after_watch_warns_once() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD(model[2].parameters(), lr=0.1)
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with gd.watch(model, opt) as run:
            for step in range(10):
                if step == 3:  # unfreeze and build a new optimizer over everything
                    for p in model[0].parameters():
                        p.requires_grad_(True)
                    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
                _step(model, opt, x, y)
    msgs = _ours(record)
    assert len(msgs) == 1 and "Adam" in msgs[0] and "gd.watch(model, new_optimizer)" in msgs[0], msgs
    from graddoctor.probe.monitor import OTHER_OPTIMIZER_STEPS

    assert f"made {OTHER_OPTIMIZER_STEPS} steps" in msgs[0]
    assert run.data.steps.tolist() == [0, 1, 2]


class _Wrapper(torch.optim.Optimizer):
    """Steps an inner optimizer over the same parameters (as ZeroRedundancyOptimizer or Lookahead do)."""

    def __init__(self, params) -> None:
        params = list(params)
        super().__init__(params, {})
        self.inner = torch.optim.SGD(params, lr=0.1)

    def step(self, closure=None):
        return self.inner.step(closure)


def test_gan_and_wrapper_do_not_warn() -> None:
    torch.manual_seed(0)
    g, d = nn.Linear(4, 4), nn.Linear(4, 1)
    opt_g, opt_d = torch.optim.SGD(g.parameters(), lr=0.1), torch.optim.SGD(d.parameters(), lr=0.1)
    wrapped = nn.Linear(4, 1)
    outer = _Wrapper(wrapped.parameters())
    x = torch.randn(8, 4)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with gd.watch(nn.Sequential(g, d), opt_g) as gan, gd.watch(wrapped, outer) as wrap:
            for _ in range(6):
                _step(nn.Sequential(g, d), opt_g, x, torch.zeros(8, 1))
                _step(d, opt_d, g(x).detach(), torch.ones(8, 1))
                _step(wrapped, outer, x, torch.zeros(8, 1))
    assert _ours(record) == []
    assert gan.data.n_steps == wrap.data.n_steps == 6
