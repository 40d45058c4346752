"""Small models of every family graddoctor must watch (shared by several tests)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


def mlp() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    m = nn.Sequential(nn.Linear(12, 32), nn.Sigmoid(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 3))
    return m, torch.randn(16, 12), torch.randint(0, 3, (16,))


def cnn() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.3),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )
    return m, torch.randn(8, 3, 16, 16), torch.randint(0, 4, (8,))


def conv1d() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    m = nn.Sequential(nn.Conv1d(2, 6, 5), nn.BatchNorm1d(6), nn.ReLU(), nn.AvgPool1d(2), nn.Flatten(),
                      nn.Linear(6 * 14, 3))
    return m, torch.randn(8, 2, 32), torch.randint(0, 3, (8,))


class LSTMNet(nn.Module):
    def __init__(self, cls: type[nn.RNNBase] = nn.LSTM) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.rnn = cls(8, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.emb(x))  # tuple output
        return self.head(out[:, -1])


def lstm() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return LSTMNet(), torch.randint(0, 20, (6, 10)), torch.randint(0, 3, (6,))


def gru() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return LSTMNet(nn.GRU), torch.randint(0, 20, (6, 10)), torch.randint(0, 3, (6,))


class PackedRNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(4, 8, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = torch.tensor([x.shape[1]] * (x.shape[0] - 1) + [x.shape[1] // 2])
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)  # PackedSequence output
        return self.head(h[-1])


def packed_rnn() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return PackedRNN(), torch.randn(5, 9, 4), torch.randint(0, 2, (5,))


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(30, 16)
        layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(x)).mean(dim=1))


def transformer() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return Encoder(), torch.randint(0, 30, (4, 7)), torch.randint(0, 3, (4,))


class Attention(nn.Module):
    """Hand-written single-head attention with a residual and pre-LayerNorm."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.head = nn.Linear(d, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln(x)
        att = torch.softmax(self.q(h) @ self.k(h).transpose(-1, -2) / h.shape[-1] ** 0.5, dim=-1)
        x = x + self.o(att @ self.v(h))
        return self.head(x.mean(dim=1))


def attention() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return Attention(), torch.randn(3, 5, 16), torch.randint(0, 2, (3,))


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)  # one module called twice, in place

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


def resnet() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), Block(8), Block(8), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 3))
    return m, torch.randn(4, 3, 8, 8), torch.randint(0, 3, (4,))


@dataclass
class Out:
    logits: torch.Tensor
    aux: torch.Tensor


class Fancy(nn.Module):
    """Tied weights, a module called twice, a frozen layer, an unused layer, dict and dataclass outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.shared = nn.Linear(8, 8)
        self.frozen = nn.Linear(8, 8)
        self.frozen.requires_grad_(False)
        self.unused = nn.Linear(8, 8)
        self.dec = nn.Linear(8, 10, bias=False)
        self.dec.weight = self.emb.weight  # tied

    def forward(self, x: torch.Tensor) -> Out:
        h = self.emb(x).mean(dim=1)
        h = torch.relu(self.shared(torch.relu(self.shared(h))))  # called twice
        h = self.frozen(h)
        return Out(logits=self.dec(h), aux=h)


class DictOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(5, 5)
        self.head = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.body(x)
        return {"logits": self.head(torch.tanh(h)), "hidden": h}


def fancy() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return Fancy(), torch.randint(0, 10, (4, 3)), torch.randint(0, 10, (4,))


def dict_out() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return DictOut(), torch.randn(6, 5), torch.randint(0, 2, (6,))


def logits(out: object) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        return out["logits"]
    return out.logits  # type: ignore[attr-defined]


ZOO = {"mlp": mlp, "cnn": cnn, "conv1d": conv1d, "lstm": lstm, "gru": gru, "packed_rnn": packed_rnn,
       "transformer": transformer, "attention": attention, "resnet": resnet, "fancy": fancy, "dict_out": dict_out}
