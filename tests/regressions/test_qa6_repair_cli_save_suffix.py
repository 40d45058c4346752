"""Regression: ``graddoctor repair ... --save repaired.json`` saved the state_dict to repaired.json and then wrote
its description to the same path (``<stem>.json``): after the whole repair had run the model was gone, and
"saved:" listed repaired.json twice. A --save path ending in .json or .txt is refused before any training."""
import click
import pytest

from graddoctor.commands.repair import check_writable


@pytest.mark.parametrize("name", ["repaired.json", "repaired.TXT"])
def test_save_path_that_its_description_would_overwrite_is_refused(tmp_path, name) -> None:
    with pytest.raises(click.UsageError, match="overwritten by its own description"):
        check_writable(str(tmp_path / name))


def test_ordinary_save_path_is_accepted(tmp_path) -> None:
    check_writable(str(tmp_path / "sub" / "repaired.pt"))
    assert (tmp_path / "sub").is_dir()
