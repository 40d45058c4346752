"""``forget_gate_bias``: set the LSTM forget-gate bias to 1 (Gers et al. 2000; Jozefowicz et al. 2015).

PyTorch orders an LSTM's gates (input, forget, cell, output) and adds ``bias_ih`` and ``bias_hh``; the
forget slice of ``bias_ih`` becomes 1 and that of ``bias_hh`` 0, so their sum is exactly 1.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import ModelRemedy, NotApplicable, RepairContext

#: The forget-gate bias (Gers et al. 2000 recommend 1; Jozefowicz et al. 2015 confirm it).
FORGET_BIAS = 1.0


class ForgetGateBias(ModelRemedy):
    """Set every LSTM/LSTMCell forget-gate bias to :data:`FORGET_BIAS`."""

    code = "forget_gate_bias"

    def describe(self, ctx: RepairContext | None = None) -> str:
        return f"set the LSTM forget-gate bias to {FORGET_BIAS:g} so cells remember by default"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        lstms = [m for m in model.modules() if isinstance(m, (nn.LSTM, nn.LSTMCell))]
        if not lstms:
            raise NotApplicable(f"{self.name}: the model has no LSTM or LSTMCell")
        done = 0
        with torch.no_grad():
            for m in lstms:
                h = m.hidden_size
                for pname, p in m.named_parameters():
                    if pname.startswith("bias_ih"):
                        p[h:2 * h] = FORGET_BIAS
                        done += 1
                    elif pname.startswith("bias_hh"):
                        p[h:2 * h] = 0.0
        if not done:
            raise NotApplicable(f"{self.name}: the LSTM has no bias (bias=False); build it with bias=True")
        return model
