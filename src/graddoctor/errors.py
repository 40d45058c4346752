"""Errors graddoctor raises. Each names the problem and what to do about it."""
from __future__ import annotations


class GradDoctorError(Exception):
    """Base class of every error graddoctor raises on bad input."""


class ModelError(GradDoctorError, ValueError):
    """The model, optimizer or batch given to graddoctor cannot be used as it is."""


class StoreError(GradDoctorError, OSError):
    """A run store cannot be created, opened or read."""


class SchemaVersionError(StoreError):
    """A run store was written by a newer graddoctor than this one."""


class GradDoctorWarning(UserWarning):
    """Warnings graddoctor emits (a problem inside graddoctor that did not stop training)."""
