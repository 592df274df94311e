"""The scalar autograd engine: `Value`, its operations, and backpropagation.

Every operation computes its result and, a line or two below, the local
derivative of that result with respect to each input (lecture §1, §5). A node
stores the two side by side as its edges, so the chain rule is data:
`backward()` is one generic loop that multiplies each upstream gradient by the
local derivatives and adds it into the inputs, and the visualizer can print the
same factors on the graph's edges. No node holds a closure that points back at
itself, so a dropped graph is freed by reference counting alone.

Each operation is also described once, as data, in the table of primitives
below (`PRIMITIVES`): its name, how many inputs it takes, where a folded
number stands, how it is written, and its local derivatives written with
Values. The expression language, the hypothesis strategies, the drawings and
the error messages all read that table.
"""

from __future__ import annotations

import builtins
import math
import numbers
import operator
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence, Union

from tinygrad_edu.checks import require, require_type

Number = Union[int, float]
Operand = Union["Value", int, float]

_INF = math.inf
# backward() on graphs that share nodes writes the same grads: one pass at a time, so
# several threads get what the same calls one after another would give.
_BACKWARD_LOCK = threading.Lock()


# ------------------------------------------------------------ the primitives
@dataclass(frozen=True, eq=False)
class Primitive:
    """One operation of the engine, described once: every other module reads this.

    name        the op as it is written: "+", "**", "neg", "exp", "sum", "dot"
    arity       how many Value inputs it takes: 1, 2, or None for any number
    constant    where a folded plain number stands: None, "right" (`x * 2`), or
                "left" (`2 - x`)
    written     "infix" (`a + b`), "prefix" (`-a`), "call" (`exp(a)`, `sum(a, b)`)
    derivatives node -> one entry per input edge: ∂node/∂input written with Values
                (or plain numbers where it is a constant), so a derivative can be
                differentiated again; None for an op known only by its numbers
    """

    name: str
    arity: Optional[int]
    constant: Optional[str] = None
    written: str = "call"
    derivatives: Optional[Callable[[Value], tuple]] = None

    def display(self, constant: Optional[float]) -> str:
        """The short form `Value.op` shows: `+`, `*2`, `2-`, `**0.5`, `sum+3`, `tanh`."""
        if constant is None or self.name == "dot":
            return self.name
        if self.constant == "left":
            return _fmt(constant) + self.name
        if self.arity is None:  # sum with a folded constant
            return f"{self.name}+{_fmt(constant)}"
        return self.name + _fmt(constant)

    def formula(self, operands: Sequence[str], constant: Optional[float] = None) -> str:
        """How a node is written out from its operands' texts: `a + d`, `2 - x`, `sum(a, b) + 3`."""
        if self.written == "prefix":  # negation, the one prefix op
            return f"-{operands[0]}"
        if self.written == "infix":
            if self.constant == "left":
                return f"{number_text(constant)} {self.name} {operands[0]}"
            right = operands[1] if self.constant is None else number_text(constant)
            return f"{operands[0]} {self.name} {right}"
        text = f"{self.name}({', '.join(operands)})"
        if constant is not None:
            sign = "-" if math.copysign(1.0, constant) < 0 else "+"
            text += f" {sign} {number_text(abs(constant))}"
        return text

    def __repr__(self) -> str:
        where = f", constant={self.constant!r}" if self.constant else ""
        return f"Primitive({self.name!r}, arity={self.arity}{where})"


def _fmt(number: Number) -> str:
    """Short form of a number for `Value.op` (`2`, `0.999`, `-1.5e-08`)."""
    return f"{number:g}"


def number_text(number: Optional[float]) -> str:
    """A number as a person writes it and Python reads it back exactly: `2`, `0.001`, `1e-300`."""
    short = f"{number:g}"
    return short if float(short) == number else repr(float(number))


def _constant_locals(node: Value) -> tuple:
    """For ops whose local derivatives do not depend on the inputs: the stored numbers."""
    return node.local_grads


def dot_pairs(node: Value) -> int:
    """How many (w_i, x_i) pairs of two Values lead a dot node's inputs (0 for other nodes).

    A dot node's inputs are those pairs first (each one's local grad is the
    other's data), then single Values whose partner was a plain number, then a
    Value bias.
    """
    return int(node._local_a) if node._primitive is DOT else 0


