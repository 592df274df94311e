"""The "python" backend: a recorded graph written out as one straight-line Python function.

Each primitive's rule is read with `SOURCE`, a math namespace whose operations
write Python source instead of computing numbers: `a * b` of two `Expr`s is the
text `a * b`, `m.exp(x)` is `exp(x)`. So the forward pass of a node is its
rule's forward read as text, and each edge of the backward pass is a
multiply-add `grad_x += grad_out * <the rule's derivative as text>`, in reverse
topological order: the chain rule written out as code a student can read.
A derivative the rule gives as a plain number (the 1 of `a + b`, the 2 of
`x * 2`) is written as that number. No primitive has code of its own here.
"""

from __future__ import annotations

import keyword
import linecache
import math
import re
from typing import Any, Union

from tinygrad_edu.engine import FLOATS, number_text
from tinygrad_edu.tracing.recording import Recording, Step

# How tightly each kind of expression binds, for parentheses: a + b < a * b < -a < a ** b.
_SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = 1, 2, 3, 4, 5


def literal(number: float) -> str:
    """A float as Python source that reads back exactly: `2.0`, `0.001`, `-1e-300`."""
    text = number_text(number)
    return text + ".0" if re.fullmatch(r"-?\d+", text) else text


class Expr:
    """Python source of an expression, built with the operators a rule uses on numbers."""

    __slots__ = ("text", "binding")

    def __init__(self, text: str, binding: int = _ATOM) -> None:
        self.text, self.binding = text, binding

    def __str__(self) -> str:
        return self.text

    def _binary(self, symbol: str, binding: int, left: Any, right: Any) -> Expr:
        left, right = _expr(left), _expr(right)
        # Left-associative: the left side may bind as loosely as this operator, the right
        # side must bind tighter (a - (b - c) keeps its parentheses; so does a + (b + c),
        # since float addition is not associative and the replay must add in eager's order).
        left_text = left.text if left.binding >= binding else f"({left.text})"
        right_text = right.text if right.binding > binding else f"({right.text})"
        return Expr(f"{left_text} {symbol} {right_text}", binding)

    def __add__(self, other: Any) -> Expr:
        return self._binary("+", _SUM, self, other)

    def __radd__(self, other: Any) -> Expr:
        return self._binary("+", _SUM, other, self)

    def __sub__(self, other: Any) -> Expr:
        return self._binary("-", _SUM, self, other)

    def __rsub__(self, other: Any) -> Expr:
        return self._binary("-", _SUM, other, self)

    def __mul__(self, other: Any) -> Expr:
        return self._binary("*", _PRODUCT, self, other)

    def __rmul__(self, other: Any) -> Expr:
        return self._binary("*", _PRODUCT, other, self)

    def __truediv__(self, other: Any) -> Expr:
        return self._binary("/", _PRODUCT, self, other)

    def __rtruediv__(self, other: Any) -> Expr:
        return self._binary("/", _PRODUCT, other, self)

    def __neg__(self) -> Expr:
        return Expr(f"-{self.text}" if self.binding >= _POWER else f"-({self.text})", _NEGATION)

    def __pow__(self, other: Any) -> Expr:
        return SOURCE.power(self, other)

    def __rpow__(self, other: Any) -> Expr:
        return SOURCE.power(other, self)


def _expr(x: Union[Expr, float]) -> Expr:
    """An operand as an Expr: a number becomes its exact literal."""
    if type(x) is Expr:
        return x
    text = literal(float(x))
    return Expr(text, _NEGATION if text.startswith("-") else _ATOM)


def _call(function: str, *arguments: Any) -> Expr:
    return Expr(f"{function}({', '.join(_expr(a).text for a in arguments)})")


class SourceMath:
    """The math namespace that writes Python: each function gives the source that computes it.

    The generated code runs with `RUNTIME`, the engine's own float functions, so a
    replay computes what the eager engine computes.
    """

    @staticmethod
    def exp(x: Any) -> Expr:
        return _call("exp", x)

    @staticmethod
    def log(x: Any) -> Expr:
        return _call("log", x)

    @staticmethod
    def tanh(x: Any) -> Expr:
        return _call("tanh", x)

    @staticmethod
    def sigmoid(x: Any) -> Expr:
        return _call("sigmoid", x)

    @staticmethod
    def relu(x: Any) -> Expr:
        x = _expr(x).text
        return Expr(f"({x} if {x} > 0.0 else 0.0)")

    @staticmethod
    def step(x: Any) -> Expr:
        return Expr(f"(1.0 if {_expr(x).text} > 0.0 else 0.0)")

    @staticmethod
    def power(a: Any, b: Any) -> Expr:
        """a ** b: `**` for a whole number exponent (exact, readable), else power(a, b)."""
        if type(b) is not Expr and float(b).is_integer():
            base = _expr(a)
            base_text = base.text if base.binding == _ATOM else f"({base.text})"
            exponent = _expr(b)
            exponent_text = exponent.text if exponent.binding == _ATOM else f"({exponent.text})"
            return Expr(f"{base_text} ** {exponent_text}", _POWER)
        return _call("power", a, b)

    @staticmethod
    def times_power(c: Any, a: Any, e: Any) -> Union[Expr, float]:
        if type(c) is not Expr:
            return 0.0 if c == 0.0 else c * SOURCE.power(a, e)
        return _call("times_power", c, a, e)

    @staticmethod
    def times_log(out: Any, a: Any) -> Union[Expr, float]:
        if type(a) is not Expr:  # a number base: its log is a number
            return out * math.log(a) if a > 0.0 else 0.0
        return _call("times_log", out, a)


