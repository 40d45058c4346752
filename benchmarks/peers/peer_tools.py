"""Each monitoring configuration of the peers benchmark, as a small class that runs one training step.

``Tool(model, opt, loss_fn).step(x, y)`` runs forward, backward and the optimizer step with the tool doing
what it does in ordinary use. ``attach`` may raise: the benchmark records the failure and why. Every peer
is imported lazily, so a peer that did not install only removes its own rows.
"""
from __future__ import annotations

import tempfile
import warnings
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

_TMP = tempfile.mkdtemp(prefix="gd-peers-")


class Plain:
    """Plain training, no monitoring: the reference every ratio is taken against."""

    name = "plain"

    def __init__(self, model: nn.Module, opt: torch.optim.Optimizer, loss_fn: Any) -> None:
        self.model, self.opt, self.loss_fn = model, opt, loss_fn
        self.i = 0
        self.reports: list[str] = []  # what the tool told the user (alarms, errors), for the detection table

    def attach(self) -> None:
        pass

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        loss = self.loss_fn(out, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.after_backward()
        self.opt.step()
        self.after_step(loss)
        self.i += 1
        return loss

    def after_backward(self) -> None:
        pass

    def after_step(self, loss: torch.Tensor) -> None:
        pass

    def close(self) -> None:
        pass


class GradDoctor(Plain):
    settings: dict[str, Any] = {}

    def attach(self) -> None:
        import graddoctor as gd

        self.run = gd.watch(self.model, self.opt, **self.settings).start()

    def after_step(self, loss: torch.Tensor) -> None:
        self.run.log_loss(loss)

    def close(self) -> None:
        self.run.stop()


class GDDefault(GradDoctor):
    name = "graddoctor default"


class GDCheapest(GradDoctor):
    name = "graddoctor activations=False"
    settings = {"activations": False}


class GDFullest(GradDoctor):
    name = "graddoctor fullest (detail every step)"
    settings = {"detail_every": 1, "update_sample": None, "act_sample": None}


class Wandb(Plain):
    """wandb.watch(model, log="gradients", log_freq=N) in offline mode, plus wandb.log of the loss per step."""

    freq = 1

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"wandb.watch gradients, log_freq={self.freq}"

    def attach(self) -> None:
        import os

        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_DIR", _TMP)
        import wandb

        if wandb.run is None:
            wandb.init(project="graddoctor-peers", mode="offline", dir=_TMP)
        wandb.watch(self.model, log="gradients", log_freq=self.freq)
        self.wandb = wandb

    def after_step(self, loss: torch.Tensor) -> None:
        self.wandb.log({"loss": float(loss.detach())})


class Wandb100(Wandb):
    freq = 100


class TensorBoard(Plain):
    """SummaryWriter.add_histogram of every parameter's gradient every ``every`` steps."""

    every = 1

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"TensorBoard add_histogram grads, every {self.every}"

    def attach(self) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(tempfile.mkdtemp(dir=_TMP))

    def after_backward(self) -> None:
        if self.i % self.every == 0:
            for name, p in self.model.named_parameters():
                if p.grad is not None:
                    self.writer.add_histogram(f"grad/{name}", p.grad, self.i)

    def close(self) -> None:
        self.writer.close()


class TensorBoard10(TensorBoard):
    every = 10


class LightningGradNorm(Plain):
    """lightning.pytorch.utilities.grad_norm every step (what on_before_optimizer_step usually logs)."""

    name = "Lightning grad_norm every step"

    def attach(self) -> None:
        from lightning.pytorch.utilities import grad_norm

        self.grad_norm = grad_norm
        self.history: list[dict[str, Any]] = []

    def after_backward(self) -> None:
        self.history.append(self.grad_norm(self.model, norm_type=2))


class FastaiStyle(Plain):
    """fastai's ActivationStats: mean, std and near_zero (<= 0.05) of every parameterised module's output,
    each read back with .item() (three host syncs per module per batch), kept in a growing list."""

    name = "fastai-style activation hooks (.item())"

    def attach(self) -> None:
        self.stats: list[tuple[float, float, float]] = []
        self.handles = []
        for m in self.model.modules():
            if next(m.parameters(recurse=False), None) is not None:
                self.handles.append(m.register_forward_hook(self._hook))

    def _hook(self, module: nn.Module, inputs: Any, out: Any) -> None:
        if isinstance(out, tuple):
            out = out[0]
        if not isinstance(out, torch.Tensor) or not torch.is_grad_enabled():
            return
        o = out.detach().float()
        self.stats.append((o.mean().item(), o.std().item(), (o <= 0.05).long().sum().item() / o.numel()))

    def close(self) -> None:
        for h in self.handles:
            h.remove()


class DetectAnomaly(Plain):
    """torch.autograd.detect_anomaly() around forward and backward."""

    name = "torch.autograd.detect_anomaly"

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Anomaly Detection has been enabled" on every entry
            with torch.autograd.detect_anomaly():
                return super().step(x, y)


class Cockpit(Plain):
    """Cockpit's "economy" configuration on BackPACK (its loss must be a BackPACK-extended module)."""

    name = "Cockpit economy"
    max_rounds = 2  # hundreds of times slower than plain training on CPU: two rounds of two steps say enough
    max_steps = 2

    def attach(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from backpack import extend
            from cockpit import Cockpit as _Cockpit
            from cockpit.utils.configuration import configuration
        self.model = extend(self.model)
        self.ext_loss = extend(nn.CrossEntropyLoss())
        self.cockpit = _Cockpit(self.model.parameters(), quantities=configuration("economy"))

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        loss = self.ext_loss(out, y)
        losses = F.cross_entropy(out, y, reduction="none")
        self.opt.zero_grad(set_to_none=True)
        info = {"batch_size": x.shape[0], "individual_losses": losses, "loss": loss, "optimizer": self.opt}
        with self.cockpit(self.i, info=info):
            loss.backward(create_graph=self.cockpit.create_graph(self.i))
        self.opt.step()
        self.i += 1
        return loss


TOOLS: list[type[Plain]] = [Plain, GDCheapest, GDDefault, GDFullest, LightningGradNorm, Wandb, Wandb100,
                            TensorBoard, TensorBoard10, FastaiStyle, Cockpit, DetectAnomaly]


def tool_name(cls: type[Plain]) -> str:
    return cls.name if isinstance(cls.name, str) else cls.name.fget(cls)  # type: ignore[union-attr]
