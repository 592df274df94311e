"""`tinygrad-edu trace`: a program's forward and backward pass, printed as straight-line Python.

    tinygrad-edu trace "d = 2*b; e = a + d; L = c*e" --set a=3 b=1 c=-2

The program is in the expression language of `tinygrad_edu.expr`, read like
`render`'s. The command records its graph with `tinygrad_edu.trace`, prints the
generated code (one line per node forward, one line per edge backward), then
runs it and prints the result and the inputs' gradients. Exit code 0, or 2 for
a rejected program, bad options, or a replay that overflows.
"""

from __future__ import annotations

import argparse

from tinygrad_edu.cli.arguments import UsageError, add_program_arguments, run_program
from tinygrad_edu.engine import number_text
from tinygrad_edu.tracing import trace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tinygrad-edu trace`."""
    add_program_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Print the traced program's source, then its result and gradients; exit code 0."""
    result = run_program(args)
    traced = trace(lambda: result).compile()  # run the code printed, even for a big graph
    print(traced.source, end="")
    try:
        value = traced()
    except (ArithmeticError, ValueError) as problem:  # an overflow, as render reports it
        raise UsageError(str(problem)) from None
    gradients = ", ".join(f"{leaf.label} = {number_text(leaf.grad)}"
                          for leaf in sorted(traced.leaves, key=lambda leaf: leaf.label))
    print(f"# {result.label} = {number_text(value)}; gradients: {gradients or 'none'}")
    return 0


__all__ = ["add_arguments", "run"]
