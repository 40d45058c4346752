"""watch() on the models people train: runs, records sensible numbers, never changes training."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd

from .zoo import ZOO, logits


def _train(build, steps: int, watched: bool, seed: int = 0, opt_cls=torch.optim.Adam, **watch_kw):
    torch.manual_seed(seed)
    model, x, y = build()
    opt = opt_cls(model.parameters(), lr=1e-2)
    run = gd.watch(model, opt, **watch_kw) if watched else None
    if run:
        run.start()
    torch.manual_seed(seed + 1)  # same dropout masks in both runs
    try:
        for _ in range(steps):
            loss = nn.functional.cross_entropy(logits(model(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if run:
                run.step(loss=loss)
    finally:
        if run:
            run.stop()
    return model, run


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "transformer"])
def test_parameters_bit_identical_with_and_without_watch(name: str) -> None:
    plain, _ = _train(ZOO[name], 50, watched=False)
    watched, run = _train(ZOO[name], 50, watched=True, flush_every=16)
    for (n, a), (_, b) in zip(plain.state_dict().items(), watched.state_dict().items()):
        assert torch.equal(a, b), f"{name}: {n} differs after 50 steps"
    assert run.data.n_steps == 50
    assert run.error is None


@pytest.mark.parametrize("name", sorted(ZOO))
def test_model_zoo_records_every_layer(name: str) -> None:
    model, run = _train(ZOO[name], 3, watched=True)
    assert run.error is None, run.error
    data = run.data
    assert data.n_steps == 3
    n_layers = len(data.layers)
    assert n_layers >= 2
    # forward execution order is recorded for every layer that ran
    orders = [layer.order for layer in data.layers if layer.order is not None]
    assert orders == sorted(orders)
    trained = [i for i, layer in enumerate(data.layers) if layer.info["trainable"] > 0]
    g = data.stat("weight_grad_norm")
    ran = [i for i in trained if layer_ran(data, i)]
    assert ran, "no trainable layer recorded a gradient"
    assert np.isfinite(g[ran, -1]).all()
    assert np.isfinite(data.step_stats["total_grad_norm"]).all()
    sig = data.stat("signal_norm")
    assert np.isfinite(sig).any(axis=1).sum() >= 1


def layer_ran(data: gd.RunData, i: int) -> bool:
    return bool(np.isfinite(data.stat("weight_grad_norm")[i]).any())


def test_fancy_model_specifics() -> None:
    model, run = _train(ZOO["fancy"], 2, watched=True)
    data = run.data
    names = data.layer_names
    assert "dec" not in names  # tied weight belongs to the embedding
    assert np.isnan(data.stat("weight_grad_norm")[names.index("frozen")]).all()  # frozen: no gradient
    assert np.isnan(data.stat("weight_grad_norm")[names.index("unused")]).all()  # never called
    assert data.layer("unused").order is None
    # shared layer called twice: its output statistics count both calls
    assert data.layer("shared").order is not None


def test_in_place_relu_and_reused_activation_module() -> None:
    model, run = _train(ZOO["resnet"], 2, watched=True)
    data = run.data
    bn1 = data.layer_names.index("1.bn1")
    assert data.layers[bn1].activation == "relu"
    assert 0.0 <= data.stat("act_dead")[bn1, 0] <= 1.0  # step 0 is a detail step
    assert np.isnan(data.stat("act_dead")[bn1, 1])  # step 1 is not (detail_every=10)
    assert np.isfinite(data.stat("signal_norm")[bn1]).all()


def test_hooks_removed_on_exit_even_when_the_loop_raises() -> None:
    model, x, y = ZOO["mlp"]()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [(len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()]
    with pytest.raises(RuntimeError, match="boom"):
        with gd.watch(model, opt):
            model(x).sum().backward()
            opt.step()
            raise RuntimeError("boom")
    after = [(len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()]
    assert before == after
    assert len(opt._optimizer_step_post_hooks) == 0


def test_without_optimizer_user_calls_step() -> None:
    model, x, y = ZOO["mlp"]()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, detail_every=1) as run:
        for _ in range(4):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    d = run.data
    assert d.steps.tolist() == [0, 1, 2, 3]
    assert np.isfinite(d.step_stats["loss"]).all()
    assert np.isfinite(d.stat("update_ratio")[:, 1:]).all()


@pytest.mark.parametrize("every,expected", [(3, [0, 3, 6, 9]), ("economy", list(range(10)))])
def test_schedule(every, expected) -> None:
    model, run = _train(ZOO["mlp"], 10, watched=True, every=every, detail_every=2)
    d = run.data
    assert d.steps.tolist() == expected
    assert np.isfinite(d.step_stats["loss"]).all()
    assert np.isfinite(d.stat("weight_grad_norm")).all()  # every recorded step
    upd = np.isfinite(d.stat("update_ratio")).all(axis=0)
    # detail steps are every 2nd recorded step; their update is measured even when the previous optimizer step
    # was not recorded (every=3)
    assert upd.tolist() == [i % 2 == 0 for i in range(len(expected))]


def test_loss_recorded_across_flush_boundaries() -> None:
    _, run = _train(ZOO["mlp"], 12, watched=True, flush_every=4)
    assert np.isfinite(run.data.step_stats["loss"]).all()


def test_memory_bounded_by_layers_times_flush_every() -> None:
    model, x, y = ZOO["mlp"]()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with gd.watch(model, opt, flush_every=5) as run:
        sizes = []
        for _ in range(40):
            model(x).sum().backward()
            opt.step()
            opt.zero_grad()
            sizes.append((run._buf.numel(), run._row, sum(len(v[0]) for v in run._pending.values())))
    assert len({s[0] for s in sizes}) == 1  # the device buffer never grows
    assert max(s[1] for s in sizes) <= 5
    assert max(s[2] for s in sizes) == 0  # nothing pending between steps


def test_validation_under_no_grad_is_not_recorded() -> None:
    model, x, y = ZOO["mlp"]()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt) as run:
        model(x).sum().backward()
        opt.step()
        with torch.no_grad():
            model(x * 1000)  # would change the activation statistics if recorded
    d = run.data
    ref_model, _, _ = ZOO["mlp"]()
    assert d.n_steps == 1
    assert abs(d.stat("out_mean")[0, 0]) < 10


def test_activations_false_records_parameter_statistics_only() -> None:
    _, run = _train(ZOO["mlp"], 3, watched=True, activations=False)
    d = run.data
    assert np.isfinite(d.stat("weight_grad_norm")).all()
    assert np.isnan(d.stat("signal_norm")).all()
    assert np.isnan(d.stat("act_mean")).all()
