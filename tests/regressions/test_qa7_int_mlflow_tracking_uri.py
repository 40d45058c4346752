"""MLflowSink(tracking_uri=...) must not change the process's MLflow tracking URI.

The sink called ``mlflow.set_tracking_uri(tracking_uri)`` in ``start``: a script logging its own metrics into its
own store (``mlflow.set_tracking_uri(A)``, ``mlflow.start_run()``) that sent graddoctor's records elsewhere
(``MLflowSink(B)``) had its next ``mlflow.log_metric`` sent to B, where its run does not exist, and training
crashed (``RESOURCE_DOES_NOT_EXIST``); the sink itself took the script's active run (in A) for one of B's and was
switched off. The sink now talks to its URI through its own client and leaves the global setting alone; the
active run is used only when it lives at the sink's URI, otherwise the sink starts a run of its own there.
"""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.sinks import with_sinks

mlflow = pytest.importorskip("mlflow")


def test_sink_uri_leaves_the_users_tracking_uri_alone(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from graddoctor.integrations.sinks.mlflow import MLflowSink

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # file stores: fast to create
    monkeypatch.chdir(tmp_path)
    user_uri, gd_uri = (tmp_path / "user").as_uri(), (tmp_path / "gd").as_uri()
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(user_uri)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", gd.GradDoctorWarning)  # the sink must not be switched off
            with mlflow.start_run() as user_run:
                sink = MLflowSink(gd_uri)
                with gd.watch(model, opt, store=with_sinks(None, sink, diagnose=False)) as run:
                    for i in range(3):
                        loss = model(torch.randn(8, 4)).pow(2).mean()
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                        run.step(loss=loss)
                        mlflow.log_metric("user_loss", float(loss), step=i)  # crashed here before
                assert mlflow.get_tracking_uri() == user_uri
    finally:
        mlflow.set_tracking_uri(before)
    user = MlflowClient(tracking_uri=user_uri)
    assert [m.step for m in user.get_metric_history(user_run.info.run_id, "user_loss")] == [0, 1, 2]
    assert not user.get_metric_history(user_run.info.run_id, "graddoctor/loss")
    assert sink.run_id != user_run.info.run_id
    mine = MlflowClient(tracking_uri=gd_uri)
    assert [m.step for m in mine.get_metric_history(sink.run_id, "graddoctor/loss")] == [0, 1, 2]
    assert mine.get_run(sink.run_id).info.status == "FINISHED"
