"""Regression: a trial one of whose seeds diverged hid it. On an SGD run at lr 2 (two seeds), seed 1's validation
loss was NaN and seed 0's 2.32: the terminal table printed the mean loss as "-" (read: not measured), the
"problems after" column listed only the first seed's findings (no NaN/Inf), and the report's table also printed
"-". Now the loss reads "nan (1/2 seeds)" in the terminal and the report, and the problems column covers every
seed, saying in how many seeds a problem appears when not in all ("NaN/Inf in 1/2 seeds")."""
import math

from rich.console import Console

from graddoctor.diagnosis.findings import Finding
from graddoctor.present.repair_view import repair_context
from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial

EXPLODING = Finding(kind="exploding_gradient", severity="warning", layers=["0"], axis="depth", message="grows")
NAN = Finding(kind="non_finite", severity="critical", layers=["0"], message="NaN at step 12")


def _result() -> RepairResult:
    base = Trial(remedy=None, seeds=[0, 1], metrics=[0.103, 0.086], losses=[2.315, math.nan],
                 speeds=[0.05, 0.05], findings=[EXPLODING], findings_by_seed=[[EXPLODING], [NAN, EXPLODING]],
                 diverged=1)
    lower = Trial(remedy="lower_learning_rate", seeds=[0, 1], metrics=[0.41, 0.37], losses=[2.19, 2.23],
                  speeds=[0.003, 0.003], findings=[], findings_by_seed=[[], []], gain=0.3, margin=0.02,
                  fixes=True, learns=True)
    return RepairResult(baseline=base, trials=[lower], best=lower, metric_name="accuracy")


def _baseline_row(text: str) -> str:
    return next(line for line in text.splitlines() if "baseline" in line)


def test_terminal_shows_the_diverged_seed():
    console = Console(record=True, width=300)
    print_result(_result(), console)
    row = _baseline_row(console.export_text())
    assert "nan (1/2 seeds)" in row and "NaN/Inf in 1/2 seeds" in row and "exploding (depth)" in row, row
    assert "exploding (depth) in" not in row  # both seeds show it


def test_report_shows_the_diverged_seed():
    ctx = repair_context(_result().to_dict())
    k = ctx["headers"].index("loss")
    assert [r["cells"][k] for r in ctx["rows"]] == ["nan (1/2 seeds)", "2.21"]
