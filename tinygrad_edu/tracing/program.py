"""Trace and replay: record a graph once, then recompute it from new leaf values, fast.

A scalar engine rebuilds its whole graph on every training step, although for
a fixed network only the numbers change. `trace(fn)` calls `fn()` once, records
the graph of the Value it returns, and gives a `Program`:

    program = trace(lambda: loss_of(model, xs, ys))
    loss = program()        # forward and backward from the leaves' current .data
    print(program.source)   # the forward and the backward pass as straight-line Python

This module is the front end: `trace`, `Program` (call, `check`, `feed`) and
the registry of backends. The backends are peers, each a math namespace that
reads the primitives' rules plus its own schedule: `python_backend` writes
the graph as straight-line Python, `numpy_backend` groups it into array
operations. Local derivatives that depend on the values (relu's 1 or 0, tanh's
1 - t², a product's partner) are recomputed on every replay; the ones the
Primitive says are fixed numbers (`x * 2`, a first layer fed plain floats) are
kept as recorded.

What can be traced: any function whose graph has the same shape whatever the
numbers, that is with no Python `if` on `.data`. relu is fine (its derivative
is recomputed); a loss that picks a formula by the sign of a value is not
(`Program.check()` finds it and names the node).
"""

from __future__ import annotations

import contextlib
import gc
import math
import numbers
import threading
from typing import Any, Callable, Iterator, Optional, Sequence

from tinygrad_edu import engine
from tinygrad_edu.engine import Value
from tinygrad_edu.tracing.python_backend import (
    PythonBackend,
    python_source,
    step_source,
    variable_names,
)
from tinygrad_edu.tracing.recording import Recording, Step, record
from tinygrad_edu.tracing.training import TrainingState


def _numpy_backend(recording: Recording, gradients: bool = True) -> Any:
    from tinygrad_edu.tracing.numpy_backend import NumpyBackend  # numpy only for this backend

    return NumpyBackend(recording, gradients)


# The backends, as peers: each takes a Recording (and gradients=False for a forward-only
# program) and gives an object whose run(data) returns (root value, extra values, leaf
# gradients, none when forward-only). The numpy one is imported only when chosen.
BACKENDS: dict[str, Callable[..., Any]] = {"python": PythonBackend,
                                                    "numpy": _numpy_backend}
# How far check() lets the replay's numbers stray from an eager rebuild. The replay does the
# same operations, but a backend may add in another order (numpy's matrix products do), so
# the last bits may differ; a real mismatch (a stale branch, another constant) is far larger.
CHECK_RTOL = 1e-9
CHECK_ATOL = 1e-12


# The branches a student did not write: the library's losses, given a plain-number label.
LIBRARY_LOSSES = ("A loss of tinygrad_edu.losses branches on its logit's sign when the label is "
                  "a plain number: give it the label as a Value (fed with program.feed), as "
                  "fit(compile=True) does, and it is written without a branch.")


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


