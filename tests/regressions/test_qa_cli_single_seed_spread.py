"""Regression: with one seed (`graddoctor repair ... --seeds 1`) the before/after table printed every metric as
"0.0982 ±0", a seed-to-seed spread of zero that was never measured. The ± is now shown only when at least two
seeds gave a finite metric."""
from rich.console import Console

from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import repair_table
from graddoctor.repair.trials import Trial


def _text(result):
    console = Console(width=120, record=True, no_color=True)
    console.print(repair_table(result))
    return console.export_text()


def test_no_spread_is_shown_for_one_seed():
    one = RepairResult(baseline=Trial(remedy=None, seeds=[0], metrics=[0.0982], losses=[2.3], speeds=[1e-7]),
                       metric_name="accuracy")
    text = _text(one)
    assert "0.0982" in text and "±" not in text
    two = RepairResult(baseline=Trial(remedy=None, seeds=[0, 1], metrics=[0.1, 0.1], losses=[2.3, 2.3],
                                      speeds=[1e-7, 1e-7]), metric_name="accuracy")
    assert "0.1 ±0" in _text(two)        # two seeds that agree: a measured spread of 0
