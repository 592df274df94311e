"""Trace and replay: record a graph once, then recompute it from new leaf values, fast.

A scalar engine rebuilds its whole graph on every training step, although for
a fixed network only the numbers change. `trace(fn)` calls `fn()` once, records
the graph of the Value it returns, and gives a `Program`:

    program = trace(lambda: loss_of(model, xs, ys))
    loss = program()        # forward and backward from the leaves' current .data
    print(program.source)   # the forward and the backward pass as straight-line Python

The backward pass of any graph is then a straight line of multiply-adds,
`grad_d += grad_e * 1.0`, one line per edge, in reverse topological order: the
chain rule written out as code a student can read.

Each primitive of the engine has one rule here (`PYTHON_RULES`, keyed by the
`Primitive` objects of `engine.PRIMITIVES`, in the style of JAX's autodidax):
the Python expression of its forward result and of each local derivative. Local
derivatives that depend on the values (relu's 1 or 0, tanh's 1 - t², a
product's partner) are recomputed on every replay; the ones the engine folded
into plain numbers (`x * 2`, a first layer fed plain floats) are kept.

What can be traced: any function whose graph has the same shape whatever the
numbers, that is with no Python `if` on `.data`. relu is fine (its derivative
is recomputed); a loss that picks a formula by the sign of a value is not
(`Program.check()` finds it and names the node). The "numpy" backend
(`tinygrad_edu.tracing_numpy`) groups the same graph into array operations.
"""

from __future__ import annotations

import keyword
import linecache
import math
import numbers
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from tinygrad_edu import engine
from tinygrad_edu.engine import Primitive, Value, number_text
from tinygrad_edu.recording import Recording, Step, record

BACKENDS = ("python", "numpy")
# How far check() lets the replay's numbers stray from an eager rebuild. The replay does the
# same operations, but a backend may add in another order (numpy's matrix products do), so
# the last bits may differ; a real mismatch (a stale branch, another constant) is far larger.
CHECK_RTOL = 1e-9
CHECK_ATOL = 1e-12


class TraceMismatch(RuntimeError):
    """fn() built a different graph (shape, constants or numbers) than the one recorded."""


def _split_result(result: Any) -> tuple[Value, list[Value], Any]:
    """fn's result as (the Value to differentiate, the extra Values, their nesting)."""
    if type(result) is Value:
        return result, [], None
    if isinstance(result, tuple) and result and type(result[0]) is Value:
        extras: list[Value] = []
        shape = [_flatten(part, extras) for part in result[1:]]
        return result[0], extras, shape
    raise TypeError(f"trace: fn must return a Value (the loss), or a tuple (loss, more Values), "
                    f"got {type(result).__name__}: {result!r:.80}")


def _flatten(part: Any, into: list[Value]) -> Any:
    """Collect the Values of a nested list/tuple into `into`; return its shape (int = leaf)."""
    if type(part) is Value:
        into.append(part)
        return len(into) - 1
    if isinstance(part, (list, tuple)):
        return [_flatten(item, into) for item in part]
    raise TypeError(f"trace: fn returned {type(part).__name__} {part!r:.80} next to the loss; "
                    f"only Values and lists of Values can be read back")


def _unflatten(shape: Any, values: Sequence[float]) -> Any:
    """Put the extra values back into the nesting fn returned them in."""
    if isinstance(shape, int):
        return values[shape]
    return [_unflatten(part, values) for part in shape]


# ------------------------------------------------- the rules, one per primitive
def literal(number: float) -> str:
    """A float as Python source that reads back exactly: `2.0`, `0.001`, `-1e-300`."""
    text = number_text(number)
    return text + ".0" if re.fullmatch(r"-?\d+", text) else text


