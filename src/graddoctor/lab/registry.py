"""The experiment registry: experiment name -> module path.

Only experiments whose module exists at import time are listed (an engineer may still be writing one).
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

#: Every experiment the lab knows, in the order ``graddoctor lab list`` shows them.
_ALL: dict[str, str] = {
    "nielsen": "graddoctor.lab.experiments.nielsen",
    "glorot": "graddoctor.lab.experiments.glorot",
    "he-init": "graddoctor.lab.experiments.he_init",
    "rnn-memory": "graddoctor.lab.experiments.rnn_memory",
    "batchnorm": "graddoctor.lab.experiments.batchnorm",
    "resnet": "graddoctor.lab.experiments.resnet",
    "saxe": "graddoctor.lab.experiments.saxe",
    "meanfield": "graddoctor.lab.experiments.meanfield",
    "transformer-ln": "graddoctor.lab.experiments.transformer_ln",
}


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


#: name -> module path of the experiments that are present.
EXPERIMENTS: dict[str, str] = {name: mod for name, mod in _ALL.items() if _exists(mod)}


def names() -> list[str]:
    """The registered experiment names, in display order."""
    return list(EXPERIMENTS)


def load(name: str) -> ModuleType:
    """Import the experiment module called ``name``.

    Raises:
        KeyError: with the list of known names when ``name`` is not registered.
    """
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS) or '(none)'}")
    return importlib.import_module(EXPERIMENTS[name])