# ------------------------------------------------------------------ the program
class Program:
    """A recorded graph, replayed from the leaves' current `.data` on every call.

    program()        forward and backward; adds each leaf's gradient into its .grad
                     (like backward()) and returns the root's value (with the
                     extra values, if fn returned some)
    program.check()  runs fn() eagerly and raises TraceMismatch at the first node
                     whose shape or numbers differ from the recording
    program.source   the forward and backward pass as straight-line Python
    program.compile()  compile now (the python backend starts big graphs on a tape)
    program.torch_source  the forward pass as a PyTorch function over tensors
    program.feed(leaves, data)  sets the .data of input leaves for the next call

    A training program (`trace(fn, optimizer=opt)`) keeps the parameters itself:
    each call is a whole step (forward, backward, opt's update) and touches no
    Value; `program.sync()` writes the parameters back into their Values.
    """

    def __init__(self, fn: Callable[[], Any], recording: Recording, backend: Any,
                 optimizer: Any = None, gradients: bool = True) -> None:
        self.fn = fn
        self.recording = recording
        self.backend = backend
        # The leaves in the order the backend takes their data and gives their gradients.
        self.leaf_positions: list[int] = getattr(backend, "leaf_order", recording.leaves)
        self.leaves = [recording.nodes[i] for i in self.leaf_positions]
        self._leaf_set = set(self.leaves)
        self._source: Optional[str] = None  # the python backend's own, or written when asked
        self._torch_code: Any = None  # made when first asked for (torch_source.py)
        # One replay at a time: the numpy backend computes in arrays it keeps, and every
        # backend adds into the leaves' .grad. Threads calling one program take turns.
        self._lock = threading.Lock()
        self.gradients = gradients  # False: forward only; feed takes shorter batches
        self._flat_leaves: dict[int, tuple[Any, list[Value]]] = {}
        self.rows_fed = 0
        self.training: Optional[TrainingState] = None
        if optimizer is not None:
            self.training = TrainingState(optimizer, self.leaves,
                                          arrays=hasattr(backend, "run_arrays"))

    @property
    def source(self) -> str:
        """The forward and the backward pass as readable straight-line Python."""
        if self._source is None:
            own = getattr(self.backend, "source", None)  # the python backend's: what runs
            self._source = own if own is not None else python_source(self.recording)
        return self._source

    @property
    def torch_source(self) -> str:
        """The traced forward pass as a PyTorch function over tensors, one line per layer.

        Run it with `tinygrad_edu.torch.torch_function(program)` on the tensors
        `tinygrad_edu.torch.torch_inputs(program)` builds from the leaves' data: it
        returns the loss (and, if fn returned more Values, a 1-D tensor of them in
        fn's order, flattened); torch.autograd gives every leaf's gradient. The
        arguments are the leaves grouped into tensors: `layers_0_weight[j, i]` is
        the parameter `layers.0.neurons.j.w.i`; `program.torch_code.places` says
        where every leaf sits. See tinygrad_edu/tracing/torch_source.py.
        """
        return self.torch_code.source

    @property
    def torch_code(self) -> Any:
        """torch_source with where each leaf sits in its arguments (a TorchCode)."""
        if self._torch_code is None:
            from tinygrad_edu.tracing.torch_source import torch_code  # numpy, if there, only now

            self._torch_code = torch_code(self.recording)
        return self._torch_code

    def compile(self) -> Program:  # noqa: A003 - the program's own verb, as torch.compile's
        """Compile now, where the backend would do it later, and return the program.

        The python backend starts a graph of more than 5,000 steps on a tape (fast to
        write, a few times slower to replay) and compiles it once the replays on the
        tape have taken as long as compiling would; a caller that knows it will replay
        the program many times (a training loop) can compile up front. The numbers
        are the same either way, to the bit. Other backends: nothing to do.
        """
        compile_now = getattr(self.backend, "compile", None)
        if compile_now is not None:
            with self._lock:
                compile_now()
        return self

    def __len__(self) -> int:
        return len(self.recording.steps)

    def __repr__(self) -> str:
        kind = "" if self.training is None else \
            f", training with {type(self.training.optimizer).__name__}"
        kind += "" if self.gradients else ", forward only"
        if getattr(self.backend, "compiled", True) is False:
            kind += ", on a tape until compiled"
        return (f"<Program of {len(self)} nodes ({len(self.leaves)} leaves), "
                f"backend {self.backend.name!r}{kind}>")

    def __call__(self) -> Any:
        """Replay forward and backward, add the leaves' gradients into .grad, return the value.

        A training program instead updates the parameters it holds (no Value changes).
        """
        with self._lock:
            if self.training is not None:
                value, extras = self._train()
            else:
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

    def _train(self) -> tuple[float, list[float]]:
        """One training step on the held parameters: forward, backward, the optimizer's update."""
        state = self.training
        if state is None:
            raise TypeError("program(): not a training program (trace it with optimizer=)")
        data = state.leaf_data()
        bad = state.first_bad_leaf(data)
        if bad is not None:
            raise ValueError(f"program(): leaf {_name(self.leaves[bad])} has data "
                             f"{float(data[bad])!r}; every leaf must be a finite number (no "
                             f"parameter was changed)")
        run = self.backend.run_arrays if state.arrays else self.backend.run
        try:
            value, extras, grads = run(data)
        except (ArithmeticError, ValueError) as problem:
            raise type(problem)(f"program(): {problem} while replaying the graph at the "
                                f"current parameters and inputs (no parameter was changed); "
                                f"sync() and run fn() eagerly to see which operation "
                                f"fails") from None
        if not _finite(value) or state.first_bad_leaf(grads) is not None:
            raise FloatingPointError(
                f"program(): the step gave a value or gradient that is not finite (value "
                f"{value!r}): an overflow, or an operation outside its domain; no parameter "
                f"was changed; sync() and run fn() and backward() eagerly to see which "
                f"operation it is")
        state.update(grads)
        return float(value), list(extras)

    def sync(self) -> None:
        """Write a training program's parameters into their Values' .data, the last step's
        gradients into their .grad, and the optimizer's state (velocities, m, v, steps) into
        the optimizer. Between calls the Values keep the numbers of the last sync."""
        if self.training is None:
            raise ValueError("sync: this program holds no parameters (trace it with "
                             "optimizer=... for a training program); its leaves are the Values")
        with self._lock:
            self.training.sync()

    def feed(self, leaves: Any, data: Any) -> None:
        """Set the .data of leaves (a Value or nested lists of them) from numbers of the same shape.

        Use it for minibatches: build the graph on placeholder leaves, trace it,
        then feed each batch into the placeholders before calling the program.
        Everything is checked before anything is set; no .grad is touched.
        `data` may be nested lists or a numpy array (read at array speed).

        A forward-only program (gradients=False) also takes a shorter batch:
        its missing rows are copies of its last row, so every operation stays in
        its domain; read the first `program.rows_fed` rows of what it returns.
        """
        rows = 1
        if isinstance(leaves, (list, tuple)) and _is_array(data):
            rows = len(data)
            self._check_rows(leaves, rows)
            pairs = _array_pairs(self._flat(leaves), leaves, data, pad=not self.gradients)
        else:
            if isinstance(leaves, (list, tuple)) and hasattr(data, "__len__") \
                    and not isinstance(data, (str, bytes)):
                rows = len(data)
                self._check_rows(leaves, rows)
                if rows < len(leaves) and not self.gradients:
                    data = list(data) + [data[-1]] * (len(leaves) - rows)
            pairs = []
            _match(leaves, data, "", pairs)
        for leaf, _ in pairs:
            if leaf not in self._leaf_set:
                raise ValueError(f"feed: {_name(leaf)} is not a leaf of the traced graph, so "
                                 f"setting it would change nothing; feed the Values fn used")
        for leaf, number in pairs:
            leaf.data = number
        self.rows_fed = rows  # how many rows of the last batch are real (1 for one Value)

    def _flat(self, leaves: Sequence[Any]) -> list[Value]:
        """The leaves of nested lists in order; the last few lists fed are remembered, so a
        chunk after chunk into the same placeholders does not walk them again."""
        cached = self._flat_leaves.get(id(leaves))
        if cached is not None and cached[0] is leaves:
            return cached[1]
        flat: list[Value] = []
        _flatten_leaves(leaves, flat)
        if len(self._flat_leaves) >= 4:
            self._flat_leaves.clear()
        self._flat_leaves[id(leaves)] = (leaves, flat)  # holds `leaves`: its id stays its own
        return flat

    def _check_rows(self, leaves: Sequence[Any], rows: int) -> None:
        """A batch of `rows` rows fits the traced len(leaves): equal, or fewer if forward-only."""
        if rows > len(leaves) and not self.gradients:
            raise ValueError(f"feed: a batch of {rows} rows, but the program was traced on "
                             f"{len(leaves)} placeholder rows; feed at most {len(leaves)} at a "
                             f"time, or trace it on more rows")
        if rows == 0 and len(leaves):
            raise ValueError(f"feed: an empty batch for {len(leaves)} placeholder rows; give at "
                             f"least one row")

    def check(self) -> None:
        """Call fn() eagerly and compare its graph and numbers with the recording and the replay.

        Raises TraceMismatch naming the first node that differs: another shape,
        another folded constant, a different leaf, or a value or gradient that
        the replay computes differently (fn branches on .data). No .grad changes.
        """
        if self.training is not None:  # the eager rebuild reads the Values: bring them up to date
            self.sync()
        root, extras, _ = _split_result(self.fn())
        fresh = record(root, extras)
        _compare_structure(self.recording, fresh)
        with self._lock:
            value, replay_extras, grads = self._replay()
        eager_grads = ([g.data for g in engine.grad(root, fresh.leaf_values)]  # no .grad changes
                       if self.gradients else [])
        # The names are for a message only: found when a number differs.
        if _differs(root.data, value):
            _mismatch("the result", root.data, value)
        for k, (mine, extra) in enumerate(zip(replay_extras, extras)):
            if _differs(extra.data, mine):
                name = variable_names(self.recording)[self.recording.outputs[k]]
                _mismatch(f"returned value {k} ({name})", extra.data, mine)
        eager_by_position = dict(zip(fresh.leaves, eager_grads))
        for i, mine in zip(self.leaf_positions, grads):
            if _differs(eager_by_position[i], mine):
                name = variable_names(self.recording)[i]
                _mismatch(f"the gradient of leaf {name}", eager_by_position[i], mine)