def _dot_derivatives(node: Value) -> tuple:
    """∂(w·x + b)/∂w_i = x_i and ∂/∂x_i = w_i: the partner Value where it is one."""
    edges = node._more
    paired = 2 * dot_pairs(node)  # the leading edges come in (w_i, x_i) pairs
    inputs, locals_ = edges[0::2], edges[1::2]
    return tuple(inputs[k ^ 1] if k < paired else locals_[k] for k in range(len(inputs)))


def _pow_derivatives(node: Value) -> tuple:
    base, exponent = node.inputs
    if base.data == 0.0:
        raise ValueError(f"{describe_node(node)}: with the base at 0, the derivative of "
                         f"base ** exponent is not a differentiable function there")
    # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a
    return exponent * base ** (exponent - 1.0), node * base.log()


def _pow_constant_derivatives(node: Value) -> tuple:
    (x,), n = node.inputs, node.constant
    return (n * x ** (n - 1.0),) if n != 0.0 else (0.0,)  # d(x^n)/dx = n x^(n-1)


def _rpow_constant_derivatives(node: Value) -> tuple:
    c = node.constant
    return (node * math.log(c),) if c > 0.0 else (0.0,)  # d(c^x)/dx = c^x ln c


ADD = Primitive("+", 2, written="infix", derivatives=_constant_locals)
ADD_CONSTANT = Primitive("+", 1, "right", "infix", _constant_locals)
SUB = Primitive("-", 2, written="infix", derivatives=_constant_locals)
SUB_CONSTANT = Primitive("-", 1, "right", "infix", _constant_locals)
RSUB_CONSTANT = Primitive("-", 1, "left", "infix", _constant_locals)
MUL = Primitive("*", 2, written="infix", derivatives=lambda n: (n.inputs[1], n.inputs[0]))
MUL_CONSTANT = Primitive("*", 1, "right", "infix", _constant_locals)
DIV = Primitive("/", 2, written="infix",
                derivatives=lambda n: (1.0 / n.inputs[1], -n / n.inputs[1]))
DIV_CONSTANT = Primitive("/", 1, "right", "infix", _constant_locals)
RDIV_CONSTANT = Primitive("/", 1, "left", "infix", lambda n: (-n / n.inputs[0],))
POW = Primitive("**", 2, written="infix", derivatives=_pow_derivatives)
POW_CONSTANT = Primitive("**", 1, "right", "infix", _pow_constant_derivatives)
RPOW_CONSTANT = Primitive("**", 1, "left", "infix", _rpow_constant_derivatives)
NEG = Primitive("neg", 1, written="prefix", derivatives=_constant_locals)
EXP = Primitive("exp", 1, derivatives=lambda n: (n,))
LOG = Primitive("log", 1, derivatives=lambda n: (1.0 / n.inputs[0],))
TANH = Primitive("tanh", 1, derivatives=lambda n: (1.0 - n * n,))
SIGMOID = Primitive("sigmoid", 1, derivatives=lambda n: (n * (1.0 - n),))
RELU = Primitive("relu", 1, derivatives=_constant_locals)  # 1 or 0: its own derivative is 0
SUM = Primitive("sum", None, derivatives=_constant_locals)
SUM_CONSTANT = Primitive("sum", None, "right", derivatives=_constant_locals)
MEAN = Primitive("mean", None, derivatives=_constant_locals)
DOT = Primitive("dot", None, derivatives=_dot_derivatives)

# Every primitive of the engine, in the order the README lists them.
PRIMITIVES: tuple[Primitive, ...] = (
    ADD, ADD_CONSTANT, SUB, SUB_CONSTANT, RSUB_CONSTANT, MUL, MUL_CONSTANT,
    DIV, DIV_CONSTANT, RDIV_CONSTANT, POW, POW_CONSTANT, RPOW_CONSTANT, NEG,
    EXP, LOG, TANH, SIGMOID, RELU, SUM, SUM_CONSTANT, MEAN, DOT,
)
# The operators between two operands, and the functions of one Value, by name.
BINARY_OPERATORS: tuple[str, ...] = tuple(p.name for p in PRIMITIVES
                                          if p.written == "infix" and p.arity == 2)
FUNCTIONS: tuple[str, ...] = tuple(p.name for p in PRIMITIVES
                                   if p.written == "call" and p.arity == 1)
