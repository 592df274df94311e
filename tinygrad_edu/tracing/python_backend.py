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

import itertools
import keyword
import linecache
import math
import re
import time
import types
import weakref
from typing import Any, Callable, NamedTuple, Optional, Union

from tinygrad_edu import engine
from tinygrad_edu.engine import FLOATS, number_text
from tinygrad_edu.tracing.recording import Recording, Step
from tinygrad_edu.tracing.tape import Tape

# How tightly each kind of expression binds, for parentheses: a or b < a and b < a < b <
# a + b < a * b < -a < a ** b.
_OR, _AND, _COMPARE, _SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = -2, -1, 0, 1, 2, 3, 4, 5
# A sum of more operands than this is written over several lines: CPython's compiler
# recurses once per operator, and a few thousand in one expression exhaust its stack.
TERMS_PER_LINE = 200
# A graph of more steps than this is written as parts of PART_STEPS steps each (see
# _parts_source): CPython compiles many short functions faster, and in less memory, than one.
ONE_FUNCTION_STEPS = 5_000
PART_STEPS = 1_000
# A graph of more steps than this starts on a tape, and is compiled once its replays on the
# tape have taken about as long as compiling it would (see PythonBackend); CPython compiles
# about COMPILE_SECONDS_PER_LINE a line of the generated code (a node or an edge).
TAPE_STEPS = 5_000
COMPILE_SECONDS_PER_LINE = 10e-6


def literal(number: float) -> str:
    """A float as Python source that reads back exactly: `2.0`, `0.001`, `-1e-300`."""
    text = _LITERALS.get(number)
    if text is None or number == 0.0:  # 0.0 and -0.0 are one key: write them each time
        text = number_text(number)
        text = text + ".0" if re.fullmatch(r"-?\d+", text) else text
        if len(_LITERALS) >= 10_000:
            _LITERALS.clear()
        _LITERALS[number] = text
    return text


_LITERALS: dict[float, str] = {}  # a graph writes the same few numbers many times


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

    def _compare(self, symbol: str, other: Any) -> Expr:
        return Expr(f"{_expr(self).text} {symbol} {_expr(other).text}", _COMPARE)

    def __lt__(self, other: Any) -> Expr:  # type: ignore[override]
        return self._compare("<", other)

    def __le__(self, other: Any) -> Expr:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Expr:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Expr:
        return self._compare(">=", other)

    def __eq__(self, other: Any) -> Expr:  # type: ignore[override]
        return self._compare("==", other)

    def __ne__(self, other: Any) -> Expr:  # type: ignore[override]
        return self._compare("!=", other)

    __hash__ = object.__hash__

    # `&` and `|` of the domain rules: with a plain bool (which operand is a Value, a
    # comparison of two numbers) they simplify, so a check that cannot fail is not written.
    def __and__(self, other: Any) -> Any:
        if type(other) is bool:
            return self if other else False
        return Expr(f"{_wrap(self, _AND)} and {_wrap(other, _AND + 1)}", _AND)

    __rand__ = __and__

    def __or__(self, other: Any) -> Any:
        if type(other) is bool:
            return True if other else self
        return Expr(f"{_wrap(self, _OR)} or {_wrap(other, _OR + 1)}", _OR)

    __ror__ = __or__

    def __pow__(self, other: Any) -> Expr:
        return SOURCE.power(self, other)

    def __rpow__(self, other: Any) -> Expr:
        return SOURCE.power(other, self)


def _wrap(x: Expr, binding: int) -> str:
    return x.text if x.binding >= binding else f"({x.text})"


