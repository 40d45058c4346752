"""Regression: `gd.check` on a ReLU MLP fed digits x1000 (input rms 482) said "the gradient is large where it
enters the net (max ||gW||/||W|| 102 at 0, 2, 4) ...: the loss gradient is large", causes large_loss_gradient
then unnormalized_inputs, remedies lower_learning_rate, use_adam, clip_grad_norm first. A cross-entropy's
gradient is bounded; a weight's gradient is the backward signal times the layer's input, and the inputs were
1000x. When the check measured unnormalized inputs, that is now the first cause (remedy normalize_inputs first)
and the message says so with the input rms. And the 102 is the head's ratio ('6'), not that of '0, 2, 4': the
message now names the layer of the maximum and lists the layers above the threshold after it."""
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import graddoctor as gd


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def test_large_inputs_are_the_cause():
    X, y = load_digits(return_X_y=True)
    x, t = torch.tensor(X[:64] / 16.0 * 1000, dtype=torch.float32), torch.tensor(y[:64])
    (f,) = gd.check(_mlp(), x, t, F.cross_entropy).by_kind("exploding_gradient")
    assert f.causes[0] == "unnormalized_inputs" and f.remedies[0] == "normalize_inputs"
    rms = float(x.pow(2).mean().sqrt())
    assert f"rms {rms:.3g}" in f.message and "loss gradient is large" not in f.message
    model = _mlp()
    F.cross_entropy(model(x), t).backward()
    ratios = {name: float(m.weight.grad.norm() / m.weight.norm()) for name, m in model.named_children()
              if isinstance(m, nn.Linear)}
    top = max(ratios, key=lambda k: ratios[k])
    assert f"max ||gW||/||W|| {ratios[top]:.3g} at {top};" in f.message


def test_unit_scale_inputs_silent():
    X, y = load_digits(return_X_y=True)
    x, t = torch.tensor(X[:64] / 16.0, dtype=torch.float32), torch.tensor(y[:64])
    assert not gd.check(_mlp(), x, t, F.cross_entropy).by_kind("exploding_gradient")
