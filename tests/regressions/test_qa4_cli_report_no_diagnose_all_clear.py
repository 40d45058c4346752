"""Regression: ``graddoctor report RUN --no-diagnose`` of a run that had never been diagnosed (``watch()`` stores
no findings by itself) said "No problems found." in green, for a 6-layer sigmoid MLP with a critical vanishing
gradient: a false all-clear. The summary now says the run was not diagnosed here and has no stored findings, and
how to get them; a run whose stored diagnosis is there still shows it."""
import torch
from click.testing import CliRunner
from torch import nn

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.store.sqlite import append_findings


def _run(path):
    torch.manual_seed(0)
    layers = []
    for _ in range(6):
        layers += [nn.Linear(8, 8), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 8), torch.randint(0, 2, (16,))
    with gd.watch(model, opt, store=str(path)) as run:
        for _ in range(3):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return str(path)


def _summary(html: str) -> str:
    return html.split('id="summary-line">', 1)[1].split("<", 1)[0]


def test_no_diagnose_of_an_undiagnosed_run_is_not_an_all_clear(tmp_path):
    store = _run(tmp_path / "run.sqlite")
    assert not gd.load_run(store).diagnosed
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", store, "-o", str(out), "--no-diagnose", "--no-figures"])
    assert res.exit_code == 0, res.output
    summary = _summary(out.read_text(encoding="utf-8"))
    assert "No problems found" not in summary
    assert "Not diagnosed" in summary and "graddoctor diagnose" in summary


def test_a_stored_diagnosis_that_found_nothing_reads_as_no_problem(tmp_path):
    store = _run(tmp_path / "run.sqlite")
    append_findings(store, [], source="diagnose")
    assert gd.load_run(store).diagnosed
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", store, "-o", str(out), "--no-diagnose", "--no-figures"])
    assert res.exit_code == 0, res.output
    assert _summary(out.read_text(encoding="utf-8")).startswith("No problems found")
