"""``use_lstm_or_gru``: replace each plain ``nn.RNN``/``nn.RNNCell`` with a gated one of the same size.

Variant ``lstm`` (default) uses an LSTM with forget-gate bias 1 behind an adapter that keeps the RNN's
interface (``out, h_n = rnn(x, h0)``; the cell state starts at zero); variant ``gru`` uses a GRU, which has
the RNN's interface already. Input size, hidden size, layers, batch_first, bidirectional and dropout are kept.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Delegating, ModelRemedy, NotApplicable, RepairContext, set_submodule
from .forget_gate import FORGET_BIAS


class LSTMAsRNN(Delegating):
    """An LSTM with the call signature and outputs of ``nn.RNN``."""

    _delegate_to = "lstm"

    def __init__(self, **kw: Any) -> None:
        super().__init__()
        self.lstm = nn.LSTM(**kw)
        h = self.lstm.hidden_size
        with torch.no_grad():
            for pname, p in self.lstm.named_parameters():
                if pname.startswith("bias_ih"):
                    p[h:2 * h] = FORGET_BIAS
                elif pname.startswith("bias_hh"):
                    p[h:2 * h] = 0.0

    def forward(self, x: Any, hx: torch.Tensor | None = None) -> tuple[Any, torch.Tensor]:
        state = None if hx is None else (hx, torch.zeros_like(hx))
        out, (h, _) = self.lstm(x, state)
        return out, h


class LSTMCellAsRNNCell(Delegating):
    """An LSTMCell with the signature of ``nn.RNNCell``. It keeps its own cell state within a sequence: the cell
    state carries on when ``hx`` is the hidden state this cell returned last (``h = cell(x_t, h)``), and starts
    at zero for any other ``hx`` (``None``, or a fresh ``torch.zeros(...)`` at the start of the next sequence),
    so no state (and no autograd graph) leaks from one batch into the next."""

    _delegate_to = "cell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size, bias)
        self._c: torch.Tensor | None = None
        self._h: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        carry = hx is not None and hx is self._h and self._c is not None
        state = None if hx is None else (hx, self._c if carry else torch.zeros_like(hx))
        h, c = self.cell(x, state)
        self._h, self._c = h, c
        return h

    def __getstate__(self) -> dict[str, Any]:
        # the carried state is mid-sequence scratch (non-leaf tensors, which cannot be deep-copied): never copied
        state = self.__dict__.copy()
        state["_c"] = state["_h"] = None
        return state


class UseGated(ModelRemedy):
    """Replace plain RNN layers with LSTM (default) or GRU layers of the same hidden size."""

    code = "use_lstm_or_gru"
    variant = "lstm"
    variants = ("lstm", "gru")

    def describe(self, ctx: RepairContext | None = None) -> str:
        what = "an LSTM (forget-gate bias 1)" if self.variant == "lstm" else "a GRU"
        return f"replaced each plain RNN with {what} of the same hidden size"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        if self.variant not in ("lstm", "gru"):
            raise ValueError(f"use_lstm_or_gru variant must be 'lstm' or 'gru', not {self.variant!r}")
        targets = [(n, m) for n, m in model.named_modules() if type(m) in (nn.RNN, nn.RNNCell)]
        if not targets:
            raise NotApplicable(f"{self.name}: the model has no plain nn.RNN or nn.RNNCell")
        for name, m in targets:
            w: Any = m.weight_ih_l0 if isinstance(m, nn.RNN) else m.weight_ih
            device, dtype = w.device, w.dtype
            if isinstance(m, nn.RNN):
                kw = dict(input_size=m.input_size, hidden_size=m.hidden_size, num_layers=m.num_layers,
                          bias=m.bias, batch_first=m.batch_first, dropout=m.dropout, bidirectional=m.bidirectional)
                new: nn.Module = LSTMAsRNN(**kw) if self.variant == "lstm" else nn.GRU(**kw)
            else:
                new = (LSTMCellAsRNNCell(m.input_size, m.hidden_size, m.bias) if self.variant == "lstm"
                       else nn.GRUCell(m.input_size, m.hidden_size, m.bias))
            if name == "":
                return new.to(device, dtype)
            set_submodule(model, name, new.to(device, dtype))
        return model