@dataclass(frozen=True)
class PythonRule:
    """How the python backend writes a primitive: its forward expression and local derivatives.

    forward(step, operands) is the expression of the node's value, given the
    names of its inputs; local_grads(step, operands, out) gives one expression
    per input edge for d(node)/d(input), which may use the node's own name `out`.
    """

    forward: Callable[[Step, list[str]], str]
    local_grads: Callable[[Step, list[str], str], list[str]]


def _kept(step: Step, operands: list[str], out: str) -> list[str]:
    """Local derivatives that are plain numbers: the ones the engine recorded."""
    return [literal(g) for g in step.recorded]


def _infix(symbol: str) -> PythonRule:
    return PythonRule(lambda s, o: f"{o[0]} {symbol} {o[1]}", _kept)


def _with_constant(template: str) -> PythonRule:
    """A one-input op with a folded constant c: `x + c`, `c - x`, `x * c`, `x / c`."""
    return PythonRule(lambda s, o: template.format(x=o[0], c=literal(s.constant)), _kept)


def _call(function: str, derivative: str) -> PythonRule:
    """A function of one input, e.g. exp: d/dx written with the input x and the result out."""
    return PythonRule(lambda s, o: f"{function}({o[0]})",
                      lambda s, o, out: [derivative.format(x=o[0], out=out)])


def _power(base: str, exponent: float) -> str:
    """base ** n, as `**` for a whole n (exact and readable), else math.pow (which refuses
    a negative base instead of giving a complex number)."""
    if float(exponent).is_integer():
        return f"{base} ** {literal(exponent)}"
    return f"power({base}, {literal(exponent)})"


def _pow_constant_grads(step: Step, operands: list[str], out: str) -> list[str]:
    n = step.constant  # d(x^n)/dx = n x^(n-1)
    return ["0.0" if n == 0.0 else f"{literal(n)} * {_power(operands[0], n - 1.0)}"]


def _rpow_constant_grads(step: Step, operands: list[str], out: str) -> list[str]:
    c = step.constant  # d(c^x)/dx = c^x ln c
    return [f"{out} * {literal(math.log(c))}" if c > 0.0 else "0.0"]


def _terms(step: Step, operands: list[str]) -> list[str]:
    """The products a dot node adds up: w_i * x_i for each pair, then v * c for each single."""
    paired = 2 * step.pairs
    terms = [f"{operands[k]} * {operands[k + 1]}" for k in range(0, paired, 2)]
    for k in range(paired, len(operands)):
        local = step.recorded[k]
        terms.append(operands[k] if local == 1.0 else f"{operands[k]} * {literal(local)}")
    return terms


def _dot_forward(step: Step, operands: list[str]) -> str:
    terms = _terms(step, operands)
    if step.constant is not None:
        terms.append(literal(step.constant))
    if step.folded:
        terms.append(literal(step.folded))
    return " + ".join(terms) or "0.0"


def _dot_grads(step: Step, operands: list[str], out: str) -> list[str]:
    """d(w·x)/dw_i = x_i and d/dx_i = w_i for the pairs; the recorded numbers for the rest."""
    paired = 2 * step.pairs
    return [operands[k ^ 1] if k < paired else literal(step.recorded[k])
            for k in range(len(operands))]


def _sum_forward(step: Step, operands: list[str]) -> str:
    terms = list(operands)
    if step.constant is not None:
        terms.append(literal(step.constant))
    return " + ".join(terms) or "0.0"


def _mean_forward(step: Step, operands: list[str]) -> str:
    terms = list(operands) + ([literal(step.folded)] if step.folded else [])
    return f"({' + '.join(terms) or '0.0'}) / {literal(step.count)}"


