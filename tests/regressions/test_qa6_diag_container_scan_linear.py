"""Regression: diagnosing a 2,000-layer x 60-step run took 79-160 s (`graddoctor diagnose`, `report`; `live`
re-diagnoses every 5 s and froze): Context.is_container scanned every layer name for each layer, in every
chain() and relative_gradient_layers() call, so each call read L^2 names. The proper dotted prefixes of all
names are now collected once per layer list. The test counts name reads (no timing)."""
from __future__ import annotations

import numpy as np

from graddoctor.diagnosis.context import Context
from graddoctor.store.run_data import LayerInfo


class CountingLayer(LayerInfo):
    reads = 0

    def __getattribute__(self, item: str):
        if item == "name":
            CountingLayer.reads += 1
        return super().__getattribute__(item)


def _context(n: int) -> Context:
    layers = [CountingLayer(index=i, name=f"blocks.{i // 2}.fc{i % 2}", type="Linear",
                            info={"fan_in": 8, "params": {"weight": [8, 8], "bias": [8]}}) for i in range(n)]
    steps = np.arange(3)
    wn = np.ones((n, 3), dtype=np.float32)
    return Context(layers=layers, steps=steps, stats={"weight_norm": wn}, step_stats={})


def test_chain_reads_each_name_a_bounded_number_of_times() -> None:
    n = 600
    ctx = _context(n)
    CountingLayer.reads = 0
    chain = ctx.chain()
    rel = ctx.relative_gradient_layers(0)
    assert chain == list(range(n)) and rel == list(range(n))
    assert CountingLayer.reads < 20 * n, f"{CountingLayer.reads} name reads for {n} layers (quadratic scan)"


def test_containers_still_recognised() -> None:
    layers = [LayerInfo(index=0, name="block", type="Block", info={"params": {"scale": [8]}}),
              LayerInfo(index=1, name="block.fc", type="Linear", info={"fan_in": 8, "params": {"weight": [8, 8]}}),
              LayerInfo(index=2, name="blockx", type="Linear", info={"fan_in": 8, "params": {"weight": [8, 8]}}),
              LayerInfo(index=3, name="a.b", type="Linear", info={"fan_in": 8, "params": {"weight": [8, 8]}}),
              LayerInfo(index=4, name="a.bc.d", type="Linear", info={"fan_in": 8, "params": {"weight": [8, 8]}})]
    ctx = Context(layers=layers, steps=np.arange(1), stats={"weight_norm": np.ones((5, 1))}, step_stats={})
    assert [ctx.is_container(i) for i in range(5)] == [True, False, False, False, False]
    ctx.layers = ctx.layers[1:]  # another layer list: the prefixes are rebuilt
    assert not any(ctx.is_container(i) for i in range(4))
