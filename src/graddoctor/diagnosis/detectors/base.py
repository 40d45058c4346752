"""The common base of every detector, and the registry that :func:`graddoctor.diagnosis.diagnose_run` uses.

A detector is a small class: its thresholds are constructor arguments (each documented with its
justification in the class docstring and in docs/detectors.md), and :meth:`Detector.detect` turns a
:class:`~graddoctor.diagnosis.context.Context` into findings. Register a new one with :func:`register`.
"""
from __future__ import annotations

import inspect
from typing import Any

from ..context import Context
from ..findings import Finding

#: name -> detector class, in the order they run.
REGISTRY: dict[str, type[Detector]] = {}


class Detector:
    """Base class. Subclasses set :attr:`name` and implement :meth:`detect`."""

    name: str = ""

    def detect(self, ctx: Context) -> list[Finding]:  # pragma: no cover - abstract
        """Return the findings this detector sees in ``ctx`` (may be empty)."""
        raise NotImplementedError

    def thresholds(self) -> dict[str, Any]:
        """The constructor arguments and their current values."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self" and hasattr(self, k)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.thresholds().items())
        return f"{type(self).__name__}({args})"


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator adding a detector to :data:`REGISTRY` under its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty 'name' to be registered")
    REGISTRY[cls.name] = cls
    return cls


def build_detectors(overrides: dict[str, Any] | None = None) -> list[Detector]:
    """One instance of every registered detector.

    Args:
        overrides: threshold overrides, either ``{"detector_name": {"arg": value}}`` or flat
            ``{"arg": value}`` applied to every detector that has an argument of that name.

    Raises:
        ValueError: an override names no detector or no threshold of any detector.
    """
    from . import load_all

    load_all()
    overrides = dict(overrides or {})
    per: dict[str, dict[str, Any]] = {}
    flat: dict[str, Any] = {}
    for k, v in overrides.items():
        if k in REGISTRY:
            if not isinstance(v, dict):
                raise ValueError(f"thresholds for detector {k!r} must be a dict of argument -> value")
            per[k] = v
        else:
            flat[k] = v
    used: set[str] = set()
    out = []
    for name, cls in REGISTRY.items():
        params = set(inspect.signature(cls.__init__).parameters) - {"self"}
        kw = {k: v for k, v in flat.items() if k in params}
        used.update(kw)
        bad = set(per.get(name, {})) - params
        if bad:
            raise ValueError(f"detector {name!r} has no threshold {sorted(bad)}; its thresholds: {sorted(params)}")
        kw.update(per.get(name, {}))
        out.append(cls(**kw))
    unknown = set(flat) - used
    if unknown:
        raise ValueError(f"no detector has a threshold named {sorted(unknown)}; see docs/detectors.md for the list "
                         f"(detectors: {', '.join(REGISTRY)})")
    return out
