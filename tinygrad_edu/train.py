"""Training a classifier: the loop `fit` and the σ(z) − y check.

The loop is the lecture's (§4): for a batch of examples run forward to get the
outputs, compute the loss, run backward to get every weight's gradient, and
update every weight:

    optimizer.zero_grad()
    loss = mean_loss([example_loss(model(x), y) for x, y in batch])
    loss.backward()
    optimizer.step()

The check proves the lecture's central result on a real network: with a
sigmoid output a = σ(z) and the binary cross-entropy, backprop gives
dL/dz = a − y (divided by N for a mean over N examples); with softmax and
cross-entropy, dL/dz = softmax(z) − onehot(y).
"""

from __future__ import annotations

import math
import random
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

from tinygrad_edu import engine
from tinygrad_edu.checks import points_and_labels, whole_number
from tinygrad_edu.engine import Value
from tinygrad_edu.losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    mean_loss,
    mse,
)
from tinygrad_edu.nn import MLP, Model
from tinygrad_edu.optim import Optimizer
from tinygrad_edu.progress import progress_bar
from tinygrad_edu.snapshots import Recorder, Recording

# The largest |dL/dz - expected| the σ(z) − y check accepts: float rounding is ~1e-16.
TOLERANCE = 1e-9

# evaluate() and the checks build the graphs of this many examples at a time, so their
# memory stays bounded however many examples there are (a graph is ~1 kB per example).
CHUNK_SIZE = 1000
# A forward-only program (evaluate, outputs_of) is traced on this many placeholder rows and
# fed the examples that many at a time: tracing more costs more than feeding saves (measured:
# 1,000,000 points through MLP(2, [16, 16, 1]) take 1.0 s of CPU with 256, 1.9 s with 1000).
FORWARD_ROWS = 256


Output = Union[Value, list[Value]]  # a model's output: one logit, or one per class


# ------------------------------------------------------------ the losses
@dataclass(frozen=True)
class Loss:
    """One loss of fit(), of the compiled step and of the command line, described once.

    name       how fit(loss=...) and `--loss` call it
    summary    what it is, for a model whose last layer gives logits
    per_class  True: the model gives one logit per class (ce); else one logit, classes 0 and 1
    of_label   one example's loss from the model's output and the class label (eager)
    of_target  the same loss from a target fed as Values, with no branch on values, so
               one recording serves every batch (`trace`)
    target     (label, classes) -> the numbers fed as that target: y, 2y − 1, a one-hot row
    check      the check of backprop at the output the lecture proves for this loss, or None
    """

    name: str
    summary: str
    per_class: bool
    of_label: Callable[[Any, int], Value]
    of_target: Callable[[Any, Any], Value]
    target: Callable[[int, int], Any]
    check: Optional[Callable[..., OutputGradientCheck]] = None


def _one_hot(label: int, classes: int) -> list[float]:
    return [1.0 if c == label else 0.0 for c in range(classes)]


# ------------------------------------------------------------ per example
def _loss(loss: str) -> Loss:
    """The Loss of that name; ValueError listing the names for any other."""
    found = LOSSES.get(loss) if isinstance(loss, str) else None
    if found is None:
        raise ValueError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")
    return found


def example_loss(output: Output, target: int, loss: str) -> Value:
    """The loss of one example, given the model's output (logit or logits) and its class."""
    return _loss(loss).of_label(output, target)


