"""A variant on a remedy that has none (``--remedy add_batchnorm:layer``, ``he_init:xavier``) was silently
ignored: the trial ran plain add_batchnorm under the name "add_batchnorm:layer"; and an unknown
use_lstm_or_gru variant was only noticed inside the trial (recorded as skipped) instead of as bad usage.
get_remedy now rejects both, so the CLI exits 2 before training, naming the variants."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.repair import get_remedy


@pytest.mark.parametrize(("spec", "hint"), [("add_batchnorm:layer", "it has none"), ("he_init:xavier", "it has none"),
                                            ("use_lstm_or_gru:rnn", "lstm, gru")])
def test_unknown_variant_is_rejected(spec: str, hint: str) -> None:
    with pytest.raises(ValueError, match=hint):
        get_remedy(spec)


@pytest.mark.parametrize("spec", ["use_relu_family:selu", "use_leaky_relu:elu", "use_lstm_or_gru:gru", "he_init"])
def test_known_variants_still_work(spec: str) -> None:
    assert get_remedy(spec).name == spec


def test_cli_exits_2_on_unknown_variant(tmp_path) -> None:
    (tmp_path / "net.py").write_text(
        "import torch, torch.nn as nn\nimport graddoctor as gd\n\ndef case():\n"
        "    return gd.Case(model_fn=lambda: nn.Linear(3, 2), train=(torch.randn(8, 3), torch.randint(0, 2, (8,))))\n")
    r = CliRunner().invoke(main, ["repair", f"{tmp_path / 'net.py'}:case", "--remedy", "add_batchnorm:layer"])
    assert r.exit_code == 2 and "has no variant" in r.output, r.output
