"""The scalar autograd engine: `Value`, its operations, and backpropagation.

Every operation is one entry of the table of primitives below (`PRIMITIVES`):
its forward result and, on the next line, the local derivative of that result
with respect to each operand (lecture §1, §5), written once over a small math
namespace. The eager engine reads each rule with plain floats; the same rule,
read with Values, gives derivatives of derivatives (`grad(create_graph=True)`),
and the trace's backends read it as Python source and as numpy arrays. A node
stores its value and local derivatives side by side as its edges, so the chain
rule is data:
`backward()` is one generic loop that multiplies each upstream gradient by the
local derivatives and adds it into the inputs, and the visualizer can print the
same factors on the graph's edges. No node holds a closure that points back at
itself, so a dropped graph is freed by reference counting alone.

The expression language, the hypothesis strategies, the drawings and the
error messages read the same table, so an op added there is known everywhere
(see "Adding an op" in the README).
"""

from __future__ import annotations

import builtins
import math
import numbers
import operator
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence, Union

from tinygrad_edu.checks import require, require_type

Number = Union[int, float]
Operand = Union["Value", int, float]

_INF = math.inf
# backward() on graphs that share nodes writes the same grads: one pass at a time, so
# several threads get what the same calls one after another would give.
_BACKWARD_LOCK = threading.Lock()


# ------------------------------------------------------------ the primitives
@dataclass(frozen=True, eq=False)
class Domain:
    """Where an op is not defined, or has no finite derivative: refused before it is computed.

    bad(m, varies, *operands) is true where the operands are outside the domain
    (written with the same math namespace `m` as the rules, so every interpreter
    can ask it); `varies[k]` says whether operand k is a Value (a gradient must
    reach it) or a folded number. words(operation, *operands) is the message.
    """

    bad: Callable
    error: type
    words: Callable[..., str]


@dataclass(frozen=True, eq=False)
class Primitive:
    """One operation of the engine, described once: every interpreter and every module reads this.

    name        the op as it is written: "+", "**", "neg", "exp", "sum", "dot"
    arity       how many operands it takes: 1, 2, or None for any number. An operand
                may be a plain number (`x * 2`, `2 - x`): it is folded into the node
                as its constant, and only the Value operands get an edge.
    written     "infix" (`a + b`), "prefix" (`-a`) or "call" (`exp(a)`, `sum(a, b)`)
    forward     (m, *operands) -> the result, written with Python's operators and the
                math namespace `m` (n-ary: (m, operands, node) -> the result)
    derivative  one entry per operand: ∂result/∂operand, as a number where it is one,
                else a rule (m, out, *operands) -> the derivative, where `out` is the
                result (n-ary: one rule (m, out, operands, node) -> one per operand)
    domain      where the op refuses its operands (see Domain)
    activation  True for a function a neuron may apply to w·x + b (nn.ACTIVATIONS and the
                command line's --activation list these)

    The same rule is read by every interpreter: plain floats (the eager engine,
    `FLOATS`), Values (`grad(create_graph=True)`, `VALUES`), Python source (the
    trace's python backend) and numpy arrays (its numpy backend). An op made with
    Value.from_op has neither forward nor derivative: only its numbers are known.
    """

    name: str
    arity: Optional[int]
    written: str = "call"
    forward: Optional[Callable] = None
    derivative: Any = None
    domain: tuple[Domain, ...] = ()
    activation: bool = False

    def display(self, constant: Optional[float], left: bool = False) -> str:
        """The short form `Value.op` shows: `+`, `*2`, `2-`, `**0.5`, `sum+3`, `tanh`."""
        if constant is None or self.arity is None and self is not SUM:
            return self.name
        if left:
            return _fmt(constant) + self.name
        if self.arity is None:  # sum with a folded constant
            return f"{self.name}+{_fmt(constant)}"
        return self.name + _fmt(constant)

    def formula(self, operands: Sequence[str], constant: Optional[float] = None,
                left: bool = False) -> str:
        """How a node is written out from its operands' texts: `a + d`, `2 - x`, `sum(a, b) + 3`.

        `operands` are the texts of the Value operands; a folded constant stands
        on the right, or on the left where `left` is true (`2 - x`).
        """
        if self.written == "prefix":  # negation, the one prefix op
            return f"-{operands[0]}"
        if self.written == "infix":
            if constant is None:
                return f"{operands[0]} {self.name} {operands[1]}"
            if left:
                return f"{number_text(constant)} {self.name} {operands[0]}"
            return f"{operands[0]} {self.name} {number_text(constant)}"
        text = f"{self.name}({', '.join(operands)})"
        if constant is not None and constant != 0.0:
            sign = "-" if math.copysign(1.0, constant) < 0 else "+"
            text += f" {sign} {number_text(abs(constant))}"
        return text

    @property
    def derivatives(self) -> Optional[Callable[[Value], tuple]]:
        """node -> ∂node/∂input for each input edge, written with Values (None for a from_op op)."""
        return None if self.derivative is None else self._value_derivatives

    def _value_derivatives(self, node: Value) -> tuple:
        return local_derivatives(node, VALUES)

    def constant_edges(self, edges: int, constant: Optional[float] = None, left: bool = False,
                       pairs: int = 0) -> tuple[bool, ...]:
        """For each input edge of a node of this op: is its local derivative a fixed number?

        True where the rule gives a number without reading a Value operand or the
        result (the 1s of `a + b`, the 2 of `x * 2`, a dot's plain-number
        partners): a replay may keep the recorded number instead of recomputing
        it. `constant`, `left` and `pairs` describe the node as Value.constant,
        Value.constant_left and dot_pairs do.
        """
        if self.derivative is None:  # an op of your own: only its numbers are known
            return (True,) * edges
        if self.arity is None:
            shape = Folded(constant, 1, pairs, (1.0,) * (edges - 2 * pairs))
            rules = self.derivative(SYMBOLS, _SYMBOL, [_SYMBOL] * edges, shape)
            return tuple(type(rule) is not _Symbol for rule in rules)
        if constant is None:
            at, positions = [_SYMBOL] * self.arity, range(self.arity)
        else:
            at, positions = ([constant, _SYMBOL], (1,)) if left else ([_SYMBOL, constant], (0,))
        rules = [self.derivative[k] for k in positions]
        return tuple(not callable(rule) or type(rule(SYMBOLS, _SYMBOL, *at)) is not _Symbol
                     for rule in rules)

    def __repr__(self) -> str:
        return f"Primitive({self.name!r}, arity={self.arity})"


