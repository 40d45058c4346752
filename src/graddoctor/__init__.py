"""graddoctor: find, explain and repair vanishing and exploding gradients in PyTorch models.

The public API fits on one screen::

    import graddoctor as gd
    diag = gd.check(model, inputs, targets, loss_fn)          # before training, from one batch
    with gd.watch(model, optimizer, store="run.sqlite") as run:  # during training
        ...
    diag = run.diagnose(); diag = gd.diagnose("run.sqlite")  # findings
    result = gd.repair(case)                                  # remedies proven by controlled trials
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .diagnosis.codes import CAUSES, KINDS, REMEDIES
from .diagnosis.findings import Diagnosis, Finding
from .errors import GradDoctorError, GradDoctorWarning, ModelError, SchemaVersionError, StoreError
from .store.run_data import LAYER_STATS, STEP_STATS, LayerInfo, RunData
from .store.sqlite import load_run

if TYPE_CHECKING:  # imported lazily (below): the read-only commands (stats, report, live) start without torch
    from .diagnosis import diagnose
    from .probe.check import check
    from .probe.monitor import Monitor, watch
    from .repair import repair
    from .repair.case import Case

__all__ = [
    "__version__",
    "watch",
    "Monitor",
    "load_run",
    "RunData",
    "LayerInfo",
    "LAYER_STATS",
    "STEP_STATS",
    "check",
    "diagnose",
    "Diagnosis",
    "Finding",
    "KINDS",
    "CAUSES",
    "REMEDIES",
    "Case",
    "repair",
    "GradDoctorError",
    "GradDoctorWarning",
    "ModelError",
    "StoreError",
    "SchemaVersionError",
]

_LAZY = {
    "watch": ("graddoctor.probe.monitor", "watch"),
    "Monitor": ("graddoctor.probe.monitor", "Monitor"),
    "check": ("graddoctor.probe.check", "check"),
    "diagnose": ("graddoctor.diagnosis", "diagnose"),
    "Case": ("graddoctor.repair.case", "Case"),
    "repair": ("graddoctor.repair", "repair"),
}


def __getattr__(name: str) -> Any:
    """Import the heavier parts (watch and check, which import torch; diagnosis; repair) only when first used."""
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graddoctor' has no attribute {name!r}")