PYTHON_RULES: dict[Primitive, PythonRule] = {
    engine.ADD: _infix("+"),
    engine.ADD_CONSTANT: _with_constant("{x} + {c}"),
    engine.SUB: _infix("-"),
    engine.SUB_CONSTANT: _with_constant("{x} - {c}"),
    engine.RSUB_CONSTANT: _with_constant("{c} - {x}"),
    engine.MUL: PythonRule(lambda s, o: f"{o[0]} * {o[1]}",
                           lambda s, o, out: [o[1], o[0]]),  # d(ab)/da = b, d(ab)/db = a
    engine.MUL_CONSTANT: _with_constant("{x} * {c}"),
    engine.DIV: PythonRule(lambda s, o: f"{o[0]} / {o[1]}",  # d(a/b)/da = 1/b, /db = -(a/b)/b
                           lambda s, o, out: [f"1.0 / {o[1]}", f"-{out} / {o[1]}"]),
    engine.DIV_CONSTANT: _with_constant("{x} / {c}"),
    engine.RDIV_CONSTANT: PythonRule(lambda s, o: f"{literal(s.constant)} / {o[0]}",
                                     lambda s, o, out: [f"-{out} / {o[0]}"]),  # d(c/x) = -(c/x)/x
    engine.POW: PythonRule(
        lambda s, o: f"power({o[0]}, {o[1]})",
        # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a (0 where the engine takes 0)
        lambda s, o, out: [f"({o[1]} * power({o[0]}, {o[1]} - 1.0) if {o[1]} != 0.0 else 0.0)",
                           f"({out} * log({o[0]}) if {o[0]} > 0.0 else 0.0)"]),
    engine.POW_CONSTANT: PythonRule(lambda s, o: _power(o[0], s.constant), _pow_constant_grads),
    engine.RPOW_CONSTANT: PythonRule(lambda s, o: f"power({literal(s.constant)}, {o[0]})",
                                     _rpow_constant_grads),
    engine.NEG: PythonRule(lambda s, o: f"-{o[0]}", _kept),
    engine.EXP: _call("exp", "{out}"),  # d(e^x)/dx = e^x
    engine.LOG: _call("log", "1.0 / {x}"),  # d(ln x)/dx = 1/x
    engine.TANH: _call("tanh", "1.0 - {out} * {out}"),  # tanh' = 1 - tanh²
    engine.SIGMOID: _call("sigmoid", "{out} * (1.0 - {out})"),  # σ' = σ(1 - σ)
    # relu'(z) is 1 for z > 0, else 0 (0 at exactly 0, as in the engine)
    engine.RELU: PythonRule(lambda s, o: f"({o[0]} if {o[0]} > 0.0 else 0.0)",
                            lambda s, o, out: [f"(1.0 if {o[0]} > 0.0 else 0.0)"]),
    engine.SUM: PythonRule(_sum_forward, _kept),
    engine.SUM_CONSTANT: PythonRule(_sum_forward, _kept),
    engine.MEAN: PythonRule(_mean_forward, _kept),
    engine.DOT: PythonRule(_dot_forward, _dot_grads),
}

# The functions the generated code calls, as the engine computes them.
NAMESPACE = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "power": math.pow,
             "sigmoid": engine._sigmoid}


# ------------------------------------------------------------ the python backend
def variable_names(recording: Recording) -> list[str]:
    """A Python name for every node: its label where it has one, else x3 (leaf) or v7."""
    used = set(NAMESPACE) | set(keyword.kwlist) | {"grads", "float"}
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
            operands = [names[j] for j in step.inputs]
            lines.append(f"    {names[i]} = {PYTHON_RULES[step.primitive].forward(step, operands)}")
    root = recording.root
    lines += ["    # backward: each edge adds upstream grad * local grad (the first one assigns)",
              f"    grad_{names[root]} = 1.0"]
    assigned = {root}
    for i in range(len(steps) - 1, -1, -1):
        step = steps[i]
        if step.primitive is None:
            continue
        operands = [names[j] for j in step.inputs]
        locals_ = PYTHON_RULES[step.primitive].local_grads(step, operands, names[i])
        for j, local in zip(step.inputs, locals_):
            if " " in local:
                local = f"({local})"
            update = "+=" if j in assigned else "="
            assigned.add(j)
            lines.append(f"    grad_{names[j]} {update} grad_{names[i]} * {local}")
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
        namespace = dict(NAMESPACE)
        exec(compile(self.source, filename, "exec"), namespace)  # noqa: S102 - our own code
        self._function = namespace["forward_backward"]

    def run(self, data: list[float]) -> tuple[float, list[float], list[float]]:
        """(root value, extra values, leaf gradients) at the given leaf values."""
        value, extras, grads = self._function(*data)
        return value, extras, grads


