"""Regression: the figures drawn against optimizer steps (learning speed, activations, saturation, loss) labelled
the step axis of a short run with fractions: a 1-step run's axis read -0.04, -0.02, 0.00, 0.02, 0.04. Step
axes now have integer ticks."""
import numpy as np
from tests.present.present_fixtures import write_store

from graddoctor.present import plots
from graddoctor.store.sqlite import load_run


def test_step_axes_have_integer_ticks(tmp_path):
    for n in (1, 3):
        data = load_run(str(write_store(tmp_path / f"r{n}.sqlite", n_steps=n)))
        for fig in (plots.update_speed(data), plots.activations(data), plots.saturation(data),
                    plots.loss_curves(data)):
            assert fig is not None
            fig.canvas.draw()
            for ax in fig.axes:
                if not ax.get_visible():
                    continue
                ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
                assert ticks and np.allclose(ticks, np.round(ticks)), (n, ax.get_title(), ticks)