def _fmt(number: Number) -> str:
    """Short form of a number for `Value.op` (`2`, `0.999`, `-1.5e-08`)."""
    return f"{number:g}"


def number_text(number: Optional[float]) -> str:
    """A number as a person writes it and Python reads it back exactly: `2`, `0.001`, `1e-300`."""
    short = f"{number:g}"
    return short if float(short) == number else repr(float(number))


# ---------------------------------------------------------- the math namespaces
class FloatMath:
    """The math the rules are written in, for plain floats: the eager engine's interpreter.

    A result out of a float's range comes back as inf (never an exception), and
    the engine turns it into an error that names the operation.
    """

    log, tanh = math.log, math.tanh

    @staticmethod
    def exp(x: float) -> float:
        try:
            return math.exp(x)
        except OverflowError:
            return _INF

    @staticmethod
    def sigmoid(z: float) -> float:
        """σ(z) computed without overflow for any finite z."""
        if z >= 0.0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)  # z < 0, so e is in (0, 1) and cannot overflow
        return e / (1.0 + e)

    @staticmethod
    def relu(x: float) -> float:
        return x if x > 0.0 else 0.0

    @staticmethod
    def step(x: float) -> float:
        """relu's derivative: 1 for x > 0, else 0 (0 at x = 0, as in PyTorch)."""
        return 1.0 if x > 0.0 else 0.0

    @staticmethod
    def power(a: float, b: float) -> float:
        try:
            return a**b
        except (OverflowError, ZeroDivisionError):
            return _INF

    @staticmethod
    def times_power(c: float, a: float, e: float) -> float:
        """c · a^e, taken as 0 where c is 0 (so x ** 0 has derivative 0 even at x = 0)."""
        return 0.0 if c == 0.0 else c * FloatMath.power(a, e)

    @staticmethod
    def times_log(out: float, a: float) -> float:
        """out · ln a, taken as 0 at a = 0 (where out = a^b is 0 too: the limit of a^b ln a)."""
        return out * math.log(a) if a > 0.0 else 0.0

    @staticmethod
    def is_fraction(x: float) -> bool:
        """True where x is not a whole number."""
        return not float(x).is_integer()

    @staticmethod
    def sum_of(terms: Sequence, constant: Any = None) -> Any:
        """Σ terms (+ constant), added as Python's sum() adds them."""
        total = builtins.sum(terms[1:], terms[0]) if len(terms) else 0.0
        return total if constant is None or constant == 0.0 and len(terms) else total + constant


class ValueMath:
    """The same math for Values: a rule read with it builds a graph (derivatives of derivatives)."""

    @staticmethod
    def exp(x: Operand) -> Operand:
        return x.exp() if type(x) is Value else math.exp(x)

    @staticmethod
    def log(x: Operand) -> Operand:
        return x.log() if type(x) is Value else math.log(x)

    @staticmethod
    def tanh(x: Operand) -> Operand:
        return x.tanh() if type(x) is Value else math.tanh(x)

    @staticmethod
    def sigmoid(x: Operand) -> Operand:
        return x.sigmoid() if type(x) is Value else FloatMath.sigmoid(x)

    @staticmethod
    def relu(x: Operand) -> Operand:
        return x.relu() if type(x) is Value else FloatMath.relu(x)

    @staticmethod
    def step(x: Operand) -> Operand:
        """relu's derivative as a node of its own (`step`), so a graph of derivatives that goes
        through a relu recomputes its 1 or 0 when it is replayed at other values."""
        return apply(STEP, x) if type(x) is Value else FloatMath.step(x)

    @staticmethod
    def power(a: Operand, b: Operand) -> Operand:
        return a**b

    @staticmethod
    def times_power(c: Operand, a: Operand, e: Operand) -> Operand:
        if type(c) is not Value and c == 0.0:
            return 0.0
        return c * a**e

    @staticmethod
    def times_log(out: Operand, a: Operand) -> Operand:
        if type(a) is not Value:
            return FloatMath.times_log(out, a)
        return out * a.log()

    sum_of = FloatMath.sum_of  # sum() of Values: a chain of + nodes


