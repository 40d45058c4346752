"""Regression: ``gd.load_run(path).stat(name)`` for a name it does not hold said "no statistic 'loss'; recorded:
act_dead, act_deriv, ..." for every unknown name: the list claimed that statistics the run never recorded (every
activation statistic of a run watched with ``activations=False``) were recorded, said nothing of ``loss`` being
a per-step statistic (``step_stats["loss"]``), and offered no near miss for a typo. The error now says each."""
from pathlib import Path

import pytest
from tests.present.present_fixtures import write_store

import graddoctor as gd


@pytest.fixture()
def run(tmp_path: Path) -> gd.RunData:
    return gd.load_run(write_store(tmp_path / "run.sqlite", n_layers=2, n_steps=3, stats=("signal_norm",)))


def test_per_step_name_points_at_step_stats(run: gd.RunData) -> None:
    with pytest.raises(KeyError, match=r"'loss' is a per-step statistic.*step_stats\['loss'\]"):
        run.stat("loss")
    with pytest.raises(KeyError, match="per-step statistic"):
        run.at_step("total_grad_norm")


def test_typo_gets_the_near_names_and_no_false_recorded_list(run: gd.RunData) -> None:
    with pytest.raises(KeyError) as e:
        run.stat("signal_norms")
    msg = str(e.value.args[0])
    assert "did you mean 'signal_norm'" in msg
    assert "recorded: act_dead" not in msg and "NaN where not recorded" in msg
    assert run.stat("act_mean").shape == (2, 3)  # every per-layer statistic is still readable (all NaN here)