def _compare_structure(recorded: Recording, fresh: Recording) -> None:
    """Raise TraceMismatch at the first node whose op, inputs, constants or leaf differ."""
    for i, (old, new) in enumerate(zip(recorded.steps, fresh.steps)):
        if old.primitive is None and new.primitive is None:
            node, now = recorded.nodes[i], fresh.nodes[i]
            if node is not now:
                names = variable_names(recorded)
                numbers = ("with the same data" if node.data == now.data else
                           f"with data {now.data!r} instead of {node.data!r}")
                raise TraceMismatch(
                    f"program.check(): leaf {names[i]} (node {i}) is another Value now, "
                    f"{numbers}: fn() builds its graph on new Values (a model made again, "
                    f"a Value made inside fn?), but the program reads and fills the ones it "
                    f"recorded, so training through it would change nothing you hold; make "
                    f"the leaves once, outside fn, and trace again")
            continue
        if old is not new and _signature(old) != _signature(new):
            names = variable_names(recorded)
            raise TraceMismatch(
                f"program.check(): node {i} ({names[i]}) differs: recorded "
                f"`{_describe_step(old, recorded, i)}`, fn() now builds "
                f"`{_describe_step(new, fresh, i)}`. fn's graph depends on the values (an if "
                f"on .data?), so one recording cannot stand for it: remove the branch or "
                f"trace again. {LIBRARY_LOSSES}")
    if len(recorded.steps) != len(fresh.steps):
        raise TraceMismatch(f"program.check(): fn() now builds {len(fresh.steps)} nodes, the "
                            f"recording has {len(recorded.steps)}; fn's graph depends on the "
                            f"values. {LIBRARY_LOSSES}")