def _sigmoid(z: float) -> float:
    """σ(z) in plain floats, without overflow: the closed form the σ(z) − y check trusts,
    computed apart from the engine it checks."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _softmax(zs: Sequence[float]) -> list[float]:
    """softmax in plain floats, shifted by the max."""
    shift = max(zs)
    exps = [math.exp(z - shift) for z in zs]
    total = math.fsum(exps)
    return [e / total for e in exps]


def probabilities(output: Union[Value, float, Sequence[Union[Value, float]]]) -> list[float]:
    """Class probabilities from a model's output: [1 − σ(z), σ(z)] for one logit, else softmax.

    The output may be Values or their numbers (as `outputs_of` gives them).
    """
    if isinstance(output, (Value, float, int)):
        p = _sigmoid(output.data if type(output) is Value else float(output))
        return [1.0 - p, p]
    return _softmax([z.data if type(z) is Value else float(z) for z in output])


def predict(output: Union[Value, list[Value]]) -> int:
    """The predicted class: 1 if the single logit is > 0, else the index of the largest logit."""
    if type(output) is Value:
        return 1 if output.data > 0.0 else 0
    scores = [z.data for z in output]
    return scores.index(max(scores))


def evaluate(model: Model, X: Sequence[Sequence[float]], y: Sequence[int],
             loss: str) -> tuple[float, float]:
    """(mean loss, accuracy) of the model on the whole data set, CHUNK_SIZE examples at a time.

    An MLP is run by a forward-only traced program when numpy is installed (its
    graph never branches on values, so one recording serves every chunk); any
    other model, or no numpy, builds each example's Value graph.
    """
    _loss(loss)
    forward = _Forward.of(model, X, loss)
    if forward is None:
        return evaluate_graphs(model, X, y, loss)
    total, correct = 0.0, 0
    for start, chunk in _chunks(X, FORWARD_ROWS):
        labels = y[start:start + len(chunk)]
        losses, outputs = forward.run(chunk, labels)
        for value in losses:
            total += value
        correct += sum(p == t for p, t in zip(forward.predicted(outputs), labels))
    return total / len(X), correct / len(y)


def evaluate_graphs(model: Model, X: Sequence[Sequence[float]], y: Sequence[int],
                    loss: str) -> tuple[float, float]:
    """evaluate() with a Value graph per example: the reference, and the way without numpy."""
    total = 0.0  # added up one example after another, as mean_loss's one node would
    correct = 0
    for start, chunk in _chunks(X):
        for x, t in zip(chunk, y[start:start + len(chunk)]):
            out = model(x)
            total += example_loss(out, t, loss).data
            correct += predict(out) == t
    return total / len(X), correct / len(y)


def _chunks(X: Sequence[Sequence[float]], size: int = 0):
    """(start, X[start:start + size]) for each chunk of the examples (size 0: CHUNK_SIZE)."""
    size = size or CHUNK_SIZE
    for start in range(0, len(X), size):
        yield start, X[start:start + size]


def outputs_of(model: Model, X: Sequence[Sequence[float]]) -> list:
    """The model's output numbers at every point: a logit each, or a list of logits each.

    model(x) for every x, read as numbers, a chunk of points at a time; an MLP
    is run by a forward-only traced program when numpy is installed.
    """
    forward = _Forward.of(model, X, None)
    result: list = []
    for _start, chunk in _chunks(X, CHUNK_SIZE if forward is None else FORWARD_ROWS):
        if forward is None:
            for x in chunk:
                out = model(x)
                result.append(out.data if type(out) is Value else [z.data for z in out])
        else:
            result += forward.run(chunk, None)[1]
    return result


class _Forward:
    """An MLP's outputs (and each example's loss) on many examples, by a forward-only program.

    Traced once on placeholder rows (as many as the first chunk has) and fed
    chunk after chunk; the last, shorter chunk is padded by the program and its
    padding read off. The losses are `Loss.of_target`'s, the ones compiled
    training replays, fed the targets as numbers.
    """

    def __init__(self, model: Model, features: int, rows: int, loss: Optional[Loss]) -> None:
        from tinygrad_edu.tracing import trace  # a layer above the engine, loaded when used

        self.loss = loss
        self.inputs = [[Value(0.0, label=f"x{n}.{i}") for i in range(features)]
                       for n in range(rows)]
        outputs = model(self.inputs[0])
        self.per_class, self.classes = ((True, len(outputs)) if isinstance(outputs, list)
                                        else (False, 2))
        self.targets: list = []
        if loss is not None:
            self.targets = ([[Value(0.0) for _ in range(self.classes)] for _ in range(rows)]
                            if loss.per_class else [Value(0.0) for _ in range(rows)])

        # The program is kept beside the model (_FORWARDS, weakly keyed by it), so it refers
        # to the model weakly too: else the model would never be freed.
        model_ref = weakref.ref(model)

        def forward() -> tuple[Value, list, list]:
            net = model_ref()
            if net is None:
                raise ReferenceError("the model of this forward program is gone")
            outs = [net(x) for x in self.inputs]
            losses = [loss.of_target(out, t) for out, t in zip(outs, self.targets)] \
                if loss is not None else []
            flat = [z for out in outs for z in ([out] if type(out) is Value else out)]
            return engine.mean(losses + flat), losses, outs  # a root that holds them all

        self.program = trace(forward, backend="numpy", gradients=False)
        self._lock = threading.Lock()

    @classmethod
    def of(cls, model: Model, X: Sequence[Sequence[float]],
           loss: Optional[str]) -> Optional[_Forward]:
        """The forward program for `model` on chunks of X, or None: no numpy, or not an MLP
        (whose graph could branch on values, so one recording might not serve every point)."""
        if not isinstance(model, MLP) or not len(X) or not _has_numpy():
            return None
        features = len(X[0])
        if features != model.nin or any(len(x) != features for x in X):
            return None  # the Value graphs say what is wrong, in nn's words
        rows = min(len(X), FORWARD_ROWS)
        # One program per model and shape, kept while the model lives: the film and the
        # playground evaluate after every frame, and tracing costs 0.1 to 0.25 s each time.
        # It is reused only while the model has the same parameters and activations.
        key = (features, rows, loss, _structure(model))
        kept = _FORWARDS.setdefault(model, {})
        forward = kept.get(key)
        if forward is None:
            if len(kept) >= 4:
                kept.clear()
            forward = kept[key] = cls(model, features, rows,
                                      _loss(loss) if loss is not None else None)
        return forward

    def run(self, X: Sequence[Sequence[float]], labels: Optional[Sequence[int]]
            ) -> tuple[list[float], list]:
        """(each example's loss, each example's output numbers) for at most `rows` examples."""
        import numpy as np

        with self._lock:  # the placeholders are shared: one feed and run at a time
            self.program.feed(self.inputs, np.asarray(X, dtype=float))
            rows = self.program.rows_fed
            if self.loss is not None and labels is not None:
                self.program.feed(self.targets, np.array([self.loss.target(t, self.classes)
                                                          for t in labels], dtype=float))
            _, losses, outputs = self.program()
        return losses[:rows], outputs[:rows]

    def predicted(self, outputs: list) -> list[int]:
        if self.per_class:
            return [scores.index(max(scores)) for scores in outputs]
        return [1 if z > 0.0 else 0 for z in outputs]


# _Forward.of's programs: per model (dropped with it), per shape and structure.
_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _structure(model: MLP) -> tuple:
    """What a forward program recorded of an MLP: its parameters (the very Values) and each
    neuron's activation. A model changed in either gets a new program."""
    return (tuple(model.parameters()),
            tuple(neuron._activate for layer in model.layers for neuron in layer.neurons))


