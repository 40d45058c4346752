"""Regression: every figure drawn over training steps labels its axis "step" except the activation panels, whose
numbers (0, 400, ..., 2800) were left unnamed: recorded steps, optimizer steps or samples? The figure now says
"step" under its panels."""
import matplotlib.pyplot as plt
from tests.present.present_fixtures import write_store

from graddoctor.present import plots
from graddoctor.present.sampling import load_for_display


def test_activation_panels_say_step(tmp_path):
    data, _ = load_for_display(write_store(tmp_path / "run.sqlite", n_steps=12))
    fig = plots.activations(data)
    labels = [ax.get_xlabel() for ax in fig.axes] + [fig.get_supxlabel() if fig._supxlabel else ""]
    assert "step" in labels, labels
    plt.close(fig)
