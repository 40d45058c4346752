"""Regression (QA pass 5, gd.check's non_finite finding named the wrong place for three sources of NaN):

1. an unsafe op in ``loss_fn`` (``log`` of a negative output) was said to be "inside <model>": the check's
   module stack is empty once the forward has returned, and every op outside a module was the model's. Ops in
   the loss are now "in the loss function (loss_fn)"; a sigmoid or an addition there is no longer taken for the
   last layer's functional activation or a residual connection;
2. NaN targets (a regression label left NaN) were only "the targets or the loss function": the check never
   looked at the targets. It now counts their NaN/Inf and names the first row;
3. a NaN weight in the first layer was reported as "produced by reciprocal inside <model>": graddoctor's own
   statistics (``tensor_stats.finite_scale``, run by the Monitor's hooks inside the forward pass) went through
   the check's TorchFunctionMode. graddoctor's ops are now ignored, and weights that are already NaN/Inf get
   the cause non_finite_parameters (as in a run), not init_scale_too_large.
"""
import torch
from torch import nn

import graddoctor as gd


def _mlp(act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), act(), nn.Linear(16, 3))


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(32, 8, generator=g), torch.randint(0, 3, (32,), generator=g)


def _one(diag: gd.Diagnosis) -> gd.Finding:
    found = diag.by_kind("non_finite")
    assert len(found) == 1, [f.message for f in diag.findings]
    return found[0]


def test_unsafe_op_in_the_loss_function_is_named_as_the_loss() -> None:
    x, y = _batch()
    diag = gd.check(_mlp(), x, y, lambda out, t: torch.log(out - 100).mean())
    f = _one(diag)
    assert diag.meta["nonfinite"]["unsafe_op"] == {"op": "log", "module": "<loss>"}
    assert f.causes == ["unsafe_op"]
    assert "in the loss function (loss_fn)" in f.message and "<model>" not in f.message


def test_unsafe_op_inside_the_model_keeps_its_module() -> None:
    class Inv(nn.Module):
        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return torch.reciprocal(h - h)  # 1/0: Inf from finite inputs

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), Inv(), nn.Linear(16, 3))
    x, y = _batch()
    diag = gd.check(model, x, y, nn.CrossEntropyLoss())
    assert diag.meta["nonfinite"]["unsafe_op"] == {"op": "reciprocal", "module": "1"}
    assert "inside 1" in _one(diag).message


def test_ops_in_the_loss_are_not_activations_or_residual_adds() -> None:
    x, _ = _batch()
    y = torch.rand(32, 3)

    def loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(out)  # BCE by hand: the loss's sigmoid, not the last layer's activation
        q = p + torch.sigmoid(out).detach().requires_grad_()  # a same-shape add of two grad tensors
        return nn.functional.binary_cross_entropy(p, t) + 0 * q.sum()

    diag = gd.check(_mlp(), x, y, loss)
    assert diag.meta["functional_activations"] == {}
    assert diag.meta["residual_adds"] == 0
    assert not diag.by_kind("non_finite")


def test_nan_targets_are_counted_and_their_row_named() -> None:
    x, _ = _batch()
    y = torch.randn(32, 3)
    y[5, 1] = float("nan")
    y[9, 0] = float("inf")
    diag = gd.check(_mlp(), x, y, nn.MSELoss())
    f = _one(diag)
    assert diag.meta["nonfinite"]["targets"] == {"nonfinite": 2, "first_row": 5}
    assert f.causes == ["non_finite_loss"]
    assert "the targets hold 2 NaN/Inf values, the first in row 5" in f.message


def test_finite_targets_report_none() -> None:
    x, y = _batch()
    diag = gd.check(_mlp(), x, y, nn.CrossEntropyLoss())
    assert diag.meta["nonfinite"]["targets"] is None
    assert not diag.by_kind("non_finite")


def test_nan_weight_is_non_finite_parameters_not_graddoctors_reciprocal() -> None:
    x, y = _batch()
    for layer in (0, 2):
        for act in (nn.ReLU, nn.Sigmoid, nn.Tanh):
            model = _mlp(act)
            with torch.no_grad():
                model[layer].weight[0, 0] = float("nan")
            diag = gd.check(model, x, y, nn.CrossEntropyLoss())
            f = _one(diag)
            assert diag.meta["nonfinite"]["unsafe_op"] is None, (layer, act)
            assert f.causes == ["non_finite_parameters"], (layer, act, f.causes)
            assert f.layers == [str(layer)]
            assert "reciprocal" not in f.message and "already held NaN/Inf before the check" in f.message
            assert torch.isnan(model[layer].weight[0, 0])  # the check restored the weights as they were
