"""A deep net whose hidden activations are functional calls (``torch.sigmoid(x)`` in ``forward``) vanished, but
the run store records activation modules only: the diagnosis blamed the depth alone (add_batchnorm,
add_residual, add_layernorm, all inapplicable to a custom forward), so ``repair`` skipped every candidate and
never tried ``use_relu_family``, whose functional swap is the fix. The audit now sees the functional calls and
adds the saturating-activation finding."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.diagnosis.findings import Finding
from graddoctor.repair.audit import audit


class FuncSigmoid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(20 if i == 0 else 32, 32) for i in range(6)])
        self.out = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = F.sigmoid(layer(x))
        return self.out(x)


def _case(model_fn: type[nn.Module] = FuncSigmoid, steps: int = 60) -> gd.Case:
    w = torch.randn(20, 4, generator=torch.Generator().manual_seed(123))
    X = torch.randn(256, 20, generator=torch.Generator().manual_seed(0))
    return gd.Case(model_fn=model_fn, train=(X, (X @ w).argmax(1)), steps=steps, batch_size=32)


def _depth_finding() -> Finding:
    return Finding(kind="vanishing_gradient", severity="critical", axis="depth", layers=["layers.0"],
                   causes=["depth_without_normalization"], remedies=["add_batchnorm", "add_residual"])


def test_audit_names_functional_saturating_activations() -> None:
    extra = audit(_case(), [_depth_finding()])
    assert [f.remedies[0] for f in extra] == ["use_relu_family"]
    assert extra[0].kind == "vanishing_gradient" and extra[0].axis == "depth"
    assert extra[0].severity == "critical" and extra[0].evidence["hidden_functional_activations"] == 6


def test_audit_quiet_without_functional_activations() -> None:
    def relu_net() -> nn.Module:
        return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4), nn.Sigmoid())  # output sigmoid only

    assert audit(_case(relu_net), [_depth_finding()]) == []
    assert audit(_case(), []) == []  # nothing vanished: nothing to add


def test_repair_tries_the_functional_swap_first() -> None:
    result = gd.repair(_case(), seeds=1, max_trials=0, progress=False)
    assert result.candidates[0] == "use_relu_family"
