"""Hypothesis strategies for property-based gradient tests: `values()` and `expressions()`.

    from hypothesis import given
    from tinygrad_edu.testing import expressions, gradcheck

    @given(expressions())
    def test_backward_matches_finite_differences(expr):
        gradcheck(expr, expr.inputs)

`expressions()` draws a small random computation graph together with input values.
The graph can share subexpressions (one node feeding several others, lecture §6),
and every op stays inside its domain, away from kinks, at the drawn inputs: log's
argument and the base of a fractional power are >= MARGIN, a divisor and relu's
argument are at least MARGIN away from 0, and no value exceeds BOUND in size. This
is done by construction: an op whose operands would break these rules at the drawn
inputs is left out of the graph, so no input is nudged by a fixed offset and few
drawings are thrown away. The rules look only at forward values, never at
gradients, so a wrong derivative cannot hide from a test built on them.

A drawn expression prints as infix code, e.g. `log(x0 * x1 + 2.0) * x0 at x0=1.0,
x1=0.5`, with a shared interior node bound to a name (`t0 = x0 + 1.0; t0 * t0`).
Calling it rebuilds the graph on any inputs: Values, or another engine's scalars
(torch tensors work), so the same example can be compared against finite
differences or against that engine.

`gradcheck` and `GradcheckError` are re-exported here, so one import brings everything
a property test needs. Only this module needs hypothesis (`pip install hypothesis`);
the engine does not.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError("tinygrad_edu.testing needs hypothesis: pip install hypothesis") from missing

from tinygrad_edu import engine
from tinygrad_edu.engine import Value
from tinygrad_edu.expr import APPLY_BINARY
from tinygrad_edu.gradient_check import GradcheckError, gradcheck

# Every op expressions() can draw: each name of the engine's table of primitives.
OPS = engine.PrimitiveNames(lambda primitive: True)
BINARY = engine.BINARY_OPERATORS
UNARY = engine.PrimitiveNames(lambda primitive: primitive.arity == 1)  # neg and the functions

# How far an op's argument stays from a domain edge or kink at the drawn inputs. A finite
# difference moves an input by 1e-6, so even an argument 10^4 times as sensitive as its
# input moves by only a tenth of this margin.
MARGIN = 0.1
# The largest value any node may have. Finite differences lose about |f| * 1e-16 / eps to
# rounding; keeping every value below 100 keeps that loss far under gradcheck's atol.
BOUND = 100.0
# Inputs are drawn from [-INPUT_RANGE, INPUT_RANGE], often as one of the plain numbers.
INPUT_RANGE = 3.0
PLAIN_INPUTS = (1.0, 2.0, -1.0, 0.5, -0.5)
# Constants are few and plain so that counterexamples read easily.
CONSTANTS = (2.0, 0.5, 1.0, 3.0)
BASES = (2.0, 0.5, 3.0)  # for 2.0 ** x (1.0 ** x would be constant)
EXPONENTS = (2.0, 3.0, 0.5, -1.0, 1.5, -2.0)

Op = Union[str, Callable[..., Any]]
# An operand of a step is an int, the index of an earlier node (inputs come first),
# or a float, a constant.
Operand = Union[int, float]


def values(min_value: float = -10.0, max_value: float = 10.0) -> st.SearchStrategy[Value]:
    """Leaf Values with finite data in [min_value, max_value]."""
    if not min_value <= max_value:
        raise ValueError(f"values({min_value!r}, {max_value!r}): min_value must be "
                         f"<= max_value")
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False).map(Value)


@dataclass(frozen=True)
class Step:
    """One node of an expression: an op applied to earlier nodes and constants."""

    op: Op
    operands: tuple[Operand, ...]


class Expression:
    """A drawn computation graph and the inputs it was drawn with; call it to rebuild the graph."""

    def __init__(self, n_inputs: int, steps: Sequence[Step], inputs: Sequence[float]) -> None:
        self.n_inputs = n_inputs
        self.steps = tuple(steps)
        self.inputs = tuple(inputs)

    @property
    def input_names(self) -> tuple[str, ...]:
        """The inputs' names in the printed form: x0, x1, ..."""
        return tuple(f"x{i}" for i in range(self.n_inputs))

    @property
    def __signature__(self) -> inspect.Signature:
        """`(x0, x1, ...)`, so inspect and gradcheck's table know the inputs' names."""
        return inspect.Signature([inspect.Parameter(name, inspect.Parameter.POSITIONAL_ONLY)
                                  for name in self.input_names])

    def __call__(self, *args: Any) -> Any:
        """Rebuild the graph on the given inputs (Values, or another engine's scalars)."""
        if len(args) != self.n_inputs:
            raise TypeError(f"{self.source} takes {self.n_inputs} inputs "
                            f"({', '.join(self.input_names)}), got {len(args)}")
        nodes = list(args)
        for step in self.steps:
            nodes.append(_apply(step.op, [_operand(nodes, o) for o in step.operands]))
        return nodes[-1]

    @property
    def source(self) -> str:
        """The expression as infix code, e.g. `t0 = x0 + 1.0; log(t0) * t0`."""
        return _source(self.n_inputs, self.steps)

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        at = ", ".join(f"{name}={x!r}" for name, x in zip(self.input_names, self.inputs))
        return f"{self.source} at {at}"