class _Symbol:
    """Stands for a Value operand when the engine asks whether a rule reads one (see
    Primitive.constant_edges): any arithmetic with it gives a _Symbol again."""

    def _any(self, *_: object) -> _Symbol:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _any
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = _any


class _SymbolMath:
    def __getattr__(self, name: str) -> Callable[..., _Symbol]:
        return lambda *operands: _SYMBOL


_SYMBOL, SYMBOLS = _Symbol(), _SymbolMath()
FLOATS, VALUES = FloatMath, ValueMath


# ------------------------------------------------------------ the table of ops
# Each op: its forward result, and a line below, the derivative of that result with respect
# to each operand (lecture §1, §5), both written once for every interpreter. `out` is the
# result, so e^x's derivative is `out` itself and tanh's is 1 - out².
_PRIMITIVES: list[Primitive] = []


def primitive(name: str, arity: Optional[int], written: str = "call", *,
              forward: Callable, derivative: Any, domain: tuple[Domain, ...] = (),
              activation: bool = False) -> Primitive:
    """Make an op and add it to the table `PRIMITIVES`, which every interpreter reads."""
    made = Primitive(name, arity, written, forward, derivative, domain, activation)
    require(all(p.name != name for p in _PRIMITIVES), "primitive name", name,
            "a name no other primitive has")
    _PRIMITIVES.append(made)
    return made


ADD = primitive("+", 2, "infix",
                forward=lambda m, a, b: a + b,
                derivative=(1.0, 1.0))  # d(a+b)/da = 1, d(a+b)/db = 1
SUB = primitive("-", 2, "infix",
                forward=lambda m, a, b: a - b,
                derivative=(1.0, -1.0))  # d(a-b)/da = 1, d(a-b)/db = -1
MUL = primitive("*", 2, "infix",
                forward=lambda m, a, b: a * b,
                derivative=(lambda m, out, a, b: b,  # d(ab)/da = b
                            lambda m, out, a, b: a))  # d(ab)/db = a
DIV = primitive("/", 2, "infix",
                forward=lambda m, a, b: a / b,
                derivative=(lambda m, out, a, b: 1.0 / b,  # d(a/b)/da = 1/b
                            lambda m, out, a, b: -out / b),  # d(a/b)/db = -a/b² = -out/b
                domain=(Domain(lambda m, v, a, b: b == 0.0, ZeroDivisionError,
                               lambda operation, a, b: f"division by zero: {a!r} / {b!r}"),))
POW = primitive("**", 2, "infix",
                forward=lambda m, a, b: m.power(a, b),
                derivative=(lambda m, out, a, b: m.times_power(b, a, b - 1.0),  # b a^(b-1)
                            lambda m, out, a, b: m.times_log(out, a)),  # a^b ln a
                domain=(
    Domain(lambda m, v, a, b: v[1] & ((a < 0.0) | ((a == 0.0) & (b <= 0.0))), ValueError,
           lambda operation, a, b: f"{operation}: with a Value exponent the base must be > 0 "
                                   f"(d/d exponent is base**exponent * log(base))"),
    Domain(lambda m, v, a, b: (a == 0.0) & (b < 0.0), ZeroDivisionError,
           lambda operation, a, b: f"{operation}: zero cannot be raised to a negative power"),
    Domain(lambda m, v, a, b: (a < 0.0) & m.is_fraction(b), ValueError,
           lambda operation, a, b: f"{operation}: a negative base needs an integer exponent"),
    Domain(lambda m, v, a, b: v[0] & (a == 0.0) & (b > 0.0) & (b < 1.0), ValueError,
           lambda operation, a, b: f"{operation}: the result is 0.0 but its derivative with "
                                   f"respect to the base, {b!r} * 0.0 ** {b - 1.0!r}, is "
                                   f"infinite: x ** {b!r} has no derivative at x = 0"),
))
NEG = primitive("neg", 1, "prefix",
                forward=lambda m, x: -x,
                derivative=(-1.0,))  # d(-x)/dx = -1
EXP = primitive("exp", 1,
                forward=lambda m, x: m.exp(x),
                derivative=(lambda m, out, x: out,))  # d(e^x)/dx = e^x
LOG = primitive("log", 1,
                forward=lambda m, x: m.log(x),
                derivative=(lambda m, out, x: 1.0 / x,),  # d(ln x)/dx = 1/x
                domain=(Domain(lambda m, v, x: x <= 0.0, ValueError,
                               lambda operation, x: f"{operation}: input must be > 0"),))
TANH = primitive("tanh", 1,
                 forward=lambda m, x: m.tanh(x),
                 derivative=(lambda m, out, x: 1.0 - out * out,),  # tanh'(z) = 1 - tanh(z)²
                 activation=True)
SIGMOID = primitive("sigmoid", 1,
                    forward=lambda m, x: m.sigmoid(x),  # σ(z) = 1 / (1 + e^(-z))
                    derivative=(lambda m, out, x: out * (1.0 - out),),  # σ'(z) = σ(z)(1 - σ(z))
                    activation=True)
