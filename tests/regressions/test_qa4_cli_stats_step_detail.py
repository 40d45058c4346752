"""Regression: ``graddoctor stats RUN --step 3`` (a step that is not a detail step) printed "-" for the update
ratio, the activations and ‖∂L/∂in‖ with no word why: they read as missing data, and nothing said that these
are taken on detail steps only or which steps hold them. The caption now names them and the nearest detail
steps."""
from click.testing import CliRunner
from tests.present.present_fixtures import write_store

from graddoctor.cli import main


def test_step_between_detail_steps_says_why_columns_are_empty(tmp_path):
    run = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=25, detail_every=10))
    res = CliRunner().invoke(main, ["stats", run, "--step", "3"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "not measured at step 3" in text and "detail steps only" in text and "steps 0 and 10" in text


def test_detail_step_has_no_such_note(tmp_path):
    run = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=25, detail_every=10))
    res = CliRunner().invoke(main, ["stats", run, "--step", "10"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "not measured" not in res.output, res.output
