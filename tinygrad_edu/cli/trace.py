"""`tinygrad-edu trace`: a program's forward and backward pass, printed as straight-line Python.

    tinygrad-edu trace "d = 2*b; e = a + d; L = c*e" --set a=3 b=1 c=-2

The program is in the expression language of `tinygrad_edu.expr`, read like
`render`'s. The command records its graph with `tinygrad_edu.trace`, prints the
generated code (one line per node forward, one line per edge backward), then
runs it and prints the result and the inputs' gradients. Exit code 0, or 2 for
a rejected program or bad options.
"""

from __future__ import annotations

import argparse

from tinygrad_edu.cli.arguments import UsageError, add_program_arguments, read_program
from tinygrad_edu.engine import number_text
from tinygrad_edu.expr import ExpressionError, parse_program, parse_settings
from tinygrad_edu.tracing import trace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tinygrad-edu trace`."""
    add_program_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Print the traced program's source, then its result and gradients; exit code 0."""
    source = read_program(args)
    try:
        program = parse_program(source)
        values = program.evaluate(parse_settings(args.settings))
    except ExpressionError as problem:
        raise UsageError(str(problem)) from None
    except (ValueError, ZeroDivisionError, OverflowError) as problem:  # log(0), 1/0, exp(1000)
        raise UsageError(f"while running the program: {problem}") from None
    result = values[program.output]
    if not result.label:
        result.label = "result"  # a bare final expression has no variable name
    traced = trace(lambda: result)
    print(traced.source, end="")
    value = traced()
    gradients = ", ".join(f"{leaf.label} = {number_text(leaf.grad)}"
                          for leaf in sorted(traced.leaves, key=lambda leaf: leaf.label))
    print(f"# {result.label} = {number_text(value)}; gradients: {gradients or 'none'}")
    return 0


__all__ = ["add_arguments", "run"]