# ReLU'(z) = 1 for z > 0, else 0: at exactly z = 0 it is taken as 0, as in PyTorch and
# micrograd (the lecture writes 1 there; see the README).
RELU = primitive("relu", 1,
                 forward=lambda m, x: m.relu(x),
                 derivative=(lambda m, out, x: m.step(x),),
                 activation=True)
# relu's derivative, 1 for x > 0 and else 0: an op of its own, so that derivatives of a graph
# with relus are graphs too (grad(create_graph=True)); its own derivative is 0.
STEP = primitive("step", 1,
                 forward=lambda m, x: m.step(x),
                 derivative=(0.0,))


# The n-ary ops read their operands as a list, and a few numbers of their node (`sum_of`
# below): the folded constant, how many operands a mean averages, how a dot pairs them.
def _dot_forward(m: Any, operands: Sequence, node: Any) -> Any:
    """w·x + b: each pair (w_i, x_i) of Values, each Value v_k times its folded number c_k, and
    the folded constant (a number bias plus the number-times-number terms)."""
    paired = 2 * node.pairs
    terms = [operands[k] * operands[k + 1] for k in range(0, paired, 2)]
    terms += [v if c == 1.0 else v * c for v, c in zip(operands[paired:], node.factors)]
    return m.sum_of(terms, node.constant)


def _dot_derivative(m: Any, out: Any, operands: Sequence, node: Any) -> tuple:
    """∂(w·x + b)/∂w_i = x_i and ∂/∂x_i = w_i for the pairs; c_k for each single v_k."""
    paired = 2 * node.pairs
    return (*(operands[k ^ 1] for k in range(paired)), *node.factors)


SUM = primitive("sum", None,
                forward=lambda m, operands, node: m.sum_of(operands, node.constant),
                derivative=lambda m, out, operands, node: (1.0,) * len(operands))
MEAN = primitive("mean", None,  # (Σ operands + the folded numbers) / n, d/d operand = 1/n
                 forward=lambda m, operands, node: m.sum_of(operands, node.constant) / node.count,
                 derivative=lambda m, out, operands, node: (1.0 / node.count,) * len(operands))
DOT = primitive("dot", None, forward=_dot_forward, derivative=_dot_derivative)

# Every primitive of the engine, in the order the README lists them.
PRIMITIVES: Sequence[Primitive] = _PRIMITIVES
# The ops made with Value.from_op, one Primitive per name and arity: numbers only, no rule.
_CUSTOM: dict[tuple[str, int], Primitive] = {}


class PrimitiveNames(Sequence):
    """The names of the table's primitives that `select` picks, read afresh on every use, so
    an op added to the table is known at once to everything that lists these names."""

    def __init__(self, select: Callable[[Primitive], bool]) -> None:
        self._select = select

    def _names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.name for p in PRIMITIVES if self._select(p)))

    def __getitem__(self, index: Any) -> Any:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __repr__(self) -> str:
        return repr(self._names())


# The operators between two operands (`+ - * / **`), and the functions of one Value by name.
BINARY_OPERATORS = PrimitiveNames(lambda p: p.written == "infix")
FUNCTIONS = PrimitiveNames(lambda p: p.written == "call" and p.arity == 1)
N_ARY = PrimitiveNames(lambda p: p.arity is None)


def find_primitive(name: str) -> Primitive:
    """The primitive of the table with this name; KeyError if there is none."""
    for p in PRIMITIVES:
        if p.name == name:
            return p
    raise KeyError(name)



def _custom_primitive(name: str, arity: int) -> Primitive:
    """The Primitive of an op of your own: written as a call, without a derivative rule."""
    key = (name, arity)
    if key not in _CUSTOM:
        _CUSTOM[key] = Primitive(name, arity)
    return _CUSTOM[key]


