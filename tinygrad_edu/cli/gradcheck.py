"""`tinygrad-edu gradcheck`: a program's gradients against finite differences, as a table.

    tinygrad-edu gradcheck "x*y + log(x)" --set x=2 y=3

The program is in the expression language of `tinygrad_edu.expr`, read like
`render`'s. Exit code 0 when every gradient matches, 1 when one is off, 2 for
a rejected program or bad options.
"""

from __future__ import annotations

import argparse

from tinygrad_edu.cli.arguments import UsageError, add_program_arguments, read_program
from tinygrad_edu.engine import Value
from tinygrad_edu.expr import ExpressionError, parse_program, parse_settings
from tinygrad_edu.gradient_check import DOMAIN_ERRORS, GradcheckError, check_settings, gradcheck


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tinygrad-edu gradcheck`."""
    add_program_arguments(parser)
    parser.add_argument("--eps", type=float, default=1e-6,
                        help="finite-difference step (default: %(default)g)")
    parser.add_argument("--atol", type=float, default=1e-5,
                        help="absolute tolerance (default: %(default)g)")
    parser.add_argument("--rtol", type=float, default=1e-3,
                        help="relative tolerance (default: %(default)g)")


def run(args: argparse.Namespace) -> int:
    """Print the gradient table of a program at the given inputs; exit 0 if all match, else 1."""
    try:
        check_settings(args.eps, args.atol, args.rtol)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    try:
        program = parse_program(read_program(args))
        given = parse_settings(args.settings)
        program.evaluate(given)  # unset or misspelt inputs are reported before any checking
    except ExpressionError as problem:
        raise UsageError(str(problem)) from None
    except DOMAIN_ERRORS as problem:  # log(0), 1/0, exp(1000) at the given inputs
        raise UsageError(f"while running the program: {problem}") from None
    names = program.input_names
    if not names:
        raise UsageError("the program has no inputs to differentiate; use a name such as x "
                         "and give its value with --set x=2")

    def f(*leaves: Value) -> Value:
        return program.result(dict(zip(names, leaves)))

    inputs = [Value(given[name], label=name) for name in names]
    try:
        report = gradcheck(f, inputs, eps=args.eps, atol=args.atol, rtol=args.rtol)
    except GradcheckError as failure:
        print(failure.report)
        return 1
    except DOMAIN_ERRORS as problem:  # an eps too small for an input, a backward overflow
        raise UsageError(str(problem)) from None
    print(report)
    return 0


__all__ = ["add_arguments", "run"]
