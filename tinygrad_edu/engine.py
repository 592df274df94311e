"""The scalar autograd engine: `Value`, its operations, and backpropagation.

Every operation computes its result and, a line or two below, the local
derivative of that result with respect to each input (lecture §1, §5). A node
stores the two side by side as its edges, so the chain rule is data:
`backward()` is one generic loop that multiplies each upstream gradient by the
local derivatives and adds it into the inputs, and the visualizer can print the
same factors on the graph's edges. No node holds a closure that points back at
itself, so a dropped graph is freed by reference counting alone.
"""

from __future__ import annotations

import builtins
import math
import numbers
import operator
from typing import Iterable, Optional, Sequence, Union

Number = Union[int, float]
Operand = Union["Value", int, float]

_INF = math.inf


def _fmt(number: Number) -> str:
    """Short form of a number for op names and messages (`2`, `0.999`, `-1.5e-08`)."""
    return f"{number:g}"


def _check_finite(data: float, operation: str) -> float:
    """Raise OverflowError when a forward result is ±inf or NaN; return it otherwise."""
    # NaN fails both comparisons, so this one test catches inf, -inf and NaN.
    if not -_INF < data < _INF:
        raise OverflowError(f"{operation}: result is {data}, not a finite number")
    return data


def _as_constant(other: object) -> Optional[float]:
    """The float value of a plain real number operand, or None for anything else."""
    if type(other) is float:
        return other
    if isinstance(other, bool) or not isinstance(other, numbers.Real):
        return None
    return float(other)


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to its inputs.

    Leaves are made by the user (`Value(3.0, label="a")`); every operation on
    Values makes a new node whose `inputs` are its operands and whose
    `local_grads` are the partial derivatives of the node with respect to each,
    evaluated at the forward values.
    """

    # Nearly every node has one or two inputs, so those (input, local grad) edges live in
    # four slots: no tuple per node, which halves the objects the garbage collector tracks
    # and keeps a node near 136 bytes. An n-ary node (sum, mean, dot) keeps a flat tuple
    # (input, local grad, input, local grad, ...) in `_more` instead.
    __slots__ = ("data", "grad", "label", "_op_symbol", "_constant",
                 "_input_a", "_local_a", "_input_b", "_local_b", "_more")

    def __init__(self, data: Number, label: str = "") -> None:
        if type(data) is not float:
            if isinstance(data, bool) or not isinstance(data, numbers.Real):
                raise TypeError(
                    f"Value(data) needs a real number (int or float), "
                    f"got {type(data).__name__}: {data!r}"
                )
            data = float(data)
        if not -_INF < data < _INF:
            raise ValueError(f"Value(data) needs a finite number, got {data}")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._op_symbol = ""
        self._constant = None
        self._input_a = None
        self._local_a = 0.0
        self._input_b = None
        self._local_b = 0.0
        self._more = ()

    # ------------------------------------------------------------------ graph
    @property
    def op(self) -> str:
        """The operation that made this node ('' for a leaf), with any folded constant: `*2`."""
        constant = self._constant
        if constant is None:
            return self._op_symbol
        symbol = self._op_symbol
        # A constant written before the symbol stood on the left: `2-` is 2 - x.
        if symbol.endswith("<"):
            return _fmt(constant) + symbol[:-1]
        return symbol + _fmt(constant)

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The Values this node was computed from, one entry per operand use (`x * x` has two)."""
        if self._input_a is None:
            return self._more[0::2]
        if self._input_b is None:
            return (self._input_a,)
        return (self._input_a, self._input_b)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d(this node)/d(input) for each entry of `inputs`, at the forward values."""
        if self._input_a is None:
            return self._more[1::2]
        if self._input_b is None:
            return (self._local_a,)
        return (self._local_a, self._local_b)

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name for the set of input nodes (read-only)."""
        return set(self.inputs)

    @property
    def _op(self) -> str:
        """micrograd's name for `op` (read-only)."""
        return self.op

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    # ------------------------------------------------------- binary operators
    def __add__(self, other: Operand) -> Value:
        if type(other) is Value:
            # d(a+b)/da = 1, d(a+b)/db = 1
            return _node(self.data + other.data, "+", self, 1.0, other, 1.0)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data + c, "+", self, 1.0, constant=other)

    __radd__ = __add__

    def __sub__(self, other: Operand) -> Value:
        if type(other) is Value:
            # d(a-b)/da = 1, d(a-b)/db = -1
            return _node(self.data - other.data, "-", self, 1.0, other, -1.0)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data - c, "-", self, 1.0, constant=other)

    def __rsub__(self, other: Number) -> Value:
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        # d(c-x)/dx = -1
        return _node(c - self.data, "-<", self, -1.0, constant=other)

    def __mul__(self, other: Operand) -> Value:
        if type(other) is Value:
            # d(a*b)/da = b, d(a*b)/db = a
            return _node(self.data * other.data, "*", self, other.data, other, self.data)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        # d(c*x)/dx = c
        return _node(self.data * c, "*", self, c, constant=other)

    __rmul__ = __mul__

    def __truediv__(self, other: Operand) -> Value:
        if type(other) is Value:
            b = other.data
            if b == 0.0:
                raise ZeroDivisionError(f"division by zero: {self.data!r} / {b!r}")
            # d(a/b)/da = 1/b, d(a/b)/db = -a/b²
            out = self.data / b
            return _node(out, "/", self, 1.0 / b, other, -out / b)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        if c == 0.0:
            raise ZeroDivisionError(f"division by zero: {self.data!r} / {c!r}")
        return _node(self.data / c, "/", self, 1.0 / c, constant=other)

    def __rtruediv__(self, other: Number) -> Value:
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        x = self.data
        if x == 0.0:
            raise ZeroDivisionError(f"division by zero: {c!r} / {x!r}")
        # d(c/x)/dx = -c/x²
        out = c / x
        return _node(out, "/<", self, -out / x, constant=other)

    def __pow__(self, other: Operand) -> Value:
        if type(other) is Value:
            return _pow_values(self, other)
        n = _as_constant(other)
        if n is None:
            return NotImplemented
        x = self.data
        operation = f"{x!r} ** {other!r}"
        if x == 0.0 and n < 0:
            raise ZeroDivisionError(f"{operation}: zero cannot be raised to a negative power")
        if x < 0.0 and not n.is_integer():
            raise ValueError(f"{operation}: a negative base needs an integer exponent")
        out = _power(x, n, operation)
        # d(x^n)/dx = n x^(n-1); written this way it stays exact at x = 0 for n >= 1
        local = n * _power(x, n - 1, operation) if n != 0.0 else 0.0
        return _node(out, "**", self, local, constant=other)

    def __rpow__(self, other: Number) -> Value:
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _pow_values(Value(c), self, other)

    def __neg__(self) -> Value:
        # d(-x)/dx = -1
        return _node(-self.data, "neg", self, -1.0)

    def __pos__(self) -> Value:
        return self

    # -------------------------------------------------------- unary functions
    def exp(self) -> Value:
        """e to the power of this value."""
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data!r}): result overflows a float") from None
        # d(e^x)/dx = e^x
        return _node(out, "exp", self, out)

    def log(self) -> Value:
        """The natural logarithm; the input must be > 0."""
        x = self.data
        if x <= 0.0:
            raise ValueError(f"log({x!r}): input must be > 0")
        # d(ln x)/dx = 1/x
        return _node(math.log(x), "log", self, 1.0 / x)

    def tanh(self) -> Value:
        """Hyperbolic tangent; finite for every finite input."""
        t = math.tanh(self.data)
        # tanh'(z) = 1 - tanh(z)²
        return _node(t, "tanh", self, 1.0 - t * t)

    def sigmoid(self) -> Value:
        """The logistic function σ(z) = 1 / (1 + e^(-z)); finite for every finite input."""
        s = _sigmoid(self.data)
        # σ'(z) = σ(z)(1 - σ(z))
        return _node(s, "sigmoid", self, s * (1.0 - s))

    def relu(self) -> Value:
        """max(z, 0). Its derivative at exactly z = 0 is taken as 0, as in PyTorch and micrograd."""
        x = self.data
        if x > 0.0:
            return _node(x, "relu", self, 1.0)
        # ReLU'(z) = 0 for z <= 0 (the lecture writes 1 at z = 0; see the README)
        return _node(0.0, "relu", self, 0.0)

    # ---------------------------------------------------------- backprop
    def backward(self) -> None:
        """Fill in `grad` on every node of this graph: d(self)/d(node), by the chain rule.

        The root's grad is set to 1.0. Gradients of leaves (inputs and
        parameters) accumulate across calls, as in PyTorch: reset them with
        `p.grad = 0.0`, `model.zero_grad()` or `optimizer.zero_grad()`.
        Interior nodes show the gradient of the latest call. If a gradient
        becomes non-finite, OverflowError names the node and every grad is
        left as it was before the call.
        """
        order = topological_order(self)
        saved = [node.grad for node in order]
        for node in order:
            if node._op_symbol:  # interior nodes start from zero; leaves accumulate
                node.grad = 0.0
        self.grad = 1.0
        try:
            # Reverse topological order: a node's grad is complete before it is passed on.
            for node in reversed(order):
                upstream = node.grad
                if not -_INF < upstream < _INF:
                    raise OverflowError(
                        f"backward: the gradient of {_describe(node)} is {upstream}, "
                        f"not a finite number"
                    )
                a = node._input_a
                if a is not None:
                    a.grad += node._local_a * upstream
                    b = node._input_b
                    if b is not None:
                        b.grad += node._local_b * upstream
                elif node._more:
                    edges = iter(node._more)
                    for child, local in zip(edges, edges):
                        child.grad += local * upstream
        except OverflowError:
            for node, grad in zip(order, saved):
                node.grad = grad
            raise


