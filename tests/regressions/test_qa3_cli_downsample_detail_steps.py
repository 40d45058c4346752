"""Regression: a report of a long run draws at most --max-steps steps, chosen evenly spaced; watch() takes the
activation statistics, weight norms and update ratios on detail steps only (every detail_every-th recorded
step), and evenly spaced steps hit about one in detail_every of them. A 3,000-step run drawn on 300 steps had
an update ratio at 17 of them although the store held 300 detail steps. Detail steps are now chosen first."""
import numpy as np
from tests.present.present_fixtures import write_store

from graddoctor.present.sampling import load_for_display, select_indices


def test_downsampled_view_keeps_the_detail_steps(tmp_path):
    store = write_store(tmp_path / "long.sqlite", n_layers=3, n_steps=3000, chunk=500, detail_every=10,
                        meta={"settings": {"detail_every": 10}})
    for max_steps, want in ((300, 299), (1000, 300), (137, 136)):
        view, sampling = load_for_display(str(store), max_steps)
        assert sampling.downsampled and view.n_steps <= max_steps
        have = int((~np.isnan(view.stat("act_mean")).all(axis=0)).sum())
        assert have == want, (max_steps, have)
        assert view.steps[0] == 0 and view.steps[-1] == 2999


def test_select_indices_without_detail_steps_is_unchanged():
    idx = select_indices(1000, 10)
    assert idx[0] == 0 and idx[-1] == 999 and idx.size <= 10
    assert np.array_equal(select_indices(50, 100, detail_every=10), np.arange(50))
