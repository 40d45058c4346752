"""A layer wrapped with the deprecated ``torch.nn.utils.weight_norm`` (still common in TCN, WaveNet and HiFi-GAN
code) owns ``weight_g`` (shape (out, 1, ...)) before ``weight_v``; the fan-in was read from ``g``, i.e. 1, so the
initialisation audit compared a default-initialised layer with He's 2/1 and reported ``poor_initialization``
("variance 0.03 x the variance-preserving value") for a healthy model. The direction ``v`` is now read first, as for
``torch.nn.utils.parametrizations.weight_norm``."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd
from graddoctor.probe.model_map import map_model


def _old_weight_norm(m: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated in favour of parametrizations.weight_norm
        return nn.utils.weight_norm(m)


def _mlp() -> nn.Module:
    return nn.Sequential(_old_weight_norm(nn.Linear(10, 20)), nn.ReLU(), nn.Linear(20, 3))


def _tcn() -> nn.Module:
    return nn.Sequential(_old_weight_norm(nn.Conv1d(4, 8, 3)), nn.ReLU(), _old_weight_norm(nn.Conv1d(8, 8, 3)),
                         nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 3))


@pytest.mark.parametrize("build, fans", [(_mlp, (10, 20)), (_tcn, (12, 24))], ids=["linear", "conv1d"])
def test_fan_in_from_the_direction(build, fans) -> None:
    torch.manual_seed(0)
    assert map_model(build()).layers[0].fan_in_out() == fans


def test_check_finds_no_poor_initialization() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(32, 10), torch.randint(0, 3, (32,))
    diag = gd.check(_mlp(), x, y, F.cross_entropy)
    assert [f.kind for f in diag.findings if f.kind == "poor_initialization"] == []
