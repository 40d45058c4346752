"""``gd.check`` on a GPU model whose forward divides integer tensors (``torch.arange(half, device=x.device) / half``,
the sinusoidal timestep embedding of most diffusion models): the division is watched as a numerically unsafe op,
and with no floating-point input its "inputs finite" flag was made on the CPU, then stacked with the output's flag
on the GPU when the check read them back, so the check itself failed ("Expected all tensors to be on the same
device"). The flag is now made on the output's device. (Shown here with the ``meta`` device, the only second device
of a CPU-only machine.)"""
from __future__ import annotations

import torch
from torch import nn

from graddoctor.probe.function_watch import CheckObserver
from graddoctor.probe.model_map import map_model


def test_unsafe_op_flags_on_the_output_device() -> None:
    model = nn.Linear(2, 2)
    obs = CheckObserver(model, map_model(model))
    with torch.enable_grad():
        for args in ((torch.arange(4, device="meta"), 4), (torch.arange(4, device="meta"),
                                                             torch.tensor(4.0, device="meta"))):
            out = torch.true_divide(*args)
            obs.on_op(torch.true_divide, args, out)
    assert len(obs.unsafe) == 2
    for _, _, in_ok, out_ok in obs.unsafe:
        assert in_ok.device == out_ok.device