def _signature(step: Step) -> tuple:
    """What must stay the same between recording and rebuild: op, inputs, folded numbers.

    The local derivatives a replay keeps as recorded numbers must match too (the 2 of
    `x * 2`, a first layer's inputs baked into its dot nodes); the ones it recomputes
    may differ, that is the point of replaying.
    """
    kept = tuple(recorded for recorded, fixed in zip(step.recorded, step.constant_edges()) if fixed)
    return (step.primitive, step.inputs, step.constant, step.left, step.pairs, step.factors,
            kept, step.count)


def _describe_step(step: Step, recording: Recording, i: int) -> str:
    if step.primitive is None:
        return f"a leaf with data {step.data!r}"
    names = variable_names(recording)
    operands = [names[j] if j < len(names) else f"node {j}" for j in step.inputs]
    return f"{names[i]} = {step_source(step, operands)}"


def _differs(eager: float, replay: float) -> bool:
    return not abs(eager - replay) <= CHECK_ATOL + CHECK_RTOL * max(abs(eager), abs(replay))


def _mismatch(what: str, eager: float, replay: float) -> None:
    raise TraceMismatch(f"program.check(): {what} is {replay!r} in the replay but "
                        f"{eager!r} in fn() run eagerly; fn's graph depends on the "
                        f"values in a way the recording does not follow")


def _match(leaves: Any, data: Any, where: str, pairs: list) -> None:
    """Pair leaves with numbers, checking that the two have the same nested shape."""
    if type(leaves) is Value:
        if isinstance(data, bool) or not isinstance(data, numbers.Real):
            raise ValueError(f"feed: data{where} should be a number for a leaf, "
                             f"got {type(data).__name__}: {data!r:.60}")
        try:
            number = float(data)
        except OverflowError:
            raise ValueError(f"feed: data{where} is {engine.number_words(data)}, too large "
                             f"for a float; leaves need finite numbers") from None
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


