"""Gradient checking: compare autograd's gradients with finite differences.

    >>> from tinygrad_edu import gradcheck
    >>> report = gradcheck(lambda x, y: x * y + x.log(), [2.0, 3.0])

For each input x_i, autograd's d f / d x_i (one `backward()`) is compared with
the central difference

    (f(x_i + eps) - f(x_i - eps)) / (2 eps)

computed in float64. The two agree when |analytic - numeric| <= atol + rtol * |numeric|
(the rule of `torch.autograd.gradcheck`). When they don't, the check looks at the
two one-sided slopes, (f(x + eps) - f(x)) / eps and (f(x) - f(x - eps)) / eps:
if those disagree with each other, f is not smooth at x on the scale of eps (relu
at 0 is the classic case) and the report says so instead of just failing. An
autograd gradient equal to one of the two one-sided slopes is accepted there, since
at a kink any engine must pick a side (this one picks relu'(0) = 0, the left slope).
If f cannot even be evaluated at x + eps or x - eps (log just above 0), the report
names the domain edge and uses the slope on the side that works.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

from tinygrad_edu.checks import real_number
from tinygrad_edu.engine import Value, grad

# What f may raise when a shifted input leaves its domain; anything else is a bug in f.
DOMAIN_ERRORS = (ValueError, ZeroDivisionError, OverflowError)


class GradcheckError(AssertionError):
    """Autograd and finite differences disagree for at least one input; `.report` has the table."""

    def __init__(self, report: GradcheckReport) -> None:
        names = ", ".join(check.name for check in report.failures)
        super().__init__(f"autograd and finite differences disagree for {names}:\n{report}")
        self.report = report


@dataclass(frozen=True)
class InputCheck:
    """The comparison for one input: autograd's gradient against the finite difference."""

    name: str
    value: float
    analytic: float  # from backward()
    numeric: float  # the finite difference the verdict used (central, or one-sided, see note)
    abs_error: float
    rel_error: float  # abs_error / |numeric|
    passed: bool
    note: str = ""  # why the central difference was not used, or why it failed to confirm


@dataclass(frozen=True)
class GradcheckReport:
    """Every input's check, plus the settings used; `str(report)` is a readable table."""

    checks: tuple[InputCheck, ...]
    output: float  # f at the inputs
    eps: float
    atol: float
    rtol: float

    @property
    def passed(self) -> bool:
        """True when every input's gradient matched."""
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> tuple[InputCheck, ...]:
        """The checks that did not match."""
        return tuple(check for check in self.checks if not check.passed)

    def __str__(self) -> str:
        header = ("input", "value", "analytic", "numeric", "abs err", "rel err", "result")
        rows = [header] + [
            (
                check.name,
                f"{check.value:.6g}",
                f"{check.analytic:.8g}",
                f"{check.numeric:.8g}",
                f"{check.abs_error:.1e}",
                f"{check.rel_error:.1e}",
                ("ok" if check.passed else "FAIL") + (" *" if check.note else ""),
            )
            for check in self.checks
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        # The name column is left-aligned, the numbers right-aligned so their digits line up.
        lines = [
            "  ".join(
                cell.ljust(width) if column in (0, 6) else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(row, widths))
            ).rstrip()
            for row in rows
        ]
        lines += [f"* {check.name}: {check.note}" for check in self.checks if check.note]
        failed = self.failures
        settings = f"eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g}"
        if failed:
            names = ", ".join(check.name for check in failed)
            lines.append(f"FAILED: {len(failed)} of {len(self.checks)} gradients off ({names}); "
                         f"{settings}")
        else:
            lines.append(f"OK: {len(self.checks)} of {len(self.checks)} gradients match "
                         f"({settings})")
        return "\n".join(lines)


Function = Callable[..., Value]