def expressions(n_inputs: int | None = None, max_depth: int = 4,
                ops: Sequence[Op] = OPS) -> st.SearchStrategy[Expression]:
    """Random computation graphs over n_inputs inputs (1 to 3 if None), with in-domain inputs.

    `ops` picks the operations (names from OPS); a function of one or two
    Values may be listed too, to test an op of your own inside random graphs
    (a drawing where it raises ValueError, ZeroDivisionError or OverflowError
    is not used). `max_depth` bounds the longest path from an input to the output.
    """
    if n_inputs is not None and n_inputs < 1:
        raise ValueError(f"n_inputs={n_inputs!r}: an expression needs at least one input")
    if max_depth < 1:
        raise ValueError(f"max_depth={max_depth!r}: it must be at least 1")
    ops = tuple(ops)
    if not ops:
        raise ValueError("ops is empty: name at least one op, e.g. ops=('+', 'tanh')")
    for op in ops:
        if callable(op):
            _arity(op)  # fails early for a function that takes neither one nor two Values
        elif op not in OPS:
            raise ValueError(f"unknown op {op!r}; choose from {', '.join(OPS)} "
                             f"or pass a function of one or two Values")
    step_plans = st.one_of([st.tuples(st.just(op), _operand_plans(op)) for op in ops])
    return _expressions(n_inputs, max_depth, step_plans)


# In a step's plan, an operand is NEWEST (the newest node), an int k >= 0 (node number
# k, counted modulo the nodes there are), or a float constant. Plans are drawn as one
# list, so the shrinker can delete any step, and numbers shrink towards x0 and 1.0.
NEWEST = -1


@st.composite
def _expressions(draw: Callable, n_inputs: int | None, max_depth: int,
                 step_plans: st.SearchStrategy) -> Expression:
    n = draw(st.integers(1, 3)) if n_inputs is None else n_inputs
    # Plain numbers first: a failing example shrinks towards x0=1.0, where every op is
    # defined, rather than towards 0.0, where log, relu, / and ** are not.
    input_value = st.one_of(st.sampled_from(PLAIN_INPUTS),
                            st.floats(-INPUT_RANGE, INPUT_RANGE))
    inputs = [draw(input_value) for _ in range(n)]
    plans = draw(st.lists(step_plans, min_size=1, max_size=3 * max_depth))

    node_values = list(inputs)  # the forward value of every node so far, inputs first
    depths = [0] * n
    steps: list[Step] = []
    for op, plan in plans:
        newest = len(node_values) - 1
        operands = tuple(newest if o == NEWEST else o % len(node_values) if isinstance(o, int)
                         else o for o in plan)
        depth = 1 + max((depths[o] for o in operands if isinstance(o, int)), default=0)
        value = _checked_value(op, operands, node_values) if depth <= max_depth else None
        if value is None:
            continue  # this op would leave its domain, or the graph too deep: skip it
        steps.append(Step(op, operands))
        node_values.append(value)
        depths.append(depth)
    # Rarely (a lone log of a negative input, say) nothing could be added.
    assume(steps)
    return Expression(n, _reachable(n, steps), inputs)


