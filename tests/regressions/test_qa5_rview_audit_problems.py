"""Regression: the repair tables' "problems after", built from each seed's diagnosis (seed_problems, since the
tables cover every seed), left out the repair audit's findings, which the baseline's findings hold and which are
the recipe's own (NaN in the training targets or inputs, a fresh model that already outputs NaN): a baseline
whose only problem was the audit's read "none" beside "the baseline has a problem that no remedy graddoctor can
apply addresses". They now count in every seed."""
import math

from graddoctor.diagnosis.findings import Finding
from graddoctor.present.repair_view import repair_context
from graddoctor.repair.result import RepairResult
from graddoctor.repair.trials import Trial

NAN_LABEL = Finding(kind="non_finite", severity="critical", layers=[], causes=["non_finite_loss"],
                    message="0.2% of the training target values are NaN/Inf (the first in sample 333)",
                    detector="repair.audit")


def test_audit_findings_count_in_every_seed():
    base = Trial(remedy=None, seeds=[0, 1], metrics=[-math.inf, -math.inf], losses=[math.nan, math.nan],
                 speeds=[0.004, 0.004], findings=[NAN_LABEL], findings_by_seed=[[], []])
    result = RepairResult(baseline=base, stopped="no_remedy", guided=True, metric_name="-loss")
    assert base.seed_problems() == [[["non_finite", None]], [["non_finite", None]]]
    ctx = repair_context(result.to_dict())
    assert ctx["rows"][0]["cells"][ctx["headers"].index("problems")] == "NaN/Inf"
