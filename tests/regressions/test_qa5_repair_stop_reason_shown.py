"""Regression: a repair that stopped before every candidate remedy was tried said so only for two of its stop
reasons. ``max_trials`` (``result.stopped == "max_trials"``) printed the table and the winner with no word that
the ranked remedies after it were never tried; the report's Repair section (and ``print_repair``) and
``describe()`` said nothing for any stop reason, and the JSON held no budget or limit to explain one. Now every
early stop (time budget, max_trials, Ctrl-C) has one sentence, ``RepairResult.stop_note()`` (``stop_note`` in
``to_dict()``/``--json``, with ``budget_s`` and ``max_trials``), naming the limit and the remedies not tried,
shown by the terminal, ``describe()`` and the report's verdict line."""
import math

import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.present.console import print_repair
from graddoctor.present.repair_view import repair_context
from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial


def _terminal(result: RepairResult) -> str:
    console = Console(record=True, width=400)
    print_result(result, console)
    return " ".join(console.export_text().split())


def _everywhere(result: RepairResult) -> list[str]:
    d = result.to_dict()
    console = Console(record=True, width=400)
    print_repair(d, console)
    return [_terminal(result), result.describe(), repair_context(d)["verdict"],
            " ".join(console.export_text().split()), d["stop_note"]]


def _result(stopped: str, **kw) -> RepairResult:
    base = Trial(remedy=None, seeds=[0], metrics=[0.1], losses=[2.3], speeds=[1e-6], findings=[], seconds=12.0)
    relu = Trial(remedy="use_relu_family", variant="relu", seeds=[0], metrics=[0.8], losses=[0.7], speeds=[0.01],
                 findings=[], gain=0.7, margin=0.01, fixes=True, learns=True, seconds=11.0)
    return RepairResult(baseline=base, trials=[relu], best=relu, stopped=stopped, guided=True, seconds=23.0,
                        candidates=["use_relu_family", "xavier_init", "add_batchnorm"], metric_name="accuracy",
                        constant_loss=math.log(10), **kw)


def test_max_trials_is_said_everywhere():
    for said in _everywhere(_result("max_trials", budget_s=120.0, max_trials=1)):
        assert "max_trials=1" in said and "not tried: xavier_init, add_batchnorm" in said, said


def test_budget_is_said_everywhere_with_the_budget():
    for said in _everywhere(_result("budget", budget_s=3.0)):
        assert "time budget of 3 s" in said and "not tried: xavier_init, add_batchnorm" in said, said
    assert _result("budget", budget_s=3.0).to_dict()["budget_s"] == 3.0


def test_interrupted_is_said_everywhere():
    for said in _everywhere(_result("interrupted")):
        assert "interrupted" in said.lower() and "not tried: xavier_init, add_batchnorm" in said, said


def test_no_note_when_every_candidate_was_tried():
    r = _result(None)
    assert r.stop_note() is None and r.to_dict()["stop_note"] is None
    assert "stopped early" not in r.describe() + repair_context(r.to_dict())["verdict"] + _terminal(r)


def test_real_repair_stopped_by_max_trials():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)

    def build():
        layers = [m for _ in range(6) for m in (nn.Linear(8, 8), nn.Sigmoid())]
        return nn.Sequential(*layers, nn.Linear(8, 3))

    case = gd.Case(model_fn=build, train=(X, y), loss_fn=F.cross_entropy, steps=8, batch_size=32)
    result = gd.repair(case, seeds=1, max_trials=1, progress=False, remedies=["he_init", "xavier_init"])
    d = result.to_dict()
    assert d["stopped"] == "max_trials" and d["max_trials"] == 1 and d["budget_s"] == 120.0
    for said in (_terminal(result), result.describe(), repair_context(d)["verdict"], d["stop_note"]):
        assert "max_trials=1" in said and "not tried: xavier_init" in said, said