# The fast way to make a node: skip __init__'s checks of user input.
_new_value = object.__new__


def _node(data: float, symbol: str, input_a: Value, local_a: float,
          input_b: Optional[Value] = None, local_b: float = 0.0,
          constant: Optional[Number] = None) -> Value:
    """Make the result node of a one- or two-input operation: its value and its edges."""
    if not -_INF < data < _INF:
        edges = (input_a,) if input_b is None else (input_a, input_b)
        raise OverflowError(f"{_describe_operation(symbol, edges, constant)}: "
                            f"result is {data}, not a finite number")
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._op_symbol = symbol
    out._constant = constant
    out._input_a = input_a
    out._local_a = local_a
    out._input_b = input_b
    out._local_b = local_b
    out._more = ()
    return out


def _nary_node(data: float, symbol: str, edges: tuple,
               constant: Optional[Number] = None) -> Value:
    """Make the result node of an n-ary operation from its flat (input, local grad, ...) edges."""
    if not -_INF < data < _INF:
        raise OverflowError(f"{_describe_operation(symbol, edges[0::2], constant)}: "
                            f"result is {data}, not a finite number")
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._op_symbol = symbol
    out._constant = constant
    out._input_a = None
    out._local_a = 0.0
    out._input_b = None
    out._local_b = 0.0
    out._more = edges
    return out


