"""``convforge run SCRIPT [ARGS...]``: run an unmodified PyTorch script on convforge."""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .. import compat


def cmd_run(args: argparse.Namespace) -> int:
    """Run the script with torch resolved to convforge; its errors print as under ``python``."""
    if not args.command:
        print("convforge run: error: give the script to run: convforge run SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    script, *script_args = args.command
    if not os.path.isfile(script):
        print(f"convforge run: error: no such script: {script!r}", file=sys.stderr)
        return 2
    try:
        return compat.run_script(script, script_args)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # the script's own error: its traceback, as python prints it
        traceback.print_exception(type(error), error, compat.script_traceback(error.__traceback__))
        return 1


def add_run(commands) -> None:
    parser = commands.add_parser(
        "run",
        usage="convforge run [-h] SCRIPT [ARGS...]",
        help="run a PyTorch script with torch resolved to convforge",
        description=(
            "Run an unmodified PyTorch script with torch, torch.nn, torch.nn.functional, "
            "torch.optim, torch.utils.data and torchvision resolved to convforge. A name "
            "convforge lacks stops the run with one line naming it, the file and the line."
        ),
        epilog="example: convforge run train_mnist.py --epochs 1",
    )
    # one REMAINDER positional, so that every argument after the script is the script's own
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS...]", help="the script and its arguments"
    )
    parser.set_defaults(handler=cmd_run)


COMMANDS = (add_run,)
