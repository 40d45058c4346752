"""Regression: the report of a run whose gradients were NaN from step 0 (a NaN weight, an lr of 1e9) said
"No backward-signal statistics were recorded", "No update ratios were recorded" and "No activation statistics
were recorded" although every statistic was recorded, as NaN: the reader went looking for a setting. Those
sections now say that nothing finite was recorded, how many steps held NaN/Inf and from which step."""
import numpy as np
import torch
from tests.regressions import nan_from_start_run

import graddoctor as gd
from graddoctor.present.html import render_run_report


def test_nan_from_step_0_is_not_called_unrecorded(tmp_path):
    torch.manual_seed(0)
    path = str(tmp_path / "nan.sqlite")
    nan_from_start_run(path)
    assert np.isnan(gd.load_run(path).stat("signal_norm")).all()
    html = render_run_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No backward-signal statistics were recorded" not in html
    assert "No update ratios were recorded" not in html
    assert "3 of 3 recorded steps held NaN/Inf gradients (the first at step 0)" in html
