"""Regression: two more lab figures ticked an axis of whole numbers at fractions (matplotlib's default): saxe's
learning-time panel, "depth (weight matrices)" for depths 2, 6 and 20, at 2.5, 5.0, 7.5, ...; rnn-memory's
"T (minimal length)" of the quick run, one length T = 30, at 28.5, 29.0, ..., 31.5. Their ticks are now the
depths and lengths trained."""
import numpy as np
import pytest

from graddoctor.lab import figures
from graddoctor.lab.experiments import rnn_memory, saxe


class _Stop(Exception):
    pass


def _capture(monkeypatch, stop: bool = False) -> list:
    saved = []

    def save(fig, out, name, written):
        saved.append(fig)
        if stop:
            raise _Stop

    monkeypatch.setattr(figures, "save", save)
    return saved


def test_saxe_depth_ticks(tmp_path, monkeypatch) -> None:
    saved = _capture(monkeypatch)
    row = {"steps": [60, 70], "lr": [0.5, 0.5], "median": 65.0}
    lt = {kind: {d: dict(row) for d in (2, 6, 20)} for kind in ("orthogonal", "gaussian", "pretrained")}
    saxe.plot_learning_times(lt, tmp_path, [])
    assert list(saved[0].axes[0].get_xticks()) == [2, 6, 20]


def test_rnn_memory_length_ticks(tmp_path, monkeypatch) -> None:
    saved = _capture(monkeypatch, stop=True)
    runs = [{"task": task, "T": 30, "cell": cell, "wrong": float(np.random.default_rng(0).uniform())}
            for task in ("adding", "order") for cell in rnn_memory.CELLS]
    with pytest.raises(_Stop):  # the first figure (fraction wrong against T) is the one checked
        rnn_memory.plot(runs, {}, {"adding_T": [30], "order_T": [30]}, tmp_path, [])
    for ax in saved[0].axes:
        assert list(ax.get_xticks()) == [30]
