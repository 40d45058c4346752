"""Regression: the figures over steps drew one line per layer (at most 12, evenly spaced by depth) whether the
layer measured the statistic or not, so the saturated and dead fractions listed the output layer (no activation,
all NaN) in their legend with nothing drawn, and in a deep net such layers took places from layers with values.
Only layers that measured the statistic are drawn and listed."""
import matplotlib.pyplot as plt
import numpy as np

from graddoctor.present import plots
from graddoctor.store.run_data import LAYER_STATS, STEP_STATS, LayerInfo, RunData


def _run(n_layers: int) -> RunData:
    """Layers alternate Linear+ReLU and a last Linear without activation; only ReLU layers have act_dead."""
    n_steps = 5
    stats = {k: np.full((n_layers, n_steps), np.nan) for k in LAYER_STATS}
    stats["act_dead"][:-1] = 0.25
    stats["update_ratio"][:] = 1e-3
    layers = [LayerInfo(index=i, name=f"fc{i}", type="Linear", order=i,
                        activation=None if i == n_layers - 1 else "relu") for i in range(n_layers)]
    return RunData(layers=layers, steps=np.arange(n_steps), layer_stats=stats,
                   step_stats={k: np.zeros(n_steps) for k in STEP_STATS})


def _legend(fig) -> list[str]:  # noqa: ANN001
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_a_layer_without_values_is_not_in_the_legend():
    fig = plots.saturation(_run(4))
    assert _legend(fig) == ["fc0", "fc1", "fc2"], _legend(fig)
    plt.close(fig)


def test_the_line_budget_goes_to_layers_with_values():
    fig = plots.saturation(_run(40))
    names = _legend(fig)
    assert len(names) == plots.MAX_LINES and "fc39" not in names and "fc38" in names, names
    plt.close(fig)
    fig = plots.update_speed(_run(4))  # every layer measured the update ratio: all are drawn
    assert [n for n in _legend(fig) if n.startswith("fc")] == ["fc0", "fc1", "fc2", "fc3"]
    plt.close(fig)
