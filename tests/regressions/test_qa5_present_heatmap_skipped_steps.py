"""Regression: a run with sporadic NaN/Inf steps that training survived (mixed precision's GradScaler skips such
steps) had them marked on its heatmap by red lines, which vanished among the reds of the heatmap's colour scale,
and the title did not say what the lines meant. The heatmap's lines are now cyan (blue and green already mean 0
and +Inf, white "not recorded") and its title says "cyan lines: NaN/Inf steps"."""
import matplotlib.pyplot as plt
import torch
from torch import nn

import graddoctor as gd
from graddoctor.present import plots

BAD = {3, 9}


def skipped_steps_run(bad: set[int], steps: int) -> gd.Monitor:
    """A small ReLU net trained on one batch whose loss is Inf at the ``bad`` steps, which are then skipped (no
    update), as a GradScaler skips an overflowed step; the loss is recorded at every step."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    with gd.watch(model, opt) as run:
        for step in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y) * (float("inf") if step in bad else 1.0)
            loss.backward()
            if step in bad:
                opt.zero_grad(set_to_none=True)
            opt.step()
            run.step(loss=loss)
    return run


def test_heatmap_marks_skipped_steps_in_cyan():
    run = skipped_steps_run(BAD, 14)
    fig = plots.heatmap(run.data)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert axes and all("cyan lines: NaN/Inf steps" in ax.get_title() for ax in axes)
    colors = {tuple(c.get_color()[0]) for ax in axes for c in ax.collections
              if hasattr(c, "get_segments") and c.get_segments()}
    plt.close(fig)
    assert (0.0, 1.0, 1.0, 1.0) in colors, colors