def _operand_plans(op: Op) -> st.SearchStrategy[tuple[Union[int, float], ...]]:
    """Plans for the operands of one step: node numbers, and a few constants where allowed."""
    node = st.integers(0, 15)
    # Two times in three a step builds on the newest node, so most steps end up in the
    # output's graph, and the older nodes they also use become shared ones.
    first = st.one_of(st.just(NEWEST), st.just(NEWEST), node)
    constant = st.sampled_from(CONSTANTS)
    node_or_constant = st.one_of(node, constant)
    if callable(op):
        return st.tuples(first, *[node] * (_arity(op) - 1))
    if op in UNARY:
        return st.tuples(first)
    if op == "**":
        return st.one_of(st.tuples(first, st.sampled_from(EXPONENTS)),  # x ** 2.0
                         st.tuples(first, node),  # x ** y, a Value exponent
                         st.tuples(st.sampled_from(BASES), first))  # 2.0 ** x
    if op in BINARY:
        return st.one_of(st.tuples(first, node_or_constant), st.tuples(constant, first))
    if op == "dot":
        # k weights, k inputs, and maybe a bias: an even count means no bias.
        return st.one_of(st.tuples(first, node_or_constant),
                         st.tuples(first, node_or_constant, node_or_constant),
                         st.tuples(first, *[node_or_constant] * 3),
                         st.tuples(first, *[node_or_constant] * 4))
    # sum, mean
    return st.one_of(st.tuples(first, node_or_constant),
                     st.tuples(first, node_or_constant, node_or_constant))


def _checked_value(op: Op, operands: tuple[Operand, ...], node_values: list[float]
                   ) -> float | None:
    """The new node's value at the drawn inputs, or None if it would break the domain rules."""
    args = [Value(node_values[o]) if isinstance(o, int) else o for o in operands]
    if not any(isinstance(arg, Value) for arg in args):
        return None  # all constants: nothing to differentiate
    try:
        result = _apply(op, args)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    if not isinstance(result, Value):
        raise TypeError(f"op {getattr(op, '__name__', op)!r} returned "
                        f"{type(result).__name__} {result!r}; an op must return a Value")
    value = result.data
    if abs(value) > BOUND:
        return None
    first = args[0].data if isinstance(args[0], Value) else args[0]
    if op in ("log", "relu") and not abs(first) >= MARGIN:
        return None  # log(x) needs x >= MARGIN (x > 0 is enforced by the engine)
    if op == "/":
        divisor = args[1].data if isinstance(args[1], Value) else args[1]
        if abs(divisor) < MARGIN:
            return None
    if op == "**":
        base, exponent = first, args[1].data if isinstance(args[1], Value) else args[1]
        whole_and_positive = (not isinstance(args[1], Value) and exponent.is_integer()
                              and exponent > 0)
        if not whole_and_positive and abs(base) < MARGIN:
            return None  # x ** -1, x ** 0.5 and x ** y blow up or stop at 0
    return value


def _apply(op: Op, args: Sequence[Any]) -> Any:
    """Apply one op to its operands: the engine's for Values, plain operators for the rest."""
    if callable(op):
        return op(*args)
    if op in UNARY:
        (a,) = args
        if op == "neg":
            return -a
        method = getattr(a, op, None)  # an op of the table without a Value method: apply it
        return method() if method is not None else engine.apply(engine.find_primitive(op), a)
    if op in BINARY:
        return APPLY_BINARY[op](*args)
    # The n-ary ops are one node each in the engine; another engine gets the same sum.
    uses_engine = any(isinstance(arg, Value) for arg in args)
    if op == "sum":
        return engine.sum(args) if uses_engine else _total(args)
    if op == "mean":
        return engine.mean(args) if uses_engine else _total(args) / len(args)
    k = len(args) // 2
    weights, inputs, bias = args[:k], args[k:2 * k], args[2 * k:]
    if uses_engine:
        return engine.dot(weights, inputs, bias[0] if bias else None)
    return _total([w * x for w, x in zip(weights, inputs)] + list(bias))