def _finite_float(number: Any, name: str) -> float:
    """A real number as a finite float; ValueError naming it (short, even for a huge int)."""
    value = _as_constant(number)
    if value is None or not -_INF < value < _INF:
        raise ValueError(f"{name} must be a finite number, got {number_words(number)}")
    return value


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
        if primitive is None:
            return ""
        return primitive.display(self._constant, type(self._constant) is _Left)

    @property
    def primitive(self) -> Optional[Primitive]:
        """The entry of PRIMITIVES that made this node (None for a leaf): name, arity, rules."""
        return self._primitive

    @property
    def constant(self) -> Optional[float]:
        """The plain number folded into this node (`2` in `x * 2`, `2 - x`), else None."""
        constant = self._constant
        if self._primitive is None:  # a leaf keeps no number; grad() may mark one (see grad)
            return None
        return constant if type(constant) is not _Left else float(constant)

    @property
    def constant_left(self) -> bool:
        """True where the folded number stands left of the operator: `2 - x`, `2 ** x`."""
        return type(self._constant) is _Left

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

            s = Value.from_op(math.log1p(math.exp(x.data)), [x], [sigmoid(x.data)], "my_softplus")
        """
        require_type(op, "op", str, "the operation's name, a string such as 'softplus'")
        built_in = [p.name for p in PRIMITIVES]
        require(op.strip() != "" and op not in built_in, "op", op,
                "a name of your own, not empty and not one of the engine's: " + " ".join(built_in))
        inputs, local_grads = list(inputs), list(local_grads)
        require(len(inputs) > 0, f"Value.from_op({op!r}) inputs", inputs,
                "a non-empty list of Values")
        require(len(local_grads) == len(inputs), f"Value.from_op({op!r}) local_grads",
                local_grads, f"one number per input ({len(inputs)} inputs)")
        for i, (operand, local) in enumerate(zip(inputs, local_grads)):
            require_type(operand, f"Value.from_op({op!r}) inputs[{i}]", Value, "a Value")
            require_type(local, f"Value.from_op({op!r}) local_grads[{i}]", numbers.Real,
                         "a real number")
        local_grads = [_finite_float(local, f"Value.from_op({op!r}) local_grads[{i}]")
                       for i, local in enumerate(local_grads)]
        require_type(data, f"Value.from_op({op!r}) data", numbers.Real, "a real number")
        data = _finite_float(data, f"Value.from_op({op!r}) data")
        primitive = _custom_primitive(op, len(inputs))
        if len(inputs) <= 2:
            return _node(data, primitive, inputs[0], local_grads[0],
                         *((inputs[1], local_grads[1]) if len(inputs) == 2 else ()))
        edges = tuple(item for pair in zip(inputs, local_grads) for item in pair)
        return _nary_node(float(data), primitive, edges)

    # ------------------------------------------------------------ operators
    # Each is one application of a primitive of the table. `+` and `*` with a Value or a
    # float, and relu, write their rule out inline: they are most of every network's graph,
    # and going through apply() would cost a training step about a tenth of its time. A
    # test checks, to the bit, that every node holds what the table's rule gives.
    def __add__(self, other: Operand) -> Value:
        if type(other) is Value:
            return _node(self.data + other.data, ADD, self, 1.0, other, 1.0)
        if type(other) is float:
            return _node(self.data + other, ADD, self, 1.0, constant=other)
        return apply(ADD, self, other)

    __radd__ = __add__  # c + x is written x + c: addition commutes

    def __sub__(self, other: Operand) -> Value:
        return apply(SUB, self, other)

    def __rsub__(self, other: Number) -> Value:
        return apply(SUB, other, self)

    def __mul__(self, other: Operand) -> Value:
        if type(other) is Value:
            return _node(self.data * other.data, MUL, self, other.data, other, self.data)
        if type(other) is float:
            return _node(self.data * other, MUL, self, other, constant=other)
        return apply(MUL, self, other)

    __rmul__ = __mul__  # c * x is written x * c: multiplication commutes

    def __truediv__(self, other: Operand) -> Value:
        return apply(DIV, self, other)

    def __rtruediv__(self, other: Number) -> Value:
        return apply(DIV, other, self)

    def __pow__(self, other: Operand) -> Value:
        return apply(POW, self, other)

    def __rpow__(self, other: Number) -> Value:
        return apply(POW, other, self)

    def __neg__(self) -> Value:
        return apply(NEG, self)

    def __pos__(self) -> Value:
        return self

    # -------------------------------------------------------- unary functions
    def exp(self) -> Value:
        """e to the power of this value."""
        return apply(EXP, self)

    def log(self) -> Value:
        """The natural logarithm; the input must be > 0."""
        return apply(LOG, self)

    def tanh(self) -> Value:
        """Hyperbolic tangent; finite for every finite input."""
        return apply(TANH, self)

    def sigmoid(self) -> Value:
        """The logistic function σ(z) = 1 / (1 + e^(-z)); finite for every finite input."""
        return apply(SIGMOID, self)

    def relu(self) -> Value:
        """max(z, 0). Its derivative at exactly z = 0 is taken as 0, as in PyTorch and micrograd."""
        x = self.data
        if x > 0.0:
            return _node(x, RELU, self, 1.0)
        if x > -_INF:  # NaN and -inf go to apply(), which refuses them by name
            return _node(0.0, RELU, self, 0.0)
        return apply(RELU, self)

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


class _Left(float):
    """A folded number that stands left of its operator (the 2 of `2 - x`); a float otherwise."""

    __slots__ = ()


def apply(primitive: Primitive, *operands: Operand) -> Value:
    """The node of a one- or two-operand primitive at these operands, with its local derivatives.

    An operand is a Value, or a plain number that is folded into the node as its
    constant (`x * 2`, `2 - x`). Every operator and function of Value ends here,
    so the rules for bad operands live in one place: an operand that is not a
    real number gives NotImplemented (Python then raises its TypeError); a NaN
    or infinite operand, an operand outside the op's domain, or a result or
    local derivative that overflows raises an error that names the operation
    and its numbers, and no node is made.
    """
    if len(operands) == 1:  # exp, log, tanh, sigmoid, relu, neg: the common case, kept short
        (x,) = operands
        xd = x.data
        if not -_INF < xd < _INF:
            _refuse(primitive, (xd,), (True,))
        if primitive.domain:
            check_domain(primitive, (xd,), (True,))
        out = primitive.forward(FLOATS, xd)
        rule = primitive.derivative[0]
        local = rule(FLOATS, out, xd) if type(rule) is not float else rule
        if not (-_INF < out < _INF and -_INF < local < _INF):
            _refuse(primitive, (xd,), (True,), out, (local,))
        return _node(out, primitive, x, local)
    a, b = operands
    a_varies, b_varies = type(a) is Value, type(b) is Value
    ad = a.data if a_varies else _as_constant(a)
    bd = b.data if b_varies else _as_constant(b)
    if ad is None or bd is None:
        return NotImplemented
    varies = (a_varies, b_varies)
    if not (-_INF < ad < _INF and -_INF < bd < _INF):
        _refuse(primitive, (ad, bd), varies)
    if primitive.domain:
        check_domain(primitive, (ad, bd), varies)
    out = primitive.forward(FLOATS, ad, bd)
    rule_a, rule_b = primitive.derivative
    local_a = local_b = 0.0
    if a_varies:
        local_a = rule_a(FLOATS, out, ad, bd) if type(rule_a) is not float else rule_a
    if b_varies:
        local_b = rule_b(FLOATS, out, ad, bd) if type(rule_b) is not float else rule_b
    if not (-_INF < out < _INF and -_INF < local_a < _INF and -_INF < local_b < _INF):
        _refuse(primitive, (ad, bd), varies, out, (local_a, local_b))
    if a_varies and b_varies:
        return _node(out, primitive, a, local_a, b, local_b)
    if a_varies:
        return _node(out, primitive, a, local_a, constant=bd)
    if b_varies:
        return _node(out, primitive, b, local_b, constant=_Left(ad))
    raise TypeError(f"apply({primitive.name!r}): at least one operand must be a Value")


def _node(data: float, primitive: Primitive, input_a: Value, local_a: float,
          input_b: Optional[Value] = None, local_b: float = 0.0,
          constant: Optional[float] = None) -> Value:
    """Make the result node of a one- or two-input operation: its value and its edges."""
    if not -_INF < data < _INF:  # only the inline + and * get here with a bad result
        varies, datas = _operands_of(input_a, input_b, constant)
        _refuse(primitive, datas, varies, data)
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
               constant: Optional[float] = None, count: int = 0) -> Value:
    """Make the result node of an n-ary operation from its flat (input, local grad, ...) edges.

    `count` is a mean's number of operands, or a dot's number of (weight, input) pairs.
    """
    if not -_INF < data < _INF:
        datas = tuple(v.data for v in edges[0::2]) + (() if constant is None else (constant,))
        _refuse(primitive, datas, (True,) * (len(edges) // 2) + (False,) * (constant is not None),
                data)
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._primitive = primitive
    out._constant = constant
    out._input_a = None
    out._local_a = count
    out._input_b = None
    out._local_b = 0.0
    out._more = edges
    return out


def _operands_of(input_a: Value, input_b: Optional[Value], constant: Optional[float]
                 ) -> tuple[tuple[bool, ...], tuple[float, ...]]:
    """Which operands of a one- or two-input node are Values, and the operands' numbers."""
    if constant is None:
        if input_b is None:
            return (True,), (input_a.data,)
        return (True, True), (input_a.data, input_b.data)
    if type(constant) is _Left:
        return (False, True), (float(constant), input_a.data)
    return (True, False), (input_a.data, constant)


