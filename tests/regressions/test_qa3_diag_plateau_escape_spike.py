"""Regression (QA of the diagnosis outside the corpus): a healthy 2-layer LSTM classifier under Adam (loss 0.69
-> 0.16 in 80 steps) was an exploding_gradient warning ("1 gradient-norm spike, x12.2 the recent median").
While an LSTM leaves its initial plateau its gradient norm climbs from ~0.03 to ~2; one batch at step 38 had
9.4, 12x the median of the ten steps before it but only 3.9x the median of the ten after (2.4). A spike must
now stand above the steps on both sides (Pascanu et al.'s cliff is a wall); the corpus's cliffs (1,441x and
more) are unchanged."""
import torch
from torch import nn

from . import watched_batches


class _LSTM2(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(4, 32, batch_first=True, num_layers=2)
        self.head = nn.Linear(32, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][:, -1])


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    x = torch.randn(32, 30, 4, generator=g)
    return x, (x[:, :, 0].sum(1) > 0).long()


def test_lstm_leaving_its_plateau_is_not_a_cliff() -> None:
    torch.manual_seed(0)
    model = _LSTM2()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    run, losses = watched_batches(model, opt, _batch, 80)
    assert sum(losses[-8:]) / 8 < 0.3  # it learned
    assert not run.diagnose().problems
