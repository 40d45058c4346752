"""Regression: SGD at lr 1e-3 on the digits MLP (the repair benchmark's ``relu2_lr1e-3``) stayed at 11 %
accuracy with no finding: every layer moved 3e-5..7e-5 of its norm per step, above the stalled detector's
1e-5, so nothing was reported and repair left the run alone. The small-and-uniform-updates tier names the cause
(learning_rate_too_low); the healthy rate (0.1) on the same net stays silent."""
import pytest
from torch import nn

from graddoctor.repair.trials import run_seed
from repair.repair_cases import digits_case, mlp


@pytest.mark.parametrize("lr,flagged", [(1e-3, True), (0.1, False)])
def test_slow_sgd_is_stalled_by_a_low_learning_rate(lr: float, flagged: bool) -> None:
    run = run_seed(digits_case(lambda: mlp(2, 64, nn.ReLU), lr=lr, steps=200), 0)
    found = [f for f in run.findings if f.kind == "stalled_learning"]
    if not flagged:
        assert not found and not [f for f in run.findings if f.severity != "info"]
        return
    assert found and found[0].severity == "warning" and found[0].causes == ["learning_rate_too_low"]
    assert found[0].remedies == ["raise_learning_rate", "use_adam"]
    ev = found[0].evidence
    assert ev["max_update_ratio"] < 1e-4 and ev["relative_progress"] < 0.05 and ev["update_spread"] < 100
