"""Check a student's own micrograd against this engine: diagnose(Value), assert_engine(Value).

    from tinygrad_edu.testing import diagnose, assert_engine   # the public names
    from my_micrograd import Value
    report = diagnose(Value)   # text when printed, a table in Jupyter
    report.draw()              # the student's graph, the first wrong node in red
    assert_engine(Value)       # in a teacher's pytest file: AssertionError with the report

The class is built as `Value(number)` and must have `.data`, `.grad`,
`.backward()` and its graph as micrograd keeps it (`_prev`, or `_children`,
and `_op`). `diagnose` finds which operations it supports and runs named
probes, each against this engine on the same graph:

  - every supported op: its value and local derivative at several points,
    large inputs included, with the classic slips recognised and named;
  - sharing: `a + a`, `a * a` and a diamond ("assigned, not accumulated");
  - order: a graph that naive recursion or an unordered walk gets wrong, a
    second backward() on the same graph, and a 5,000-deep chain;
  - reflected operands (`2 * v`, `1 - v`, `2 / v`, `2 ** v`) and plain numbers;
  - random expressions (hypothesis) built from the supported ops only,
    shrunk to the smallest one that fails.

For a wrong gradient the report names the first wrong node: walking the graph
in reverse topological order, the first node whose grad differs from this
engine's, i.e. the node where the student's local contributions first go wrong
while every node that uses it is still right.

The random graphs come from `testing.expressions()`, which `tinygrad_edu.testing`
hands in when it calls `diagnose` here: testing imports this module to export
it, so this module does not import testing back (no import circle).

The student's class is imported and run in this process: it is their own code.
Each probe runs in a thread under a time limit, so an endless loop or a huge
recursion is reported ("did not finish in 10 s") instead of hanging the check;
a probe that runs over is stopped at its next line of Python where possible.
"""

from __future__ import annotations

import ctypes
import html
import math
import textwrap
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Optional, Sequence

from tinygrad_edu.engine import Value

# How long one probe may run, in seconds, before it is reported and left behind.
PROBE_SECONDS = 10.0
# After this many probes ran out of time, the rest are not started: each would wait too.
MAX_TIMEOUTS = 2
# How deep the chain of the depth probe is: past Python's default recursion limit (1000).
DEEP_CHAIN = 5000
# How many random expressions hypothesis tries before it says none fails, and how long
# that probe may take at least.
RANDOM_EXAMPLES = 300
RANDOM_SECONDS = 60.0
# Two gradients agree when they are this close (relative, absolute).
RTOL, ATOL = 1e-6, 1e-9
# A probe thread's stack: room enough that a student's deep recursion, even under a raised
# recursion limit, ends in a RecursionError rather than a crash of the whole process.
PROBE_STACK_BYTES = 64 * 1024 * 1024

PASS, NOTE, FAIL = "pass", "note", "fail"
# Each op a micrograd-like class may have, as a function of Values and numbers.
BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a / b, "**": lambda a, b: a ** b}
FUNCTIONS = ("exp", "log", "tanh", "sigmoid", "relu")
# The method that holds each op's backward, to name in a message.
METHODS = {"+": "__add__", "-": "__sub__", "*": "__mul__", "/": "__truediv__",
           "**": "__pow__", "neg": "__neg__", **{name: name for name in FUNCTIONS}}
REFLECTED = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__", "/": "__rtruediv__",
             "**": "__rpow__"}
# Where each op's value and derivative are probed; LARGE inputs are where naive formulas
# overflow (math.exp(2000) in a hand-written tanh).
POINTS = {"exp": (-1.0, 0.5, 2.0), "log": (0.5, 2.0, 3.0), "tanh": (-1.5, 0.5, 2.0),
          "sigmoid": (-1.5, 0.5, 2.0), "relu": (-1.5, 2.0), "neg": (-1.5, 2.0)}
LARGE = {"exp": (30.0,), "tanh": (1000.0, -1000.0), "sigmoid": (1000.0, -1000.0),
         "relu": (1e6,)}
PAIRS = ((1.5, -2.0), (3.0, 0.5))
EXPONENTS = ((2.0, 2), (1.5, 3), (2.25, 0.5), (2.0, -1))


class NotMicrogradLike(TypeError):
    """The class cannot be built as Value(number) or lacks what a micrograd-like engine has."""


class ProbeTimeout(Exception):
    """A probe ran longer than its time limit."""