def _has_numpy() -> bool:
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------ fit
@dataclass
class History:
    """What fit() recorded: the loss and accuracy of every completed step's batch."""

    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False  # True if Ctrl-C stopped training early
    recording: Optional[Recording] = None  # the snapshots kept by fit(record=...)

    @property
    def steps(self) -> int:
        """How many steps were completed."""
        return len(self.losses)

    def __repr__(self) -> str:
        """A short summary, since a notebook cell shows it: the lists are in .losses and
        .accuracies (printing them all would be hundreds of numbers)."""
        if not self.losses:
            return f"History(no steps completed, {self.seconds:.1f} s)"
        stopped = ", interrupted" if self.interrupted else ""
        return (f"History({self.steps} steps{stopped} in {self.seconds:.1f} s: "
                f"loss {self.losses[0]:.4g} → {self.losses[-1]:.4g}, "
                f"accuracy {self.accuracies[0]:.0%} → {self.accuracies[-1]:.0%})")


def _check_labels(y: Sequence[int], loss: str) -> None:
    """Raise ValueError if the labels do not suit the loss (the 1-logit losses need 0/1)."""
    if not _loss(loss).per_class:
        other = next((t for t in y if t not in (0, 1)), None)
        if other is not None:
            raise ValueError(f"loss {loss!r} is for two classes labelled 0 and 1, but a label "
                             f"is {other!r}; use loss 'ce' for more classes")


