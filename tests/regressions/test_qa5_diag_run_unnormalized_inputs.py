"""Regression: a run records no input statistics, so inputs far from unit scale were never a cause there. A
ReLU MLP trained by SGD on digits x1000 (input rms 482) was an `exploding_gradient` at step 0 put down to
"the loss gradient is large" (large_loss_gradient, learning_rate_too_high), and a tanh MLP on the same inputs
a `saturation` finding with the single cause saturating_activation. The first layer's output rms over its
weights' scale, out_rms / (w_rms x sqrt(fan_in)) (a random projection), now estimates the input rms in a run
(`causes.estimated_input_rms`); beyond `RUN_INPUT_RMS_SLACK` (3) x the check's bounds (rms above 30 or below
1/30) it is the cause `unnormalized_inputs`. Inputs at unit scale are not."""
import torch
from sklearn.datasets import load_digits
from torch import nn

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.causes import estimated_input_rms

from . import watched_batches


def _run(scale: float, act: type[nn.Module], adam: bool = False, steps: int = 5):
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16.0 * scale, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), act(), nn.Linear(64, 64), act(), nn.Linear(64, 64), act(),
                          nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-3) if adam else torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)

    def batch(_: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, 1500, (32,), generator=g)
        return X[idx], y[idx]
    return watched_batches(model, opt, batch, steps)[0]


def test_large_inputs_named_in_a_run():
    run = _run(1000.0, nn.ReLU)
    est = estimated_input_rms(Context.from_run(run.data))
    assert est is not None and 200 < est["rms"] < 1000  # true rms 482
    (f,) = [f for f in run.diagnose().by_kind("exploding_gradient") if f.step == 0]
    assert f.causes[0] == "unnormalized_inputs" and "inputs are far from unit scale" in f.message
    (s,) = _run(1000.0, nn.Tanh, adam=True, steps=21).diagnose().by_kind("saturation")
    assert "unnormalized_inputs" in s.causes


def test_unit_scale_inputs_are_not_blamed():
    run = _run(1.0, nn.ReLU)
    est = estimated_input_rms(Context.from_run(run.data))
    assert est is not None and 0.3 < est["rms"] < 0.8  # true rms 0.48
    assert all("unnormalized_inputs" not in f.causes for f in run.diagnose().findings)
