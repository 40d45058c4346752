"""Regression: use_lstm_or_gru's LSTM stand-in for ``nn.RNN`` (and for ``nn.RNNCell``) and the wrappers that
remedies put around a model (FunctionalSwap, InputTransform, Guarded) did not have the attributes of what they
replace: the usual ``h0 = torch.zeros(self.rnn.num_layers, B, self.rnn.hidden_size)`` in a forward raised
AttributeError, so the default LSTM variant was "not applicable: the transformed model no longer runs" on most
hand-written RNN models, and a ``train_fn`` calling ``model.init_hidden(b)`` failed on every wrapped model. They
now read a missing attribute from the module they stand in for."""
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext

X = torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(0))


class Seq(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(3, 8, num_layers=2, batch_first=True)
        self.cell = nn.RNNCell(3, 8)
        self.out = nn.Linear(16, 2)

    def init_hidden(self, batch: int) -> torch.Tensor:
        return torch.zeros(self.rnn.num_layers, batch, self.rnn.hidden_size)

    def forward(self, x):
        h, _ = self.rnn(x, self.init_hidden(x.shape[0]))
        c = torch.zeros(x.shape[0], self.cell.hidden_size)
        for t in range(x.shape[1]):
            c = self.cell(x[:, t], c)
        return self.out(torch.cat([h[:, -1], c], dim=1))


def test_lstm_stand_in_has_the_rnn_attributes() -> None:
    new = get_remedy("use_lstm_or_gru")(Seq(), RepairContext(sample=(X, None)))
    assert isinstance(new.rnn.lstm, nn.LSTM) and new.rnn.num_layers == 2 and new.rnn.hidden_size == 8
    assert new.cell.hidden_size == 8 and new(X).shape == (4, 2)


def test_wrappers_pass_attributes_through() -> None:
    ctx = RepairContext(sample=(X, None))
    wrapped = get_remedy("sanitize_inputs")(Seq(), ctx)
    assert wrapped.init_hidden(4).shape == (2, 4, 8) and wrapped.rnn.hidden_size == 8
    assert wrapped(X).shape == (4, 2)
