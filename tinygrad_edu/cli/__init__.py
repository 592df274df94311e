"""The `tinygrad-edu` command: the top layer, a thin one over the library's public functions.

One module per subcommand (`demo`, `render`, `gradcheck`, `train`, `trace`, `diagnose`,
`playground`), each with
an `add_arguments(parser)` that declares its options and a `run(args) -> int`
that calls public functions and returns the exit code; `arguments` holds what
they share. Nothing in the library imports this package.

Every way a command ends is one line and a documented exit code, never a
traceback: 0 success, 1 a failed check (a gradient off, the σ(z) − y check,
training that diverged), 2 bad usage or a rejected program, 130 Ctrl-C, and
3 for an error this code did not expect (a bug: the line says so).
"""

from __future__ import annotations

import signal
import sys
from typing import Optional, Sequence

from tinygrad_edu import __version__
from tinygrad_edu.cli import demo, diagnose, gradcheck, playground, render, trace, train
from tinygrad_edu.cli.arguments import OneLineParser, UsageError, caused_by_ctrl_c

SUBCOMMANDS = (
    ("demo", demo, "run a demo of the lecture (default: the quick ones)"),
    ("render", render, "draw a program's computation graph with values and gradients"),
    ("gradcheck", gradcheck, "compare a program's gradients with finite differences"),
    ("train", train, "train an MLP on a 2-feature dataset and plot it"),
    ("trace", trace, "print a program's forward and backward pass as straight-line Python"),
    ("diagnose", diagnose, "check your own micrograd-like Value class against this engine"),
    ("playground", playground, "train a classifier live in the browser, on this engine"),
)


def build_parser() -> OneLineParser:
    """The `tinygrad-edu` argument parser with all its subcommands."""
    parser = OneLineParser(
        prog="tinygrad-edu",
        description="A scalar autograd engine for learning backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"tinygrad-edu {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=OneLineParser)
    for name, module, summary in SUBCOMMANDS:
        command = commands.add_parser(name, help=summary, description=summary,
                                      **getattr(module, "PARSER_OPTIONS", {}))
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `tinygrad-edu` and `python -m tinygrad_edu`; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    where = f"tinygrad-edu {args.command}"
    try:
        return args.run(args)
    except UsageError as problem:
        print(f"{where}: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130  # the shell's code for "stopped by Ctrl-C"
    except MemoryError:
        print(f"{where}: error: out of memory; try a smaller input", file=sys.stderr)
        return 2
    except Exception as problem:  # a bug: still one line, and it says so
        if caused_by_ctrl_c(problem):
            print(f"{where}: interrupted", file=sys.stderr)
            return 130
        text = " ".join(str(problem).split())[:300]
        print(f"{where}: internal error (a bug, please report it): "
              f"{type(problem).__name__}: {text}", file=sys.stderr)
        return 3


def entry() -> None:
    """The `tinygrad-edu` program: main(), then exit with its code.

    Once main() has returned, the outcome is decided and printed: a Ctrl-C pressed
    while Python shuts down is ignored, so it cannot turn an exit 130 (or 0) into
    a death by signal.
    """
    try:
        code = main()
    except KeyboardInterrupt:  # pressed in the instant main() was returning
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


__all__ = ["build_parser", "entry", "main"]