def _check_outputs(model: Model, x: Sequence[float], y: Sequence[int], loss: str) -> None:
    """Raise ValueError unless the model gives what the loss reads, asked about one point:
    one logit per class for ce, a single logit Value for the others."""
    output = model(x)
    count = 1 if isinstance(output, Value) else len(output)
    outputs = f"{count} output{'s' * (count != 1)}"
    if _loss(loss).per_class:
        classes = max(2, max(y) + 1)
        if count < classes:
            raise ValueError(f"loss 'ce' needs one model output per class, got a model with "
                             f"{outputs} for {classes} classes; give its last layer {classes} "
                             f"units, as MLP({len(x)}, [16, {classes}]), or use loss 'bce' "
                             f"for two classes with one output")
    elif not isinstance(output, Value):
        raise ValueError(f"loss {loss!r} needs a model whose output is one logit Value, got a "
                         f"list of {outputs}; give its last layer 1 unit, as "
                         f"MLP({len(x)}, [16, 1]), or use loss 'ce' for one output per class")


def fit(model: Model, X: Sequence[Sequence[float]], y: Sequence[int], optimizer: Optimizer,
        loss: str = "bce", steps: int = 200, batch_size: int = 0, seed: Optional[int] = 0,
        callback: Optional[Callable[[int, float, float], None]] = None,
        progress: Optional[bool] = None,
        compile: Union[bool, str] = False,  # noqa: A002
        record: Union[bool, int] = False) -> History:
    """Train `model` on (X, y) for `steps` optimizer steps and return the History.

    batch_size 0 uses every example in every step (full batch); otherwise each
    step draws a fresh random batch of that size, from a generator seeded with
    `seed`. `callback(step, loss, accuracy)` runs after every step. Ctrl-C
    (KeyboardInterrupt) ends training early and cleanly: the History has every
    completed step and `interrupted` set, and the model keeps what it learned.
    A progress bar shows the loss and accuracy when someone is watching (a
    widget in Jupyter, a text bar in a terminal) and leaves one line behind;
    progress=False hides it, progress=True shows it even when output is a file.

    compile=True traces one step's graph once (`tinygrad_edu.trace`, the numpy
    backend when numpy is installed, else "python"; or name the backend) and
    replays it on every batch, checking it against an eager rebuild at the
    first and the last step. The losses are written without branching on
    values (see `traceable_loss`), so one recording serves every step.

    record=True keeps snapshots of the parameters, loss, accuracy and gradients
    (at most about 100 frames, and the trained model) in `history.recording`,
    for `viz.film`; record=k keeps every k-th step (see tinygrad_edu.snapshots).
    """
    _check_labels(y, loss)
    points_and_labels(X, y)
    _check_outputs(model, X[0], y, loss)
    steps = whole_number(steps, "steps", 0)
    batch_size = whole_number(batch_size, "batch_size (0 = all examples)", 0)
    rng = random.Random(seed)
    everything = list(range(len(X)))
    full_batch = batch_size == 0 or batch_size >= len(X)
    compiled = None
    if compile:
        size = len(X) if full_batch else batch_size
        compiled = _CompiledStep(model, loss, size, len(X[0]), compile_backend(compile),
                                 optimizer)
        if steps >= COMPILE_UP_FRONT_STEPS:
            compiled.program.compile()
    recorder = Recorder(model, loss, steps, record) if record else None
    history = History()
    start = time.perf_counter()
    bar = progress_bar(steps, progress)
    try:
        for step in range(steps):
            batch = everything if full_batch else rng.sample(everything, batch_size)
            if compiled is not None:
                value, accuracy = compiled.step([X[i] for i in batch], [y[i] for i in batch],
                                                 check=step in (0, steps - 1))
            else:
                outputs = [model(X[i]) for i in batch]
                total = mean_loss([example_loss(out, y[i], loss)
                                   for out, i in zip(outputs, batch)])
                optimizer.zero_grad()
                total.backward()
                optimizer.step()
                value = total.data
                accuracy = sum(predict(out) == y[i] for out, i in zip(outputs, batch)) / len(batch)
            history.losses.append(value)
            history.accuracies.append(accuracy)
            if compiled is not None and (recorder is not None or callback is not None):
                compiled.program.sync()  # what the callback and the film read is up to date
            if recorder is not None:
                recorder.step_done(step, value, accuracy)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}", accuracy=f"{accuracy:.1%}", refresh=False)
            if callback is not None:
                callback(step, value, accuracy)
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        if compiled is not None:  # the model holds what it learned, also after a Ctrl-C
            compiled.program.sync()
        bar.close()
        history.seconds = time.perf_counter() - start
    if recorder is not None:
        history.recording = recorder.finish(model, X, y, history.steps, evaluate)
    return history


