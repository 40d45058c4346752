"""The ``graddoctor`` command line. Each subcommand lives in ``graddoctor.commands.<name>`` and exposes
``command`` (a click command or group); they are imported only when used, so ``graddoctor --help`` is fast
and a broken optional part never breaks the others.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
import warnings
from pathlib import Path
from typing import TextIO

import click

from . import __version__

#: Subcommand name -> (module, one-line help shown by ``graddoctor --help``).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("graddoctor.commands.demo", "Run the main job on built-in data: watch, diagnose, repair, report."),
    "check": ("graddoctor.commands.check", "Check a model from one batch before training."),
    "diagnose": ("graddoctor.commands.diagnose", "Diagnose a recorded run from its store."),
    "repair": ("graddoctor.commands.repair", "Try remedies in controlled trials and keep the one that works."),
    "report": ("graddoctor.commands.report", "Write a self-contained HTML report (and PNG figures)."),
    "live": ("graddoctor.commands.live", "Live terminal view of a run being written."),
    "lab": ("graddoctor.commands.lab", "Reproduce the classic experiments next to their published numbers."),
    "stats": ("graddoctor.commands.stats", "Print the per-layer statistics table of a recorded run."),
}


#: Exit status of a command stopped by Ctrl-C (128 + SIGINT, as a shell reports it). click's "Aborted!" exited 1,
#: which diagnose and check document as "problems found": a script or CI job read an interrupted diagnosis as one
#: that found a problem. (``live`` and ``repair`` catch Ctrl-C themselves and end as their --help says.)
EXIT_INTERRUPTED = 130


#: The installed graddoctor package: a warning raised from code in here is printed as ``warning: MESSAGE``.
PACKAGE_DIR = str(Path(__file__).resolve().parent)


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
    """Print a warning the way the commands print everything else. A warning that graddoctor raises (a diagnosis
    that could not be saved into a read-only store) came out in Python's format, with the path and line of
    graddoctor's own source and that line of code under it. Warnings from elsewhere (the user's recipe file, a
    library) keep Python's format: their file and line are the user's to open."""
    if not str(Path(filename).resolve()).startswith(PACKAGE_DIR):
        click.echo(warnings.formatwarning(message, category, filename, lineno, line), err=True, nl=False)
        return
    click.echo(f"warning: {message}", err=True)


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = show_warning
                return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted (Ctrl-C)", err=True)
            ctx.exit(EXIT_INTERRUPTED)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (mod, _) in SUBCOMMANDS.items() if importlib.util.find_spec(mod) is not None]

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                           list[str]]:
        """As click's, and a misspelt command (``reprot``) names the closest ones (click said only "No such
        command")."""
        name = click.utils.make_str(args[0]) if args else ""
        if args and name not in SUBCOMMANDS and not name.startswith("-"):
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=2, cutoff=0.6)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {' or '.join(repr(c) for c in close)}?")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS:
            return None
        mod, short = SUBCOMMANDS[name]
        try:
            cmd = importlib.import_module(mod).command
        except ModuleNotFoundError as e:
            if e.name == mod:
                return None
            raise
        if not cmd.short_help:
            cmd.short_help = short
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="graddoctor")
def main() -> None:
    """graddoctor: find, explain and repair vanishing and exploding gradients in PyTorch models."""
    # Output that cannot encode the tables' characters (‖∂L/∂out‖, σ′, sparklines), such as a file redirect on
    # Windows (cp1252) or PYTHONIOENCODING=ascii, ended every command in a UnicodeEncodeError traceback: such
    # characters are now written as '?' instead.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (getattr(stream, "errors", None) or "strict") == "strict":
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # a stream that cannot change (closed, or not a text file)
                pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
