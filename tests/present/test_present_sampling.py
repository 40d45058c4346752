"""Display sampling: which steps a view keeps, and that reading only those from disk gives the same numbers."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graddoctor.errors import StoreError
from graddoctor.present.sampling import load_for_display, select_indices
from graddoctor.store.sqlite import load_run


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 5000), k=st.integers(2, 300))
def test_select_indices_keeps_first_last_and_at_most_k(n, k):
    idx = select_indices(n, k)
    assert idx.size == min(n, k) or (n > k and idx.size <= k)
    assert np.all(np.diff(idx) > 0)
    if n:
        assert idx[0] == 0 and idx[-1] == n - 1


def test_select_indices_forces_positions_and_rejects_bad_limits():
    idx = select_indices(1000, 10, forced=np.array([333, 777]))
    assert 333 in idx and 777 in idx
    with pytest.raises(ValueError, match="at least 2"):
        select_indices(10, 1)


def test_sampled_read_matches_the_full_store(make_store):
    store = make_store(n_steps=300, chunk=70, recurrent=(1,), nonfinite_steps=(151,))
    full = load_run(store)
    view, sampling = load_for_display(store, max_steps=20)
    assert sampling.downsampled and sampling.total_steps == 300 and sampling.shown_steps == view.n_steps
    assert 151 in view.steps.tolist()  # a non-finite step is always shown
    cols = np.searchsorted(full.steps, view.steps)
    for name in ("signal_norm", "update_ratio", "act_mean"):
        np.testing.assert_array_equal(view.layer_stats[name], full.layer_stats[name][:, cols])
    np.testing.assert_array_equal(view.step_stats["loss"], full.step_stats["loss"][cols])
    np.testing.assert_array_equal(sampling.curves["loss"], full.step_stats["loss"])  # curves stay whole
    s_view, m_view = view.series["time_signal"]["layers.1"]
    assert set(s_view.tolist()) == set(view.steps.tolist())
    np.testing.assert_array_equal(m_view, full.series["time_signal"]["layers.1"][1][np.searchsorted(full.steps,
                                                                                                   s_view)])


def test_in_memory_downsampling_equals_the_disk_read(make_store):
    store = make_store(n_steps=200, chunk=64)
    disk, _ = load_for_display(store, max_steps=15, include=[101])
    mem, sampling = load_for_display(load_run(store), max_steps=15, include=[101])
    assert 101 in mem.steps.tolist()
    np.testing.assert_array_equal(disk.steps, mem.steps)
    np.testing.assert_array_equal(disk.layer_stats["grad_ratio"], mem.layer_stats["grad_ratio"])
    assert sampling.curves["loss"].size == 200


def test_tail_reads_the_most_recent_steps(make_store):
    store = make_store(n_steps=90, chunk=40)
    view, sampling = load_for_display(store, max_steps=10, tail=10)
    assert view.steps.tolist() == list(range(80, 90)) and sampling.total_steps == 90


def test_missing_and_foreign_files_raise_store_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        load_for_display(tmp_path / "nope.sqlite")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError):
        load_for_display(bad)