def _total(terms: Sequence[Any]) -> Any:
    """terms[0] + terms[1] + ..., left to right, for scalars of any engine."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _operand(nodes: list, operand: Operand) -> Any:
    return nodes[operand] if isinstance(operand, int) else operand


def _arity(function: Callable) -> int:
    """How many Values an op of your own takes (1 or 2)."""
    try:
        count = len(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        count = 1  # a builtin without a signature: assume it takes one Value
    if count not in (1, 2):
        raise ValueError(f"op {getattr(function, '__name__', function)!r} takes {count} "
                         f"arguments; an op of your own must take one or two Values")
    return count


def _reachable(n_inputs: int, steps: list[Step]) -> list[Step]:
    """The steps the last one depends on, renumbered; steps nothing uses are dropped."""
    needed = {n_inputs + len(steps) - 1}
    for index in range(n_inputs + len(steps) - 1, n_inputs - 1, -1):
        if index in needed:
            needed.update(o for o in steps[index - n_inputs].operands if isinstance(o, int))
    new_index = {i: i for i in range(n_inputs)}
    kept: list[Step] = []
    for index, step in enumerate(steps, start=n_inputs):
        if index in needed:
            new_index[index] = n_inputs + len(kept)
            operands = tuple(new_index[o] if isinstance(o, int) else o for o in step.operands)
            kept.append(Step(step.op, operands))
    return kept


# ------------------------------------------------------------------- printing
# Binding strength: a + b is 1, a * b 2, -a 3, a ** b 4, names, numbers and calls 5.
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}
_ATOM = 5


def _source(n_inputs: int, steps: Sequence[Step]) -> str:
    """Infix code for the steps; a node used more than once is bound to a name first."""
    uses = [0] * (n_inputs + len(steps))
    for step in steps:
        for o in step.operands:
            if isinstance(o, int):
                uses[o] += 1
    # Each node's text and how tightly it binds. Steps are in order, so the
    # operands of a step always have their text already: no recursion needed.
    texts: list[tuple[str, int]] = [(f"x{i}", _ATOM) for i in range(n_inputs)]
    statements: list[str] = []
    for index, step in enumerate(steps, start=n_inputs):
        args = [texts[o] if isinstance(o, int) else (repr(o), _ATOM) for o in step.operands]
        text = _format(step.op, args)
        is_output = index == n_inputs + len(steps) - 1
        if uses[index] > 1 and not is_output:
            name = f"t{len(statements)}"
            statements.append(f"{name} = {text[0]}")
            text = (name, _ATOM)
        texts.append(text)
    return "; ".join(statements + [texts[-1][0]])


def _format(op: Op, args: list[tuple[str, int]]) -> tuple[str, int]:
    """Text and binding strength of one op applied to already formatted operands."""

    def wrapped(arg: tuple[str, int], at_least: int) -> str:
        text, precedence = arg
        return text if precedence >= at_least else f"({text})"

    if callable(op):
        name = getattr(op, "__name__", "f")
        return f"{name}({', '.join(text for text, _ in args)})", _ATOM
    if op == "neg":
        return "-" + wrapped(args[0], _ATOM), _PRECEDENCE["neg"]
    if op in UNARY:
        return f"{op}({args[0][0]})", _ATOM
    if op in BINARY:
        strength = _PRECEDENCE[op]
        if op == "**":  # right-associative: a ** (b ** c) needs no brackets, (a ** b) ** c does
            left, right = wrapped(args[0], _ATOM), wrapped(args[1], strength)
        else:  # left-associative: brackets on the right keep a - (b - c) a tree of the same shape
            left, right = wrapped(args[0], strength), wrapped(args[1], strength + 1)
        if right.startswith("-"):
            right = f"({right})"  # x0 * (-x1) rather than x0 * -x1
        return f"{left} {op} {right}", strength
    texts = [text for text, _ in args]
    if op == "dot":
        k = len(texts) // 2
        bias = f", {texts[2 * k]}" if len(texts) > 2 * k else ""
        return f"dot([{', '.join(texts[:k])}], [{', '.join(texts[k:2 * k])}]{bias})", _ATOM
    return f"{op}({', '.join(texts)})", _ATOM


__all__ = ["Expression", "GradcheckError", "Step", "expressions", "gradcheck", "values", "OPS",
           "MARGIN", "BOUND"]
