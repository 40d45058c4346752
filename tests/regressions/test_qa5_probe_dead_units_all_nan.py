"""Regression (QA pass 5): the dead-unit fraction of a ReLU layer whose whole output was NaN (a run that blew
up) read 0 (act mean NaN, "0 % dead"): a NaN unit is not 0 for every sample, so none counted as dead. With no
finite entry there is nothing to call dead or alive: act_dead is now NaN there, in watch() (one layer, and
the batched path of several layers of one kind) and in gd.check; a partly NaN output still counts its units."""
import math

import numpy as np
import torch
from torch import nn

import graddoctor as gd
from graddoctor.stats.tensor_stats import activation_batch_stats, activation_sample_stats, activation_stats


def test_all_nan_relu_output_has_no_dead_fraction():
    nan_out = torch.full((8, 5), float("nan"))
    vals, _, _ = activation_sample_stats("relu", nan_out)
    assert math.isnan(float(vals[5]))
    assert math.isnan(float(activation_stats("relu", nan_out)[2]))
    batch = activation_batch_stats("relu", torch.stack([nan_out.reshape(-1), torch.zeros(40)]),
                                   torch.tensor([0.0, 5.0]))
    assert math.isnan(float(batch[0, 5])) and float(batch[1, 5]) == 5.0


def test_partly_nan_output_still_counts_dead_units():
    out = torch.zeros(8, 5)
    out[0, 1] = float("nan")
    out[:, 2] = 1.0
    vals, _, _ = activation_sample_stats("relu", out)
    assert float(vals[5]) == 3.0  # units 0, 3, 4 are 0 for every sample; 1 holds a NaN, 2 is alive


def test_watched_run_with_nan_weights_reports_nan_not_zero_dead():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")  # every later output is NaN
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    with gd.watch(model, opt, store=None, detail_every=1) as run:
        for _ in range(2):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.log_loss(loss)
    dead = run.data.stat("act_dead")
    names = [layer.name for layer in run.data.layers]
    assert np.isnan(dead[names.index("2")]).all()  # its input is all NaN: all-NaN output
