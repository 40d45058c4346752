"""Regression: ``gd.diagnose("run.sqlite").report("r.html")`` (the report of a recorded run's diagnosis, which
docs/report.md lists beside the check's) captioned its figure "Per-layer quantities measured on one batch": a
run's per-layer rows are read at its last recorded step, not from one batch. The caption and the per-layer table
now say "at the last recorded step (step N)" for a run, and "measured on one batch" only for a check."""
import torch
from tests.regressions import watched_sgd
from torch import nn

import graddoctor as gd


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))


def test_run_diagnosis_report_says_last_step_not_one_batch(tmp_path):
    store = str(tmp_path / "run.sqlite")
    watched_sgd(_model(), torch.randn(8, 4), torch.randint(0, 2, (8,)), steps=7, store=store)
    html = open(gd.diagnose(store, save=False).report(str(tmp_path / "r.html")), encoding="utf-8").read()
    assert "one batch" not in html
    assert "at the last recorded step (step 6)" in html


def test_check_report_still_says_one_batch(tmp_path):
    model = _model()
    diag = gd.check(model, torch.randn(8, 4), torch.randint(0, 2, (8,)), nn.functional.cross_entropy)
    html = open(diag.report(str(tmp_path / "c.html")), encoding="utf-8").read()
    assert "measured on one batch" in html
