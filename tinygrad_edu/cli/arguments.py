"""What the subcommands of `tinygrad-edu` share: a parser with one-line errors, and programs.

`render` and `gradcheck` (and later commands that take a program of the
expression language) declare the same options with `add_program_arguments`
and read the program with `read_program`: an argument, `-f FILE`, or stdin.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (`tinygrad-edu train: error: ...`), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


class UsageError(Exception):
    """A bad argument found after parsing; main() prints it as one line and exits 2."""


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


__all__ = ["OneLineParser", "UsageError", "add_program_arguments", "read_program"]
