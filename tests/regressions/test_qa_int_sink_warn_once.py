"""A sink whose package is missing, or whose backend fails mid-run, must cost one warning, not one per flush.

Before the fix TeeStore retried every failing sink at every flush and warned each time: a TensorBoardSink
without tensorboard warned at ``start`` and then at every flush (``'NoneType' object has no attribute
'add_scalar'``), and a backend going down mid-run warned once per flush (messages differ per step, so the
warnings filter did not fold them). Now a sink is warned about once and not logged to again; training,
the store and the other sinks are unaffected.
"""
from __future__ import annotations

import sys
import warnings

import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import GradDoctorWarning
from graddoctor.integrations.sinks import with_sinks
from graddoctor.integrations.sinks.tensorboard import TensorBoardSink

STEPS, FLUSH = 12, 2


class Recorder:
    def __init__(self, fail_after: int | None = None) -> None:
        self.steps: list[int] = []
        self.fail_after = fail_after
        self.finished = False

    def start(self, meta, layers) -> None:
        pass

    def log(self, step, scalars) -> None:
        if self.fail_after is not None and len(self.steps) >= self.fail_after:
            raise ConnectionError(f"backend down at step {step}")  # a different message at each step
        self.steps.append(step)

    def finish(self, findings, status) -> None:
        self.finished = True


def _train(store):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gd.watch(model, opt, store=store, flush_every=FLUSH) as run:
            for _ in range(STEPS):
                loss = model(torch.randn(8, 4)).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.step(loss=loss)
    return [w for w in caught if issubclass(w.category, GradDoctorWarning)]


def test_missing_package_warns_once(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    good = Recorder()
    caught = _train(with_sinks(str(tmp_path / "r.sqlite"), TensorBoardSink(str(tmp_path / "tb")), good))
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert "TensorBoardSink.start failed" in str(caught[0].message)
    assert good.steps == list(range(STEPS)) and good.finished
    assert gd.load_run(tmp_path / "r.sqlite").n_steps == STEPS


def test_backend_failing_mid_run_warns_once(tmp_path):
    bad, good = Recorder(fail_after=3), Recorder()
    caught = _train(with_sinks(str(tmp_path / "r.sqlite"), bad, good))
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert "Recorder.log failed" in str(caught[0].message)
    assert bad.steps == [0, 1, 2] and bad.finished  # finish still runs, to close what the sink opened
    assert good.steps == list(range(STEPS))
    assert gd.load_run(tmp_path / "r.sqlite").n_steps == STEPS
