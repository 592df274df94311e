"""Argument checks shared by the library, so the same mistake gets the same error everywhere.

Two rules, as in PyTorch: a value of the wrong type is a `TypeError`, a value
of the right type but outside what is allowed is a `ValueError`. Each message
names the argument and the value: `nin must be a whole number >= 1, got 0`.
`require_type` and `require` are the pair every check is made of; the others
are the checks the library needs most, built from them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence, Sized, Union

Kinds = Union[type, tuple]


def require_type(value: Any, name: str, kinds: Kinds, description: str) -> None:
    """TypeError unless `value` is an instance of `kinds` (a bool only where bool is named)."""
    named = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in named):
        raise TypeError(f"{name} must be {description}, got {type(value).__name__}: {value!r}")


def require(condition: bool, name: str, value: Any, requirement: str) -> None:
    """ValueError unless `condition` holds for `value`, saying what it must be."""
    if not condition:
        raise ValueError(f"{name} must be {requirement}, got {value!r}")


def whole_number(value: Any, name: str, minimum: int = 0) -> int:
    """`value` as an int if it is a whole number >= minimum."""
    require_type(value, name, numbers.Integral, f"a whole number >= {minimum}")
    require(value >= minimum, name, value, f"a whole number >= {minimum}")
    return int(value)


def real_number(value: Any, name: str, low: float = -math.inf, high: float = math.inf, *,
                low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a float if it is a finite real number between low and high.

    The ends are included unless `low_open` or `high_open` says otherwise.
    """
    description = _range_words(low, high, low_open, high_open)
    require_type(value, name, numbers.Real, description)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    require(math.isfinite(value) and above and below, name, value, description)
    return float(value)


def class_index(value: Any, name: str, count: int, what: str = "classes") -> int:
    """`value` as an int if it is a whole number from 0 to count - 1."""
    description = f"a whole number from 0 to {count - 1} (one of {count} {what})"
    require_type(value, name, numbers.Integral, description)
    require(0 <= value < count, name, value, description)
    return int(value)


def numbers_each(values: Sequence[Any], name: str) -> list[float]:
    """`values` as floats if each is a real number (a Value is not one: its `.data` is)."""
    for index, value in enumerate(values):
        require_type(value, f"{name}[{index}]", numbers.Real,
                     "a number (a float; of a Value, its .data)")
    return [float(value) for value in values]


def points_and_labels(X: Sized, y: Sized) -> None:
    """ValueError unless there is at least one point, and one label per point."""
    if len(X) != len(y) or not len(X):
        raise ValueError(f"X and y must be non-empty and of the same length, "
                         f"got {len(X)} points and {len(y)} labels")


def _range_words(low: float, high: float, low_open: bool, high_open: bool) -> str:
    """`a number > 0`, `a number >= 0`, `a number in [0, 1)`, or `a finite number`."""
    if low == -math.inf and high == math.inf:
        return "a finite number"
    if high == math.inf:
        return f"a number {'>' if low_open else '>='} {low:g}"
    if low == -math.inf:
        return f"a number {'<' if high_open else '<='} {high:g}"
    return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


__all__ = ["require_type", "require", "whole_number", "real_number", "class_index",
           "numbers_each", "points_and_labels"]
