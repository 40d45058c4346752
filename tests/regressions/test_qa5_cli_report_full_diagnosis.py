"""Regression (QA pass 5): `graddoctor report` of a run longer than --max-steps with no findings stored diagnosed
only the displayed steps, so its findings could differ from `graddoctor diagnose` of the same store (a 4-layer,
5,200-step run showed an exploding_gradient warning, a spike measured against the median of a sample, that the
diagnosis of every step does not give). Runs of up to FULL_DIAGNOSIS_CELLS layers x steps are now diagnosed
whole, as `graddoctor diagnose` does, and the page's label is the plain "diagnosis."; larger ones keep the
displayed-steps diagnosis and its label (test_qa4_cli_report_downsampled_diagnosis_label)."""
from click.testing import CliRunner
from tests.present.present_fixtures import write_store

import graddoctor as gd
from graddoctor.cli import main


def test_small_downsampled_run_is_diagnosed_whole(tmp_path):
    run = str(write_store(tmp_path / "run.sqlite", n_layers=4, n_steps=60))
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", run, "-o", str(out), "--no-figures", "--max-steps", "20"])
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert page.split("Findings: ", 1)[1].split("<", 1)[0] == "diagnosis."
    whole = gd.diagnose(run, save=False)
    for f in whole.findings:  # the same findings as graddoctor diagnose of every step
        assert f.message.split(":")[0] in page