def check_domain(primitive: Primitive, datas: Sequence[float], varies: Sequence[bool]) -> None:
    """Raise the op's error if the operands are outside its domain, as the eager engine does.

    `datas` are the operands' numbers in order (folded constants included), and
    `varies[k]` says whether operand k is a Value. A replay calls this too, so
    `log(-1)` is refused with the same words however the graph is run.
    """
    for domain in primitive.domain:
        if domain.bad(FLOATS, varies, *datas):
            raise domain.error(domain.words(_describe(primitive, datas, varies), *datas))


def _refuse(primitive: Primitive, datas: Sequence[float], varies: Sequence[bool],
            result: Optional[float] = None, locals_: Sequence[float] = ()) -> None:
    """Raise the error that explains a bad operation: a bad operand, result or derivative."""
    operation = _describe(primitive, datas, varies)
    for operand in datas:
        if not -_INF < operand < _INF:
            raise ValueError(f"{operation}: an operand is {operand!r}, not a finite number")
    if result is not None and not -_INF < result < _INF:
        if result != result:
            raise OverflowError(f"{operation}: result is {result}, not a finite number")
        raise OverflowError(f"{operation}: result overflows a float")
    raise OverflowError(f"{operation}: the result {result!r} is finite but its local "
                        f"derivative overflows a float, so no gradient could pass through it")


def _describe(primitive: Primitive, datas: Sequence[float], varies: Sequence[bool]) -> str:
    """Words for an operation that failed, e.g. `1e+308 * 10` or `exp(1000.0)`."""
    operands = [repr(d) for d, v in zip(datas, varies) if v]
    constant = next((d for d, v in zip(datas, varies) if not v), None)
    if primitive.arity is None and len(operands) > 6:  # the first few and a count
        operands = operands[:3] + [f"... {len(operands)} operands in all"]
    return primitive.formula(operands, constant, left=bool(varies) and not varies[0])


