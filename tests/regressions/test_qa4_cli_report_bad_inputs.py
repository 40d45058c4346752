"""Regression: ``graddoctor report RUN --repair run.sqlite`` (a binary file, e.g. a slip of tab completion) ended
in a UnicodeDecodeError traceback, and ``--png-dir`` under a file failed only after the diagnosis and the drawing,
as "cannot write the report" (the report was not the problem). Both are now usage errors naming the option."""
import numpy as np
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.store.base import Batch
from graddoctor.store.sqlite import SQLiteStore


def _store(path):
    s = SQLiteStore(path)
    s.begin({"status": "running"}, [{"index": 0, "name": "fc", "type": "Linear", "order": 0}])
    s.write(Batch(steps=np.arange(3), wall_time=np.arange(3.0), layer_stats={"signal_norm": np.ones((3, 1))},
                  step_stats={"loss": np.ones(3)}))
    s.close("finished")
    return str(path)


def test_binary_repair_file_is_a_usage_error(tmp_path):
    run = _store(tmp_path / "run.sqlite")
    res = CliRunner().invoke(main, ["report", run, "-o", str(tmp_path / "r.html"), "--repair", run])
    assert res.exit_code == 2, res.output
    assert "--repair" in res.output and "UnicodeDecodeError" not in repr(res.exception)


def test_png_dir_under_a_file_names_the_option(tmp_path):
    run = _store(tmp_path / "run.sqlite")
    (tmp_path / "afile").write_text("x")
    res = CliRunner().invoke(main, ["report", run, "-o", str(tmp_path / "r.html"),
                                    "--png-dir", str(tmp_path / "afile" / "png")])
    assert res.exit_code == 2, res.output
    assert "--png-dir" in res.output and "cannot write the report" not in res.output


def test_png_dir_with_no_figures_is_a_usage_error(tmp_path):
    """--no-figures --png-dir DIR created an empty DIR and said "figures: 0 PNG files in DIR"."""
    run = _store(tmp_path / "run.sqlite")
    res = CliRunner().invoke(main, ["report", run, "-o", str(tmp_path / "r.html"), "--no-figures",
                                    "--png-dir", str(tmp_path / "png")])
    assert res.exit_code == 2 and "--no-figures" in res.output, res.output
    assert not (tmp_path / "png").exists()
