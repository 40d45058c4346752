"""``python -m graddoctor ...``: the same command line as the ``graddoctor`` script, for environments where the
script is not on PATH (a notebook's kernel, a venv that is not activated)."""
from .cli import main

if __name__ == "__main__":  # pragma: no cover
    main(prog_name="graddoctor")