def describe_operation(primitive: Primitive, inputs: Sequence[Value],
                       constant: Optional[float]) -> str:
    """Words for an operation on these Values (and a folded constant), e.g. `1e+308 * 10`."""
    varies = (True,) * len(inputs) + (() if constant is None else (False,))
    if type(constant) is _Left:
        varies = (False, True)
        return _describe(primitive, (float(constant), inputs[0].data), varies)
    return _describe(primitive, tuple(v.data for v in inputs) + (
        () if constant is None else (constant,)), varies)


def describe_node(node: Value) -> str:
    """How an error names a node: its label, else its op (`'e'`, `the node made by '*2'`)."""
    if node.label:
        return repr(node.label)
    if node.op:
        return f"the node made by {node.op!r}"
    return f"a leaf Value(data={node.data!r})"


def number_words(number: numbers.Real) -> str:
    """A number for an error message, short even for an int of thousands of digits."""
    if isinstance(number, numbers.Integral) and abs(number).bit_length() > 64:
        digits = int(abs(number).bit_length() * math.log10(2)) + 1
        return f"an int of about {digits} digits"
    return repr(number)


# ------------------------------------------------- what a node folded in, for the rules
class Folded(NamedTuple):
    """The numbers an n-ary node keeps besides its edges, which its rules read.

    constant  what its plain-number operands add (sum, mean; dot: a number bias and the
              number-times-number terms), or None
    count     mean: how many operands it averages, plain numbers included
    pairs     dot: how many (weight, input) pairs of two Values lead its inputs
    factors   dot: the plain number each further Value operand is multiplied by (1 for a
              Value bias)
    """

    constant: Optional[float]
    count: int
    pairs: int
    factors: tuple[float, ...]


def folded(node: Value) -> Folded:
    """The numbers an n-ary node folded in (see Folded)."""
    primitive = node._primitive
    if primitive is DOT:
        pairs = int(node._local_a)
        return Folded(node._constant, 0, pairs, node._more[4 * pairs + 1::2])
    return Folded(node._constant, int(node._local_a), 0, ())


def dot_pairs(node: Value) -> int:
    """How many (w_i, x_i) pairs of two Values lead a dot node's inputs (0 for other nodes).

    A dot node's inputs are those pairs first (each one's local grad is the
    other's data), then single Values whose partner was a plain number, then a
    Value bias.
    """
    return int(node._local_a) if node._primitive is DOT else 0


def operands(node: Value, values: Sequence[Any]) -> list:
    """A one- or two-input node's operands in order: `values` (one per input) with the folded
    constant in its place, so that a rule can read them (`2 - x` gives [2.0, x])."""
    constant = node._constant
    if constant is None or node._primitive.arity is None:
        return list(values)
    if type(constant) is _Left:
        return [float(constant), values[0]]
    return [values[0], constant]


def local_derivatives(node: Value, m: Any = None) -> tuple:
    """∂node/∂input for each input edge, by the primitive's rule read with the math `m`.

    With VALUES (the default) the derivatives are Values or plain numbers, a graph
    that can be differentiated again; with FLOATS they are the numbers the node
    recorded when it was made.
    """
    m = VALUES if m is None else m
    primitive = node._primitive
    inputs = node.inputs
    args: Sequence[Any] = inputs if m is VALUES else [v.data for v in inputs]
    out: Any = node if m is VALUES else node.data
    if primitive.arity is None:
        return tuple(primitive.derivative(m, out, list(args), folded(node)))
    at = operands(node, args)
    result = []
    for k, rule in enumerate(primitive.derivative):
        if len(at) == len(args) or (k == 1) == (type(node._constant) is _Left):
            result.append(rule(m, out, *at) if callable(rule) else rule)
    return tuple(result)


# ------------------------------------------------------------ n-ary operations
def sum(values: Iterable[Operand]) -> Value:  # noqa: A001 - mirrors torch.sum
    """One node adding many operands: one edge (local grad 1) per Value operand.

    The plain numbers among the operands are added into the node's constant,
    so `sum([x, y, 3])` is x + y + 3 (op `sum+3`).
    """
    edges: list = []
    constants: list = []
    for v in values:
        if type(v) is Value:
            edges += (v, 1.0)
        else:
            constants.append(_checked_constant(v, "sum"))
    constant = FLOATS.sum_of(constants) if constants else None
    total = SUM.forward(FLOATS, [v.data for v in edges[0::2]], Folded(constant, 0, 0, ()))
    return _nary_node(total, SUM, tuple(edges), constant or None)


def mean(values: Sequence[Operand]) -> Value:
    """One node averaging many operands: local grad 1/n on each Value operand.

    The plain numbers among the operands are added into the node's constant
    (it still divides by all n operands).
    """
    values = list(values)
    if not values:
        raise ValueError("mean() of an empty sequence: give at least one value")
    n = len(values)
    share = 1.0 / n
    edges: list = []
    constants: list = []
    for v in values:
        if type(v) is Value:
            edges += (v, share)
        else:
            constants.append(_checked_constant(v, "mean"))
    constant = FLOATS.sum_of(constants) if constants else None
    total = MEAN.forward(FLOATS, [v.data for v in edges[0::2]], Folded(constant, n, 0, ()))
    return _nary_node(total, MEAN, tuple(edges), constant, n)