def _expr(x: Union[Expr, float]) -> Expr:
    """An operand as an Expr: a number becomes its exact literal."""
    if isinstance(x, Expr):
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

    @staticmethod
    def sum_of(terms: list, constant: Any = None) -> Expr:
        """Σ terms (+ constant), added as Python's sum() adds, as the eager engine does: written
        `a + b + c` when short, `sum((a, b, ...))` when long (one flat call: CPython's compiler
        recurses once per `+`, and thousands of them exhaust its stack)."""
        if len(terms) > TERMS_PER_LINE:
            total = _call("sum", Expr(f"({', '.join(_expr(t).text for t in terms)},)"))
        else:
            total = engine.FloatMath.sum_of(terms)
        if constant is None or constant == 0.0 and terms:
            return _expr(total)
        return _expr(total + constant)

    @staticmethod
    def is_fraction(x: Any) -> Any:
        if type(x) is not Expr:
            return not float(x).is_integer()
        return Expr(f"{_wrap(x, _PRODUCT + 1)} % 1.0 != 0.0", _COMPARE)


SOURCE = SourceMath
# The functions the generated code calls: the eager engine's own.
RUNTIME: dict[str, Callable[..., Any]] = {
    "sum": sum, "exp": math.exp, "log": math.log, "tanh": math.tanh,
    "sigmoid": FLOATS.sigmoid, "power": math.pow, "times_power": FLOATS.times_power,
    "times_log": FLOATS.times_log}


def variable_names(recording: Recording) -> list[str]:
    """A Python name for every node: its label where it has one, else x3 (leaf) or v7."""
    # v and g: the lists a big graph's parts pass values and gradients in (_parts_source)
    used = set(RUNTIME) | set(keyword.kwlist) | {"grads", "float", "__debug__", "domain_error",
                                                 "not_finite", "v", "g"}
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


def python_source(recording: Recording, function_name: str = "forward_backward",
                  gradients: bool = True) -> str:
    """The graph as one Python function: the forward pass, then the backward pass, line by line.

    The function takes the leaves' values (in topological order) and returns
    (root value, the extra values, the leaves' gradients); with gradients=False
    it has no backward pass and gives no gradients: `()`. A graph of more than
    ONE_FUNCTION_STEPS steps is written as parts (see _parts_source).
    """
    return "".join(source_pieces(recording, function_name, gradients))


def source_pieces(recording: Recording, function_name: str = "forward_backward",
                  gradients: bool = True) -> list[str]:
    """python_source in pieces that compile on their own, in order (one for a small graph)."""
    steps, names = recording.steps, variable_names(recording)
    if len(steps) > ONE_FUNCTION_STEPS:
        return _parts_source(recording, names, function_name, gradients)
    return [_one_function(recording, names, function_name, gradients)]


def _one_function(recording: Recording, names: list[str], function_name: str,
                  gradients: bool) -> str:
    """The graph as one function: the readable form, for all but big graphs."""
    steps = recording.steps
    leaf_names = [names[i] for i in recording.leaves]
    lines = [f"def {function_name}({', '.join(leaf_names)}):",
             "    # forward: each node from its inputs, inputs first"]
    watched: dict[str, None] = {}  # operands whose op could hide a NaN or inf (relu(-inf) = 0)
    for i, step in enumerate(steps):
        if step.primitive is not None:
            _forward_lines(i, step, names, lines, watched)
    lines += _finiteness_lines(list(watched))
    root = recording.root
    extras = [names[j] for j in recording.outputs]
    if not gradients:
        lines.append(f"    return {names[root]}, {_tuple(extras)}, ()")
        return "\n".join(lines) + "\n"
    lines += ["    # backward: each edge adds upstream grad * local grad (the first one assigns)",
              f"    grad_{names[root]} = 1.0"]
    assigned = {root}
    for i in range(len(steps) - 1, -1, -1):
        step = steps[i]
        if step.primitive is None:
            continue
        for j, factor in _edge_factors(i, step, names):
            update = "+=" if j in assigned else "="
            assigned.add(j)
            lines.append(f"    grad_{names[j]} {update} grad_{names[i]} * {factor}")
    grads = [f"grad_{names[j]}" if j in assigned else "0.0" for j in recording.leaves]
    lines.append(f"    return {names[root]}, {_tuple(extras)}, {_tuple(grads)}")
    return "\n".join(lines) + "\n"


