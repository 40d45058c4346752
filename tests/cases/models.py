"""Small models for the diagnosis corpus (tests/cases). Widths and depths are kept small so the whole corpus
checks in seconds on one CPU thread; each builder documents the published configuration it scales down."""
from __future__ import annotations

import math

import torch
from torch import nn


def init_linear(m: nn.Linear, how: str) -> nn.Linear:
    """Initialise one Linear layer: 'xavier' N(0, 2/(in+out)), 'he' N(0, 2/in), 'std' U[+-1/sqrt(in)]
    (Glorot's standard init, eq. 1), 'nielsen' N(0, 1/in) with biases N(0, 1), 'n01' N(0, 1), 'default'
    (torch's own)."""
    fi, fo = m.in_features, m.out_features
    with torch.no_grad():
        if how == "xavier":
            m.weight.normal_(0, math.sqrt(2 / (fi + fo)))
            m.bias.zero_()
        elif how == "he":
            m.weight.normal_(0, math.sqrt(2 / fi))
            m.bias.zero_()
        elif how == "std":
            m.weight.uniform_(-1 / math.sqrt(fi), 1 / math.sqrt(fi))
            m.bias.zero_()
        elif how == "nielsen":
            m.weight.normal_(0, 1 / math.sqrt(fi))
            m.bias.normal_(0, 1)
        elif how == "n01":
            m.weight.normal_(0, 1)
            m.bias.normal_(0, 1)
    return m


def mlp(widths: list[int], act: type[nn.Module] | None, init: str = "default", norm: bool = False,
        final_act: type[nn.Module] | None = None) -> nn.Sequential:
    """Linear layers of the given widths with ``act`` between them (and LayerNorm before it if ``norm``)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(init_linear(nn.Linear(a, b), init))
        if i < len(widths) - 2:
            if norm:
                layers.append(nn.LayerNorm(b))
            if act is not None:
                layers.append(act())
    if final_act is not None:
        layers.append(final_act())
    return nn.Sequential(*layers)


class FunctionalSigmoidNet(nn.Module):
    """A deep sigmoid MLP whose activations are calls to torch.sigmoid inside forward (no modules)."""

    def __init__(self, width: int = 32, depth: int = 6, n_in: int = 20, n_out: int = 4) -> None:
        super().__init__()
        self.inp = nn.Linear(n_in, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth - 1))
        self.out = nn.Linear(width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(self.inp(x))
        for layer in self.hidden:
            x = torch.sigmoid(layer(x))
        return self.out(x)


class LogNet(nn.Module):
    """log() of a layer output that is negative for some samples: NaN appears inside the model."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.log(self.a(x)))


class NielsenChain(nn.Module):
    """Nielsen's exploding example (ch. 5): a chain of single sigmoid neurons with w = 100 and biases that keep
    every z at 0, so each factor w·σ'(z) is 100/4 = 25."""

    def __init__(self, depth: int = 6) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(1, 1) for _ in range(depth))
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.fill_(100.0)
                layer.bias.fill_(-50.0)  # a = sigma(0) = 0.5 from the previous layer; the input is 0.5 too
        self.act = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = self.act(layer(x))
        return x


class ConvNet(nn.Module):
    """Plain CNN: ``depth`` 3x3 conv layers, optional BatchNorm, then global pooling and a linear head."""

    def __init__(self, depth: int = 4, ch: int = 8, act: type[nn.Module] = nn.ReLU, bn: bool = True,
                 bias: float | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for _ in range(depth):
            conv = nn.Conv2d(c_in, ch, 3, padding=1, bias=not bn or bias is not None)
            if bias is not None:
                nn.init.constant_(conv.bias, bias)
            layers += [conv] + ([nn.BatchNorm2d(ch)] if bn else []) + [act()]
            c_in = ch
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(ch, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3)))


class Block(nn.Module):
    """Residual block: x + conv(act(conv(x))), with or without BatchNorm."""

    def __init__(self, ch: int, bn: bool) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1, bias=not bn)
        self.b1 = nn.BatchNorm2d(ch) if bn else nn.Identity()
        self.r1 = nn.ReLU()
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1, bias=not bn)
        self.b2 = nn.BatchNorm2d(ch) if bn else nn.Identity()
        self.r2 = nn.ReLU()
        if not bn:  # keep the residual branch small, as Fixup/SkipInit do, so the sum stays bounded
            nn.init.zeros_(self.c2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.r2(x + self.b2(self.c2(self.r1(self.b1(self.c1(x))))))


class ResNet(nn.Module):
    """A small ResNet: stem conv, ``blocks`` residual blocks, pooled linear head."""

    def __init__(self, blocks: int = 6, ch: int = 8, bn: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, ch, 3, padding=1)
        self.blocks = nn.Sequential(*[Block(ch, bn) for _ in range(blocks)])
        self.head = nn.Linear(ch, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


class SeqModel(nn.Module):
    """A recurrent layer (RNN/LSTM/GRU, batch_first) and a linear readout of the last time step."""

    def __init__(self, cell: str = "RNN", hidden: int = 32, n_in: int = 2, **kw: object) -> None:
        super().__init__()
        cls = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[cell]
        self.rnn = cls(n_in, hidden, batch_first=True, **kw)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)
        return self.out(h[:, -1]).squeeze(-1)


class PascanuUnit(nn.Module):
    """Pascanu et al. (2013, sec. 2.3) single unit x_t = w·σ(x_{t-1}) + b, x_0 = 0.5, T = 50; the output is
    σ(x_T) and the loss (σ(x_50) − 0.7)². At (w, b) = (4.69, −2.42) the gradient sits on the cliff wall
    (published_results.md §4.4: max ||∇E|| = 4.4e2 there, median 3.7e-3)."""

    def __init__(self, w: float = 4.69, b: float = -2.42, T: int = 50) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))
        self.b = nn.Parameter(torch.tensor(b))
        self.T = T

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for _ in range(self.T):
            x = self.w * torch.sigmoid(x) + self.b
        return torch.sigmoid(x)


class Transformer(nn.Module):
    """Token embedding + ``nn.TransformerEncoder`` (Pre-LN with ``norm_first=True``) + linear head."""

    def __init__(self, layers: int = 2, d: int = 32, norm_first: bool = True, vocab: int = 50) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        enc = nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.0, batch_first=True, norm_first=norm_first)
        self.enc = nn.TransformerEncoder(enc, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(tokens))).reshape(-1, self.head.out_features)