# ------------------------------------------------------------ compiled steps
def traceable_loss(output: Union[Value, list[Value]], target: Union[Value, list[Value]],
                   loss: str) -> Value:
    """The loss of one example, written so its graph never depends on the values.

    The same function as `example_loss`, but the target is a Value (a label
    0/1 for bce and mse, +1/-1 for hinge, a one-hot list for ce), so new
    batches can be fed into it, and there is no `if` on `.data`:
      bce  max(z, 0) - z·y + log(1 + e^(-|z|)), with max(z, 0) = relu(z) and
           -|z| = z - 2 relu(z) (so at z = 0 the gradient is still σ(0) - y)
      ce   log Σ_j e^(z_j - m) - Σ_j onehot_j (z_j - m), with m = max(z) built from
           relus (m ← m + relu(z_j - m)): the shift cancels, and no exp overflows
    """
    return _loss(loss).of_target(output, target)


def compile_backend(compile: Union[bool, str]) -> str:  # noqa: A002
    """The trace backend fit(compile=...) means: numpy when it is installed, else python."""
    if isinstance(compile, str):
        return compile
    try:
        import numpy  # noqa: F401
    except ImportError:
        return "python"
    return "numpy"


# fit(compile=True) replays its program once a step. The python backend starts a big graph
# (the demo's 7,339 steps) on a tape; from about this many steps on, compiling it first pays
# (the demo: compiling takes 0.67 s, and each compiled replay saves about 17 ms).
COMPILE_UP_FRONT_STEPS = 50


class _CompiledStep:
    """One training step, traced once on placeholder inputs and targets and replayed per batch.

    The program holds the parameters and the optimizer's state (`trace(...,
    optimizer=...)`): fit() calls `program.sync()` before anyone reads the model.
    """

    def __init__(self, model: Model, loss: str, size: int, features: int, backend: str,
                 optimizer: Optimizer) -> None:
        from tinygrad_edu.tracing import trace  # a layer above the engine, loaded when used

        self.loss = _loss(loss)
        self.inputs = [[Value(0.0, label=f"x{n}.{i}") for i in range(features)]
                       for n in range(size)]
        self.classes = 2
        if self.loss.per_class:
            outputs = model(self.inputs[0])
            self.classes = len(outputs) if isinstance(outputs, list) else 1
            self.targets: list = [[Value(0.0, label=f"y{n}.{c}") for c in range(self.classes)]
                                  for n in range(size)]
        else:
            self.targets = [Value(0.0, label=f"y{n}") for n in range(size)]

        def one_step() -> tuple[Value, list]:
            outputs = [model(x) for x in self.inputs]
            total = engine.mean([self.loss.of_target(out, t)
                                 for out, t in zip(outputs, self.targets)])
            return total, outputs

        self.program = trace(one_step, backend=backend, optimizer=optimizer)
        self.arrays = backend == "numpy"

    def _target_data(self, labels: Sequence[int]) -> list:
        return [self.loss.target(label, self.classes) for label in labels]

    def step(self, X: Sequence[Sequence[float]], labels: Sequence[int],
             check: bool = False) -> tuple[float, float]:
        """Feed a batch, run forward, backward and the update; the loss and the accuracy."""
        inputs: Any = X
        targets: Any = self._target_data(labels)
        if self.arrays:  # feed reads a numpy array at array speed, nested lists leaf by leaf
            import numpy as np

            inputs, targets = np.asarray(X, dtype=float), np.asarray(targets, dtype=float)
        self.program.feed(self.inputs, inputs)
        self.program.feed(self.targets, targets)
        if check:
            self.program.check()  # TraceMismatch if the replay and an eager rebuild differ
        value, outputs = self.program()
        if self.loss.per_class:
            predicted = [scores.index(max(scores)) for scores in outputs]
        else:
            predicted = [1 if z > 0.0 else 0 for z in outputs]
        return value, sum(p == t for p, t in zip(predicted, labels)) / len(labels)


# -------------------------------------------------------- the σ(z) − y check
class OutputGradientError(AssertionError):
    """Backprop's dL/dz at the output disagreed with the formula: a bug in the engine or loss."""


