"""MLflow sink: metrics per layer and step, findings as an artifact (``pip install graddoctor[mlflow]``)."""
from __future__ import annotations

import time
from typing import Any

from . import PREFIX, findings_markdown

#: Metrics sent per ``log_batch`` call (MLflow's documented per-request limit is 1000).
MLFLOW_BATCH = 1000


class MLflowSink:
    """Log graddoctor's records to MLflow.

    Logs into the active MLflow run when there is one at ``tracking_uri`` (and leaves it open); otherwise starts a
    run there and ends it at the end of the watched run. The process's own tracking URI
    (``mlflow.set_tracking_uri``) is left as it is.

    Args:
        tracking_uri: where to log (e.g. ``"sqlite:///mlflow.db"`` or a server URL; MLflow 3 refuses the plain
            ``file:`` store unless ``MLFLOW_ALLOW_FILE_STORE=true``); default: MLflow's own setting.
        experiment: experiment name for a run this sink starts.
        run_name: name of a run this sink starts.
    """

    def __init__(self, tracking_uri: str | None = None, *, experiment: str | None = None,
                 run_name: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_name = run_name
        self.run_id: str | None = None
        self._client: Any = None
        self._own = False

    def start(self, meta: dict[str, Any], layers: list[str]) -> None:
        try:
            import mlflow
            from mlflow.tracking import MlflowClient
        except ImportError as e:
            raise ImportError("MLflowSink needs mlflow: pip install 'graddoctor[mlflow]'") from e
        # The sink's own client: mlflow.set_tracking_uri would move the script's own logging (its active run, its
        # later runs) to the sink's store, where its run does not exist.
        self._client = MlflowClient(tracking_uri=self.tracking_uri)
        active = mlflow.active_run()
        if active is not None and not self._has_run(active.info.run_id):
            active = None  # the script's run lives in another store: log into a run of our own at tracking_uri
        if active is not None:
            self.run_id = active.info.run_id
        else:
            exp_id = None
            if self.experiment is not None:
                exp = self._client.get_experiment_by_name(self.experiment)
                exp_id = exp.experiment_id if exp else self._client.create_experiment(self.experiment)
            run = self._client.create_run(exp_id or "0", run_name=self.run_name)
            self.run_id, self._own = run.info.run_id, True
        # MLflow refuses to change a logged parameter: a second watched run inside the same active MLflow run would
        # fail here and lose all its metrics, so a parameter that an earlier watched run set differently is left
        # as it was (the metrics are what matter).
        existing = self._client.get_run(self.run_id).data.params if active is not None else {}
        for key in ("model_class", "n_parameters", "n_layers"):
            name = f"{PREFIX}.{key}"
            if meta.get(key) is not None and existing.get(name, str(meta[key])) == str(meta[key]):
                self._client.log_param(self.run_id, name, meta[key])

    def _has_run(self, run_id: str) -> bool:
        if self.tracking_uri is None:
            return True
        try:
            self._client.get_run(run_id)
        except Exception:
            return False
        return True

    def log(self, step: int, scalars: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for k, v in scalars.items()]
        for i in range(0, len(metrics), MLFLOW_BATCH):
            self._client.log_batch(self.run_id, metrics=metrics[i:i + MLFLOW_BATCH])

    def finish(self, findings: list[dict[str, Any]], status: str) -> None:
        self._client.log_dict(self.run_id, {"findings": findings, "status": status}, f"{PREFIX}/findings.json")
        self._client.log_text(self.run_id, findings_markdown(findings), f"{PREFIX}/findings.md")
        self._client.set_tag(self.run_id, f"{PREFIX}.findings", str(len(findings)))
        if self._own:
            self._client.set_terminated(self.run_id, "FINISHED" if status == "finished" else "FAILED")