# ------------------------------------------------------------------ the program
class Program:
    """A recorded graph, replayed from the leaves' current `.data` on every call.

    program()        forward and backward; adds each leaf's gradient into its .grad
                     (like backward()) and returns the root's value (with the
                     extra values, if fn returned some)
    program.check()  runs fn() eagerly and raises TraceMismatch at the first node
                     whose shape or numbers differ from the recording
    program.source   the forward and backward pass as straight-line Python
    program.feed(leaves, data)  sets the .data of input leaves for the next call
    """

    def __init__(self, fn: Callable[[], Any], recording: Recording, backend: Any) -> None:
        self.fn = fn
        self.recording = recording
        self.backend = backend
        # The leaves in the order the backend takes their data and gives their gradients.
        self.leaf_positions: list[int] = getattr(backend, "leaf_order", recording.leaves)
        self.leaves = [recording.nodes[i] for i in self.leaf_positions]
        self._leaf_set = set(self.leaves)
        self._source: Optional[str] = getattr(backend, "source", None)

    @property
    def source(self) -> str:
        """The forward and the backward pass as readable straight-line Python."""
        if self._source is None:
            self._source = python_source(self.recording)
        return self._source

    def __len__(self) -> int:
        return len(self.recording.steps)

    def __repr__(self) -> str:
        return (f"<Program of {len(self)} nodes ({len(self.leaves)} leaves), "
                f"backend {self.backend.name!r}>")

    def __call__(self) -> Any:
        """Replay forward and backward, add the leaves' gradients into .grad, return the value."""
        value, extras, grads = self._replay()
        for leaf, grad in zip(self.leaves, grads):
            leaf.grad += grad
        if self.recording.output_shape is None:
            return value
        return (value, *_unflatten(self.recording.output_shape, extras))

    def _replay(self) -> tuple[float, list[float], list[float]]:
        """Run the backend on the leaves' data; check every input and result is finite."""
        data = [leaf.data for leaf in self.leaves]
        if not _all_finite(data):
            bad = next(i for i, x in enumerate(data) if not _finite(x))
            raise ValueError(f"program(): leaf {_name(self.leaves[bad])} has data {data[bad]!r}; "
                             f"every leaf must be a finite number (no .grad was changed)")
        try:
            value, extras, grads = self.backend.run(data)
        except (ArithmeticError, ValueError) as problem:  # log(-1), 1/0, exp(1000)
            raise type(problem)(f"program(): {problem} while replaying the graph at the "
                                f"current leaf values (no .grad was changed); run fn() "
                                f"eagerly to see which operation fails") from None
        if not (_finite(value) and _all_finite(grads)):
            # numpy gives inf or nan where Python raises: an overflow, or log(-1)
            raise FloatingPointError(
                f"program(): the replay gave a value or gradient that is not finite (value "
                f"{value!r}): an overflow, or an operation outside its domain such as the log "
                f"of a negative number; no .grad was changed; run fn() and backward() eagerly "
                f"to see which operation it is")
        return float(value), list(extras), grads

    def feed(self, leaves: Any, data: Any) -> None:
        """Set the .data of leaves (a Value or nested lists of them) from numbers of the same shape.

        Use it for minibatches: build the graph on placeholder leaves, trace it,
        then feed each batch into the placeholders before calling the program.
        Everything is checked before anything is set; no .grad is touched.
        """
        pairs: list[tuple[Value, float]] = []
        _match(leaves, data, "", pairs)
        for leaf, _ in pairs:
            if leaf not in self._leaf_set:
                raise ValueError(f"feed: {_name(leaf)} is not a leaf of the traced graph, so "
                                 f"setting it would change nothing; feed the Values fn used")
        for leaf, number in pairs:
            leaf.data = number

    def check(self) -> None:
        """Call fn() eagerly and compare its graph and numbers with the recording and the replay.

        Raises TraceMismatch naming the first node that differs: another shape,
        another folded constant, a different leaf, or a value or gradient that
        the replay computes differently (fn branches on .data). No .grad changes.
        """
        root, extras, _ = _split_result(self.fn())
        fresh = record(root, extras)
        _compare_structure(self.recording, fresh)
        value, replay_extras, grads = self._replay()
        eager_grads = [g.data for g in engine.grad(root, fresh.leaf_values)]  # no .grad changes
        names = variable_names(self.recording)
        _compare_number("the result", root.data, value)
        for k, (mine, extra) in enumerate(zip(replay_extras, extras)):
            name = names[self.recording.outputs[k]]
            _compare_number(f"returned value {k} ({name})", extra.data, mine)
        eager_by_position = dict(zip(fresh.leaves, eager_grads))
        for i, mine in zip(self.leaf_positions, grads):
            _compare_number(f"the gradient of leaf {names[i]}", eager_by_position[i], mine)


