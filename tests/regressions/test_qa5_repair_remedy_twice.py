"""Regression: a remedy listed twice (``remedies=["he_init", "he_init"]``, ``--remedy he_init --remedy he_init``)
was trained twice on the same seeds, costing its time again for identical numbers, and the report's Repair table
marked both rows as the winner (rows are matched by name and metric). Now it is refused before any training:
CaseError from the API, exit status 2 with one line from the CLI."""
import pytest
import torch
from click.testing import CliRunner

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.repair.case import CaseError


def test_api_refuses_a_remedy_twice():
    def never():
        raise AssertionError("trained before checking the remedies")

    case = gd.Case(model_fn=never, train=(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)))
    with pytest.raises(CaseError, match="'he_init' more than once"):
        gd.repair(case, remedies=["he_init", "xavier_init", "he_init"], progress=False)
    with pytest.raises(CaseError, match="'use_relu_family:relu' more than once"):
        gd.repair(case, remedies=["use_relu_family", "use_relu_family:relu"], progress=False)


def test_cli_refuses_a_remedy_twice(tmp_path):
    f = tmp_path / "net.py"
    f.write_text("def case():\n"
                 "    raise SystemExit('built the case before checking --remedy')\n")
    out = CliRunner().invoke(main, ["repair", f"{f}:case", "--remedy", "he_init", "--remedy", "he_init"])
    assert out.exit_code == 2 and "--remedy he_init is given more than once" in out.output, out.output