@dataclass
class OutputGradientCheck:
    """The result of comparing autograd's dL/dz with the lecture's formula on every example."""

    formula: str  # what dL/dz was compared with
    max_abs_difference: float
    examples: int  # how many examples were compared
    skipped: int = 0  # examples left out because σ(z) rounded to exactly 0 or 1

    def __str__(self) -> str:
        text = (f"dL/dz vs {self.formula}: largest |difference| = "
                f"{self.max_abs_difference:.2e} over {self.examples} examples "
                f"(limit {TOLERANCE:g})")
        if self.skipped:
            text += (f"; {self.skipped} confident examples left out: σ(z) rounded to "
                     f"exactly 0 or 1, where log(a) or log(1 − a) is log(0)")
        return text


def _require_agreement(check: OutputGradientCheck) -> OutputGradientCheck:
    if not check.max_abs_difference <= TOLERANCE:
        raise OutputGradientError(f"backprop is wrong: {check}")
    return check


def _output_chunks(model: Model, X: Sequence[Sequence[float]]):
    """(start, the model's outputs on X[start:start + CHUNK_SIZE]) for each chunk, as Values.

    The checks differentiate their loss with respect to these outputs only, so
    where a forward-only program runs the model (an MLP, numpy installed) each
    output is a fresh leaf holding the program's number; else model(x)'s graph.
    """
    forward = _Forward.of(model, X, None)
    for start, chunk in _chunks(X):
        if forward is None:
            yield start, [model(x) for x in chunk]
            continue
        numbers: list = []
        for _start, rows in _chunks(chunk, FORWARD_ROWS):
            numbers += forward.run(rows, None)[1]
        yield start, [Value(z) if isinstance(z, float) else [Value(v) for v in z]
                      for z in numbers]


def _bce_of_sigmoid(z: Value, t: Any) -> Value:
    """The lecture's loss of one example, a = σ(z), −(y log a + (1 − y) log(1 − a))."""
    a = z.sigmoid()
    return -(t * a.log() + (1 - t) * (1 - a).log())


class _TracedBCE:
    """The σ(z) − y check's loss and backward pass as one traced program (numpy backend).

    Traced once on `rows` logit and label leaves, L = mean of the lecture's
    loss; a chunk with fewer examples fills the other rows with z = 0, y = 0,
    whose gradients are not compared. So N, the mean's count, is `rows`.
    """

    def __init__(self, rows: int) -> None:
        from tinygrad_edu.tracing import trace  # a layer above the engine, loaded when used

        self.rows = rows
        self.logits = [Value(0.0) for _ in range(rows)]
        self.labels = [Value(0.0) for _ in range(rows)]
        self.program = trace(lambda: engine.mean([_bce_of_sigmoid(z, t) for z, t
                                                  in zip(self.logits, self.labels)]),
                             backend="numpy")

    def gap(self, logits: list[float], labels: list[int]) -> float:
        """The largest |dL/dz − (σ(z) − y)/N| over the given examples."""
        padding = [0.0] * (self.rows - len(logits))
        self.program.feed(self.logits, logits + padding)
        self.program.feed(self.labels, [float(t) for t in labels] + padding)
        for z in self.logits:
            z.grad = 0.0
        self.program()
        n = self.rows
        return max(abs(z.grad - (_sigmoid(value) - t) / n)
                   for z, value, t in zip(self.logits, logits, labels))


def check_sigmoid_bce_gradient(model: Model, X: Sequence[Sequence[float]],
                               y: Sequence[int]) -> OutputGradientCheck:
    """Check dL/dz = (σ(z) − y)/N on every example, with the BCE built from engine primitives.

    For each example the model gives a logit z (by a forward-only program where
    evaluate uses one); the lecture's loss is written out with the engine's own
    operations, a = σ(z) and
    L = mean of −(y log a + (1 − y) log(1 − a)), and backward() fills z.grad.
    The examples go CHUNK_SIZE at a time, each chunk its own mean over its N
    examples, so memory stays bounded. An example whose σ(z) rounded to exactly
    0.0 or 1.0 in floating point (|z| above about 36) is left out and counted,
    because one of its two logs would be log(0); on a fresh network no output
    is that confident. Raises OutputGradientError above TOLERANCE. Parameter
    grads are zeroed afterwards.
    """
    gap, checked = 0.0, 0
    traced: Optional[_TracedBCE] = None
    for start, logits in _output_chunks(model, X):
        if any(type(z) is not Value for z in logits):  # every output, not only the first
            raise ValueError("the σ(z) − y check needs a model with one output unit")
        pairs = [(z, t) for z, t in zip(logits, y[start:start + len(logits)])
                 if 0.0 < _sigmoid(z.data) < 1.0]
        if not pairs:
            continue
        if logits[0].primitive is None and _has_numpy():  # leaves: the forward program's numbers
            traced = traced or _TracedBCE(min(len(X), CHUNK_SIZE))
            gap = max(gap, traced.gap([z.data for z, _ in pairs], [t for _, t in pairs]))
            checked += len(pairs)
            continue
        engine.mean([_bce_of_sigmoid(z, t) for z, t in pairs]).backward()
        n = len(pairs)
        gap = max(gap, *(abs(z.grad - (_sigmoid(z.data) - t) / n) for z, t in pairs))
        checked += n
    model.zero_grad()
    if not checked:
        raise ValueError("every output is saturated (σ(z) is exactly 0 or 1): nothing to check")
    return _require_agreement(OutputGradientCheck("(σ(z) − y)/N", gap, checked,
                                                  len(X) - checked))


