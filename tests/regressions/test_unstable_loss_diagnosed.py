"""Regression (found by the repair benchmark, `relu4_lr0.5`): a 4-layer ReLU MLP under SGD at lr 0.5 ends at
25-46 % accuracy with no finding: only 5-23 % of its units die, its gradient norm neither spikes nor grows,
and its updates overlap a healthy run's. Its loss, though, climbs back to ~2x where it started in the second
half of the run. The unstable_loss detector names that (cause learning_rate_too_high); lr 0.1 stays silent."""
import pytest

from graddoctor.repair.trials import run_seed
from repair.repair_cases import relu_lr

#: Seed 1: its overshoot is clear on every machine we ran it on (6 second-half steps above 1.1x the start, peak
#: 2.05x, with one torch thread). Seed 0 was knife-edge: 2 such steps on one machine and 1 on another (with the
#: one thread tests/conftest.py sets, 2026-11-23), below min_rises, so the test failed there.
SEED = 1


@pytest.mark.parametrize("lr,flagged", [(0.5, True), (0.1, False)])
def test_overshooting_sgd_is_unstable(lr: float, flagged: bool) -> None:
    run = run_seed(relu_lr(lr=lr), SEED)
    found = [f for f in run.findings if f.kind == "unstable_loss"]
    if not flagged:
        assert not found and not [f for f in run.findings if f.severity != "info"]
        return
    assert found and found[0].severity == "warning" and found[0].causes == ["learning_rate_too_high"]
    assert found[0].remedies[0] == "lower_learning_rate"
    assert found[0].evidence["peak_over_start"] > 1.5 and found[0].evidence["steps_above"] >= 2
