"""An input that requires grad and is fed again every step (a PINN's collocation points, an image or embedding
optimised by gradient, a saliency input) is a leaf tensor, and a hook registered on a leaf stays on it after its
backward. graddoctor put its input-gradient hook (``in_signal_norm``) and the RNN time-profile hook on such an input
at every detail step and never took them off: each step added one more hook, so the k-th step counted the gradient
k times (in_signal_norm grew as sqrt(k): 0.0187, 0.0265, 0.0324, ... for an unchanging step), the RNN time profile
likewise, and the hooks stayed on the user's tensor after the run, holding the Monitor. Hooks on leaf tensors are
now removed at the end of each step and at stop(); the statistics equal ||dL/dx|| by autograd at every step."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

import graddoctor as gd


def _hooks(t: torch.Tensor) -> int:
    return len(t._backward_hooks or {})


def test_leaf_input_reused_every_step() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(16, 2, requires_grad=True)  # collocation points: the same leaf every step
    expected = []
    with gd.watch(model, opt, detail_every=1) as run:
        for _ in range(4):
            x.grad = None
            loss = model(x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            expected.append(float(x.grad.norm()))
            opt.step()
    np.testing.assert_allclose(run.data.stat("in_signal_norm")[0], expected, rtol=1e-5)
    assert _hooks(x) == 0


def test_recurrent_leaf_input_time_profile() -> None:
    torch.manual_seed(0)
    rnn = nn.GRU(3, 5, batch_first=True)
    opt = torch.optim.SGD(rnn.parameters(), lr=0.05)
    x = torch.randn(4, 6, 3, requires_grad=True)
    expected = []
    with gd.watch(rnn, opt, detail_every=1) as run:
        for _ in range(3):
            x.grad = None
            out, _ = rnn(x)
            opt.zero_grad()
            out.pow(2).mean().backward()
            expected.append(x.grad.pow(2).sum(dim=(0, 2)).sqrt().numpy())
            opt.step()
    steps, prof = run.data.series["time_signal"]["<model>"]
    assert steps.tolist() == [0, 1, 2]
    np.testing.assert_allclose(prof, np.stack(expected), rtol=1e-5)
    assert _hooks(x) == 0


def test_check_leaves_no_hook_on_an_input_that_requires_grad() -> None:
    """gd.check promises to remove its hooks; before f2c2354 its Monitor left the input-gradient hook on a batch
    tensor that requires grad (a PINN's points), holding the check's Monitor for as long as the tensor lived."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    x = torch.randn(16, 2, requires_grad=True)

    def residual(u: torch.Tensor, _: object) -> torch.Tensor:
        du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
        return (du.pow(2).sum(1) - 1).pow(2).mean()

    gd.check(model, x, None, residual)
    assert _hooks(x) == 0 and x.grad is None
