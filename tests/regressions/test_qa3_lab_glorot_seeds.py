"""`graddoctor lab run glorot --seeds 3` ran one seed per configuration (glorot has no seed loop) but recorded
seeds=3 in its JSON and HTML page, and said nothing: the page claimed three seeds that never ran. glorot now
records the one seed it runs, and `lab run` says when an experiment does not take --seeds."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.lab.experiments import glorot


@pytest.fixture
def fast_glorot(monkeypatch: pytest.MonkeyPatch) -> None:
    """glorot's run() with every heavy step replaced by a stub (its bookkeeping is what is tested)."""
    monkeypatch.setattr(glorot, "mnist5k_split", lambda n: None)
    monkeypatch.setattr(glorot, "mnist1d", lambda: None)
    monkeypatch.setattr(glorot, "identities", lambda: {})
    monkeypatch.setattr(glorot, "identity_checks", lambda v: [])
    monkeypatch.setattr(glorot, "linear_regime", lambda data: ([], {}))
    monkeypatch.setattr(glorot, "saturation_run", lambda data, updates: (np.zeros((2, 4)), []))
    monkeypatch.setattr(glorot, "saturation_checks", lambda means: [])
    monkeypatch.setattr(glorot, "test_error", lambda *a, **k: 0.5)
    monkeypatch.setattr(glorot, "plot", lambda *a, **k: None)


def test_glorot_records_the_seed_it_ran(fast_glorot: None) -> None:
    assert glorot.run(quick=True, seeds=3).seeds == 1


def test_lab_run_says_when_seeds_is_not_taken(fast_glorot: None, tmp_path) -> None:
    r = CliRunner().invoke(main, ["lab", "run", "glorot", "--quick", "--seeds", "3", "--out", str(tmp_path)])
    assert "does not take --seeds" in r.output, r.output
    assert '"seeds": 1' in (tmp_path / "glorot.json").read_text()
