"""Regression: ``graddoctor diagnose`` of a run whose outputs were NaN/Inf at its last step printed a per-layer
table of layer names alone ("#  layer  act"): every statistic column was left out for holding no finite value,
with no word of why (``graddoctor stats`` says that its "-" cells can be NaN/Inf). A line under the table now
says so."""
from pathlib import Path

from click.testing import CliRunner
from tests.regressions import nan_from_start_run

from graddoctor.cli import main


def test_nan_run_table_says_why_its_columns_are_missing(tmp_path: Path) -> None:
    store = str(tmp_path / "run.sqlite")
    nan_from_start_run(store)
    res = CliRunner().invoke(main, ["diagnose", "--no-save", store], env={"COLUMNS": "120"})
    assert res.exit_code == 1, res.output
    flat = " ".join(res.output.split())
    assert "NaN/Inf outputs in 2 of 2 layers at this step: no finite value for ‖∂L/∂out‖" in flat, flat
