"""Regression: the report's Repair section said nothing of what the trials ran under or how far they got: not the
seeds per run (the terminal's table title says them), not how many of the ranked remedies trained, not the time
taken or the budget, so a repair cut short by its budget read like a complete one. When the trials stopped early,
the report's verdict line now ends with a budget line ("Trials: 2 seeds per run; 1 of 3 candidate remedies
trained; 23 s of a 120 s budget."), which the terminal prints too, after the outcome and the stop note, in the
report's order. A repair that tried every candidate has no such line (its tables show every trial, its seeds and
its time)."""
import math

from rich.console import Console

from graddoctor.present.repair_view import repair_context
from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial

LINE = "Trials: 2 seeds per run; 1 of 3 candidate remedies trained (1 did not apply); 23 s of a 120 s budget."


def _result() -> RepairResult:
    base = Trial(remedy=None, seeds=[0, 1], metrics=[0.10, 0.11], losses=[2.3, 2.3], speeds=[1e-6, 1e-6],
                 findings=[], findings_by_seed=[[], []], seconds=12.0)
    he = Trial(remedy="he_init", seeds=[0, 1], metrics=[0.10, 0.11], losses=[2.3, 2.3], speeds=[1e-5, 1e-5],
               findings=[], findings_by_seed=[[], []], gain=0.0, margin=0.01, fixes=False, learns=False,
               seconds=11.0)
    bn = Trial(remedy="add_batchnorm", skipped="add_batchnorm: no Sequential")
    return RepairResult(baseline=base, trials=[bn, he], stopped="budget", guided=True, seconds=23.0,
                        candidates=["add_batchnorm", "he_init", "xavier_init"], metric_name="accuracy",
                        constant_loss=math.log(10), budget_s=120.0)


def test_budget_line_in_report_and_terminal():
    verdict = repair_context(_result().to_dict())["verdict"]
    assert verdict.endswith(LINE), verdict
    console = Console(record=True, width=400)
    print_result(_result(), console)
    text = " ".join(console.export_text().split())
    assert verdict in text, (verdict, text)  # the report's line, word for word and in order


def test_no_budget_line_when_every_candidate_was_tried():
    result = _result()
    result.stopped = None
    assert "Trials:" not in repair_context(result.to_dict())["verdict"]
    console = Console(record=True, width=400)
    print_result(result, console)
    assert "Trials:" not in console.export_text()
