"""Detectors, one per file. Importing :func:`load_all` registers every built-in detector."""
from __future__ import annotations

import importlib

from .base import REGISTRY, Detector, build_detectors, register

#: Built-in detector modules, in the order their detectors run.
BUILTIN = ("non_finite", "vanishing_depth", "stalled", "weight_decay", "temporal", "exploding_depth",
           "exploding_training", "unstable", "saturation", "dead_units", "init_audit")


def load_all() -> None:
    """Import every built-in detector module (each registers itself)."""
    for mod in BUILTIN:
        importlib.import_module(f"{__name__}.{mod}")


__all__ = ["REGISTRY", "Detector", "build_detectors", "register", "load_all", "BUILTIN"]
