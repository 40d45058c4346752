"""Regression: the live view's first line, before the writer had stored the run's metadata (a store just
created, ``graddoctor live`` started first), read "graddoctor live run.sqlite  ·    ·  status starting": an
empty model class between two separators. It is left out until it is known."""
import io

import numpy as np
from rich.console import Console

from graddoctor.present.live import LiveState, render
from graddoctor.store.run_data import LAYER_STATS, STEP_STATS, RunData


def _first_line(meta) -> str:  # noqa: ANN001
    data = RunData(layers=[], steps=np.zeros(0, dtype=np.int64),
                   layer_stats={k: np.zeros((0, 0)) for k in LAYER_STATS},
                   step_stats={k: np.zeros(0) for k in STEP_STATS}, meta=meta)
    out = io.StringIO()
    Console(file=out, width=120).print(render(data, LiveState(path="run.sqlite"), 0, 120))
    return out.getvalue().splitlines()[0].rstrip()


def test_no_empty_model_field():
    assert _first_line({}) == "graddoctor live run.sqlite  ·  status starting"
    assert _first_line({"model_class": "Net", "status": "running"}) == \
        "graddoctor live run.sqlite  ·  Net  ·  status running"
