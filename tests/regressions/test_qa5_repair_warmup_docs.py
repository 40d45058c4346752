"""Regression: docs/repair.md said lr_warmup "does not apply when fewer than 20 steps", but it applies from 15
steps (a warm-up over round(10 % of the steps) >= 2 steps), so a 15-19-step recipe tried a remedy the docs said
it would skip. The docs now say 15, and this test ties them to the code."""
from pathlib import Path

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair.remedies import NotApplicable, RepairContext, get_remedy

DOC = Path(__file__).resolve().parents[2] / "docs" / "repair.md"


def _case(steps: int) -> gd.Case:
    return gd.Case(model_fn=lambda: nn.Linear(4, 2), train=(torch.zeros(8, 4), torch.zeros(8, dtype=torch.long)),
                   steps=steps)


def test_warmup_threshold_matches_the_docs():
    row = next(line for line in DOC.read_text().splitlines() if line.startswith("| `lr_warmup`"))
    assert "fewer than 15 steps" in row, row
    get_remedy("lr_warmup").apply(_case(15), RepairContext())
    with pytest.raises(NotApplicable, match="14 steps"):
        get_remedy("lr_warmup").apply(_case(14), RepairContext())
