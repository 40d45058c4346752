"""Activation kind names by family, without importing torch (the diagnosis and the read-only CLI commands use
them; :mod:`graddoctor.stats.activations` maps modules and functions to these names)."""
from __future__ import annotations

SATURATING = frozenset({"sigmoid", "tanh", "hardtanh", "softsign", "hardsigmoid", "relu6"})
RELU_FAMILY = frozenset({"relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu", "silu", "mish",
                         "softplus", "rrelu", "hardswish"})
#: Activations whose units can be exactly zero for every sample ("dead").
DEAD_CAPABLE = frozenset({"relu", "relu6"})
