"""Every statistic watch() records, checked against an independent autograd computation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd

RTOL = 1e-4


def _mlp(act: type[nn.Module], widths=(20, 16, 16, 16, 5)) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1])


def _reference(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, lr: float):
    """Run one SGD step by hand, keeping every intermediate gradient with retain_grad()."""
    zs, ins, acts = [], [], []
    h = x
    mods = list(model)
    for _i, m in enumerate(mods):
        if isinstance(m, nn.Linear):
            if h.requires_grad:
                h.retain_grad()
            ins.append(h)
            h = m(h)
            h.retain_grad()
            zs.append(h)
        else:
            h = m(h)
            acts.append((zs[-1], h))
    loss = nn.functional.cross_entropy(h, y)
    loss.backward()
    lins = [m for m in mods if isinstance(m, nn.Linear)]
    w_before = [m.weight.detach().clone() for m in lins]
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.detach(), zs, ins, acts, lins, w_before


@pytest.mark.parametrize("act", [nn.Sigmoid, nn.Tanh, nn.ReLU])
def test_layer_statistics_match_autograd(act: type[nn.Module]) -> None:
    torch.manual_seed(1)
    model = _mlp(act)
    ref_model = _mlp(act)
    ref_model.load_state_dict(model.state_dict())
    x = torch.randn(32, 20) * 3
    y = torch.randint(0, 5, (32,))
    lr = 0.5

    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with gd.watch(model, opt, update_sample=None) as run:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.step(loss=loss)
    data = run.data

    ref_loss, zs, ins, acts, lins, w_before = _reference(ref_model, x, y, lr)
    assert data.step_stats["loss"][0] == pytest.approx(ref_loss.item(), rel=RTOL)
    names = data.layer_names
    assert names == [str(i) for i, m in enumerate(ref_model) if isinstance(m, nn.Linear)]
    total = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in ref_model.parameters()))
    assert data.step_stats["total_grad_norm"][0] == pytest.approx(total.item(), rel=RTOL)
    for i, lin in enumerate(lins):
        col = lambda s, i=i: float(data.stat(s)[i, 0])  # noqa: E731
        assert col("signal_norm") == pytest.approx(zs[i].grad.double().norm().item(), rel=RTOL)
        assert col("signal_rms") == pytest.approx(zs[i].grad.double().pow(2).mean().sqrt().item(), rel=RTOL)
        if i == 0:
            assert np.isnan(col("in_signal_norm"))  # the data does not require grad
        else:
            assert col("in_signal_norm") == pytest.approx(ins[i].grad.double().norm().item(), rel=RTOL)
        assert col("weight_grad_norm") == pytest.approx(lin.weight.grad.double().norm().item(), rel=RTOL)
        assert col("bias_grad_norm") == pytest.approx(lin.bias.grad.double().norm().item(), rel=RTOL)
        w_new = lin.weight.detach().double()
        assert col("weight_norm") == pytest.approx(w_new.norm().item(), rel=RTOL)
        assert col("grad_ratio") == pytest.approx((lin.weight.grad.double().norm() / w_new.norm()).item(), rel=RTOL)
        upd = (w_new - w_before[i].double()).norm() / w_new.norm()
        assert col("update_ratio") == pytest.approx(upd.item(), rel=1e-3)
        z = zs[i].detach().double()
        assert col("out_mean") == pytest.approx(z.mean().item(), rel=RTOL, abs=1e-6)
        assert col("out_rms") == pytest.approx(z.pow(2).mean().sqrt().item(), rel=RTOL)
        assert col("out_nonfinite") == 0.0
        assert col("grad_nonfinite") == 0.0
        if i < len(acts):
            zi, a = acts[i]
            a = a.detach().double()
            assert col("act_mean") == pytest.approx(a.mean().item(), rel=RTOL, abs=1e-6)
            assert col("act_rms") == pytest.approx(a.pow(2).mean().sqrt().item(), rel=RTOL)
            # the derivative from autograd at the pre-activation, independent of graddoctor's formulas
            zz = zi.detach().double().requires_grad_(True)
            (d,) = torch.autograd.grad(act()(zz).sum(), zz)
            assert col("act_deriv") == pytest.approx(d.mean().item(), rel=1e-3, abs=1e-6)
            if act is nn.ReLU:
                dead = (a == 0).all(dim=0).double().mean().item()
                assert col("act_dead") == pytest.approx(dead, abs=1e-9)
                assert np.isnan(col("act_saturated"))
            else:
                d_max = 0.25 if act is nn.Sigmoid else 1.0
                sat = (d < 0.01 * d_max).double().mean().item()
                assert col("act_saturated") == pytest.approx(sat, abs=1.5 / a.numel())
                assert np.isnan(col("act_dead"))
            lo, hi = np.quantile(a.numpy().ravel(), [0.02, 0.98])
            assert col("act_p02") == pytest.approx(lo, abs=0.05 * (hi - lo) + 1e-6)
            assert col("act_p98") == pytest.approx(hi, abs=0.05 * (hi - lo) + 1e-6)
        else:  # the last layer has no activation: its output is its activation
            assert col("act_mean") == pytest.approx(col("out_mean"), rel=1e-6, abs=1e-7)


def test_saturated_fraction_of_a_pinned_sigmoid() -> None:
    """A sigmoid layer driven far into saturation reports (almost) every unit saturated."""
    model = nn.Sequential(nn.Linear(10, 50), nn.Sigmoid(), nn.Linear(50, 2))
    with torch.no_grad():
        model[0].weight.fill_(0.0)
        model[0].bias.fill_(8.0)  # sigma'(8) = 3.4e-4 < 0.0025
    with gd.watch(model) as run:
        model(torch.randn(8, 10)).sum().backward()
        run.step()
    assert run.data.stat("act_saturated")[0, 0] == 1.0


def test_update_ratio_subsample_estimates_exact() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(200, 200), nn.Tanh(), nn.Linear(200, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    results = {}
    for sample in (None, 1000):
        m = nn.Sequential(nn.Linear(200, 200), nn.Tanh(), nn.Linear(200, 2))
        m.load_state_dict(model.state_dict())
        o = torch.optim.Adam(m.parameters(), lr=1e-2)
        torch.manual_seed(3)
        with gd.watch(m, o, update_sample=sample) as run:
            for _ in range(3):
                loss = m(torch.randn(16, 200)).pow(2).mean()
                o.zero_grad()
                loss.backward()
                o.step()
        results[sample] = run.data.stat("update_ratio")[0]
    del opt
    np.testing.assert_allclose(results[1000], results[None], rtol=0.15)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("batch_first", [False, True])
def test_time_profile_matches_input_gradients(cls: type[nn.RNNBase], batch_first: bool) -> None:
    torch.manual_seed(0)
    rnn = cls(3, 8, batch_first=batch_first)
    head = nn.Linear(8, 1)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn, self.head = rnn, head

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.rnn(x)
            last = out[:, -1] if batch_first else out[-1]
            return self.head(last)

    net = Net()
    x = torch.randn(4, 12, 3) if batch_first else torch.randn(12, 4, 3)
    with gd.watch(net) as run:
        net(x).pow(2).mean().backward()
        run.step()
    steps, prof = run.data.series["time_signal"]["rnn"]
    assert steps.tolist() == [0]
    xr = x.clone().requires_grad_(True)
    net(xr).pow(2).mean().backward()
    tdim = 1 if batch_first else 0
    ref = xr.grad.double().pow(2).sum(dim=[d for d in range(3) if d != tdim]).sqrt().numpy()
    np.testing.assert_allclose(prof[0], ref, rtol=1e-4, atol=1e-12)
    # the watched input was never modified and never got a .grad
    assert x.grad is None and not x.requires_grad


def test_accumulated_micro_batches_are_one_step() -> None:
    """Gradient accumulation: one record per optimizer step; the signal adds in quadrature over micro-batches."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    xs = [torch.randn(5, 6) for _ in range(3)]
    with gd.watch(model, opt) as run:
        opt.zero_grad()
        for x in xs:
            model(x).sum().backward()
        opt.step()
    data = run.data
    assert data.n_steps == 1
    ref = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 1))
    ref.load_state_dict(before)
    sq, grads = 0.0, None
    for x in xs:
        z = ref[0](x)
        z.retain_grad()
        ref[2](ref[1](z)).sum().backward()
        sq += z.grad.double().pow(2).sum().item()
    assert data.stat("signal_norm")[0, 0] == pytest.approx(sq ** 0.5, rel=1e-4)
    grads = ref[0].weight.grad.double().norm().item()  # accumulated over the three micro-batches
    assert data.stat("weight_grad_norm")[0, 0] == pytest.approx(grads, rel=1e-4)


def test_nonfinite_gradients_are_recorded_not_raised() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    with gd.watch(model) as run:
        out = model(torch.randn(3, 4))
        (out * float("nan")).sum().backward()
        run.step()
    d = run.data
    assert d.step_stats["nonfinite_grads"][0] > 0
    assert np.isnan(d.step_stats["total_grad_norm"][0])
    assert (d.stat("grad_nonfinite")[:, 0] > 0).all()
