"""Regression: a tanh MLP fed digits x1000 (input rms 482) saturates its first layer (99 % of units flat). The
saturation finding listed `saturating_activation` first and `unnormalized_inputs` after it, so its remedies
began with use_relu_family and xavier_init: another activation or init still sees 1000x pre-activations.
When the inputs are unnormalized and the first layer is among the saturated ones, the inputs are now the first
cause (normalize_inputs first) and the message names the first layer and the input rms."""
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import graddoctor as gd


def _check(scale: float) -> gd.Diagnosis:
    X, y = load_digits(return_X_y=True)
    x, t = torch.tensor(X[:64] / 16.0 * scale, dtype=torch.float32), torch.tensor(y[:64])
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
    return gd.check(model, x, t, F.cross_entropy)


def test_inputs_first_for_a_first_layer_saturated_by_them():
    (f,) = _check(1000.0).by_kind("saturation")
    assert f.layers == ["0"] and f.causes[0] == "unnormalized_inputs" and f.remedies[0] == "normalize_inputs"
    assert "the first layer (0) takes inputs far from unit scale (rms 482)" in f.message


def test_unit_scale_inputs_do_not_saturate():
    assert not _check(1.0).by_kind("saturation")
