"""Regression: one NaN in the data (a missing regression label, or a NaN input feature) made a healthy run's
diagnosis an `exploding_gradient` (cause `gradient_cliff`, remedies clip_grad_norm and lower_learning_rate: a
non-finite gradient norm always counted as a spike) beside a `non_finite` finding with cause `unknown` and
clip_grad_norm as its only remedy. Clipping cannot fix a NaN label. The NaN appeared in the forward pass with
steady gradients before it, so it is now the non_finite finding alone, with cause `non_finite_loss` (every layer
output finite, the loss not: the targets or the loss function; the message says what to look at) or
`non_finite_inputs` (the first layer's output: the batch; remedy sanitize_inputs). A check whose only
non-finite value is the loss says the same, and one whose only non-finite values are the gradients names an
operation with an infinite derivative (`unsafe_op`), where both had cause `unknown` and no remedy."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def _run(nan_in: str):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
    X = torch.randn(1000, 10)
    Y = X[:, :1] * 2 + 0.1 * torch.randn(1000, 1)
    (Y if nan_in == "targets" else X)[760, 0] = float("nan")  # in the batch of step 15
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    with gd.watch(model, opt) as run:
        for i in range(0, 1000, 50):
            loss = F.mse_loss(model(X[i:i + 50]), Y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run.diagnose()


def test_nan_label_is_the_loss_not_an_exploding_gradient():
    diag = _run("targets")
    assert not diag.by_kind("exploding_gradient"), [f.message for f in diag.findings]
    (f,) = diag.by_kind("non_finite")
    assert f.step == 15 and f.origin == "<loss>"
    assert f.causes == ["non_finite_loss"] and "clip_grad_norm" not in f.remedies
    assert "targets" in f.message and f.evidence["sudden"] is True


def test_nan_input_is_the_batch():
    diag = _run("inputs")
    assert not diag.by_kind("exploding_gradient"), [f.message for f in diag.findings]
    (f,) = diag.by_kind("non_finite")
    assert f.step == 15 and f.origin == "0"
    assert f.causes == ["non_finite_inputs"] and f.remedies == ["sanitize_inputs"]


def test_check_nan_label_and_nan_gradient_have_causes():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
    x, y = torch.randn(64, 10), torch.randn(64, 1)
    y[3] = float("nan")
    (f,) = gd.check(model, x, y, F.mse_loss).by_kind("non_finite")
    assert f.origin == "<loss>" and f.causes == ["non_finite_loss"] and "targets" in f.message

    def dist_loss(out, target):  # the gradient of sqrt at 0 is infinite: a finite loss, NaN gradients
        return torch.sqrt(((out - target) ** 2).sum(1)).mean()

    (f,) = gd.check(model, x, model(x).detach(), dist_loss).by_kind("non_finite")
    assert f.origin is None and f.causes == ["unsafe_op"] and f.remedies == ["guard_unsafe_op"]
    assert "sqrt" in f.message
