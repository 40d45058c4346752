"""Regression: a clean diagnosis (no finding) of a store never diagnosed was not saved (the empty stored list
equalled the empty new one), so ``load_run(p).diagnosed`` stayed False and ``graddoctor report --no-diagnose``
said the run was not diagnosed after ``graddoctor diagnose`` had found nothing."""
import torch
from torch import nn

import graddoctor as gd


def test_clean_diagnosis_is_stored(tmp_path):
    path = str(tmp_path / "run.sqlite")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with gd.watch(model, opt, store=path) as run:
        for _ in range(20):
            x = torch.randn(32, 4)
            loss = nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long())
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    assert not gd.load_run(path).diagnosed
    diag = gd.diagnose(path)
    assert not diag.problems, diag.findings
    data = gd.load_run(path)
    assert data.diagnosed and data.findings == []