def dot(weights: Sequence[Operand], inputs: Sequence[Operand],
        bias: Optional[Operand] = None) -> Value:
    """One node for w·x + b: each Value among w_i gets local grad x_i, each among x_i gets w_i."""
    n = len(weights)
    if len(inputs) != n:
        raise ValueError(f"dot(): {n} weights but {len(inputs)} inputs; "
                         f"they must have the same length")
    # A neuron's two cases get a fast path: Value weights times all-Value inputs (a hidden
    # layer) or all-number inputs (the first layer). Slice assignment lays out the edges
    # (w_i, x_i, x_i, w_i, ...) without a Python-level step per edge; the sum is the
    # rule's (_dot_forward), left to right, and a test checks the two agree.
    if _all_values(weights):
        wd = [w.data for w in weights]
        if _all_values(inputs):
            xd = [x.data for x in inputs]
            edges: list = [None] * (4 * n)
            edges[0::4] = weights  # d(w·x)/dw_i = x_i
            edges[1::4] = xd
            edges[2::4] = inputs  # d(w·x)/dx_i = w_i
            edges[3::4] = wd
            return _finish_dot(builtins.sum(map(operator.mul, wd, xd)), edges, bias, n, None)
        if not any(type(x) is Value for x in inputs):
            xd = [x if type(x) is float else _checked_constant(x, "dot") for x in inputs]
            edges = [None] * (2 * n)
            edges[0::2] = weights
            edges[1::2] = xd
            return _finish_dot(builtins.sum(map(operator.mul, wd, xd)), edges, bias, 0, None)
    # Any mix of Values and numbers: one edge per Value operand. The products of two
    # Values come first, as (w_i, x_i) pairs, so their derivative rule finds each partner;
    # the products of two numbers are added into the node's constant.
    pairs: list = []
    singles: list = []
    constants: list = []
    for w, x in zip(weights, inputs):
        w_is_value = type(w) is Value
        x_is_value = type(x) is Value
        wd = w.data if w_is_value else _checked_constant(w, "dot")
        xd = x.data if x_is_value else _checked_constant(x, "dot")
        if w_is_value and x_is_value:
            pairs += (w, xd, x, wd)
        elif w_is_value:
            singles += (w, xd)
        elif x_is_value:
            singles += (x, wd)
        else:
            constants.append(wd * xd)
    constant = FLOATS.sum_of(constants) if constants else None
    edges = pairs + singles
    shape = Folded(None, 0, len(pairs) // 4, tuple(singles[1::2]))
    total = _dot_forward(FLOATS, [v.data for v in edges[0::2]], shape)
    return _finish_dot(total, edges, bias, len(pairs) // 4, constant)


def _finish_dot(total: float, edges: list, bias: Optional[Operand], pairs: int,
                constant: Optional[float]) -> Value:
    """Add the bias (an edge with local grad 1 when it is a Value) and make the dot node."""
    if bias is not None:
        if type(bias) is Value:
            total += bias.data
            edges += (bias, 1.0)
        else:
            c = _checked_constant(bias, "dot")
            constant = c if constant is None else constant + c
    if constant is not None:
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
# Marks the leaves grad(create_graph=False) returns (in a leaf's unused constant slot): numbers
# without a graph, so a gradient of them would be 0 however the output depends on the inputs.
_NUMBERS_ONLY: Any = object()


def grad(output: Value, inputs: Union[Value, Sequence[Value]], create_graph: bool = False
         ) -> tuple[Value, ...]:
    """d(output)/d(input) for each input, as Values; no `.grad` attribute is touched.

    With create_graph=False each result is a new leaf holding the number that
    backward() would give. With create_graph=True each result is itself a graph
    over the same leaves, built from the derivative rules of the table of
    primitives, so it can be differentiated again: `grad(grad(y, [x],
    create_graph=True)[0], [x])` is d²y/dx². An input that the output does not
    depend on gets 0. `inputs` may be one Value: the result is then a tuple of one, as
    torch.autograd.grad gives. (torch.autograd.grad, for Values.)
    """
    require_type(output, "grad() output", Value, "a Value")
    inputs = [inputs] if type(inputs) is Value else list(inputs)
    for i, x in enumerate(inputs):
        require_type(x, f"grad() inputs[{i}]", Value, "a Value")
    order = topological_order(output)
    _refuse_numbers_only(output, order, inputs)
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
            if not create_graph:  # a number; with create_graph a constant derivative is one
                g._constant = _NUMBERS_ONLY
        results.append(g)
    return tuple(results)


def _refuse_numbers_only(output: Value, order: list[Value], inputs: list[Value]) -> None:
    """ValueError where the output is made of gradients computed without create_graph=True
    and reaches none of the inputs: its derivative would be a silent 0 (PyTorch raises)."""
    if not any(node._primitive is None and node._constant is _NUMBERS_ONLY for node in order):
        return
    reached = set(order)
    if any(x in reached for x in inputs):
        return
    raise ValueError(f"grad(): {describe_node(output)} is, or is made from, a gradient "
                     f"computed with create_graph=False: a number that has forgotten how it "
                     f"was computed, so its derivative would be 0 whatever the inputs; compute "
                     f"that first "
                     f"gradient with grad(..., create_graph=True) to differentiate it again")


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
