"""Regression (QA of the diagnosis outside the corpus): an LSTM classifier under SGD at lr 50 diverges without
a NaN - its loss jumps from 0.69 to 30-140 at step 2 and never comes back, the gradient norm settles at ~1.5 -
and got no warning: the update ratio is measured on detail steps only (its median at step 0 was 0.72, under
the oversized-step bound of 1), no spike follows the warm-up, and the loss never improved, so unstable_loss
does not apply. Its weights grew 33-62x between steps 0 and 10. exploding_training now also reads the weight
norms of consecutive detail steps: growth implying an average update of at least max_update x the norm per
step (median over layers) is an exploding_gradient with cause learning_rate_too_high. lr 0.5 stays silent.
The test runs lr 20, which only this rule catches (at lr 50 the first step alone is now an oversized step too,
tests/regressions/test_qa3_diag_post_step_update_ratio.py)."""
import pytest
import torch
from torch import nn

from . import watched_batches


class _LastStep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(4, 32, batch_first=True)
        self.head = nn.Linear(32, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][:, -1])


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    x = torch.randn(32, 30, 4, generator=g)
    return x, (x[:, :, 0].sum(1) > 0).long()


@pytest.mark.parametrize("lr,flagged", [(20.0, True), (0.5, False)])
def test_weights_blown_up_between_detail_steps(lr: float, flagged: bool) -> None:
    torch.manual_seed(0)
    model = _LastStep()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    run, _ = watched_batches(model, opt, _batch, 40)
    diag = run.diagnose()
    found = diag.by_kind("exploding_gradient")
    if not flagged:
        assert not found and not diag.problems
        return
    assert found and found[0].severity == "warning" and found[0].step == 10
    assert found[0].causes[0] == "learning_rate_too_high"
    assert set(found[0].layers) == {"rnn", "head"}
    assert found[0].evidence["grown_weights"][0]["median_update_per_step_at_least"] >= 1.0