def _parts_source(recording: Recording, names: list[str], function_name: str,
                  gradients: bool) -> list[str]:
    """A big graph's source: the steps in parts of PART_STEPS, each a generator function.

    CPython compiles one long function in time and memory that grow faster than its
    length (100,000 lines: 2.2 s; the same lines as functions of 2,000: 0.9 s). Each
    part keeps its own values in local variables, as the one-function source does;
    a value or gradient that crosses from one part to another goes through the lists
    `v` and `g`, by the node's number. A part runs its forward lines, yields, and
    runs its backward lines when the driver resumes it, parts in reverse order.
    """
    steps = recording.steps
    n = len(steps)
    is_leaf = bytearray(n)
    for i in recording.leaves:
        is_leaf[i] = 1
    last_use = list(range(n))  # the last node that reads each node (itself if none)
    for i, step in enumerate(steps):
        for j in step.inputs:
            last_use[j] = i
    wanted = set(recording.outputs) | {recording.root}
    pieces: list[str] = []
    parts: list[str] = []
    for start in range(0, n, PART_STEPS):
        stop = min(start + PART_STEPS, n)
        part = f"part_{len(parts)}"
        parts.append(part)
        lines = _part_lines(part, recording, names, start, stop, is_leaf, last_use, wanted,
                            gradients, function_name)
        pieces.append("\n".join(lines) + "\n")
    root = recording.root
    extras = [f"v[{j}]" for j in recording.outputs]
    lines = ["", "",
              f"PARTS = ({', '.join(parts)},)",
              f"LEAVES = ({', '.join(map(str, recording.leaves))},)",
              "", "",
              f"def {function_name}(*leaves):",
              f"    # {n:,} nodes in {len(parts)} parts; v and g hold the values and gradients "
              f"that pass between parts",
              f"    v = [0.0] * {n}",
              "    for p, x in zip(LEAVES, leaves):",
              "        v[p] = x"]
    if not gradients:
        lines += ["    for part in PARTS:",
                  "        part(v)",
                  f"    return v[{root}], {_tuple(extras)}, ()"]
        return [*pieces, "\n".join(lines) + "\n"]
    lines += [f"    g = [0.0] * {n}",
              f"    g[{root}] = 1.0",
              "    running = [part(v, g) for part in PARTS]",
              "    for part in running:  # forward, first part first",
              "        next(part)",
              "    for part in reversed(running):  # backward, last part first",
              "        next(part, None)",
              f"    return v[{root}], {_tuple(extras)}, tuple([g[p] for p in LEAVES])"]
    return [*pieces, "\n".join(lines) + "\n"]


def _part_lines(part: str, recording: Recording, names: list[str], start: int, stop: int,
                is_leaf: bytearray, last_use: list[int], wanted: set[int],
                gradients: bool, function_name: str) -> list[str]:
    """One part of a big graph's source: the forward and backward lines of steps[start:stop]."""
    steps = recording.steps

    def outside(j: int) -> bool:  # a node this part reads from v and adds gradients to in g
        return j < start or is_leaf[j] == 1

    loads: dict[int, None] = {}
    body: list[str] = []
    watched: dict[str, None] = {}
    for i in range(start, stop):
        step = steps[i]
        if step.primitive is None:
            continue
        for j in step.inputs:
            if outside(j):
                loads[j] = None
        _forward_lines(i, step, names, body, watched)
    own = [i for i in range(start, stop) if not is_leaf[i]]
    lines = ["" if start else f"# A big graph, in parts: {function_name}, at the end, runs them",
             "", f"def {part}(v{', g' if gradients else ''}):",
             f"    # forward: nodes {start} to {stop - 1}"]
    lines += [f"    {names[j]} = v[{j}]" for j in loads]
    lines += body
    lines += _finiteness_lines(list(watched))
    lines += [f"    v[{i}] = {names[i]}" for i in own if last_use[i] >= stop or i in wanted]
    if not gradients:
        return lines if len(lines) > 4 else lines + ["    pass  # only leaves"]
    lines += ["    yield", "    # backward: the gradients from later parts, then each edge"]
    assigned = set()
    for i in own:
        if last_use[i] >= stop or i == recording.root:
            lines.append(f"    grad_{names[i]} = g[{i}]")
            assigned.add(i)
    for i in reversed(own):
        for j, factor in _edge_factors(i, steps[i], names):
            if outside(j):
                lines.append(f"    g[{j}] += grad_{names[i]} * {factor}")
                continue
            update = "+=" if j in assigned else "="
            assigned.add(j)
            lines.append(f"    grad_{names[j]} {update} grad_{names[i]} * {factor}")
    return lines


