"""Regression (found by the QA6 watch pass): fine-tuning with LoRA adapters, as PEFT builds them (a frozen
``base_layer``, ``lora_A`` Kaiming-initialised, ``lora_B`` all zeros, in ModuleDicts keyed by the adapter
name), got a poor_initialization finding naming every ``lora_B``: their weight variance is ~0 at the start by
design (Hu et al. 2021: the adapted model starts equal to the pretrained one). A zero-started low-rank
up-projection (LORA_UP_NAMES) is not audited as too small; a plain hidden layer that starts far too small still
is."""
from __future__ import annotations

import torch
from torch import nn

import graddoctor as gd


class LoraLinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int = 4) -> None:
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.ModuleDict({"default": nn.Linear(base.in_features, r, bias=False)})
        self.lora_B = nn.ModuleDict({"default": nn.Linear(r, base.out_features, bias=False)})
        nn.init.zeros_(self.lora_B["default"].weight)
        base.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base_layer(x) + self.lora_B["default"](self.lora_A["default"](x)) * 2.0


def _train(model: nn.Module) -> gd.Monitor:
    torch.manual_seed(1)
    x, y = torch.randn(64, 32), torch.randint(0, 4, (64,))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    run = gd.watch(model, opt, store=None).start()
    for _ in range(30):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    run.stop()
    return run


def test_lora_b_zero_init_is_not_poor_initialization() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    net[0] = LoraLinear(net[0])
    net[2] = LoraLinear(net[2])
    d = _train(net).diagnose()
    flagged = [layer for f in d.findings if f.kind == "poor_initialization" for layer in f.layers]
    assert not any("lora_B" in name for name in flagged), flagged


def test_a_hidden_layer_started_too_small_is_still_flagged() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    with torch.no_grad():
        net[2].weight.mul_(1e-3)
    d = _train(net).diagnose()
    flagged = [layer for f in d.findings if f.kind == "poor_initialization" for layer in f.layers]
    assert "2" in flagged, flagged
