"""The ``convforge`` command line, one module per command family.

    convforge train                      train LeNet on the bundled digits (the main job)
    convforge evaluate CKPT              accuracy of a saved model on its test set
    convforge predict CKPT IMAGE...      classify PNG/JPEG images with a saved model
    convforge shape | explain | animate | filter | summary | features
                                         see what a convolution does (shapes, sums, GIFs, images)
    convforge run SCRIPT [ARGS...]       run a PyTorch script with torch resolved to convforge

Bad arguments end the program with a one-line message and exit status 2; errors found
while running (a corrupt file, say) with a one-line message and exit status 1.

Families: :mod:`.training` (train, evaluate, predict), :mod:`.geometry` (shape, explain,
animate), :mod:`.filtering` (filter), :mod:`.model_views` (summary, features),
:mod:`.compat_run` (run); argument
types and :class:`CommandError` in :mod:`._common`.

Adding a command: in its family's module (or a new ``cli/<family>.py``) write
``cmd_<name>(args) -> int`` and ``add_<name>(commands)``, which adds the subparser and
``set_defaults(handler=cmd_<name>)``, and list ``add_<name>`` in the module's
``COMMANDS`` tuple; a new module is then added to the import list below and to
``_FAMILIES``. Raise :class:`CommandError` for a one-line error (exit status 1).
"""

from __future__ import annotations

import argparse
import sys

from . import compat_run, filtering, geometry, model_views, training
from ._common import CommandError

_FAMILIES = (training, geometry, filtering, model_views, compat_run)

__all__ = ["CommandError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser with every family's commands, in the order of ``_FAMILIES``."""
    parser = argparse.ArgumentParser(
        prog="convforge", description="Convolution, exact and fast: train and inspect CNNs on NumPy."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for family in _FAMILIES:
        for add_command in family.COMMANDS:
            add_command(commands)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status (0, 1 for an error while running, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (CommandError, ValueError, TypeError, OSError) as error:
        print(f"convforge {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
