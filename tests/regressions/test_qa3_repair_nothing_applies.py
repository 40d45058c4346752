"""When every candidate remedy was skipped (none applies to the model) or failed while training, nothing was
compared with the baseline, yet the table and ``RepairResult.describe()`` said "No remedy beat the baseline by
more than the seed-to-seed spread while fixing the finding", as if remedies had trained and lost. They now say
that no remedy could be compared and why (how many did not apply, how many failed)."""
from __future__ import annotations

from rich.console import Console

from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial


def _result(*trials: Trial) -> RepairResult:
    return RepairResult(baseline=Trial(remedy=None, seeds=[0], metrics=[0.3], losses=[1.3], speeds=[1e-7],
                                       findings=[]), trials=list(trials), metric_name="accuracy")


def _text(result: RepairResult) -> str:
    console = Console(width=200, record=True, no_color=True)
    print_result(result, console)
    return console.export_text()


def test_all_skipped_or_failed_is_not_reported_as_remedies_that_lost() -> None:
    result = _result(Trial(remedy="add_batchnorm", skipped="add_batchnorm: found no hidden Linear/Conv layer"),
                     Trial(remedy="add_residual", skipped="add_residual: found no run"),
                     Trial(remedy="use_adam", failed="RuntimeError: boom"))
    for text in (_text(result), result.describe()):
        assert "beat the baseline" not in text, text
        assert "no remedy could be compared with the baseline" in text.lower()
        assert "2 did not apply to this model and 1 failed while training" in text


def test_a_trained_remedy_that_lost_keeps_the_spread_message() -> None:
    lost = Trial(remedy="he_init", seeds=[0], metrics=[0.3], losses=[1.3], speeds=[1e-3], gain=0.0, margin=0.01)
    result = _result(Trial(remedy="add_batchnorm", skipped="does not apply"), lost)
    assert "beat the baseline by more than the seed-to-seed spread" in _text(result)
    assert "beat the baseline by more than the seed-to-seed spread" in result.describe()