def _forward_lines(i: int, step: Step, names: list[str], lines: list[str],
                   watched: dict[str, None]) -> None:
    """Add step i's forward lines (its domain check, if any, and its value) to `lines`, and
    to `watched` its operands if its op could hide a NaN or inf in them (relu(-inf) = 0)."""
    template = _template(step)
    words = [names[j] for j in step.inputs]
    words += (names[i], str(i))
    if template.check:
        lines.append(f"    {template.check.format(*words)}")
    lines.append(f"    {names[i]} = {template.value.format(*words)}")
    if hides_non_finite(step.made_by):
        watched.update(dict.fromkeys(words[:-2]))


def _edge_factors(i: int, step: Step, names: list[str]) -> list[tuple[int, str]]:
    """(input, its local derivative as the source of a factor) for each edge of step i."""
    words = [names[j] for j in step.inputs]
    words += (names[i], str(i))
    return [(j, factor.format(*words)) for j, factor in zip(step.inputs, _template(step).factors)]


class _Template(NamedTuple):
    """A step's lines with its operands, its own name and its number left as {0}, {1}, ...:
    nodes of one shape (every `x * 0.999` of a chain) are written once and filled in."""

    value: str
    check: str
    factors: tuple[str, ...]


_TEMPLATES: dict[tuple, _Template] = {}
# The placeholders a template is written with: characters no generated code contains.
_HOLE = re.compile("\x00(\\d+)\x01")


def _template(step: Step) -> _Template:
    """The step's lines as format strings: {k} the k-th input's name, then its own, then i."""
    fixed = step.constant_edges()
    key = (step.primitive, len(step.inputs), step.constant, step.left, step.count, step.pairs,
           step.factors, step.constant == 0.0 and math.copysign(1.0, step.constant),
           *[(r, r == 0.0 and math.copysign(1.0, r)) for r, f in zip(step.recorded, fixed) if f])
    template = _TEMPLATES.get(key)
    if template is None:
        n = len(step.inputs)
        holes = [f"\x00{k}\x01" for k in range(n + 2)]
        inputs = [Expr(hole) for hole in holes[:n]]
        factors = []
        for local in step.derivatives(SOURCE, Expr(holes[n]), inputs):
            local = _expr(local)
            factors.append(local.text if local.binding > _PRODUCT else f"({local.text})")
        template = _Template(_format(step_source(step, holes[:n])),
                             _format(_domain_check(holes[n + 1], step, holes[:n])),
                             tuple(map(_format, factors)))
        if len(_TEMPLATES) >= 10_000:  # a graph of many different shapes
            _TEMPLATES.clear()
        _TEMPLATES[key] = template
    return template


def _format(text: str) -> str:
    """Generated text with placeholders, as a format string: braces doubled, holes {k}."""
    return _HOLE.sub(r"{\1}", text.replace("{", "{{").replace("}", "}}"))


def _domain_check(i: Union[int, str], step: Step, operands: list[str]) -> str:
    """`if <outside the op's domain>: domain_error(i, ...)`, from the Primitive's own rules,
    or "" where the op has none or its operands cannot leave it."""
    primitive = step.made_by
    if not primitive.domain or primitive.arity is None:
        return ""
    at = step.operands([Expr(name) for name in operands])
    varies = tuple(type(x) is Expr for x in at)
    bad: Any = False
    for domain in primitive.domain:
        bad = bad | domain.bad(SOURCE, varies, *at)
    if type(bad) is not Expr:
        return ""
    return f"if {bad.text}: domain_error({i}, {', '.join(_expr(x).text for x in at)})"