def _describe_operation(symbol: str, inputs: tuple, constant: Optional[Number]) -> str:
    """Words for an operation that failed, e.g. `1e+308 * 10` or `exp(1000.0)`."""
    operands = [repr(child.data) for child in inputs]
    if constant is not None:
        if symbol.endswith("<"):
            symbol = symbol[:-1]
            operands.insert(0, repr(constant))
        else:
            operands.append(repr(constant))
    if symbol in ("+", "-", "*", "/", "**") and len(operands) == 2:
        return f"{operands[0]} {symbol} {operands[1]}"
    return f"{symbol}({', '.join(operands)})"


def _describe(node: Value) -> str:
    """How an error names a node: its label, else its op."""
    if node.label:
        return repr(node.label)
    if node.op:
        return f"the node made by {node.op!r}"
    return f"a leaf Value(data={node.data!r})"


def _power(x: float, n: float, operation: str) -> float:
    """x ** n as a float, with an error that names the operation when it overflows."""
    try:
        return x**n
    except OverflowError:
        raise OverflowError(f"{operation}: result overflows a float") from None


def _pow_values(base: Value, exponent: Value, constant: Optional[Number] = None) -> Value:
    """base ** exponent where the exponent is a Value (or a constant base, for `2 ** x`)."""
    a, b = base.data, exponent.data
    operation = f"{a!r} ** {b!r}"
    if a < 0.0 or (a == 0.0 and b <= 0.0):
        raise ValueError(
            f"{operation}: with a Value exponent the base must be > 0 "
            f"(d/d exponent is base**exponent * log(base))"
        )
    out = _power(a, b, operation)
    # d(a^b)/db = a^b ln a, and it tends to 0 as a -> 0 for b > 0
    d_exponent = out * math.log(a) if a > 0.0 else 0.0
    if constant is not None:
        return _node(out, "**<", exponent, d_exponent, constant=constant)
    # d(a^b)/da = b a^(b-1)
    d_base = b * _power(a, b - 1.0, operation) if b != 0.0 else 0.0
    return _node(out, "**", base, d_base, exponent, d_exponent)


