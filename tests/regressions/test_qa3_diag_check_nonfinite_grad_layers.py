"""Regression (QA of the diagnosis outside the corpus): when gd.check finds NaN/Inf only in the gradients (the
forward pass stays finite: an 8-block transformer without LayerNorm at N(0, 0.5), whose backward overflows), the
non_finite finding named no layer ("the first NaN/Inf appears at the gradients", layers []), while the same run
under gd.watch names the layers with non-finite gradients. The check now names them too
(evidence layers_nonfinite_grad)."""
import torch
import torch.nn.functional as F

import graddoctor as gd

from .test_qa3_diag_forward_growth_layers import T, V, _NoNorm


def test_check_names_layers_with_nonfinite_gradients() -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, V, (16, T), generator=g)
    y = torch.randint(0, V, (16, T), generator=g)
    diag = gd.check(_NoNorm(), x, y, lambda o, t: F.cross_entropy(o.reshape(-1, V), t.reshape(-1)))
    found = diag.by_kind("non_finite")
    assert found and found[0].origin is None
    assert found[0].layers and found[0].layers == found[0].evidence["layers_nonfinite_grad"]
    assert found[0].layers[0] == "tok"
