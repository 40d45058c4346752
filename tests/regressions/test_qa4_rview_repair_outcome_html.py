"""Regression: the report's Repair section (present/repair_view.py, which reads RepairResult.to_dict()) knew
neither ``stopped == "no_remedy"`` (the baseline's problem, e.g. a NaN label, has no remedy, so none was tried)
nor ``Trial.learns`` (a remedy that beat the baseline but whose validation loss is not below an all-zero
output's: "learns nothing"). Both pages said "No remedy beat the baseline by more than the seed-to-seed spread",
while `graddoctor repair` said what happened. The terminal, describe(), the report and `--json` (to_dict()'s
"no_winner_reason") now share one sentence, and the report's table has a "learns" column."""
import math

from rich.console import Console

from graddoctor.diagnosis.findings import Finding
from graddoctor.present.console import print_repair
from graddoctor.present.repair_view import repair_context
from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial

NAN_LABEL = Finding(kind="non_finite", severity="critical", layers=[], causes=["non_finite_loss"],
                    message="0.2% of the training target values are NaN/Inf (the first in sample 333)",
                    detector="repair.audit")


def _terminal(result: RepairResult) -> str:
    console = Console(record=True, width=300)
    print_result(result, console)
    return console.export_text()


def _report(result: RepairResult) -> tuple[dict, str]:
    ctx = repair_context(result.to_dict())
    console = Console(record=True, width=300)
    print_repair(result.to_dict(), console)
    return ctx, console.export_text()


def test_no_remedy_is_said_in_the_report():
    base = Trial(remedy=None, seeds=[0], metrics=[-math.inf], losses=[math.nan], speeds=[0.004],
                 findings=[NAN_LABEL])
    result = RepairResult(baseline=base, stopped="no_remedy", guided=True, metric_name="-loss")
    ctx, text = _report(result)
    for said in (ctx["verdict"], text):
        assert "beat the baseline" not in said, said
        assert "no remedy graddoctor can apply" in said and "sample 333" in said, said
    assert ctx["verdict"].split(":")[0] in _terminal(result)
    assert result.to_dict()["no_winner_reason"] == result.no_winner_reason() in result.describe()


def test_learns_nothing_is_said_in_the_report():
    base = Trial(remedy=None, seeds=[0], metrics=[0.0015], losses=[1.386], speeds=[1e-5], findings=[])
    he = Trial(remedy="he_init", seeds=[0], metrics=[1.37], losses=[2.25], speeds=[1.5e-5], findings=[],
               gain=1.37 - 0.0015, margin=0.01, learns=False)
    result = RepairResult(baseline=base, trials=[he], metric_name="output_spread", constant_loss=math.log(4))
    ctx, text = _report(result)
    for said in (ctx["verdict"], text):
        assert "beat the baseline by more than" not in said, said
        assert "learns nothing" in said and "he_init" in said and "1.39" in said, said
    k = ctx["headers"].index("learns")
    assert [r["cells"][k] for r in ctx["rows"]] == ["-", "no"]
    assert ctx["verdict"] in " ".join(_terminal(result).split())
    assert "learns nothing" in result.to_dict()["no_winner_reason"]


def test_healthy_baseline_is_said_everywhere():
    base = Trial(remedy=None, seeds=[0], metrics=[0.9], losses=[0.3], speeds=[1e-3], findings=[])
    result = RepairResult(baseline=base, stopped="healthy", guided=True, metric_name="accuracy")
    for said in (result.describe(), result.to_dict()["no_winner_reason"], repair_context(result.to_dict())["verdict"],
                 _terminal(result)):
        assert "no remedy was tried" in said and "beat the baseline" not in said, said
