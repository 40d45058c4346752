"""Regression: the figures over steps of a run whose gradients turned NaN part-way (a NaN batch, an overflow)
ended at the last finite step, as if the run had stopped there: the heatmap of a 200-step run that overflowed at
step 3 showed steps 0-2 and nothing else, and the learning-speed and activation figures ended at the last
finite detail step. Only the loss figure showed the rest. The line figures now cover the whole run with the
NaN/Inf steps marked in red (as the loss figure does), and the heatmap, which keeps its finite columns legible,
names the NaN/Inf steps after them in its title."""
import matplotlib.pyplot as plt
import torch
from tests.regressions import watched_batches
from tests.regressions.test_qa5_present_heatmap_skipped_steps import skipped_steps_run
from torch import nn

import graddoctor as gd
from graddoctor.present import plots

STEPS, FIRST_NAN = 12, 7


def _run() -> gd.Monitor:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return (x + float("nan") if step >= FIRST_NAN else x), y

    run, _ = watched_batches(model, torch.optim.SGD(model.parameters(), lr=0.1), batch, STEPS, detail_every=2)
    return run


def test_heatmap_names_the_nan_steps_after_its_columns():
    fig = plots.heatmap(_run().data)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    plt.close(fig)
    assert titles and all(f"NaN/Inf at {STEPS - FIRST_NAN} later steps ({FIRST_NAN}-{STEPS - 1})" in t
                          for t in titles), titles


def test_line_figures_cover_the_whole_run_with_the_nan_steps_marked():
    data = _run().data
    for draw in (plots.update_speed, plots.activations):
        fig = draw(data)
        for ax in [a for a in fig.axes if a.get_visible() and a.lines]:
            assert ax.get_xlim()[1] >= STEPS - 1, (draw.__name__, ax.get_xlim())
            labels = ax.get_legend_handles_labels()[1]
            assert f"non-finite ({STEPS - FIRST_NAN} steps)" in labels, (draw.__name__, labels)
        plt.close(fig)


def test_heatmap_names_nan_steps_before_its_columns():
    """NaN/Inf steps at the start of a run that then recovered (mixed precision's GradScaler finding its scale)
    lie before the first finite column: the title names them too."""
    run = skipped_steps_run({0, 1}, 8)
    fig = plots.heatmap(run.data)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    plt.close(fig)
    assert titles and all("NaN/Inf at 2 earlier steps (0-1)" in t for t in titles), titles