SOURCE = SourceMath
# The functions the generated code calls: the eager engine's own.
RUNTIME = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "sigmoid": FLOATS.sigmoid,
           "power": math.pow, "times_power": FLOATS.times_power,
           "times_log": FLOATS.times_log}


def variable_names(recording: Recording) -> list[str]:
    """A Python name for every node: its label where it has one, else x3 (leaf) or v7."""
    used = set(RUNTIME) | set(keyword.kwlist) | {"grads", "float", "__debug__"}
    names = []
    for i, node in enumerate(recording.nodes):
        # ASCII only: Python folds some Unicode names together (NFKC), and `²` is no name.
        base = re.sub(r"[^A-Za-z0-9_]", "_", node.label) if node.label else ""
        if not base or base[0].isdigit() or base.startswith("grad_"):
            base = (f"x{i}" if node.primitive is None else f"v{i}") if not base else f"_{base}"
        name, k = base, 1
        while name in used or f"grad_{name}" in used:
            name, k = f"{base}_{k}", k + 1
        used.update((name, f"grad_{name}"))
        names.append(name)
    return names


def step_source(step: Step, operands: list[str]) -> str:
    """The Python expression of one step's value, from its inputs' names: `x * 2.0`."""
    return _expr(step.forward(SOURCE, [Expr(name) for name in operands])).text


def python_source(recording: Recording, function_name: str = "forward_backward") -> str:
    """The graph as one Python function: the forward pass, then the backward pass, line by line.

    The function takes the leaves' values (in topological order) and returns
    (root value, the extra values, the leaves' gradients).
    """
    steps, names = recording.steps, variable_names(recording)
    leaf_names = [names[i] for i in recording.leaves]
    lines = [f"def {function_name}({', '.join(leaf_names)}):",
             "    # forward: each node from its inputs, inputs first"]
    for i, step in enumerate(steps):
        if step.primitive is not None:
            lines.append(f"    {names[i]} = {step_source(step, [names[j] for j in step.inputs])}")
    root = recording.root
    lines += ["    # backward: each edge adds upstream grad * local grad (the first one assigns)",
              f"    grad_{names[root]} = 1.0"]
    assigned = {root}
    for i in range(len(steps) - 1, -1, -1):
        step = steps[i]
        if step.primitive is None:
            continue
        inputs = [Expr(names[j]) for j in step.inputs]
        for j, local in zip(step.inputs, step.derivatives(SOURCE, Expr(names[i]), inputs)):
            local = _expr(local)
            factor = local.text if local.binding > _PRODUCT else f"({local.text})"
            update = "+=" if j in assigned else "="
            assigned.add(j)
            lines.append(f"    grad_{names[j]} {update} grad_{names[i]} * {factor}")
    extras = [names[j] for j in recording.outputs]
    grads = [f"grad_{names[j]}" if j in assigned else "0.0" for j in recording.leaves]
    lines.append(f"    return {names[root]}, {_tuple(extras)}, {_tuple(grads)}")
    return "\n".join(lines) + "\n"


def _tuple(items: list[str]) -> str:
    """Python source of a tuple: `()`, `(a,)`, `(a, b)`."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


class PythonBackend:
    """Runs the generated straight-line Python: no numpy, one line of code per node and edge."""

    name = "python"

    def __init__(self, recording: Recording) -> None:
        self.source = python_source(recording)
        filename = f"<trace {id(self):x}>"
        # Registered with linecache so that a traceback through the replay shows its lines.
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True),
                                     filename)
        namespace = dict(RUNTIME)
        exec(compile(self.source, filename, "exec"), namespace)  # noqa: S102 - our own code
        self._function = namespace["forward_backward"]

    def run(self, data: list[float]) -> tuple[float, list[float], list[float]]:
        """(root value, extra values, leaf gradients) at the given leaf values."""
        value, extras, grads = self._function(*data)
        return value, extras, grads


__all__ = ["Expr", "PythonBackend", "RUNTIME", "SOURCE", "literal", "python_source",
           "step_source", "variable_names"]
