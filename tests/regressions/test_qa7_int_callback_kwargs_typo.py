"""A misspelt ``graddoctor.watch`` argument given to a trainer callback is refused when the callback is built.

Both callbacks took any ``**watch_kwargs`` and passed them on only at the start of training:
``GradDoctorCallback(flush_evry=10)`` was accepted, and ``trainer.fit()`` / ``trainer.train()`` stopped after the
trainer's setup (model loading, process spawning) with ``TypeError: Monitor.__init__() got an unexpected keyword
argument``, naming a class the user never wrote. The callback now raises a TypeError naming itself, the argument
and the ones it takes, at construction; every watch() argument is still accepted.
"""
from __future__ import annotations

import inspect

import pytest

import graddoctor as gd

ACCEPTED = {n: p.default for n, p in inspect.signature(gd.watch).parameters.items()
            if n not in ("model", "optimizer", "store", "every")}


def _check(cls):
    with pytest.raises(TypeError, match=r"GradDoctorCallback.*'flush_evry'.*flush_every"):
        cls(store=None, flush_evry=10)
    cb = cls(store=None, **ACCEPTED)  # every watch() argument is still taken
    assert set(cb.watch_kwargs) == set(ACCEPTED)


def test_lightning_callback_refuses_unknown_kwarg():
    pytest.importorskip("lightning")
    from graddoctor.integrations.lightning import GradDoctorCallback

    _check(GradDoctorCallback)


def test_transformers_callback_refuses_unknown_kwarg():
    pytest.importorskip("transformers")
    from graddoctor.integrations.transformers import GradDoctorCallback

    _check(GradDoctorCallback)