N_ARY: tuple[str, ...] = tuple(dict.fromkeys(p.name for p in PRIMITIVES if p.arity is None))
_BUILT_IN_NAMES: tuple[str, ...] = tuple(dict.fromkeys(p.name for p in PRIMITIVES))
# The ops made with Value.from_op, one Primitive per name and arity: numbers only, no rule.
_CUSTOM: dict[tuple[str, int], Primitive] = {}


def _custom_primitive(name: str, arity: int) -> Primitive:
    """The Primitive of an op of your own: written as a call, without a derivative rule."""
    key = (name, arity)
    if key not in _CUSTOM:
        _CUSTOM[key] = Primitive(name, arity)
    return _CUSTOM[key]


def _as_constant(other: object) -> Optional[float]:
    """The float value of a plain real number operand, or None for anything else."""
    if type(other) is float:
        return other
    if isinstance(other, bool) or not isinstance(other, numbers.Real):
        return None
    try:
        return float(other)
    except OverflowError:  # an int too large for a float: the operation refuses it by name
        return _INF if other > 0 else -_INF


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
    # (input, local grad, input, local grad, ...) in `_more` instead, and a dot node keeps
    # in `_local_a` how many of its leading edges come in (weight, input) pairs.
    __slots__ = ("data", "grad", "label", "_primitive", "_constant",
                 "_input_a", "_local_a", "_input_b", "_local_b", "_more")

    def __init__(self, data: Number, label: str = "") -> None:
        if type(data) is not float:
            require_type(data, "Value(data)", numbers.Real, "a real number (int or float)")
            try:
                data = float(data)
            except OverflowError:
                raise ValueError(f"Value(data) must be a finite number, got "
                                 f"{number_words(data)}: too large for a float") from None
        if not -_INF < data < _INF:
            require(False, "Value(data)", data, "a finite number")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._primitive = None
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
        primitive = self._primitive
        return "" if primitive is None else primitive.display(self._constant)

    @property
    def primitive(self) -> Optional[Primitive]:
        """The entry of PRIMITIVES that made this node (None for a leaf): name, arity, rules."""
        return self._primitive

    @property
    def constant(self) -> Optional[float]:
        """The plain number folded into this node (`2` in `x * 2`, `2 - x`), else None."""
        return self._constant

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

    def item(self) -> float:
        """The number this Value holds, as PyTorch's `tensor.item()`: the same as `data`."""
        return self.data

    def __format__(self, spec: str) -> str:
        """`f"{v:.4f}"` formats the data; an empty spec gives the repr, as for any object."""
        return format(self.data, spec) if spec else repr(self)

    # ------------------------------------------------------------ ops of your own
    @classmethod
    def from_op(cls, data: Number, inputs: Sequence[Value], local_grads: Sequence[Number],
                op: str = "op") -> Value:
        """A node of an operation of your own, from its value and its local derivatives.

        `inputs` are the Values it was computed from and `local_grads` the
        derivative of the result with respect to each, as numbers at these
        inputs. The node joins the graph like any other: backward(), _backward(),
        drawing and gradcheck work on it. Differentiating it a second time with
        grad(..., create_graph=True) is not possible, since only the numbers of
        its derivatives are known; the error names the op.

            s = Value.from_op(math.log1p(math.exp(x.data)), [x], [sigmoid(x.data)], "softplus")
        """
        require_type(op, "op", str, "the operation's name, a string such as 'softplus'")
        require(op.strip() != "" and op not in _BUILT_IN_NAMES, "op", op,
                "a name of your own, not empty and not one of the engine's: "
                + " ".join(_BUILT_IN_NAMES))
        inputs, local_grads = list(inputs), list(local_grads)
        require(len(inputs) > 0, f"Value.from_op({op!r}) inputs", inputs,
                "a non-empty list of Values")
        require(len(local_grads) == len(inputs), f"Value.from_op({op!r}) local_grads",
                local_grads, f"one number per input ({len(inputs)} inputs)")
        for i, (operand, local) in enumerate(zip(inputs, local_grads)):
            require_type(operand, f"Value.from_op({op!r}) inputs[{i}]", Value, "a Value")
            require_type(local, f"Value.from_op({op!r}) local_grads[{i}]", numbers.Real,
                         "a real number")
            require(-_INF < local < _INF, f"Value.from_op({op!r}) local_grads[{i}]", local,
                    "a finite number")
        require_type(data, f"Value.from_op({op!r}) data", numbers.Real, "a real number")
        require(-_INF < data < _INF, f"Value.from_op({op!r}) data", data, "a finite number")
        primitive = _custom_primitive(op, len(inputs))
        if len(inputs) <= 2:
            return _node(float(data), primitive, inputs[0], float(local_grads[0]),
                         *((inputs[1], float(local_grads[1])) if len(inputs) == 2 else ()))
        edges = tuple(item for pair in zip(inputs, map(float, local_grads)) for item in pair)
        return _nary_node(float(data), primitive, edges)

    # ------------------------------------------------------- binary operators
    def __add__(self, other: Operand) -> Value:
        if type(other) is Value:
            # d(a+b)/da = 1, d(a+b)/db = 1
            return _node(self.data + other.data, ADD, self, 1.0, other, 1.0)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data + c, ADD_CONSTANT, self, 1.0, constant=c)

    __radd__ = __add__

    def __sub__(self, other: Operand) -> Value:
        if type(other) is Value:
            # d(a-b)/da = 1, d(a-b)/db = -1
            return _node(self.data - other.data, SUB, self, 1.0, other, -1.0)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data - c, SUB_CONSTANT, self, 1.0, constant=c)

    def __rsub__(self, other: Number) -> Value:
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        # d(c-x)/dx = -1
        return _node(c - self.data, RSUB_CONSTANT, self, -1.0, constant=c)

    def __mul__(self, other: Operand) -> Value:
        if type(other) is Value:
            # d(a*b)/da = b, d(a*b)/db = a
            return _node(self.data * other.data, MUL, self, other.data, other, self.data)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        # d(c*x)/dx = c
        return _node(self.data * c, MUL_CONSTANT, self, c, constant=c)

    __rmul__ = __mul__

    def __truediv__(self, other: Operand) -> Value:
        if type(other) is Value:
            b = other.data
            if b == 0.0:
                raise ZeroDivisionError(f"division by zero: {self.data!r} / {b!r}")
            if not -_INF < b < _INF:  # a / inf would be a finite 0.0 that hides the operand
                _require_finite_operands(f"{self.data!r} / {b!r}", b)
            # d(a/b)/da = 1/b, d(a/b)/db = -a/b²
            out = self.data / b
            return _node(out, DIV, self, 1.0 / b, other, -out / b)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        if c == 0.0:
            raise ZeroDivisionError(f"division by zero: {self.data!r} / {c!r}")
        return _node(self.data / c, DIV_CONSTANT, self, 1.0 / c, constant=c)

    def __rtruediv__(self, other: Number) -> Value:
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        x = self.data
        if x == 0.0:
            raise ZeroDivisionError(f"division by zero: {c!r} / {x!r}")
        if not -_INF < x < _INF:  # c / inf would be a finite 0.0 that hides the operand
            _require_finite_operands(f"{c!r} / {x!r}", x)
        # d(c/x)/dx = -c/x²
        out = c / x
        return _node(out, RDIV_CONSTANT, self, -out / x, constant=c)

    def __pow__(self, other: Operand) -> Value:
        if type(other) is Value:
            return _pow_values(self, other)
        n = _as_constant(other)
        if n is None:
            return NotImplemented
        x = self.data
        operation = f"{x!r} ** {number_words(other)}"
        _require_finite_operands(operation, x, n)
        if x == 0.0 and n < 0:
            raise ZeroDivisionError(f"{operation}: zero cannot be raised to a negative power")
        if x < 0.0 and not n.is_integer():
            raise ValueError(f"{operation}: a negative base needs an integer exponent")
        out = _power(x, n, operation)
        if x == 0.0 and 0.0 < n < 1.0:
            raise ValueError(f"{operation}: the result is 0.0 but its derivative "
                             f"{n!r} * 0.0 ** {n - 1.0!r} is infinite: x ** {n!r} has no "
                             f"derivative at x = 0")
        # d(x^n)/dx = n x^(n-1); written this way it stays exact at x = 0 for n >= 1
        local = n * _local_power(x, n - 1.0, operation, out) if n != 0.0 else 0.0
        return _node(out, POW_CONSTANT, self, _finite_local(local, operation, out),
                     constant=n)

    def __rpow__(self, other: Number) -> Value:
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _pow_values(Value(c), self, c)

    def __neg__(self) -> Value:
        # d(-x)/dx = -1
        return _node(-self.data, NEG, self, -1.0)

    def __pos__(self) -> Value:
        return self

    # -------------------------------------------------------- unary functions
    def exp(self) -> Value:
        """e to the power of this value."""
        if not -_INF < self.data < _INF:  # exp(-inf) would be a finite 0.0
            _require_finite_operands(f"exp({self.data!r})", self.data)
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data!r}): result overflows a float") from None
        # d(e^x)/dx = e^x
        return _node(out, EXP, self, out)

    def log(self) -> Value:
        """The natural logarithm; the input must be > 0."""
        x = self.data
        if not x > 0.0:
            _require_finite_operands(f"log({x!r})", x)  # NaN is neither > 0 nor <= 0
            raise ValueError(f"log({x!r}): input must be > 0")
        out = math.log(x)
        # d(ln x)/dx = 1/x
        return _node(out, LOG, self, _finite_local(1.0 / x, f"log({x!r})", out))

    def tanh(self) -> Value:
        """Hyperbolic tangent; finite for every finite input."""
        if not -_INF < self.data < _INF:  # tanh(inf) would be a finite 1.0
            _require_finite_operands(f"tanh({self.data!r})", self.data)
        t = math.tanh(self.data)
        # tanh'(z) = 1 - tanh(z)²
        return _node(t, TANH, self, 1.0 - t * t)

    def sigmoid(self) -> Value:
        """The logistic function σ(z) = 1 / (1 + e^(-z)); finite for every finite input."""
        if not -_INF < self.data < _INF:  # σ(inf) would be a finite 1.0
            _require_finite_operands(f"sigmoid({self.data!r})", self.data)
        s = _sigmoid(self.data)
        # σ'(z) = σ(z)(1 - σ(z))
        return _node(s, SIGMOID, self, s * (1.0 - s))

    def relu(self) -> Value:
        """max(z, 0). Its derivative at exactly z = 0 is taken as 0, as in PyTorch and micrograd."""
        x = self.data
        if x > 0.0:
            return _node(x, RELU, self, 1.0)
        if not -_INF < x:  # NaN or -inf, which relu would hide as 0.0
            _require_finite_operands(f"relu({x!r})", x)
        # ReLU'(z) = 0 for z <= 0 (the lecture writes 1 at z = 0; see the README)
        return _node(0.0, RELU, self, 0.0)

    # ---------------------------------------------------------- backprop
    def _backward(self) -> None:
        """This node's step of the chain rule, and nothing else: micrograd's `_backward`.

        Adds `local_grad * self.grad` into the `grad` of each input, once per
        edge (so `x * x` adds twice). A leaf has no inputs and does nothing. It
        resets nothing and checks nothing: called twice it adds twice. Calling
        it on every node in reverse topological order, after `root.grad = 1.0`
        on a graph whose grads are 0, is exactly what `backward()` does (which
        also zeroes the interior grads first and checks for overflow).
        """
        upstream = self.grad
        for operand, local in zip(self.inputs, self.local_grads):
            operand.grad += local * upstream

    def backward(self) -> None:
        """Fill in `grad` on every node of this graph: d(self)/d(node), by the chain rule.

        The root's grad is set to 1.0. Gradients of leaves (inputs and
        parameters) accumulate across calls, as in PyTorch: reset them with
        `p.grad = 0.0`, `model.zero_grad()` or `optimizer.zero_grad()`.
        Interior nodes show the gradient of the latest call. If a gradient
        becomes non-finite, OverflowError names the node and every grad is
        left as it was before the call.
        """
        with _BACKWARD_LOCK:
            self._backward_pass()

    def _backward_pass(self) -> None:
        """backward()'s work, run while it holds the lock."""
        order = topological_order(self)
        saved = [node.grad for node in order]
        # The loop below is each node's _backward(), written inline: a method call per
        # node would cost about a sixth of the time of the whole pass.
        for node in order:
            if node._primitive is not None:  # interior nodes start from zero; leaves accumulate
                node.grad = 0.0
        self.grad = 1.0
        try:
            # Reverse topological order: a node's grad is complete before it is passed on.
            for node in reversed(order):
                upstream = node.grad
                if not -_INF < upstream < _INF:
                    raise OverflowError(
                        f"backward: the gradient of {describe_node(node)} is {upstream}, "
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


def _node(data: float, primitive: Primitive, input_a: Value, local_a: float,
          input_b: Optional[Value] = None, local_b: float = 0.0,
          constant: Optional[float] = None) -> Value:
    """Make the result node of a one- or two-input operation: its value and its edges."""
    if not -_INF < data < _INF:
        edges = (input_a,) if input_b is None else (input_a, input_b)
        operation = describe_operation(primitive, edges, constant)
        _require_finite_operands(operation, *(v.data for v in edges),
                                 *(() if constant is None else (constant,)))
        raise OverflowError(f"{operation}: result is {data}, not a finite number")
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._primitive = primitive
    out._constant = constant
    out._input_a = input_a
    out._local_a = local_a
    out._input_b = input_b
    out._local_b = local_b
    out._more = ()
    return out


def _nary_node(data: float, primitive: Primitive, edges: tuple,
               constant: Optional[float] = None, pairs: int = 0) -> Value:
    """Make the result node of an n-ary operation from its flat (input, local grad, ...) edges."""
    if not -_INF < data < _INF:
        operation = describe_operation(primitive, edges[0::2], constant)
        _require_finite_operands(operation, *(v.data for v in edges[0::2]),
                                 *(() if constant is None else (constant,)))
        raise OverflowError(f"{operation}: result is {data}, not a finite number")
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._primitive = primitive
    out._constant = constant
    out._input_a = None
    out._local_a = pairs
    out._input_b = None
    out._local_b = 0.0
    out._more = edges
    return out


def describe_operation(primitive: Primitive, inputs: Sequence[Value],
                       constant: Optional[float]) -> str:
    """Words for an operation that failed, e.g. `1e+308 * 10` or `exp(1000.0)`."""
    operands = [repr(child.data) for child in inputs]
    if len(operands) > 6:  # one line, however many operands: the first few and a count
        operands = operands[:3] + [f"... {len(operands)} operands in all"]
    return primitive.formula(operands, constant)


def describe_node(node: Value) -> str:
    """How an error names a node: its label, else its op (`'e'`, `the node made by '*2'`)."""
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


def _local_power(x: float, n: float, operation: str, result: float) -> float:
    """x ** n inside a derivative: an overflow is the derivative's, not the result's."""
    try:
        return x**n
    except (OverflowError, ZeroDivisionError):
        return _finite_local(_INF, operation, result)


def _finite_local(local: float, operation: str, result: float) -> float:
    """The local derivative if it is finite; else OverflowError saying the result was fine."""
    if -_INF < local < _INF:
        return local
    raise OverflowError(f"{operation}: the result {result!r} is finite but its local "
                        f"derivative overflows a float, so no gradient could pass through it")


def _require_finite_operands(operation: str, *operands: float) -> None:
    """ValueError if an operand is NaN or infinite (say, `v.data` set by hand)."""
    for operand in operands:
        if not -_INF < operand < _INF:
            raise ValueError(f"{operation}: an operand is {operand!r}, not a finite number")


def number_words(number: numbers.Real) -> str:
    """A number for an error message, short even for an int of thousands of digits."""
    if isinstance(number, numbers.Integral) and abs(number).bit_length() > 64:
        digits = int(abs(number).bit_length() * math.log10(2)) + 1
        return f"an int of about {digits} digits"
    return repr(number)


def _pow_values(base: Value, exponent: Value, constant: Optional[float] = None) -> Value:
    """base ** exponent where the exponent is a Value (or a constant base, for `2 ** x`)."""
    a, b = base.data, exponent.data
    operation = f"{a!r} ** {b!r}"
    _require_finite_operands(operation, a, b)
    if a < 0.0 or (a == 0.0 and b <= 0.0):
        raise ValueError(
            f"{operation}: with a Value exponent the base must be > 0 "
            f"(d/d exponent is base**exponent * log(base))"
        )
    out = _power(a, b, operation)
    # d(a^b)/db = a^b ln a, and it tends to 0 as a -> 0 for b > 0
    d_exponent = _finite_local(out * math.log(a) if a > 0.0 else 0.0, operation, out)
    if constant is not None:
        return _node(out, RPOW_CONSTANT, exponent, d_exponent, constant=constant)
    if a == 0.0 and 0.0 < b < 1.0:
        raise ValueError(f"{operation}: the result is 0.0 but its derivative with respect to "
                         f"the base, {b!r} * 0.0 ** {b - 1.0!r}, is infinite")
    # d(a^b)/da = b a^(b-1)
    d_base = b * _local_power(a, b - 1.0, operation, out) if b != 0.0 else 0.0
    return _node(out, POW, base, _finite_local(d_base, operation, out), exponent, d_exponent)


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
        return _nary_node(total + constant, SUM_CONSTANT, tuple(edges), constant)
    return _nary_node(total, SUM, tuple(edges))


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
    return _nary_node(total / n, MEAN, tuple(edges))


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
            return _finish_dot(builtins.sum(map(operator.mul, wd, xd)), edges, bias, n)
        if not any(type(x) is Value for x in inputs):
            xd = [x if type(x) is float else _checked_constant(x, "dot") for x in inputs]
            edges = [None] * (2 * n)
            edges[0::2] = weights
            edges[1::2] = xd
            return _finish_dot(builtins.sum(map(operator.mul, wd, xd)), edges, bias, 0)
    # Any mix of Values and numbers: one edge per Value operand. The products of two
    # Values come first, as (w_i, x_i) pairs, so their derivative rule finds each partner.
    total = 0.0
    pairs: list = []
    singles: list = []
    for w, x in zip(weights, inputs):
        w_is_value = type(w) is Value
        x_is_value = type(x) is Value
        wd = w.data if w_is_value else _checked_constant(w, "dot")
        xd = x.data if x_is_value else _checked_constant(x, "dot")
        total += wd * xd
        if w_is_value and x_is_value:
            pairs += (w, xd, x, wd)
        elif w_is_value:
            singles += (w, xd)
        elif x_is_value:
            singles += (x, wd)
    return _finish_dot(total, pairs + singles, bias, len(pairs) // 4)


def _finish_dot(total: float, edges: list, bias: Optional[Operand], pairs: int) -> Value:
    """Add the bias (an edge with local grad 1 when it is a Value) and make the dot node."""
    constant = None
    if bias is not None:
        if type(bias) is Value:
            total += bias.data
            edges += (bias, 1.0)
        else:
            constant = _checked_constant(bias, "dot")
            total += constant
    return _nary_node(total, DOT, tuple(edges), constant, pairs)


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


# ------------------------------------------------------ derivatives as Values
def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False
         ) -> tuple[Value, ...]:
    """d(output)/d(input) for each input, as Values; no `.grad` attribute is touched.

    With create_graph=False each result is a new leaf holding the number that
    backward() would give. With create_graph=True each result is itself a graph
    over the same leaves, built from the derivative rules of the table of
    primitives, so it can be differentiated again: `grad(grad(y, [x],
    create_graph=True)[0], [x])` is d²y/dx². An input that the output does not
    depend on gets 0. (torch.autograd.grad, for Values.)
    """
    require_type(output, "grad() output", Value, "a Value")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        require_type(x, f"grad() inputs[{i}]", Value, "a Value")
    order = topological_order(output)
    grads: dict[Value, Union[float, Value]] = {output: 1.0}
    for node in reversed(order):
        upstream = grads.get(node)
        primitive = node._primitive
        if upstream is None or primitive is None:
            continue
        if create_graph:
            if primitive.derivatives is None:
                raise ValueError(
                    f"grad(create_graph=True): the op {primitive.name!r} was made with "
                    f"Value.from_op and carries the numbers of its local derivatives only, "
                    f"so it cannot be differentiated a second time; use create_graph=False, "
                    f"or build the op from the engine's operations")
            locals_ = primitive.derivatives(node)
        else:
            locals_ = node.local_grads
            if not -_INF < upstream < _INF:
                raise OverflowError(f"grad: the gradient of {describe_node(node)} is {upstream}, "
                                    f"not a finite number")
        for operand, local in zip(node.inputs, locals_):
            contribution = _times(upstream, local)
            previous = grads.get(operand)
            grads[operand] = contribution if previous is None else previous + contribution
    results = []
    for x in inputs:
        g = grads.get(x, 0.0)
        if type(g) is not Value:
            if not -_INF < g < _INF:
                raise OverflowError(f"grad: the gradient of {describe_node(x)} is {g}, "
                                    f"not a finite number")
            g = Value(g)
        results.append(g)
    return tuple(results)


def _times(upstream: Union[float, Value], local: Union[float, Value]) -> Union[float, Value]:
    """upstream * local, without a node for a factor of exactly 1 (a plain float)."""
    if type(upstream) is float and upstream == 1.0:
        return local
    if type(local) is float and local == 1.0:
        return upstream
    return upstream * local


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


__all__ = ["Value", "Primitive", "PRIMITIVES", "topological_order", "grad", "sum", "mean", "dot"]