def _compare_structure(recorded: Recording, fresh: Recording) -> None:
    """Raise TraceMismatch at the first node whose op, inputs, constants or leaf differ."""
    names = variable_names(recorded)
    for i, (old, new) in enumerate(zip(recorded.steps, fresh.steps)):
        if old.primitive is None and new.primitive is None:
            node, now = recorded.nodes[i], fresh.nodes[i]
            if node is not now and node.data != now.data:
                raise TraceMismatch(f"program.check(): leaf {names[i]} (node {i}) is another "
                                    f"Value now, with data {now.data!r} instead of "
                                    f"{node.data!r}; the program would keep using the old one")
            continue
        if _signature(old) != _signature(new):
            raise TraceMismatch(
                f"program.check(): node {i} ({names[i]}) differs: recorded "
                f"`{_describe_step(old, recorded, i)}`, fn() now builds "
                f"`{_describe_step(new, fresh, i)}`. fn's graph depends on the values (an if "
                f"on .data?), so one recording cannot stand for it: remove the branch or "
                f"trace again")
    if len(recorded.steps) != len(fresh.steps):
        raise TraceMismatch(f"program.check(): fn() now builds {len(fresh.steps)} nodes, the "
                            f"recording has {len(recorded.steps)}; fn's graph depends on the "
                            f"values")


def _signature(step: Step) -> tuple:
    """What must stay the same between recording and rebuild: op, inputs, folded numbers.

    The local derivatives a replay keeps as recorded numbers must match too (the 2 of
    `x * 2`, a first layer's inputs baked into its dot nodes); the ones it recomputes
    may differ, that is the point of replaying.
    """
    if step.primitive is engine.DOT:
        kept = step.recorded[2 * step.pairs:]  # the partners that were plain numbers
    elif PYTHON_RULES[step.primitive].local_grads is _kept:
        kept = step.recorded
    else:
        kept = ()
    return (step.primitive, step.inputs, step.constant, step.pairs, kept, step.count)


def _describe_step(step: Step, recording: Recording, i: int) -> str:
    if step.primitive is None:
        return f"a leaf with data {step.data!r}"
    names = variable_names(recording)
    operands = [names[j] if j < len(names) else f"node {j}" for j in step.inputs]
    return f"{names[i]} = {PYTHON_RULES[step.primitive].forward(step, operands)}"


