"""Regression: the report's Repair table counted the problems of a trial's first seed only ("problems 2" for an
lr-2 baseline whose second seed went NaN), while the terminal table now lists every seed's ("NaN/Inf in 1/2
seeds"). Trial.to_dict() now carries each seed's problems (``seed_problems``) and the report prints the same
cell as the terminal; a JSON without them (an older --json file) still shows the first seed's count."""
from rich.console import Console

from graddoctor.present.repair_view import repair_context
from graddoctor.repair.table import print_result

from .test_qa5_repair_diverged_seed_shown import _result  # a baseline whose second seed went NaN


def test_report_and_terminal_list_every_seeds_problems():
    d = _result().to_dict()
    assert d["baseline"]["seed_problems"] == [[["exploding_gradient", "depth"]],
                                              [["non_finite", None], ["exploding_gradient", "depth"]]]
    ctx = repair_context(d)
    cell = ctx["rows"][0]["cells"][ctx["headers"].index("problems")]
    assert cell == "NaN/Inf in 1/2 seeds, exploding (depth)"
    console = Console(record=True, width=300)
    print_result(_result(), console)
    assert cell in console.export_text()


def test_older_json_keeps_the_count():
    d = _result().to_dict()
    d["baseline"].pop("seed_problems", None)
    ctx = repair_context(d)
    assert ctx["rows"][0]["cells"][ctx["headers"].index("problems")] == "1"