def _sigmoid(z: float) -> float:
    """σ(z) computed without overflow for any finite z."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # z < 0, so e is in (0, 1) and cannot overflow
    return e / (1.0 + e)


# ------------------------------------------------------------ n-ary operations
def sum(values: Iterable[Operand]) -> Value:  # noqa: A001 - mirrors torch.sum
    """One node adding many operands: one edge (local grad 1) per Value operand."""
    total = 0.0
    constant = 0.0
    edges: list = []
    for v in values:
        if type(v) is Value:
            total += v.data
            edges += (v, 1.0)
        else:
            c = _as_constant(v)
            if c is None:
                raise TypeError(f"sum() takes Values and numbers, got {type(v).__name__}: {v!r}")
            constant += c
    if constant:
        return _nary_node(total + constant, "sum+", tuple(edges), constant)
    return _nary_node(total, "sum", tuple(edges))


def mean(values: Sequence[Operand]) -> Value:
    """One node averaging many operands: local grad 1/n on each Value operand."""
    values = list(values)
    if not values:
        raise ValueError("mean() of an empty sequence: give at least one value")
    n = len(values)
    share = 1.0 / n
    total = 0.0
    edges: list = []
    for v in values:
        if type(v) is Value:
            total += v.data
            edges += (v, share)
        else:
            c = _as_constant(v)
            if c is None:
                raise TypeError(f"mean() takes Values and numbers, got {type(v).__name__}: {v!r}")
            total += c
    return _nary_node(total / n, "mean", tuple(edges))


def dot(weights: Sequence[Operand], inputs: Sequence[Operand],
        bias: Optional[Operand] = None) -> Value:
    """One node for w·x + b: each Value among w_i gets local grad x_i, each among x_i gets w_i."""
    n = len(weights)
    if len(inputs) != n:
        raise ValueError(f"dot(): {n} weights but {len(inputs)} inputs; "
                         f"they must have the same length")
    # A neuron's two cases get a fast path: Value weights times all-Value inputs (a hidden
    # layer) or all-number inputs (the first layer). Slice assignment lays out the edges
    # (w_i, x_i, x_i, w_i, ...) without a Python-level step per edge.
    if _all_values(weights):
        wd = [w.data for w in weights]
        if _all_values(inputs):
            xd = [x.data for x in inputs]
            edges: list = [None] * (4 * n)
            edges[0::4] = weights  # d(w·x)/dw_i = x_i
            edges[1::4] = xd
            edges[2::4] = inputs  # d(w·x)/dx_i = w_i
            edges[3::4] = wd
            return _finish_dot(builtins.sum(map(operator.mul, wd, xd)), edges, bias)
        if not any(type(x) is Value for x in inputs):
            xd = [x if type(x) is float else _checked_constant(x, "dot") for x in inputs]
            edges = [None] * (2 * n)
            edges[0::2] = weights
            edges[1::2] = xd
            return _finish_dot(builtins.sum(map(operator.mul, wd, xd)), edges, bias)
    # Any mix of Values and numbers: one edge per Value operand.
    total = 0.0
    edges = []
    for w, x in zip(weights, inputs):
        w_is_value = type(w) is Value
        x_is_value = type(x) is Value
        wd = w.data if w_is_value else _checked_constant(w, "dot")
        xd = x.data if x_is_value else _checked_constant(x, "dot")
        total += wd * xd
        if w_is_value:
            edges += (w, xd)
        if x_is_value:
            edges += (x, wd)
    return _finish_dot(total, edges, bias)


def _finish_dot(total: float, edges: list, bias: Optional[Operand]) -> Value:
    """Add the bias (an edge with local grad 1 when it is a Value) and make the dot node."""
    if bias is not None:
        if type(bias) is Value:
            total += bias.data
            edges += (bias, 1.0)
        else:
            total += _checked_constant(bias, "dot")
    return _nary_node(total, "dot", tuple(edges))


def _all_values(items: Sequence) -> bool:
    for item in items:
        if type(item) is not Value:
            return False
    return True


def _checked_constant(number: object, operation: str) -> float:
    c = _as_constant(number)
    if c is None:
        raise TypeError(f"{operation}() takes Values and numbers, "
                        f"got {type(number).__name__}: {number!r}")
    return c


# ------------------------------------------------------------------ graph walk
_EMIT = object()  # stack marker in topological_order: "all inputs of the node below are done"


def topological_order(root: Value) -> list[Value]:
    """Every node that `root` depends on, inputs before the nodes made from them; `root` last.

    Iterative depth-first search with an explicit stack, so a graph a million
    nodes deep needs no recursion. The engine's backward pass and the
    visualizer both walk the graph with this one function.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    # The stack holds plain references: a node, then _EMIT above it once its
    # inputs are pushed, so the node is emitted right after all of them.
    stack: list = [root]
    push, pop, emit, mark = stack.append, stack.pop, order.append, visited.add
    while stack:
        node = pop()
        if node is _EMIT:
            emit(pop())
        elif node not in visited:
            mark(node)
            push(node)
            push(_EMIT)
            a = node._input_a
            if a is not None:
                if a not in visited:
                    push(a)
                b = node._input_b
                if b is not None and b not in visited:
                    push(b)
            else:
                for child in node._more[0::2]:  # inputs alternate with their local grads
                    if child not in visited:
                        push(child)
    return order


__all__ = ["Value", "topological_order", "sum", "mean", "dot"]