_HIDES: dict[engine.Primitive, bool] = {}


def hides_non_finite(primitive: engine.Primitive) -> bool:
    """Can the op turn a NaN or infinite operand into a finite result (relu(-inf) is 0, tanh
    of inf is 1, 1 / inf is 0)? The Primitive's forward is asked, on floats. Other ops pass a
    NaN or inf on, so the replay's result shows it."""
    if primitive not in _HIDES:
        hides = False
        if primitive.arity is not None:
            for k in range(primitive.arity):
                for bad in (math.inf, -math.inf, math.nan):
                    for other in (0.0, 0.5, 1.0, -2.0):
                        operands = [other] * primitive.arity
                        operands[k] = bad
                        try:
                            result = primitive.evaluate(FLOATS, *operands)
                        except (ArithmeticError, ValueError):
                            continue
                        hides = hides or -math.inf < result < math.inf
        _HIDES[primitive] = hides
    return _HIDES[primitive]


def _finiteness_lines(names: list[str]) -> list[str]:
    """Lines that call not_finite() if any name holds a NaN or inf: x - x is 0.0 for a finite
    x, NaN otherwise, and cannot overflow. The eager engine refuses such an operand, and the
    ops these names feed could hide it from the result."""
    if not names:
        return []
    lines = ["    # a NaN or inf the ops above could hide (relu(-inf) = 0): eager refuses it"]
    for k in range(0, len(names), TERMS_PER_LINE):
        terms = ", ".join(f"{name} - {name}" for name in names[k:k + TERMS_PER_LINE])
        lines.append(f"    if sum(({terms},)) != 0.0: not_finite()")
    return lines


def not_finite() -> None:
    raise FloatingPointError("a value inside the graph is not finite (an overflow); the eager "
                             "engine refuses it at the operation")


def _tuple(items: list[str]) -> str:
    """Python source of a tuple: `()`, `(a,)`, `(a, b)`."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


class PythonBackend:
    """Runs the generated straight-line Python: no numpy, one line of code per node and edge.

    A graph of more than TAPE_STEPS steps is not compiled at once: CPython compiles
    about 10 µs a line (a node or an edge), so a big graph would take seconds to
    trace. It is written down as a tape (tape.py: about a microsecond a node; it
    replays 4 to 5 times slower than compiled code, still faster than eager) and
    compiled at the start of the first replay after the replays on the tape have
    taken as long as compiling is estimated to take: whatever the number of
    replays, at most about twice the time of the better of the two choices made
    in advance. `compile()` compiles now. Both run the same float operations in
    the same order: the same numbers to the bit, and eager's errors.
    """

    name = "python"

    def __init__(self, recording: Recording, gradients: bool = True) -> None:
        self.recording = recording
        self.gradients = gradients
        self._function: Optional[Callable[..., Any]] = None
        self._source: Optional[str] = None
        self._ends: list[int] = []  # where each piece of the source ends (see source_pieces)
        self.tape_seconds = 0.0  # CPU seconds spent replaying on the tape, before compiling
        if len(recording.steps) > TAPE_STEPS:
            self._tape: Optional[_WholeTape] = _WholeTape(recording, gradients)
            self.compile_estimate = COMPILE_SECONDS_PER_LINE * self._tape.lines
        else:
            self._tape = None
            self.compile_estimate = 0.0
            self.compile()

    @property
    def compiled(self) -> bool:
        """True once the straight-line code runs (always for a graph of TAPE_STEPS or fewer)."""
        return self._function is not None

    @property
    def source(self) -> str:
        """The generated code (written when first asked for, on a big graph)."""
        if self._source is None:
            pieces = source_pieces(self.recording, self._function_name(), self.gradients)
            self._ends = list(itertools.accumulate(map(len, pieces)))
            self._source = "".join(pieces)
        return self._source

    def _function_name(self) -> str:
        return "forward_backward" if self.gradients else "forward"

    def compile(self) -> None:
        """Compile the generated code now; later replays run it, not the tape."""
        if self._function is not None:
            return
        source = self.source
        pieces = [source[start:end] for start, end in zip([0, *self._ends], self._ends)]
        steps = self.recording.steps

        def domain_error(i: int, *operands: float) -> None:
            """A replayed operand left the op's domain: the eager engine's error, its words."""
            step = steps[i]
            varies = tuple(type(x) is Expr for x in step.operands([Expr("")] * len(step.inputs)))
            engine.check_domain(step.made_by, operands, varies)

        filename = f"<trace {id(self):x}>"
        # Registered with linecache so that a traceback through the replay shows its lines,
        # and taken out again when the program is dropped, so a sweep of many programs in a
        # notebook does not keep every source it ever generated.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        weakref.finalize(self, linecache.cache.pop, filename, None)
        namespace: dict[str, Any] = dict(RUNTIME, domain_error=domain_error, not_finite=not_finite)
        line = 0
        for piece in pieces:  # one at a time: see _parts_source
            # moved down to where the piece starts, so a traceback names its lines in
            # self.source (blank lines in front would be read again for every piece)
            code = _moved(compile(piece, filename, "exec"), line)
            exec(code, namespace)  # noqa: S102 - our own code
            line += piece.count("\n")
        self._function = namespace[self._function_name()]
        self._tape = None

    def run(self, data: list[float]) -> tuple[float, list[float], list[float]]:
        """(root value, extra values, leaf gradients) at the given leaf values."""
        function = self._function
        if function is None:
            if self.tape_seconds < self.compile_estimate:
                started = time.thread_time()  # this thread's CPU: a busy machine does not count
                try:
                    return self._tape.run(data)  # type: ignore[union-attr]
                finally:
                    self.tape_seconds += time.thread_time() - started
            self.compile()
            function = self._function
        value, extras, grads = function(*data)  # type: ignore[misc]
        return value, extras, grads


def _moved(code: types.CodeType, lines: int) -> types.CodeType:
    """The compiled code with its line numbers, and its functions', `lines` further down."""
    if not lines:
        return code
    constants = tuple(_moved(c, lines) if isinstance(c, types.CodeType) else c
                      for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + lines, co_consts=constants)


