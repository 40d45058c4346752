"""Regression: the HTML report's repair table showed "spread 0" for every run of a one-seed repair
(``graddoctor repair --seeds 1 --json`` then ``graddoctor report --repair``): a seed-to-seed agreement that was
never measured. The terminal table was fixed for this (tests/regressions/test_qa_cli_single_seed_spread.py); the
page now shows "-" too, and a measured spread of 0 (two seeds that agree) stays 0."""
from graddoctor.present.repair_view import repair_context


def _entry(name, seeds, metrics):
    return {"remedy": None if name == "baseline" else name, "name": name, "seeds": seeds, "metric": metrics[0],
            "loss": 2.3, "spread": 0.0, "seed_metrics": metrics, "findings": []}


def _spread_cells(result):
    ctx = repair_context(result)
    k = ctx["headers"].index("spread")
    return [r["cells"][k] for r in ctx["rows"]]


def test_one_seed_spread_is_not_zero():
    one = {"metric_name": "accuracy", "baseline": _entry("baseline", [0], [0.1]),
           "trials": [_entry("use_relu_family", [0], [0.5])], "best": None}
    assert _spread_cells(one) == ["-", "-"]


def test_two_seeds_that_agree_show_zero():
    two = {"metric_name": "accuracy", "baseline": _entry("baseline", [0, 1], [0.1, 0.1]), "trials": [], "best": None}
    assert _spread_cells(two) == ["0"]