def _compare_number(what: str, eager: float, replay: float) -> None:
    if not abs(eager - replay) <= CHECK_ATOL + CHECK_RTOL * max(abs(eager), abs(replay)):
        raise TraceMismatch(f"program.check(): {what} is {replay!r} in the replay but "
                            f"{eager!r} in fn() run eagerly; fn's graph depends on the "
                            f"values in a way the recording does not follow")


def _match(leaves: Any, data: Any, where: str, pairs: list) -> None:
    """Pair leaves with numbers, checking that the two have the same nested shape."""
    if type(leaves) is Value:
        if isinstance(data, bool) or not isinstance(data, numbers.Real):
            raise ValueError(f"feed: data{where} should be a number for a leaf, "
                             f"got {type(data).__name__}: {data!r:.60}")
        number = float(data)
        if not _finite(number):
            raise ValueError(f"feed: data{where} is {number!r}; leaves need finite numbers")
        pairs.append((leaves, number))
        return
    if not isinstance(leaves, (list, tuple)):
        raise TypeError(f"feed: leaves{where} should be a Value or a list of them, "
                        f"got {type(leaves).__name__}")
    if isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
        raise ValueError(f"feed: data{where} should be a list of {len(leaves)}, "
                         f"got {type(data).__name__}: {data!r:.60}")
    if len(data) != len(leaves):
        raise ValueError(f"feed: data{where} has {len(data)} entries for {len(leaves)} leaves; "
                         f"the data must have the shape of the traced inputs {_shape(leaves)}")
    for k, (leaf, item) in enumerate(zip(leaves, data)):
        _match(leaf, item, f"{where}[{k}]", pairs)


def _shape(nested: Any) -> tuple:
    if isinstance(nested, (list, tuple)):
        return (len(nested),) + (_shape(nested[0]) if nested else ())
    return ()


def _finite(x: float) -> bool:
    return -math.inf < x < math.inf


def _all_finite(numbers_: Sequence[float]) -> bool:
    """True if every number is finite; one C-level sum does it (inf - inf and nan are nan)."""
    total = sum(numbers_)
    if total - total == 0.0:
        return True
    return all(_finite(x) for x in numbers_)  # an overflowing sum of finite numbers is fine


def _name(leaf: Value) -> str:
    return repr(leaf.label) if leaf.label else repr(leaf)


# ------------------------------------------------------------------- trace()
def trace(fn: Callable[[], Any], backend: str = "python") -> Program:
    """Call fn() once, record the graph of the Value it returns, and return a replayable Program.

    fn takes no arguments and returns the Value to differentiate (the loss), or
    a tuple (loss, more Values or lists of Values to read back, e.g. the model's
    outputs for accuracy). backend is "python" (generated straight-line code,
    no numpy) or "numpy" (the graph grouped into array operations).
    """
    if backend not in BACKENDS:
        raise ValueError(f"trace: unknown backend {backend!r}; choose one of: "
                         f"{', '.join(BACKENDS)}")
    if not callable(fn):
        raise TypeError(f"trace: fn must be a function of no arguments that returns a Value, "
                        f"got {type(fn).__name__}: {fn!r:.60}")
    root, extras, shape = _split_result(fn())
    recording = record(root, extras)
    for step in recording.steps:
        if step.primitive is not None and step.primitive not in PYTHON_RULES:
            raise TypeError(f"trace: the op {step.primitive.name!r} has no rule in "
                            f"tinygrad_edu.tracing.PYTHON_RULES, so it cannot be replayed")
    recording.output_shape = shape
    if backend == "numpy":
        from tinygrad_edu.tracing_numpy import NumpyBackend  # numpy only for this backend

        runner: Any = NumpyBackend(recording)
    else:
        runner = PythonBackend(recording)
    return Program(fn, recording, runner)


__all__ = ["BACKENDS", "PYTHON_RULES", "Program", "TraceMismatch", "literal", "python_source",
           "trace", "variable_names"]