def _is_array(data: Any) -> bool:
    """A numpy array (checked without importing numpy, which this module does not need)."""
    return type(data).__module__ == "numpy" and hasattr(data, "shape")


def _array_pairs(flat: list[Value], leaves: Sequence[Any], data: Any,
                 pad: bool) -> list[tuple[Value, float]]:
    """Pair nested lists of leaves with a numpy array of numbers (with `pad`, missing rows are
    copies of the last one); refuses another shape or a number that is not finite."""
    import numpy as np  # data is a numpy array, so numpy is installed

    try:
        array = np.asarray(data, dtype=float)
    except (OverflowError, TypeError, ValueError) as problem:
        raise ValueError(f"feed: data should be numbers of the shape of the traced inputs "
                         f"{_shape(leaves)}: {problem}") from None
    shape = _shape(leaves)
    if array.shape[1:] != shape[1:] or (len(array) != len(leaves) and not pad):
        raise ValueError(f"feed: data has shape {array.shape}, the traced inputs have shape "
                         f"{shape}; give one row of {shape[1:]} numbers per placeholder row")
    if not np.isfinite(array).all():
        index = tuple(int(k) for k in np.argwhere(~np.isfinite(array))[0])
        where = "".join(f"[{k}]" for k in index)
        raise ValueError(f"feed: data{where} is {float(array[index])!r}; leaves need finite "
                         f"numbers")
    if len(array) < len(leaves):
        array = np.concatenate([array, np.repeat(array[-1:], len(leaves) - len(array), 0)])
    if len(flat) != array.size:
        raise ValueError(f"feed: data has {array.size} numbers for {len(flat)} leaves; the "
                         f"data must have the shape of the traced inputs {shape}")
    return list(zip(flat, array.ravel().tolist()))


def _flatten_leaves(leaves: Any, into: list[Value]) -> None:
    if type(leaves) is Value:
        into.append(leaves)
        return
    if not isinstance(leaves, (list, tuple)):
        raise TypeError(f"feed: leaves should be a Value or a list of them, "
                        f"got {type(leaves).__name__}")
    for item in leaves:
        _flatten_leaves(item, into)


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
def trace(fn: Callable[[], Any], backend: str = "python", optimizer: Any = None,
          gradients: bool = True) -> Program:
    """Call fn() once, record the graph of the Value it returns, and return a replayable Program.

    fn takes no arguments and returns the Value to differentiate (the loss), or
    a tuple (loss, more Values or lists of Values to read back, e.g. the model's
    outputs for accuracy). backend is "python" (generated straight-line code,
    no numpy) or "numpy" (the graph grouped into array operations).

    optimizer (an optim.SGD or Adam) makes a training program: every call is a
    whole step, forward, backward and the optimizer's update, exactly its rules,
    read with its lr and other settings as they are at that call. The program
    holds the parameters (in an array, or a list) and does not touch the Values
    until `program.sync()`; no zero_grad() is needed between calls.

    gradients=False makes a forward-only program: each call computes the values
    only (no backward pass, no .grad touched), and `feed` takes a batch shorter
    than the traced one (padded with copies of its last row; read the first
    rows of what the program returns).
    """
    if optimizer is not None and not gradients:
        raise ValueError("trace: a training program (optimizer=...) needs the gradients; "
                         "gradients=False is for forward-only programs")
    if backend not in BACKENDS:
        raise ValueError(f"trace: unknown backend {backend!r}; choose one of: "
                         f"{', '.join(BACKENDS)}")
    if not callable(fn):
        raise TypeError(f"trace: fn must be a function of no arguments that returns a Value, "
                        f"got {type(fn).__name__}: {fn!r:.60}")
    root, extras, shape = _split_result(fn())
    with _collector_paused():
        recording = record(root, extras)
        recording.output_shape = shape
        return Program(fn, recording, BACKENDS[backend](recording, gradients), optimizer,
                       gradients)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a program is built, then let it run as before.

    Recording allocates a few objects per node and makes no cycles; with the collector on,
    every few hundred allocations it would walk the whole graph again (a trace of 300,000
    nodes took 2.4 times as long). Memory is still freed by reference counting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


__all__ = ["BACKENDS", "Program", "TraceMismatch", "trace"]
