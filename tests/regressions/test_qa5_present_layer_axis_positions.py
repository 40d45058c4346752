"""Regression: figures of a net with more layers than can be named on an axis (over 30) numbered the layer axis
by position but called it "layer": in a Sequential, whose layers are named "0", "2", "4", ..., the tick "250"
on the heatmap was the layer named "500", so a reader matched the figure to the wrong layer of the findings.
The axis now says "layer position (# in the tables)" when it shows positions, and "layer" only when its ticks
are the names."""
import matplotlib.pyplot as plt
import torch
from tests.regressions import watched_sgd
from torch import nn

from graddoctor.present import plots


def _data(n_linear: int):
    torch.manual_seed(0)
    mods = []
    for _ in range(n_linear - 1):
        mods += [nn.Linear(3, 3), nn.Tanh()]
    model = nn.Sequential(*mods, nn.Linear(3, 2))
    return watched_sgd(model, torch.randn(4, 3), torch.randint(0, 2, (4,)), steps=2).data


def _labels(fig) -> list[str]:  # noqa: ANN001
    out = [lab for ax in fig.axes for lab in (ax.get_xlabel(), ax.get_ylabel()) if "layer" in lab]
    plt.close(fig)
    return out


def test_position_axes_say_position():
    data = _data(plots.MAX_NAMED_TICKS + 5)
    for fig in (plots.gradient_flow(data), plots.heatmap(data)):
        labels = _labels(fig)
        assert labels and all(lab.startswith("layer position (# in the tables)") for lab in labels), labels


def test_named_axes_say_layer():
    data = _data(4)
    for fig in (plots.gradient_flow(data), plots.heatmap(data)):
        labels = _labels(fig)
        assert labels and all(lab.startswith("layer (") for lab in labels), labels