class _WholeTape:
    """A whole recording on one tape: the leaves are its inputs, in the order of their data."""

    def __init__(self, recording: Recording, gradients: bool) -> None:
        steps = recording.steps
        n_leaves = len(recording.leaves)
        # positions: the leaves first (0 .. n_leaves - 1), then the other nodes in order
        position = [0] * len(steps)
        for k, leaf in enumerate(recording.leaves):
            position[leaf] = k
        tape = self.tape = Tape(n_leaves)
        for k in range(n_leaves):
            tape.where(k)  # leaf k is the tape's input k, at index -1 - k
        size = lines = n_leaves
        for i, step in enumerate(steps):
            if step.primitive is not None:
                position[i] = size
                size += 1
                lines += 1 + len(step.inputs) if gradients else 1
                tape.add_step(step, position)
        self.lines = lines  # about the lines of the generated code: a node's, an edge's
        self.root = tape.where(position[recording.root])
        self.outputs = [tape.where(position[j]) for j in recording.outputs]
        self.leaves = [-1 - k for k in range(n_leaves)]
        self.gradients = gradients

    def run(self, data: list[float]) -> tuple[float, list[float], list[float]]:
        own = len(self.tape)
        local = [0.0] * own
        local += reversed(data)
        self.tape.run_forward(local)
        # x - x is 0.0 for a finite x, NaN otherwise: eager refuses a NaN or inf at the op
        if sum([x - x for x in local]) != 0.0:
            not_finite()
        value, extras = local[self.root], [local[j] for j in self.outputs]
        if not self.gradients:
            return value, extras, []
        g = [0.0] * len(local)
        g[self.root] = 1.0
        self.tape.run_backward(local, g)
        return value, extras, [g[j] for j in self.leaves]


__all__ = ["Expr", "PythonBackend", "RUNTIME", "SOURCE", "literal", "python_source",
           "step_source", "variable_names"]