def gradcheck(f: Function, inputs: Sequence[Union[Value, float]], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> GradcheckReport:
    """Check f's autograd gradients against finite differences; raise GradcheckError if any is off.

    `f` is called with one Value per input and must return a Value. The
    inputs may be numbers or Values; f is always run on fresh leaf Values made
    from their data, so the grads of the Values you pass (and of any Value f
    closes over) are left as they were.
    """
    check_settings(eps, atol, rtol)
    inputs = list(inputs)
    points = [_input_data(x, i) for i, x in enumerate(inputs)]
    if not points:
        raise ValueError("gradcheck() got no inputs: give f's input values, e.g. [2.0, 3.0]")
    names = _input_names(f, inputs)
    for name, x in zip(names, points):
        _check_step(name, x, eps)

    leaves = [Value(x, label=x_in.label if isinstance(x_in, Value) else "")
              for x, x_in in zip(points, inputs)]
    output = _call(f, leaves)
    analytic = [g.data for g in grad(output, leaves)]  # touches no .grad of f's graph

    checks = []
    for i, (name, x, derivative) in enumerate(zip(names, points, analytic)):
        checks.append(_check_one(f, points, i, name, x, output.data, derivative, eps, atol,
                                 rtol))
    report = GradcheckReport(tuple(checks), output.data, eps, atol, rtol)
    if not report.passed:
        raise GradcheckError(report)
    return report


def _check_step(name: str, x: float, eps: float) -> None:
    """ValueError if floats near x are too far apart for a step of eps (x + eps rounds to x)."""
    for shifted in (x + eps, x - eps):
        if abs(shifted - x) < 0.5 * eps:
            raise ValueError(f"eps={eps:g} is too small for input {name}={x!r}: floats near it "
                             f"are {math.ulp(x):.3g} apart, so x ± eps rounds to nearly x; "
                             f"use an eps of about {abs(x) * 1e-6:.0e} (a millionth of |x|)")


def _check_one(f: Function, points: list[float], i: int, name: str, x: float, f_x: float,
               analytic: float, eps: float, atol: float, rtol: float) -> InputCheck:
    """Compare autograd's gradient for input i with finite differences around points[i]."""

    def close(numeric: float) -> bool:
        return abs(analytic - numeric) <= atol + rtol * abs(numeric)

    # x + eps is rounded to a float, so the step actually taken can differ from eps.
    up, down = x + eps, x - eps
    f_up, up_problem = _shifted(f, points, i, name, up)
    f_down, down_problem = _shifted(f, points, i, name, down)
    right = (f_up - f_x) / (up - x) if f_up is not None else math.nan
    left = (f_x - f_down) / (x - down) if f_down is not None else math.nan

    if f_up is None and f_down is None:
        note = (f"f fails on both sides of {x!r} ({up_problem}; {down_problem}), "
                f"so no finite difference exists; check f at this input")
        return _result(name, x, analytic, math.nan, False, note)
    if f_up is None or f_down is None:
        side, slope = ("left", left) if f_up is None else ("right", right)
        problem = up_problem or down_problem
        note = (f"domain edge within eps: {problem}; compared with the {side} slope only, "
                f"move the input further from the edge for a full check")
        return _result(name, x, analytic, slope, close(slope), note)

    central = (f_up - f_down) / (up - down)
    if close(central):
        return _result(name, x, analytic, central, True)
    if abs(right - left) > atol + rtol * max(abs(right), abs(left)):
        # The one-sided slopes disagree: a kink (or a very sharp bend) within eps of x.
        matched = min((left, right), key=lambda slope: abs(analytic - slope))
        side = "left" if matched == left else "right"
        verdict = (f"autograd's {analytic:.8g} matches the {side} slope"
                   if close(matched) else f"autograd's {analytic:.8g} matches neither")
        note = (f"near a kink: f is not smooth within eps of {x!r} (slope {left:.8g} on the "
                f"left, {right:.8g} on the right); {verdict}")
        return _result(name, x, analytic, matched, close(matched), note)
    return _result(name, x, analytic, central, False)


def _result(name: str, x: float, analytic: float, numeric: float, passed: bool,
            note: str = "") -> InputCheck:
    abs_error = abs(analytic - numeric)
    if abs_error == 0.0:
        rel_error = 0.0
    else:
        rel_error = abs_error / abs(numeric) if numeric != 0.0 else math.inf
    return InputCheck(name, x, analytic, numeric, abs_error, rel_error, passed, note)


def _shifted(f: Function, points: list[float], i: int, name: str, x_i: float
             ) -> tuple[Optional[float], str]:
    """f with input i moved to x_i, or None and the reason when f cannot be evaluated there."""
    shifted = list(points)
    shifted[i] = x_i
    try:
        return _call(f, [Value(x) for x in shifted]).data, ""
    except DOMAIN_ERRORS as problem:
        return None, f"f raised {type(problem).__name__} at {name}={x_i!r}: {problem}"


def _call(f: Function, leaves: list[Value]) -> Value:
    """Run f on leaf Values and insist that it returns a Value."""
    result = f(*leaves)
    if not isinstance(result, Value):
        raise TypeError(f"f returned {type(result).__name__} {result!r}, not a Value: "
                        f"gradcheck needs the Value that f computes from its inputs")
    return result


def _input_data(x: object, i: int) -> float:
    """The float behind input i (a Value's data, or the number itself)."""
    if isinstance(x, Value):
        return x.data
    return real_number(x, f"gradcheck() input {i} (a number or a Value)")


def _input_names(f: Function, inputs: Sequence[object]) -> list[str]:
    """How the table names each input: its label, else f's parameter name, else its position."""
    try:
        parameters = [p.name for p in inspect.signature(f).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # some builtins have no signature
        parameters = []
    names = []
    for i, x in enumerate(inputs):
        if isinstance(x, Value) and x.label:
            names.append(x.label)
        elif i < len(parameters):
            names.append(parameters[i])
        else:
            names.append(f"inputs[{i}]")
    return names


def check_settings(eps: float, atol: float, rtol: float) -> None:
    """Raise unless eps > 0 (a step such as 1e-6) and both tolerances are numbers >= 0."""
    real_number(eps, "eps (the finite-difference step)", 0.0, low_open=True)
    real_number(atol, "atol (the absolute tolerance)", 0.0)
    real_number(rtol, "rtol (the relative tolerance)", 0.0)


__all__ = ["GradcheckError", "GradcheckReport", "InputCheck", "gradcheck", "check_settings",
           "DOMAIN_ERRORS"]