def check_softmax_ce_gradient(model: Model, X: Sequence[Sequence[float]],
                              y: Sequence[int]) -> OutputGradientCheck:
    """Check dL/dz_j = (softmax(z)_j − onehot(y)_j)/N for every logit of every example.

    The loss is the mean cross-entropy of the examples, CHUNK_SIZE at a time
    (N is the chunk's size). Raises OutputGradientError above TOLERANCE.
    Parameter grads are zeroed afterwards.
    """
    gap = 0.0
    for start, outputs in _output_chunks(model, X):
        if any(type(zs) is Value for zs in outputs):  # every output, not only the first
            raise ValueError("the softmax check needs a model with one output unit per class")
        labels = y[start:start + len(outputs)]
        mean_loss([cross_entropy(zs, t) for zs, t in zip(outputs, labels)]).backward()
        n = len(outputs)
        for zs, t in zip(outputs, labels):
            expected = _softmax([z.data for z in zs])
            expected[t] -= 1.0
            gap = max(gap, *(abs(z.grad - e / n) for z, e in zip(zs, expected)))
    model.zero_grad()
    return _require_agreement(OutputGradientCheck("(softmax(z) − onehot(y))/N", gap, len(X)))


def check_output_gradient(model: Model, X: Sequence[Sequence[float]], y: Sequence[int],
                          loss: str) -> Optional[OutputGradientCheck]:
    """The check that fits the loss: σ(z) − y for 'bce', softmax − onehot for 'ce', else None."""
    check = _loss(loss).check
    return None if check is None else check(model, X, y)


# The losses fit() and `tinygrad-edu train --loss` know, for a model whose last layer gives
# logits; each predicts 1 when its one logit is > 0, or the class of the largest logit.
LOSSES: dict[str, Loss] = {loss.name: loss for loss in (
    Loss("bce", "one logit z, binary cross-entropy of σ(z) and y", False,
         of_label=binary_cross_entropy_with_logits, of_target=binary_cross_entropy_with_logits,
         target=lambda label, classes: float(label), check=check_sigmoid_bce_gradient),
    Loss("ce", "one logit per class, cross-entropy of softmax(z)", True,
         of_label=cross_entropy, of_target=cross_entropy, target=_one_hot,
         check=check_softmax_ce_gradient),
    Loss("hinge", "one score z, micrograd's max-margin loss with y as -1/+1", False,
         of_label=lambda z, label: hinge(z, 2 * label - 1), of_target=hinge,
         target=lambda label, classes: 2.0 * label - 1.0),
    Loss("mse", "one logit z, squared error between σ(z) and y", False,
         of_label=lambda z, label: mse(z.sigmoid(), label),
         of_target=lambda z, target: mse(z.sigmoid(), target),
         target=lambda label, classes: float(label)),
)}


__all__ = ["CHUNK_SIZE", "FORWARD_ROWS", "LOSSES", "TOLERANCE", "History", "Loss",
           "OutputGradientCheck", "OutputGradientError",
           "check_output_gradient", "check_sigmoid_bce_gradient", "check_softmax_ce_gradient",
           "compile_backend", "evaluate", "evaluate_graphs", "example_loss", "fit", "outputs_of",
           "predict", "probabilities", "traceable_loss"]
