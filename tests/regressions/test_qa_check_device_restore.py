"""Regression: gd.check(..., device=...) moved the model there and back with model.to() and only then
restored its snapshot, so

* a move back that failed skipped the restore altogether: with ``device="meta"`` (or any device whose
  tensors cannot be copied back) the error left the user's model on that device, its weights gone;
* model.to() moves ``.grad`` tensors in place (``param.grad.data = ...``), so the user's gradients ended on
  the check's device while the snapshot put those very objects back on parameters at home (on CUDA an error
  in the restore);
* model.to() rebinds every buffer, so the restore copied the saved running statistics into tensors the
  module no longer held.

Now the user's ``.grad`` tensors are kept out of the move, and the restore runs first and puts back each
parameter's binding and storage and each buffer by module and name; the move back only lets modules refresh
what their ``_apply`` caches (an LSTM's flat weights)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(5, 8, batch_first=True)
        self.bn = nn.BatchNorm1d(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.lstm(x)[0][:, -1]))


def test_failed_check_on_another_device_leaves_the_model_home() -> None:
    model = Net()
    x, y = torch.randn(8, 6, 5), torch.randint(0, 3, (8,))
    F.cross_entropy(model(x), y).backward()
    model.fc.bias.grad = None
    params = list(model.parameters())
    grads = [p.grad for p in params]
    grad_values = [None if g is None else g.clone() for g in grads]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    buffers = dict(model.named_buffers())
    with pytest.raises(RuntimeError):  # meta tensors have no values to read back
        gd.check(model, x, y, F.cross_entropy, device="meta")
    assert list(model.parameters()) == params and all(p.device.type == "cpu" for p in params)
    assert all(p.grad is g for p, g in zip(params, grads))
    assert all(g.device.type == "cpu" and torch.equal(g, v) for g, v in zip(grads, grad_values) if g is not None)
    assert all(model.get_buffer(k) is b for k, b in buffers.items())
    after = model.state_dict()
    assert all(after[k].device.type == "cpu" and torch.equal(after[k], v) for k, v in state.items())
    assert all(w.device.type == "cpu" for w in model.lstm._flat_weights)
    torch.manual_seed(0)
    out = model(x)  # still usable
    assert out.shape == (8, 3) and torch.isfinite(out).all()
