"""Each sink against the real library: train, then read back what was written and compare with the store."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import graddoctor as gd
from graddoctor.integrations.sinks import KEY_STATS, tag, with_sinks

from .common import batches, deep_sigmoid, plain_run
from .wandb_reader import history, summary

STEPS = 6


def _train(tmp_path: Path, sink) -> gd.Monitor:
    return plain_run(deep_sigmoid(), batches(STEPS), store=with_sinks(tmp_path / "run.sqlite", sink),
                     flush_every=4)


def _expected(run: gd.Monitor) -> dict[str, np.ndarray]:
    data = gd.load_run(run.path)
    out = {tag(stat, name): data.layer_stats[stat][i] for stat in KEY_STATS
           for i, name in enumerate(data.layer_names)}
    out[tag("loss")] = data.step_stats["loss"]
    return out


def _findings_kinds(run: gd.Monitor) -> list[str]:
    return sorted(f.kind for f in run.diagnose().findings)


def test_tensorboard(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from graddoctor.integrations.sinks.tensorboard import TensorBoardSink

    run = _train(tmp_path, TensorBoardSink(str(tmp_path / "tb")))
    ea = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    want = _expected(run)
    assert set(want) <= set(ea.Tags()["scalars"])
    for name, values in want.items():  # statistics of detail steps only are NaN elsewhere: not logged
        finite = np.isfinite(values)
        assert [e.step for e in ea.Scalars(name)] == list(np.flatnonzero(finite)), name
        np.testing.assert_allclose([e.value for e in ea.Scalars(name)], values[finite], rtol=1e-6, err_msg=name)
    text = ea.Tensors("graddoctor/findings/text_summary")[0].tensor_proto.string_val[0].decode()
    kinds = _findings_kinds(run)
    assert kinds and all(k in text for k in kinds)


def test_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 deprecates, but keeps, the file store
    from mlflow.tracking import MlflowClient

    from graddoctor.integrations.sinks.mlflow import MLflowSink

    uri = (tmp_path / "mlruns").as_uri()
    sink = MLflowSink(uri, experiment="gd-test")
    run = _train(tmp_path, sink)
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(sink.run_id).info.status == "FINISHED"
    for name, values in _expected(run).items():
        hist = sorted(client.get_metric_history(sink.run_id, name), key=lambda m: m.step)
        finite = np.isfinite(values)
        assert [m.step for m in hist] == list(np.flatnonzero(finite)), name
        np.testing.assert_allclose([m.value for m in hist], values[finite], rtol=1e-6, err_msg=name)
    path = client.download_artifacts(sink.run_id, "graddoctor/findings.json", str(tmp_path / "dl"))
    stored = json.loads(Path(path).read_text())
    assert sorted(f["kind"] for f in stored["findings"]) == _findings_kinds(run)


def test_wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")
    from graddoctor.integrations.sinks.wandb import WandbSink

    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    sink = WandbSink(project="gd-test", mode="offline", dir=str(tmp_path))
    run = _train(tmp_path, sink)
    (wandb_file,) = list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    rows = [r for r in history(wandb_file) if tag("loss") in r]  # the per-step rows (not the findings table)
    assert [r["graddoctor/step"] for r in rows] == list(range(STEPS))
    for name, values in _expected(run).items():
        got = [r.get(name, math.nan) for r in rows]
        np.testing.assert_allclose(got, values, rtol=1e-6, equal_nan=True, err_msg=name)
    summ = summary(wandb_file)
    assert summ["graddoctor/n_findings"] == len(_findings_kinds(run))
    assert sorted(summ["graddoctor/finding_kinds"]) == sorted(set(_findings_kinds(run)))


def test_broken_sink_never_breaks_training(tmp_path: Path) -> None:
    class Broken:
        def start(self, meta, layers):
            raise RuntimeError("backend down")

        def log(self, step, scalars):
            raise RuntimeError("backend down")

        def finish(self, findings, status):
            raise RuntimeError("backend down")

    with pytest.warns(gd.GradDoctorWarning, match="backend down"):
        run = _train(tmp_path, Broken())
    assert gd.load_run(run.path).n_steps == STEPS
