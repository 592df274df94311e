"""What the subcommands of `tinygrad-edu` share: a parser with one-line errors, and programs.

`render` and `gradcheck` (and later commands that take a program of the
expression language) declare the same options with `add_program_arguments`
and read the program with `read_program`: an argument, `-f FILE`, or stdin,
read no further than the language's size limit, so /dev/zero or an endless
pipe costs no more memory than the largest program allowed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, TextIO

from tinygrad_edu.engine import Value
from tinygrad_edu.expr import MAX_SOURCE_LENGTH, ExpressionError, parse_program, parse_settings


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (`tinygrad-edu train: error: ...`), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


class UsageError(Exception):
    """A bad argument found after parsing; main() prints it as one line and exits 2."""


def caused_by_ctrl_c(problem: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in `problem`'s chain of causes.

    A Ctrl-C pressed while a compiled extension module loads (matplotlib's, on the
    first plot) comes out as `ImportError: initialization failed` raised from the
    KeyboardInterrupt: it is still the user's Ctrl-C, not a bug.
    """
    seen: set[int] = set()
    link: Optional[BaseException] = problem
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


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
            with open(args.file, encoding="utf-8") as file:
                return _read_bounded(file, args.file)
        except (OSError, UnicodeDecodeError) as problem:
            reason = getattr(problem, "strerror", None) or _decode_reason(problem)
            raise UsageError(f"cannot read the program from {args.file}: {reason}") from None
    if args.program not in (None, "-"):
        return args.program
    if sys.stdin is None or (args.program is None and sys.stdin.isatty()):
        # Waiting silently for typed input would look like a hang.
        raise UsageError('no program: give one, e.g. "L = c * (a + 2*b)", '
                         'or -f FILE, or pipe it in')
    try:
        return _read_bounded(sys.stdin, "standard input")
    except (OSError, UnicodeDecodeError) as problem:
        reason = getattr(problem, "strerror", None) or _decode_reason(problem)
        raise UsageError(f"cannot read the program from standard input: {reason}") from None


def run_program(args: argparse.Namespace) -> Value:
    """Read, check and run the program the arguments give; its result, labelled.

    A program outside the language, unset inputs, or a domain error while
    running it (log(0), 1/0, exp(1000)) is a UsageError.
    """
    source = read_program(args)
    try:
        program = parse_program(source)
        values = program.evaluate(parse_settings(args.settings))
    except ExpressionError as problem:
        raise UsageError(str(problem)) from None
    except (ValueError, ZeroDivisionError, OverflowError) as problem:
        raise UsageError(f"while running the program: {problem}") from None
    result = values[program.output]
    if not result.label:
        result.label = "result"  # a bare final expression has no variable name
    return result


def _read_bounded(stream: TextIO, source: str) -> str:
    """At most MAX_SOURCE_LENGTH characters of `stream`; UsageError if there are more."""
    text = stream.read(MAX_SOURCE_LENGTH + 1)
    if len(text) > MAX_SOURCE_LENGTH:
        raise UsageError(f"the program in {source} is longer than the limit of "
                         f"{MAX_SOURCE_LENGTH} characters")
    return text


def _decode_reason(problem: Exception) -> str:
    """Why text could not be read, in one short line."""
    if isinstance(problem, UnicodeDecodeError):
        return f"not UTF-8 text ({problem.reason} at {problem.object[problem.start:][:1]!r})"
    return str(problem)


__all__ = ["OneLineParser", "UsageError", "add_program_arguments", "read_program",
           "run_program"]
