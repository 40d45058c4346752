"""Regression (QA of the Hugging Face integration): a tiny BERT at its standard init (N(0, 0.02)) got a
*critical* vanishing_gradient from ``check`` and from short watched runs. The depth chain listed attention's
query, key and value projections as if each fed the next: the query/key projections reach the loss only through
the softmax scores, ~100x below the value path at this init (4e-6 against 2e-4), and the robust fit over
13 "layers" read that as a 7.6e-4 first/last ratio. They are now left out of the chain
(``ATTENTION_SCORE_PROJECTIONS``). The same model's input gradient, 1,149x larger at the pooled [CLS] position
than at the last, was reported as a time-axis ``exploding_gradient`` warning although the model has no recurrent
layer; for the model's input that is now an info-level measurement, as the vanishing case already was."""
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd
from graddoctor.diagnosis.context import ATTENTION_SCORE_PROJECTIONS


class SelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
    def forward(self, x):
        B, T, D = x.shape
        def sh(t):
            return t.view(B, T, self.h, D // self.h).transpose(1, 2)

        q, k, v = sh(self.query(x)), sh(self.key(x)), sh(self.value(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // self.h), -1)
        return (a @ v).transpose(1, 2).reshape(B, T, D)

class Block(nn.Module):  # BERT's post-LN block
    def __init__(self, d, heads):
        super().__init__()
        self.attn, self.dense, self.ln1 = SelfAttention(d, heads), nn.Linear(d, d), nn.LayerNorm(d)
        self.inter, self.out, self.ln2 = nn.Linear(d, 2 * d), nn.Linear(2 * d, d), nn.LayerNorm(d)
    def forward(self, x):
        x = self.ln1(x + self.dense(self.attn(x)))
        return self.ln2(x + self.out(F.gelu(self.inter(x))))

class TinyBert(nn.Module):
    def __init__(self, vocab=200, d=16, layers=2, heads=2, classes=3):
        super().__init__()
        self.emb, self.ln = nn.Embedding(vocab, d), nn.LayerNorm(d)
        self.blocks = nn.Sequential(*[Block(d, heads) for _ in range(layers)])
        self.pool, self.head = nn.Linear(d, d), nn.Linear(d, classes)
        for m in self.modules():  # BERT's init: N(0, 0.02), zero biases
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)
    def forward(self, ids):
        h = self.blocks(self.ln(self.emb(ids)))
        return self.head(torch.tanh(self.pool(h[:, 0])))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiny_bert_is_not_flagged(seed: int) -> None:
    torch.manual_seed(seed)
    model = TinyBert()
    x, y = torch.randint(0, 200, (16, 12)), torch.randint(0, 3, (16,))
    diag = gd.check(model, x, y, F.cross_entropy)
    assert not [f for f in diag.findings if f.severity != "info"], diag.findings
    pos = [f for f in diag.findings if f.axis == "time"]
    assert pos and all(f.severity == "info" and f.layers == [] for f in pos)


def test_query_key_names_are_not_chain_links() -> None:
    assert {"query", "key", "q_proj", "k_proj"} <= ATTENTION_SCORE_PROJECTIONS
    assert not {"value", "v_proj", "dense", "out_proj"} & ATTENTION_SCORE_PROJECTIONS


def test_deep_sigmoid_attention_free_net_still_vanishes() -> None:
    # layers named like projections only matter when they are query/key; a plain deep sigmoid stack still fires
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(10) for m in (nn.Linear(32, 32), nn.Sigmoid())], nn.Linear(32, 3))
    diag = gd.check(model, torch.randn(64, 32), torch.randint(0, 3, (64,)), F.cross_entropy)
    assert any(f.kind == "vanishing_gradient" and f.severity != "info" for f in diag.findings)


def test_hf_bert_tiny_is_not_flagged() -> None:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=200, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=32, max_position_embeddings=64, num_labels=3)
    model = transformers.BertForSequenceClassification(cfg)
    x, y = torch.randint(0, 200, (16, 12)), torch.randint(0, 3, (16,))
    diag = gd.check(model, {"input_ids": x, "labels": y}, y, lambda out, _: out.loss)
    assert not [f for f in diag.findings if f.severity != "info"], diag.findings