# ------------------------------------------------------------------ the report
@dataclass
class Finding:
    """One probe's result: its name, pass/note/fail, and what it means in plain words."""

    probe: str
    status: str
    message: str
    expression: str = ""
    wrong_node: str = ""  # the first wrong node's name, for a wrong gradient
    expected: Optional[float] = None
    actual: Optional[float] = None
    graph: Any = None  # the student's output node of the probe's graph, for draw()
    node: Any = None  # the student's first wrong node
    names: dict = field(default_factory=dict)  # id(student node) -> name
    # The op whose local derivative looks wrong at the first wrong node ('' if none is):
    # if that op passes its own probe, the walk is to blame, not the op.
    blamed: str = ""
    walk_text: str = ""  # what to say instead when the walk is to blame

    def __str__(self) -> str:
        mark = {PASS: "ok  ", NOTE: "note", FAIL: "FAIL"}[self.status]
        text = f"[{mark}] {self.probe}"
        if self.status != PASS:
            lines = [self.message] + ([f"graph: {self.expression}"] if self.expression else [])
            for line in lines:
                text += "\n" + textwrap.fill(line, 96, initial_indent=" " * 7,
                                             subsequent_indent=" " * 7)
        return text


class Report:
    """Every probe's finding for one class: text when printed, a table in Jupyter, draw()."""

    def __init__(self, name: str, supported: Sequence[str], findings: list[Finding]) -> None:
        self.name = name
        self.supported = tuple(supported)
        self.findings = findings

    @property
    def failures(self) -> list[Finding]:
        """The probes that failed."""
        return [f for f in self.findings if f.status == FAIL]

    @property
    def notes(self) -> list[Finding]:
        """The probes that passed with something worth knowing (a recursion limit, stale grads)."""
        return [f for f in self.findings if f.status == NOTE]

    @property
    def passed(self) -> bool:
        """True when no probe failed (notes, such as a recursion limit, do not fail)."""
        return not self.failures

    def finding(self, probe: str) -> Finding:
        """The finding of the probe with this name."""
        for item in self.findings:
            if item.probe == probe:
                return item
        raise KeyError(f"no probe named {probe!r}; the probes are: "
                       + ", ".join(f.probe for f in self.findings))

    def summary(self) -> str:
        """One line: the class, how many probes fail, how many notes."""
        failed, noted = len(self.failures), len(self.notes)
        verdict = "every probe passes" if not failed else f"{failed} of " \
            f"{len(self.findings)} probes fail"
        return f"{self.name}: {verdict}" + (f", {noted} note{'s' * (noted != 1)}"
                                            if noted else "")

    def __str__(self) -> str:
        lines = [self.summary(), f"ops found: {' '.join(self.supported)}"]
        lines += [str(item) for item in self.findings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Report {self.summary()}>"

    def _repr_html_(self) -> str:
        colours = {PASS: "#d3f9d8", NOTE: "#fff3bf", FAIL: "#ffc9c9"}
        rows = []
        for item in self.findings:
            words = "" if item.status == PASS else html.escape(item.message)
            if item.expression and item.status != PASS:
                words += f"<br><code>{html.escape(item.expression)}</code>"
            rows.append(f'<tr><td style="background:{colours[item.status]}">{item.status}</td>'
                        f"<td>{html.escape(item.probe)}</td>"
                        f'<td style="text-align:left">{words}</td></tr>')
        return (f"<p><b>{html.escape(self.summary())}</b><br>ops found: "
                f"<code>{html.escape(' '.join(self.supported))}</code></p>"
                f"<table><tr><th>result</th><th>probe</th><th>what it means</th></tr>"
                f"{''.join(rows)}</table>")

    def draw(self, probe: Optional[str] = None, **options: Any):
        """The student's graph of a failed probe (the first one with a graph, by default),
        drawn by viz.draw_dot with the first wrong node in red, expected and actual on it."""
        from tinygrad_edu.viz.dot import draw_dot
        from tinygrad_edu.viz.foreign import mirror

        candidates = [self.finding(probe)] if probe else self.failures
        chosen = next((item for item in candidates if item.graph is not None), None)
        if chosen is None:
            raise ValueError(f"{'probe ' + repr(probe) if probe else 'no failed probe'} has "
                             f"no wrong gradient to draw")
        root, order = mirror(chosen.graph, labels=chosen.names)
        highlight: dict[object, str] = {}
        for node in order:
            if node.source is chosen.node:
                highlight[node] = (f"expected grad {chosen.expected:.4g}, "
                                   f"got {chosen.actual:.4g}")
        return draw_dot(root, highlight=highlight, **options)


# ------------------------------------------------------------------ running probes
def run_limited(function: Callable[[], Any], seconds: float) -> Any:
    """function() in a thread; its result, its exception, or ProbeTimeout after `seconds`.

    A thread cannot be killed, but a Python loop can be interrupted: after the
    time limit an exception is raised in the thread at its next line of
    Python. A thread stuck inside one long C call finishes in the background.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = function()
        except BaseException as problem:  # noqa: BLE001 - reported to the caller
            box["error"] = problem

    previous = threading.stack_size()
    try:
        threading.stack_size(PROBE_STACK_BYTES)
    except (ValueError, RuntimeError):  # a platform that does not let us: keep its size
        pass
    thread = threading.Thread(target=target, name="diagnose probe", daemon=True)
    try:
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join(seconds)
    if thread.is_alive():
        # The exception can land where it is swallowed (a garbage-collector callback), so it
        # is sent a few times. Not every Python has this call: there the thread runs on.
        stop = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
        if stop is not None and thread.ident is not None:
            for _ in range(3):
                stop(ctypes.c_ulong(thread.ident), ctypes.py_object(ProbeTimeout))
                thread.join(0.5)
                if not thread.is_alive():
                    break
        raise ProbeTimeout(f"did not finish in {seconds:g} s (an endless loop, or far too "
                           f"much work): stopped and left behind")
    if "error" in box:
        raise box["error"]
    return box.get("result")


@dataclass
class Node:
    """One node of a probe's graph in both engines: ours (the oracle) and theirs."""

    name: str
    formula: str
    ours: Value
    theirs: Any

    @property
    def op(self) -> str:
        """The primitive that made our node, by name (`*`, `tanh`); "" for an input."""
        primitive = self.ours.primitive
        return "" if primitive is None else primitive.name


def build(cls: type, inputs: Sequence[tuple[str, float]],
          steps: Sequence[tuple[str, str, Sequence[Any]]]) -> list[Node]:
    """The same graph in both engines, step by step: inputs first, then each step's node.

    A step is (name, op, operands); an operand is the name of an earlier node or
    a plain number. Ops are those of BINARY, `neg`, FUNCTIONS, or a function.
    """
    nodes: list[Node] = [Node(name, name, Value(x, label=name), cls(x)) for name, x in inputs]
    by_name = {node.name: node for node in nodes}
    for name, op, operands in steps:
        ours = [by_name[o].ours if isinstance(o, str) else o for o in operands]
        theirs = [by_name[o].theirs if isinstance(o, str) else o for o in operands]
        texts = [o if isinstance(o, str) else repr(o) for o in operands]
        node = Node(name, _formula(op, texts), apply(op, ours), apply(op, theirs))
        node.ours.label = name
        nodes.append(node)
        by_name[name] = node
    return nodes


def apply(op: Any, args: Sequence[Any]) -> Any:
    """One op on Values of either engine and plain numbers."""
    if callable(op):
        return op(*args)
    if op in BINARY:
        return BINARY[op](*args)
    if op == "neg":
        return -args[0]
    return getattr(args[0], op)()


def _formula(op: Any, texts: Sequence[str]) -> str:
    if callable(op):
        return f"{op.__name__}({', '.join(texts)})"
    if op in BINARY:
        return f"{texts[0]} {op} {texts[1]}"
    if op == "neg":
        return f"-{texts[0]}"
    return f"{op}({texts[0]})"


def as_number(value: Any) -> float:
    """A student's data or grad as a float (NaN when it is not a number)."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=RTOL, abs_tol=ATOL)


def graph_text(nodes: Sequence[Node], inputs: int) -> str:
    """The probe's graph as code: `t0 = x0 * 3.0; out = t0 + x0 at x0=1.5`."""
    statements = "; ".join(f"{n.name} = {n.formula}" for n in nodes[inputs:])
    at = ", ".join(f"{n.name}={n.ours.data:g}" for n in nodes[:inputs])
    return f"{statements} at {at}"


# ------------------------------------------------------------------ the oracle's side
def contributions(nodes: Sequence[Node], target: Node) -> list[tuple[Node, float]]:
    """(consumer, upstream × local) for every use of `target`, in our engine's graph."""
    found = []
    for node in nodes:
        for operand, local in zip(node.ours.inputs, node.ours.local_grads):
            if operand is target.ours:
                found.append((node, node.ours.grad * local))
    return found


def first_wrong(nodes: Sequence[Node]) -> Optional[tuple[Node, float, float]]:
    """The first node, in reverse topological order, whose student grad differs from ours."""
    for node in reversed(nodes):
        actual = as_number(getattr(node.theirs, "grad", None))
        if not close(actual, node.ours.grad):
            return node, node.ours.grad, actual
    return None


def explain_wrong(nodes: Sequence[Node], node: Node, expected: float,
                  actual: float) -> tuple[str, str, str]:
    """Why a node's grad is wrong, from the pattern of its uses: (words, the op blamed for a
    wrong local derivative or '', the words to use if that op is right on its own)."""
    if node is nodes[-1]:
        return (f"the output {node.name} has grad {actual:g} after backward(), expected 1: "
                f"backward() must start from d(out)/d(out) = 1", "", "")
    uses = contributions(nodes, node)
    text = (f"first wrong node: {node.name} has grad {actual:.6g}, expected {expected:.6g} "
            f"(every node that uses it is right)")
    if len(uses) > 1:
        parts = "; ".join(f"{value:.6g} from {consumer.name} = {consumer.formula}"
                          for consumer, value in uses)
        text += f"; it is used {len(uses)} times: {parts}"
        for consumer, value in uses:
            if close(actual, value):
                method = METHODS.get(consumer.op, consumer.ours.op)
                return (text + f". Its grad is one use's share only: gradients are assigned, "
                        f"not accumulated. The backward of {method} (in {consumer.name} = "
                        f"{consumer.formula}) sets grad with = where it must add with +=",
                        "", "")
    walk = (text + ". Every op passes its own probe, so the walk over the graph is to blame: "
            "a node passed its grad on before it was complete, or more than once")
    if len(uses) == 1:
        consumer, value = uses[0]
        local = value / consumer.ours.grad if consumer.ours.grad else math.nan
        got = actual / consumer.ours.grad if consumer.ours.grad else math.nan
        op = consumer.op
        text += (f"; the backward of {METHODS.get(op, op)} in {consumer.name} = "
                 f"{consumer.formula} gives ∂{consumer.name}/∂{node.name} = {got:.6g}, "
                 f"expected {local:.6g}")
        return text, op, walk
    return text, " ".join(sorted({consumer.op for consumer, _ in uses})), walk


# ------------------------------------------------------------------ what the class has
def require_micrograd_like(cls: Any, seconds: float = PROBE_SECONDS) -> None:
    """NotMicrogradLike unless Value(number) works and has data, grad, backward and a graph."""
    name = getattr(cls, "__name__", repr(cls))
    if not callable(cls):
        raise NotMicrogradLike(f"{name} is not a class: got {type(cls).__name__}")
    try:
        x = run_limited(lambda: cls(1.5), seconds)
    except ProbeTimeout as problem:
        raise NotMicrogradLike(f"{name}(1.5) {problem}") from None
    except (Exception, SystemExit) as problem:
        raise NotMicrogradLike(f"{name}(1.5) raises {type(problem).__name__}: {problem}; "
                               f"diagnose builds each input as {name}(number)") from None
    missing = [attribute for attribute in ("data", "grad", "backward")
               if not hasattr(x, attribute)]
    if not any(hasattr(x, attribute) for attribute in ("_prev", "_children")):
        missing.append("_prev (or _children: the nodes it was computed from)")
    if missing:
        raise NotMicrogradLike(f"{name} is not micrograd-like: {name}(1.5) has no "
                               f"{', '.join(missing)}")
    if not close(as_number(x.data), 1.5):
        raise NotMicrogradLike(f"{name}(1.5).data is {x.data!r}, expected 1.5")


def supported_ops(cls: type, seconds: float = PROBE_SECONDS) -> list[str]:
    """The ops the class has: `+ - * / **` (number exponent), `**v` (a Value exponent),
    `neg`, the functions, and each reflected form as `2+v`, `2-v`, `2*v`, `2/v`, `2**v`."""
    def works(make: Callable[[], Any]) -> bool:
        try:
            result = make()
        except Exception:  # noqa: BLE001 - a missing or broken op: not supported
            return False
        return hasattr(result, "data") and hasattr(result, "grad")

    def binary(op: str) -> Any:  # a number exponent: micrograd's ** takes no Value one
        return BINARY[op](cls(1.5), 2.0 if op == "**" else cls(2.0))

    def unary(op: str) -> Any:
        return apply(op, [cls(1.5)])

    def reflected(op: str) -> Any:
        return BINARY[op](2.0, cls(1.5))

    def find() -> list[str]:
        found = [op for op in BINARY if works(partial(binary, op))]
        if works(lambda: cls(1.5) ** cls(2.0)):
            found.append("**v")
        found += [op for op in ("neg", *FUNCTIONS) if works(partial(unary, op))]
        found += [f"2{op}v" for op in BINARY if works(partial(reflected, op))]
        return found

    return run_limited(find, seconds)


# ------------------------------------------------------------------ the probes
def diagnose(cls: type, *, seconds: float = PROBE_SECONDS,
             random_examples: int = RANDOM_EXAMPLES,
             expressions: Optional[Callable[..., Any]] = None) -> Report:
    """Run every probe on a micrograd-like class; the Report says what is right and wrong.

    NotMicrogradLike if the class cannot be built as cls(number) or lacks data,
    grad, backward or _prev/_children. Each probe stops after `seconds`.
    `expressions` is testing.expressions, for the random graphs (without it
    that probe is not run); tinygrad_edu.testing.diagnose passes it.
    """
    require_micrograd_like(cls, seconds)
    try:
        supported = supported_ops(cls, seconds)
    except ProbeTimeout as problem:
        raise NotMicrogradLike(f"trying its operations {problem}") from None
    findings: list[Finding] = []
    timeouts = 0
    for probe, run in _probes(cls, supported, random_examples, expressions):
        if timeouts >= MAX_TIMEOUTS:
            findings.append(Finding(probe, FAIL, f"not run: {timeouts} probes already ran out "
                                                 f"of time"))
            continue
        try:
            # Hypothesis needs a while for hundreds of examples and their shrinking.
            limit = max(3 * seconds, RANDOM_SECONDS) if probe == "random expressions" else seconds
            finding = run_limited(run, limit)
        except ProbeTimeout as problem:
            timeouts += 1
            finding = Finding(probe, FAIL, f"{problem}")
        except RecursionError as problem:
            finding = Finding(probe, FAIL, f"RecursionError: {problem}")
        except (Exception, SystemExit) as problem:  # noqa: BLE001 - the student's code raised
            finding = Finding(probe, FAIL, f"raises {type(problem).__name__}: {problem}")
        finding.probe = probe
        findings.append(finding)
    _blame_the_walk(findings)
    return Report(getattr(cls, "__qualname__", str(cls)), supported, findings)


def _blame_the_walk(findings: list[Finding]) -> None:
    """Where a wrong gradient points at an op that passes its own probe, blame the walk."""
    passed = {f.probe for f in findings if f.status == PASS}
    for finding in findings:
        if finding.status != FAIL or not finding.blamed:
            continue
        if set(finding.blamed.split()) <= passed:
            finding.message = finding.walk_text


def _probes(cls: type, supported: list[str], random_examples: int,
            expressions: Optional[Callable[..., Any]]) -> list[tuple[str, Callable[[], Finding]]]:
    """(name, function returning a Finding) for every probe that applies to the class."""
    probes: list[tuple[str, Callable[[], Finding]]] = []
    for op in ("neg", *FUNCTIONS):
        if op in supported:
            probes.append((op, partial(_unary_probe, cls, op)))
    for op in BINARY:
        if op in supported:
            probes.append((op, partial(_binary_probe, cls, op)))
    has = set(supported)
    if "+" in has:
        probes.append(("sharing: a + a", lambda: _graph_probe(
            cls, [("x0", 1.5)], [("out", "+", ["x0", "x0"])], SHARING)))
    if "*" in has:
        probes.append(("sharing: a * a", lambda: _graph_probe(
            cls, [("x0", 1.5)], [("out", "*", ["x0", "x0"])], SHARING)))
    if {"+", "*"} <= has:
        probes.append(("sharing: a diamond", lambda: _graph_probe(
            cls, [("x0", 1.5), ("x1", -2.0)],
            [("t0", "*", ["x0", "x1"]), ("t1", "+", ["t0", 1.0]), ("t2", "*", ["t0", 2.0]),
             ("out", "*", ["t1", "t2"])], SHARING)))
        # t0 feeds out directly and through three more nodes: a breadth-first walk or naive
        # recursion passes t0's grad on before the longer path has added its share.
        probes.append(("order: reverse topological", lambda: _graph_probe(
            cls, [("x0", 1.5)],
            [("t0", "*", ["x0", 3.0]), ("t1", "*", ["t0", 2.0]), ("t2", "*", ["t1", 2.0]),
             ("out", "+", ["t0", "t2"])], ORDER)))
        probes.append(("order: a second backward()", lambda: _second_backward(cls)))
    if "+" in has:
        probes.append((f"order: a {DEEP_CHAIN:,}-deep chain", lambda: _deep_chain(cls)))
    for op in BINARY:
        # A ** that takes numbers only (micrograd's) needs no 2 ** v.
        if op in has and (op != "**" or "**v" in has or "2**v" in has):
            probes.append((f"reflected: 2 {op} v", partial(_reflected, cls, op, has)))
    probes.append(("random expressions",
                   lambda: _random(cls, has, random_examples, expressions)))
    return probes


SHARING = "A value used twice gets the sum of the gradients along every path (lecture §6)"
ORDER = ("In reverse topological order, backward() handles a node only after every node "
         "that uses it. Naive recursion into _prev, or a breadth-first walk, passes a "
         "node's grad on before all of its uses have added theirs")


def _graph_probe(cls: type, inputs: list, steps: list, meaning: str) -> Finding:
    """Build a graph in both engines, backward() once, and compare every node's grad."""
    nodes = build(cls, inputs, steps)
    return _compare(nodes, len(inputs), meaning, backward=True)


def _compare(nodes: list[Node], n_inputs: int, meaning: str, backward: bool) -> Finding:
    expression = graph_text(nodes, n_inputs)
    out = nodes[-1]
    if not close(as_number(out.theirs.data), out.ours.data):
        return Finding("", FAIL, f"the output's value is {out.theirs.data!r}, expected "
                                 f"{out.ours.data:.6g}", expression)
    if backward:
        out.ours.backward()
        out.theirs.backward()
    wrong = first_wrong(nodes)
    if wrong is None:
        return Finding("", PASS, "every gradient is right", expression)
    node, expected, actual = wrong
    why, blamed, walk = explain_wrong(nodes, node, expected, actual)
    if meaning and blamed:
        why += f". {meaning}"
    return Finding("", FAIL, why, expression, node.name, expected, actual, out.theirs,
                   node.theirs, {id(n.theirs): n.name for n in nodes}, blamed,
                   f"{walk}. {ORDER}")


# Each op's classic slips: (the wrong local derivative it gives, what it is in words).
def _slips(op: str, x: float, out: float, other: float = math.nan) -> list[tuple[float, str]]:
    if op == "exp":
        return [(x, "exp's backward uses the input's data, not the output's: d/dx eˣ is eˣ "
                    "(out.data), not x (self.data)")]
    if op == "tanh":
        return [(1 - out, "tanh's derivative is written as 1 − t; it is 1 − t², t = tanh(x)"),
                (1 - x * x, "tanh's backward uses the input x, not the output t: "
                            "d/dx tanh(x) = 1 − t², not 1 − x²")]
    if op == "sigmoid":
        return [(x * (1 - x), "sigmoid's backward uses the input x, not the output s: "
                              "d/dx σ(x) = s(1 − s), not x(1 − x)"),
                (out, "sigmoid's backward drops the (1 − s): d/dx σ(x) = s(1 − s)")]
    if op == "relu":
        return [(out, "relu's backward multiplies by the output, not by (output > 0): "
                      "relu'(x) is 1 for x > 0 and 0 below")]
    if op == "log":
        return [(x, "log's backward multiplies by x: d/dx ln(x) is 1/x")]
    if op == "neg":
        return [(1.0, "unary minus passes the gradient on unchanged: d/dx (−x) is −1")]
    if op == "**":
        return [(other * x ** other, "x ** n's backward keeps the exponent: d/dx xⁿ is "
                                     "n·xⁿ⁻¹, not n·xⁿ"),
                (x ** (other - 1), "x ** n's backward drops the factor n: d/dx xⁿ is n·xⁿ⁻¹")]
    if op == "*":
        return [(x, "__mul__'s backward multiplies by the operand's own data: ∂(a·b)/∂a is b, "
                    "not a")]
    if op == "-":
        return [(1.0, "__sub__'s backward adds the gradient to the right operand: "
                      "∂(a − b)/∂b is −1, not 1")]
    return []


def _unary_probe(cls: type, op: str) -> Finding:
    for x in POINTS[op] + LARGE.get(op, ()):
        finding = _op_at(cls, op, [("x", x)], [("out", op, ["x"])], x)
        if finding.status != PASS:
            return finding
    return Finding(op, PASS, "value and derivative right", f"{op}(x) at x in "
                   f"{POINTS[op] + LARGE.get(op, ())}")


def _binary_probe(cls: type, op: str) -> Finding:
    if op == "**":
        cases = [([("x", x)], [("out", "**", ["x", n])], x, float(n)) for x, n in EXPONENTS]
    else:
        cases = [([("a", a), ("b", b)], [("out", op, ["a", "b"])], a, b) for a, b in PAIRS]
        cases += [([("a", a)], [("out", op, ["a", 2.0])], a, 2.0) for a, _ in PAIRS]
    for inputs, steps, x, other in cases:
        finding = _op_at(cls, op, inputs, steps, x, other)
        if finding.status != PASS:
            return finding
    return Finding(op, PASS, "value and derivatives right")


def _op_at(cls: type, op: str, inputs: list, steps: list, x: float,
           other: float = math.nan) -> Finding:
    """One op at one point: its value, then the gradient of each input, slips named."""
    operands = [o if isinstance(o, str) else repr(o) for o in steps[0][2]]
    at = ", ".join(f"{name}={value:g}" for name, value in inputs)
    expression = f"out = {_formula(op, operands)} at {at}"
    try:
        nodes = build(cls, inputs, steps)
    except OverflowError as problem:
        return Finding(op, FAIL, f"{expression}: computing it raises OverflowError ({problem}); "
                       f"{_overflow_advice(op)}", expression)
    out = nodes[-1]
    value = as_number(out.theirs.data)
    if not close(value, out.ours.data):
        advice = _overflow_advice(op) if abs(x) >= 30 else ""
        return Finding(op, FAIL, f"{expression}: the value is {out.theirs.data!r}, expected "
                       f"{out.ours.data:.6g}" + (f"; {advice}" if advice else ""), expression)
    out.ours.backward()
    out.theirs.backward()
    for node in nodes[:-1]:
        actual = as_number(node.theirs.grad)
        if close(actual, node.ours.grad):
            continue
        first = node is nodes[0]
        for wrong, words in _slips(op, x if first else other, out.ours.data,
                                   other if first else x):
            if close(actual, wrong):
                return Finding(op, FAIL, f"{words} (at {at}: ∂out/∂{node.name} is "
                               f"{actual:.6g}, expected {node.ours.grad:.6g})", expression,
                               node.name, node.ours.grad, actual, out.theirs, node.theirs,
                               {id(n.theirs): n.name for n in nodes})
        return Finding(op, FAIL, f"the derivative of {METHODS[op]} is wrong: at {at}, "
                       f"∂out/∂{node.name} is {actual:.6g}, expected {node.ours.grad:.6g}",
                       expression, node.name, node.ours.grad, actual, out.theirs, node.theirs,
                       {id(n.theirs): n.name for n in nodes})
    return Finding(op, PASS, "right", expression)


def _overflow_advice(op: str) -> str:
    if op == "tanh":
        return ("a hand-written tanh, (e²ˣ − 1)/(e²ˣ + 1), overflows for large x; "
                "math.tanh(x) does not")
    if op == "sigmoid":
        return ("1/(1 + e⁻ˣ) overflows for large negative x; use e^x/(1 + e^x) there, or "
                "0.5·(1 + tanh(x/2))")
    return "large inputs overflow"


def _second_backward(cls: type) -> Finding:
    """backward() twice: leaves should hold twice one pass's grads, as in PyTorch."""
    inputs = [("x0", 1.5), ("x1", -2.0)]
    nodes = build(cls, inputs, [("t0", "*", ["x0", "x1"]), ("out", "+", ["t0", "x0"])])
    out = nodes[-1]
    expression = graph_text(nodes, 2) + ", backward() twice"
    out.ours.backward()
    once = {id(n): n.ours.grad for n in nodes}
    out.theirs.backward()
    out.theirs.backward()
    leaves = nodes[:2]
    actual = [as_number(n.theirs.grad) for n in leaves]
    twice = [2 * once[id(n)] for n in leaves]
    # What micrograd does: the interior grads stay from the first pass and are added again.
    stale = [once[id(n)] + g for n, g in zip(leaves, _pass_from(nodes, once))]
    if all(close(a, e) for a, e in zip(actual, twice)):
        return Finding("", PASS, "leaves accumulate (twice one pass), as in PyTorch",
                       expression)
    if all(close(a, s) for a, s in zip(actual, stale)):
        return Finding("", NOTE, f"stale gradients: a second backward() keeps the interior "
                       f"grads of the first and adds them in again, so x0.grad is "
                       f"{actual[0]:g}, not twice one pass ({twice[0]:g}). micrograd does "
                       f"this too; zero every grad (model.zero_grad()) before each "
                       f"backward()", expression)
    if all(close(a, once[id(n)]) for a, n in zip(actual, leaves)):
        return Finding("", NOTE, "backward() resets the leaves' grads: a second call gives "
                       "the same grads, where PyTorch and micrograd add them up", expression)
    return Finding("", FAIL, f"after two backward() calls the leaves' grads are "
                   f"{', '.join(f'{a:g}' for a in actual)}; expected twice one pass "
                   f"({', '.join(f'{t:g}' for t in twice)})", expression)


def _pass_from(nodes: list[Node], start: dict[int, float]) -> list[float]:
    """The leaves' grads from one more pass whose interior nodes start from `start`."""
    grads = {id(n): (start[id(n)] if n.ours.inputs else 0.0) for n in nodes}
    grads[id(nodes[-1])] = 1.0
    by_value = {id(n.ours): id(n) for n in nodes}
    for node in reversed(nodes):
        for operand, local in zip(node.ours.inputs, node.ours.local_grads):
            grads[by_value[id(operand)]] += grads[id(node)] * local
    return [grads[id(n)] for n in nodes if not n.ours.inputs]


def _deep_chain(cls: type) -> Finding:
    x = cls(0.5)
    node = x
    for _ in range(DEEP_CHAIN):
        node = node + 1.0
    expression = f"x + 1 + 1 + ... ({DEEP_CHAIN:,} additions) at x=0.5"
    try:
        node.backward()
    except RecursionError as problem:
        return Finding("", NOTE, f"backward() raises RecursionError ({problem}): the "
                       f"topological sort (or backward itself) recurses once per node, so a "
                       f"graph deeper than Python's recursion limit fails. micrograd's does "
                       f"too; a loop with a stack of its own has no limit", expression)
    if not close(as_number(x.grad), 1.0):
        return Finding("", FAIL, f"x.grad is {x.grad!r}, expected 1", expression)
    return Finding("", PASS, "right", expression)


def _reflected(cls: type, op: str, has: set[str]) -> Finding:
    """`2 op v`: the number on the left, which needs the reflected method."""
    method = REFLECTED[op]
    if f"2{op}v" not in has:
        try:
            BINARY[op](2.0, cls(1.5))
            problem = "its result is not a Value"
        except Exception as error:  # noqa: BLE001 - what the student's code raised
            problem = f"{type(error).__name__}: {error}"
        if not hasattr(cls, method):
            return Finding("", FAIL, f"2 {op} v fails ({problem}): the class has no {method}, "
                           f"so a plain number on the left of {op} does not work; add "
                           f"def {method}(self, other)", f"2 {op} v")
        return Finding("", FAIL, f"2 {op} v fails in {method}: {problem}", f"2 {op} v")
    inputs = [("v", 1.5)]
    return _compare(build(cls, inputs, [("out", op, [2.0, "v"])]), 1,
                    f"The reflected method {REFLECTED[op]} computes other {op} self",
                    backward=True)


def _random(cls: type, has: set[str], examples: int,
            expressions: Optional[Callable[..., Any]]) -> Finding:
    """Random expressions of the supported ops, shrunk by hypothesis to the smallest failing."""
    if expressions is None:
        return Finding("", NOTE, "not run: no random graphs to draw from; "
                       "tinygrad_edu.testing.diagnose draws them with expressions()")
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import Flaky, NoSuchExample

    ops: list[Any] = [op for op in ("+", "-", "*", "/", "neg", *FUNCTIONS) if op in has]
    missing = [f"2 {op} v" for op in ("+", "-", "*", "/") if op in has and f"2{op}v" not in has]
    if missing:
        return Finding("", NOTE, f"not run: random expressions put numbers on the left, and "
                       f"{', '.join(missing)} fails (see reflected)")
    if {"**", "**v", "2**v"} <= has:
        ops.append("**")
    elif "**" in has:
        ops += [square, cube]

    def fails(expression: Any) -> bool:
        try:
            return _expression_finding(cls, expression).status == FAIL
        except Exception:  # noqa: BLE001 - the student's code raised on it: a failure
            return True

    try:
        smallest = find(expressions(ops=ops, max_depth=4), fails, settings=settings(
            max_examples=examples, deadline=None, database=None, derandomize=True,
            suppress_health_check=list(HealthCheck)))
    except Flaky as problem:
        return Finding("", FAIL, f"the same expression gives different gradients from one run "
                       f"to the next: backward() depends on the order it meets nodes in, "
                       f"e.g. it walks the set _prev without a topological sort. {ORDER} "
                       f"({' '.join(str(problem).split())[:300]})")
    except NoSuchExample:
        return Finding("", PASS, f"no failing expression in {examples} tries (ops: "
                       f"{' '.join(getattr(op, '__name__', op) for op in ops)})")
    # Hypothesis shrinks to a small graph, not always the smallest: one of its ops may fail
    # on its own, at the values it had there (exp(x0) at x0=4.0 inside exp(2.0 + (x0 + x0))).
    smallest = _one_step_that_fails(smallest, fails) or smallest
    try:
        finding = _expression_finding(cls, smallest)
    except Exception as problem:  # noqa: BLE001
        return Finding("", FAIL, f"raises {type(problem).__name__}: {problem}",
                       repr(smallest))
    finding.message = f"the smallest failing expression: {smallest!r}. {finding.message}"
    finding.walk_text = f"the smallest failing expression: {smallest!r}. {finding.walk_text}"
    return finding


def _one_step_that_fails(expression: Any, fails: Callable[[Any], bool]) -> Any:
    """The first step of a drawn expression that fails alone, at the values its operands had,
    as an expression of one step (a node used twice stays so: x0 * x0); None if none does."""
    if len(expression.steps) < 2:
        return None
    expression_type, step_type = type(expression), type(expression.steps[0])
    values = [Value(x) for x in expression.inputs]
    for step in expression.steps:
        nodes = list(dict.fromkeys(o for o in step.operands if isinstance(o, int)))
        operands = tuple(nodes.index(o) if isinstance(o, int) else o for o in step.operands)
        single = expression_type(len(nodes), [step_type(step.op, operands)],
                                 [values[o].data for o in nodes])
        if fails(single):
            return single
        values.append(apply(step.op, [values[o] if isinstance(o, int) else o
                                      for o in step.operands]))
    return None


def _expression_finding(cls: type, expression: Any) -> Finding:
    """A drawn testing.Expression, built in both engines and compared node by node."""
    n = expression.n_inputs
    inputs = [(f"x{i}", x) for i, x in enumerate(expression.inputs)]
    names = [name for name, _ in inputs]
    steps = []
    for index, step in enumerate(expression.steps):
        name = "out" if index == len(expression.steps) - 1 else f"t{index}"
        steps.append((name, step.op, [names[o] if isinstance(o, int) else o
                                      for o in step.operands]))
        names.append(name)
    return _compare(build(cls, inputs, steps), n, "", backward=True)


def square(x: Any) -> Any:
    """x ** 2, for random expressions of an engine whose ** takes numbers only."""
    return x ** 2


def cube(x: Any) -> Any:
    """x ** 3, likewise."""
    return x ** 3


__all__ = ["diagnose", "Report", "Finding", "NotMicrogradLike",
           "ProbeTimeout", "run_limited", "PROBE_SECONDS", "DEEP_CHAIN"]
