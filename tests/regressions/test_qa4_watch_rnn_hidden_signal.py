"""Regression: an RNN/LSTM/GRU whose output sequence the model does not read (a classifier on ``h_n[-1]``, the
usual tutorial model; a seq2seq encoder fed a PackedSequence whose ``(h_n, c_n)`` start the decoder) had no
backward signal at all: the hook sat on the output sequence only, which gets no gradient. The signal of a
recurrent layer is now the gradient of all its outputs, checked against autograd."""
import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import graddoctor as gd


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(6, 10, num_layers=2, batch_first=True)
        self.fc = nn.Linear(10, 3)

    def forward(self, x, lens=None):
        if lens is not None:
            x = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        _, (h, c) = self.rnn(x)
        return self.fc(h[-1] + c[-1])


def _watched_signal(model, x, y, lens=None):
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    with gd.watch(model, opt) as run:
        loss = nn.functional.cross_entropy(model(x, lens), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return run.data.layer_stats["signal_norm"][0, 0]


def _reference(model, x, y, lens=None):
    """||dL/d(h_n, c_n)|| by autograd."""
    xx = x if lens is None else pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
    _, (h, c) = model.rnn(xx)
    loss = nn.functional.cross_entropy(model.fc(h[-1] + c[-1]), y)
    gh, gc = torch.autograd.grad(loss, (h, c))
    return math.sqrt(float(gh.pow(2).sum() + gc.pow(2).sum()))


def test_lstm_read_through_its_final_state_has_a_backward_signal():
    torch.manual_seed(0)
    model = Classifier()
    x, y = torch.randn(5, 7, 6), torch.randint(0, 3, (5,))
    lens = torch.tensor([7, 3, 5, 2, 6])
    for ln in (None, lens):
        got = _watched_signal(model, x, y, ln)
        assert math.isfinite(got), got
        assert math.isclose(got, _reference(model, x, y, ln), rel_tol=1e-4)


def test_check_table_has_the_signal_of_a_final_state_classifier():
    torch.manual_seed(0)
    model = Classifier()
    diag = gd.check(model, torch.randn(5, 7, 6), torch.randint(0, 3, (5,)), nn.functional.cross_entropy)
    row = next(r for r in diag.layers if r["layer"] == "rnn")
    assert math.isfinite(row["signal"]) and row["signal"] > 0, row
