"""Regression (found by the repair benchmark, `relu4_lr0.5`): a 4-layer ReLU MLP under SGD at lr 0.5 ends at
25-46 % accuracy with no finding: only 5-23 % of its units die, its gradient norm neither spikes nor grows,
and its updates overlap a healthy run's. Its loss, though, climbs back to ~2x where it started in the second
half of the run. The unstable_loss detector names that (cause learning_rate_too_high); lr 0.1 stays silent."""
import pytest

from graddoctor.repair.trials import run_seed
from repair.repair_cases import relu_lr


@pytest.mark.parametrize("lr,flagged", [(0.5, True), (0.1, False)])
def test_overshooting_sgd_is_unstable(lr: float, flagged: bool) -> None:
    run = run_seed(relu_lr(lr=lr), 0)
    found = [f for f in run.findings if f.kind == "unstable_loss"]
    if not flagged:
        assert not found and not [f for f in run.findings if f.severity != "info"]
        return
    assert found and found[0].severity == "warning" and found[0].causes == ["learning_rate_too_high"]
    assert found[0].remedies[0] == "lower_learning_rate"
    assert found[0].evidence["peak_over_start"] > 1.5 and found[0].evidence["steps_above"] >= 2
