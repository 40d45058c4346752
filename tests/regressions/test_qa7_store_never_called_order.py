"""Regression: a layer the forward never calls as a module (nn.MultiheadAttention's out_proj: the attention uses
its weight directly) was placed after the model's output layer in "forward order", so a two-layer transformer's
tables, figures and reports listed both out_proj rows after the head. It now follows its nearest called
ancestor (the attention), and stays a never-called layer (order None) for the diagnosis."""
import torch
from torch import nn

import graddoctor as gd


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Linear(8, 16)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 2,
                                         enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.enc(self.emb(x)).mean(1))


def test_out_proj_follows_its_attention():
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with gd.watch(model, opt) as run:
        nn.functional.cross_entropy(model(torch.randn(4, 5, 8)), torch.zeros(4, dtype=torch.long)).backward()
        opt.step()
    data = run.data
    names = data.layer_names
    assert names[-1] == "head", names
    for block in ("enc.layers.0", "enc.layers.1"):
        att = names.index(f"{block}.self_attn")
        assert names[att + 1] == f"{block}.self_attn.out_proj", names
    out_proj = [layer for layer in data.layers if layer.name.endswith("out_proj")]
    assert out_proj and all(layer.order is None for layer in out_proj)
