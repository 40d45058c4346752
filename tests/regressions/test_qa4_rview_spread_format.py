"""Regression: the repair table printed a seed-to-seed spread just under 0.001 as "0.912 ±1.0e-03" beside a
metric written in plain decimals; the spread now takes its metric's notation ("0.912 ±0.001")."""
from rich.console import Console

from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial


def test_small_spread_is_plain_decimals():
    base = Trial(remedy=None, seeds=[0, 1], metrics=[0.911, 0.912998], losses=[0.3, 0.3], speeds=[1e-3, 1e-3],
                 findings=[])
    tiny = Trial(remedy=None, seeds=[0, 1], metrics=[2e-5, 4e-5], losses=[0.3, 0.3], speeds=[1e-3, 1e-3],
                 findings=[])
    for trial, expected in ((base, "0.912 ±0.001"), (tiny, "3.00e-05 ±1.0e-05")):
        console = Console(record=True, width=200)
        print_result(RepairResult(baseline=trial, stopped="healthy", metric_name="accuracy"), console)
        text = console.export_text()
        assert expected in text, text
