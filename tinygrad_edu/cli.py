"""The `tinygrad-edu` command: a thin layer of argparse over the project's public functions.

Each subcommand has an `_add_NAME_arguments(parser)` that declares its options
and a `_run_NAME(args) -> int` that calls public functions and returns the exit
code. Bad arguments exit with code 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path
from typing import Optional, Sequence

DEMOS_DIR = Path(__file__).resolve().parent.parent / "demos"

# Demos fast enough to run one after another when `tinygrad-edu demo` has no name.
QUICK_DEMOS = ("computation_graph", "two_paths", "logistic_regression", "softmax_regression",
               "two_layer_mlp", "train_classifier")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (`tinygrad-edu train: error: ...`), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


class UsageError(Exception):
    """A bad argument found after parsing; main() prints it as one line and exits 2."""


# ------------------------------------------- the program of render and gradcheck
def add_program_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare how a command takes a program of the expression language and its inputs."""
    parser.add_argument("program", nargs="?",
                        help='the program, e.g. "d = 2*b; e = a + d; L = c*e"; '
                             'omit it or give "-" to read it from standard input')
    parser.add_argument("-f", "--file", metavar="PROGRAM.txt",
                        help="read the program from this file instead")
    parser.add_argument("--set", dest="settings", metavar="NAME=VALUE", nargs="+",
                        action="extend", default=[],
                        help="the inputs' values, e.g. --set a=3 b=1 c=-2")


def read_program(args: argparse.Namespace) -> str:
    """The program's text, from the argument, from -f FILE, or from standard input."""
    if args.file is not None:
        if args.program not in (None, "-"):
            raise UsageError("give the program either as an argument or with -f, not both")
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as problem:
            reason = getattr(problem, "strerror", None) or str(problem)
            raise UsageError(f"cannot read the program from {args.file}: {reason}") from None
    if args.program not in (None, "-"):
        return args.program
    if sys.stdin is None or (args.program is None and sys.stdin.isatty()):
        # Waiting silently for typed input would look like a hang.
        raise UsageError('no program: give one, e.g. "L = c * (a + 2*b)", '
                         'or -f FILE, or pipe it in')
    return sys.stdin.read()


# ------------------------------------------------------------------------ demo
def _add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="a demo under demos/ (omit to run the quick ones)")
    parser.add_argument("demo_args", nargs=argparse.REMAINDER,
                        help="arguments passed on to the demo")


def _run_demo(args: argparse.Namespace) -> int:
    available = sorted(p.stem for p in DEMOS_DIR.glob("*.py") if not p.stem.startswith("_"))
    if not DEMOS_DIR.is_dir():
        raise UsageError(f"no demos folder at {DEMOS_DIR}: the demos ship with a source "
                         f"checkout (pip install -e .)")
    if args.name is None:
        for name in QUICK_DEMOS:
            code = _run_demo_file(name, [])
            if code:
                return code
        others = [name for name in available if name not in QUICK_DEMOS]
        if others:
            print("\nMore demos: " + ", ".join(others))
            print("Run one with: tinygrad-edu demo NAME")
        return 0
    if args.name not in available:
        raise UsageError(f"unknown demo {args.name!r}; choose from: {', '.join(available)}")
    return _run_demo_file(args.name, args.demo_args)


def _run_demo_file(name: str, demo_args: list[str]) -> int:
    """Run demos/NAME.py as a script with the given arguments; return its exit code."""
    path = DEMOS_DIR / f"{name}.py"
    saved_argv = sys.argv
    sys.argv = [str(path), *demo_args]
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as stop:
        if stop.code is None:
            return 0
        if isinstance(stop.code, int):
            return stop.code
        print(stop.code, file=sys.stderr)
        return 1
    finally:
        sys.argv = saved_argv
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The `tinygrad-edu` argument parser with all its subcommands."""
    parser = OneLineParser(
        prog="tinygrad-edu",
        description="A scalar autograd engine for learning backpropagation.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=OneLineParser)
    demo = commands.add_parser("demo", help="run a demo of the lecture (default: the quick ones)")
    _add_demo_arguments(demo)
    demo.set_defaults(run=_run_demo)

    # Each of these modules owns its subcommand's options (add_arguments) and action (run).
    # They are imported here, not at the top, because viz.commands imports this module.
    import viz.commands
    from tinygrad_edu import gradient_check, train

    for name, module, summary in (
        ("render", viz.commands, "draw a program's computation graph with values and gradients"),
        ("gradcheck", gradient_check, "compare a program's gradients with finite differences"),
        ("train", train, "train an MLP on a 2-feature dataset and plot it"),
    ):
        command = commands.add_parser(name, help=summary, description=summary)
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
    try:
        return args.run(args)
    except UsageError as problem:
        print(f"tinygrad-edu {args.command}: error: {problem}", file=sys.stderr)
        return 2
