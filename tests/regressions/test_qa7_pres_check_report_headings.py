"""Regression: the per-layer table of a check report (``gd.check(...).report(path)``, ``diag.report(path)``)
was headed by the diagnosis's raw keys ("signal", "in_signal", "grad_ratio", "activation_factor"), while the run
report and every terminal view call the same quantities ‖∂L/∂out‖, ‖∂L/∂in‖, ‖∇W‖/‖W‖ and σ′ factor. The check
report now uses those headings (keys it does not know keep their name)."""
import re

import torch
from torch import nn

import graddoctor as gd
from graddoctor.present.html import render_check_report


def test_check_report_headings_match_the_run_report(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 2))
    diag = gd.check(model, torch.randn(16, 4), torch.randint(0, 2, (16,)), nn.functional.cross_entropy)
    html = render_check_report(diag, tmp_path / "c.html").read_text()
    heads = re.findall(r"<th[^>]*>(.*?)</th>", html)
    assert "‖∂L/∂out‖" in heads and "‖∇W‖/‖W‖" in heads, heads
    assert "signal" not in heads and "grad_ratio" not in heads, heads
