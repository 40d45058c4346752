"""Regression: a repair in which a remedy's run diverged (metric -inf, so gain -inf) and no remedy won crashed
after all its trials with ``TypeError: '>' not supported between instances of 'str' and 'float'``: to_dict()
writes the infinite gain as "-inf" and the no-winner sentence compared it with the margin. Seen with
``graddoctor repair`` on a deep sigmoid regression whose ReLU swap went NaN: the table printed, then a traceback
instead of the verdict (and ``--json``, ``describe()`` and the report failed the same way). Now the sentence
reads gain and margin as numbers."""
import math

from rich.console import Console

from graddoctor.present.repair_view import repair_context
from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial


def _result() -> RepairResult:
    base = Trial(remedy=None, seeds=[0, 1], metrics=[-8.0, -8.7], losses=[8.0, 8.7], speeds=[1e-5, 1e-5],
                 findings=[], findings_by_seed=[[], []])
    relu = Trial(remedy="use_relu_family", variant="relu", seeds=[0, 1], metrics=[-math.inf, -math.inf],
                 losses=[math.nan, math.nan], speeds=[0.07, 0.07], findings=[], findings_by_seed=[[], []],
                 gain=-math.inf, margin=0.42, fixes=True, learns=False, diverged=2)
    return RepairResult(baseline=base, trials=[relu], metric_name="-loss", constant_loss=28.5)


def test_no_winner_with_a_diverged_trial():
    result = _result()
    reason = "no remedy beat the baseline by more than the seed-to-seed spread while fixing the finding"
    assert result.to_dict()["no_winner_reason"] == reason
    assert reason in result.describe()
    assert repair_context(result.to_dict())["verdict"].lower().startswith(reason)
    console = Console(record=True, width=300)
    print_result(result, console)
    assert "the model is left as it was" in console.export_text()
