"""Regression: the live view's ‖ΔW‖/‖W‖ column read the update ratio at the last recorded step, but watch()
measures it on detail steps only (every detail_every-th recorded step, 10 by default): 9 refreshes in 10, and
every frame of a run whose last step is not a detail step, showed "-" for every layer. It now shows the value
of the last detail step in the window, as `graddoctor stats` does."""
import io

import torch
from rich.console import Console
from torch import nn

from graddoctor.present.live import run_live

from . import watched_sgd


def test_live_shows_the_latest_measured_update_ratio(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    store = str(tmp_path / "run.sqlite")
    watched_sgd(model, torch.randn(16, 4), torch.randint(0, 2, (16,)), steps=15, store=store)  # detail: 0, 10
    buf = io.StringIO()
    assert run_live(store, once=True, console=Console(file=buf, width=120)) == "once"
    rows = [line.split() for line in buf.getvalue().splitlines() if line.strip()[:1] in ("0", "1")]
    assert len(rows) == 2, buf.getvalue()
    for row in rows:
        assert row[-1] != "-" and float(row[-1]) > 0, buf.getvalue()
