"""Regression: the repair table's verdict for a remedy that did not gain enough was always "no gain beyond
spread", also with one seed, where no spread is measured (the table shows no ±) and the margin was min_gain
(one accuracy point, or 5 % of a regression's loss). It now says "no gain beyond min_gain" when min_gain set the
margin, and keeps "no gain beyond spread" when the seed-to-seed spread did."""
from rich.console import Console

from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial


def _row(seeds: list[int], metrics: list[float], base_metrics: list[float], margin: float) -> str:
    base = Trial(remedy=None, seeds=seeds, metrics=base_metrics, losses=[2.3] * len(seeds),
                 speeds=[1e-6] * len(seeds), findings=[])
    he = Trial(remedy="he_init", seeds=seeds, metrics=metrics, losses=[2.3] * len(seeds), speeds=[1e-5] * len(seeds),
               findings=[], gain=sum(metrics) / len(metrics) - sum(base_metrics) / len(base_metrics), margin=margin)
    console = Console(record=True, width=300)
    print_result(RepairResult(baseline=base, trials=[he], metric_name="accuracy"), console)
    return next(line for line in console.export_text().splitlines() if "he_init" in line)


def test_one_seed_names_min_gain():
    assert "no gain beyond min_gain" in _row([0], [0.105], [0.10], margin=0.01)


def test_two_seeds_name_the_spread():
    assert "no gain beyond spread" in _row([0, 1], [0.10, 0.20], [0.10, 0.12], margin=0.05)
