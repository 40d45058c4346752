"""Regression: ``graddoctor lab run NAME --threads N`` was ignored by resnet, rnn-memory, batchnorm and
transformer-ln, whose ``run()`` called ``torch.set_num_threads(1)`` itself (a full rnn-memory run is ~13 min on
one thread, whatever --threads asked for), and through the API (``run_experiment``) those four left the caller's
process on one thread for good. Experiments no longer set the thread count; ``lab run --threads`` (default 1)
and ``python -m graddoctor.lab.experiments.NAME --threads`` (default 1) do, and ``run_experiment`` restores the
caller's count afterwards."""
import pytest
import torch
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.lab import runner
from graddoctor.lab.experiments import batchnorm, resnet, rnn_memory, transformer_ln


class _Stop(Exception):
    pass


#: experiment name -> (module, the first function its run() calls after where it used to set the threads)
FIRST_CALL = {"resnet": (resnet, "mnist1d"), "rnn-memory": (rnn_memory, "train"),
              "batchnorm": (batchnorm, "scale_invariance"), "transformer-ln": (transformer_ln, "lemmas")}


@pytest.mark.parametrize("name", sorted(FIRST_CALL))
def test_threads_option_reaches_the_experiment(name, monkeypatch, tmp_path) -> None:
    module, first = FIRST_CALL[name]
    seen: list[int] = []

    def record(*args, **kwargs):
        seen.append(torch.get_num_threads())
        raise _Stop

    monkeypatch.setattr(module, first, record)
    before = torch.get_num_threads()
    try:
        res = CliRunner().invoke(main, ["lab", "run", name, "--quick", "--threads", "2", "--out", str(tmp_path)])
        assert isinstance(res.exception, _Stop), res.output
        assert seen == [2]
        torch.set_num_threads(3)
        with pytest.raises(_Stop):
            runner.run_experiment(name, quick=True)
        assert torch.get_num_threads() == 3  # the API leaves the caller's thread count as it was
    finally:
        torch.set_num_threads(before)
