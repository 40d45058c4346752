"""Two watched runs logged into one active MLflow run: the second must still log its metrics.

MLflowSink logged the model's parameters (``graddoctor.n_parameters`` ...) with ``log_param``, which MLflow refuses
to change: the second watched run (another model) inside the same ``mlflow.start_run()`` failed in
``MLflowSink.start`` and the sink was switched off, so none of that run's metrics reached MLflow.
"""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.sinks import with_sinks

mlflow = pytest.importorskip("mlflow")


def _train(model: nn.Module) -> None:
    from graddoctor.integrations.sinks.mlflow import MLflowSink

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=with_sinks(None, MLflowSink(), diagnose=False)) as run:
        for _ in range(3):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)


def test_second_watched_run_in_one_mlflow_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    torch.manual_seed(0)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message="graddoctor: MLflowSink")
            with mlflow.start_run() as active:
                _train(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)))
                _train(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)))
    finally:
        mlflow.set_tracking_uri(before)
    client = mlflow.tracking.MlflowClient(uri)
    assert len(client.get_metric_history(active.info.run_id, "graddoctor/loss")) == 6
    assert client.get_metric_history(active.info.run_id, "graddoctor/weight_grad_norm/4")  # the second model's
    assert client.get_run(active.info.run_id).data.params["graddoctor.n_parameters"] == "58"  # the first one's
