"""Weights & Biases sink: per-layer scalars and a findings table (``pip install graddoctor[wandb]``)."""
from __future__ import annotations

from typing import Any

from . import PREFIX

#: The x-axis metric of every graddoctor chart, so that graddoctor's logging never moves the user's step.
STEP_METRIC = f"{PREFIX}/step"


class WandbSink:
    """Log graddoctor's records to wandb.

    Logs into the active wandb run when there is one (and leaves it open); otherwise calls ``wandb.init``
    with ``init_kwargs`` (e.g. ``project=...``, ``mode="offline"``) and finishes that run at the end.
    graddoctor's charts use their own step metric (``graddoctor/step``, the optimizer step). Each logged step is
    still one ``run.log`` call, which advances wandb's internal ``_step``: a script that passes explicit ``step=``
    to ``wandb.log`` gets rows refused by wandb; log against your own step metric (``define_metric``) instead.
    """

    def __init__(self, **init_kwargs: Any) -> None:
        self.init_kwargs = init_kwargs
        self.run: Any = None
        self._own = False

    def start(self, meta: dict[str, Any], layers: list[str]) -> None:
        try:
            import wandb
        except ImportError as e:
            raise ImportError("WandbSink needs wandb: pip install 'graddoctor[wandb]'") from e
        self.run = wandb.run
        if self.run is None:
            self.run = wandb.init(**self.init_kwargs)
            self._own = True
        self.run.define_metric(STEP_METRIC)
        self.run.define_metric(f"{PREFIX}/*", step_metric=STEP_METRIC)
        self.run.config.update({f"{PREFIX}/{k}": meta.get(k) for k in ("model_class", "n_parameters", "n_layers")},
                               allow_val_change=True)

    def log(self, step: int, scalars: dict[str, float]) -> None:
        self.run.log({**scalars, STEP_METRIC: step})

    def finish(self, findings: list[dict[str, Any]], status: str) -> None:
        import wandb

        cols: list[Any] = ["kind", "severity", "layers", "step", "causes", "remedies"]
        rows = [[f.get("kind"), f.get("severity"), ", ".join(f.get("layers") or []), f.get("step"),
                 ", ".join(f.get("causes") or []), ", ".join(f.get("remedies") or [])] for f in findings]
        self.run.log({f"{PREFIX}/findings": wandb.Table(columns=cols, data=rows)})
        self.run.summary[f"{PREFIX}/n_findings"] = len(findings)
        self.run.summary[f"{PREFIX}/finding_kinds"] = sorted({str(f.get("kind")) for f in findings})
        if self._own:
            self.run.finish(exit_code=0 if status == "finished" else 1)
