"""Regression: ``graddoctor report`` of a run longer than --max-steps diagnoses the displayed steps only, but the
page labelled its findings "Findings: diagnosis.", as if every recorded step had been diagnosed (first steps
and misses are those of the displayed steps). The label now says how many of the recorded steps it saw; a
diagnosis of every step keeps the plain label."""
import re

from click.testing import CliRunner
from tests.present.present_fixtures import write_store

from graddoctor.cli import main


def _label(tmp_path, max_steps):
    run = str(write_store(tmp_path / f"run{max_steps}.sqlite", n_layers=4, n_steps=60))
    out = tmp_path / f"r{max_steps}.html"
    res = CliRunner().invoke(main, ["report", run, "-o", str(out), "--no-figures", "--max-steps", str(max_steps)])
    assert res.exit_code == 0, res.output
    return out.read_text(encoding="utf-8").split("Findings: ", 1)[1].split("<", 1)[0]


def test_downsampled_diagnosis_says_what_it_saw(tmp_path, monkeypatch):
    # a run too large to diagnose whole (test_qa5_cli_report_full_diagnosis: a small one is diagnosed whole)
    monkeypatch.setattr("graddoctor.commands.report.FULL_DIAGNOSIS_CELLS", 0)
    label = _label(tmp_path, 20)
    assert re.match(r"diagnosis of (19|20) of the 60 recorded steps \(those displayed\)", label), label


def test_full_diagnosis_keeps_the_plain_label(tmp_path):
    assert _label(tmp_path, 1000) == "diagnosis."
