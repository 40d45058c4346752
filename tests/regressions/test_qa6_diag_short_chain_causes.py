"""Regression: a plain ReLU RNN at 1.5 x identity with a Linear readout (SGD lr 1e-5; its gradient explodes
through time and overflows at step 1). The exploding_depth finding on its large relative gradients said "the
signal grows through the layers (relative gradient): backward first/last nan, forward last/first nan", quoting
fits that were never measured (the depth chain is the readout alone), and named `depth_without_normalization`
("many layers in a row") for a chain of one layer, while the plain RNN whose weights have the large relative
gradient was not a cause. depth_without_normalization now needs MIN_DEPTH_LAYERS (3) chain layers, the message
quotes only measured numbers, and a plain RNN among the named layers adds `plain_rnn_long_sequence`."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import graddoctor as gd


class _Seq(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(2, 16, batch_first=True, nonlinearity="relu")
        self.out = nn.Linear(16, 1)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(1.5 * torch.eye(16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0][:, -1])


def test_one_layer_chain_is_not_depth_and_no_nan_quoted():
    torch.manual_seed(0)
    x, y = torch.rand(32, 40, 2), torch.rand(32, 1)
    m = _Seq()
    opt = torch.optim.SGD(m.parameters(), lr=1e-5)
    with gd.watch(m, opt, store=None) as run:
        for _ in range(12):
            opt.zero_grad()
            loss = F.mse_loss(m(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    (f,) = [f for f in run.diagnose().problems if f.detector == "exploding_depth"]
    assert "depth_without_normalization" not in f.causes
    assert "plain_rnn_long_sequence" in f.causes
    assert "nan" not in f.message.lower()
