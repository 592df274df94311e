"""Recording training for the film: the network's numbers at chosen steps, and its values on a grid.

`fit(..., record=True)` keeps a Snapshot every few steps (at most about
MAX_FRAMES of them, whatever `steps` is; `record=k` keeps every k-th step)
and one more after the last step. A snapshot holds what one frame of the
film shows, all from the same parameters:
  - the parameters before that step's update (flat floats, in the order of
    `model.parameters()`),
  - the loss and accuracy of that step's batch, computed with them,
  - the gradient of that loss with respect to every parameter: what the
    update then used.
The last snapshot is the trained model: its loss and accuracy are over the
whole data set, and it has no gradient (no step followed).

`evaluate_grid(model, points)` is the one place that runs an MLP on many
points at once, for the boundary heatmap and for each neuron's activation
over the input plane. With numpy it is a per-layer forward pass over the
parameters' numbers (`W x + b`, then g, for all points at once); without
numpy it builds the Value graphs. Both give the engine's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from tinygrad_edu.checks import require, require_type, whole_number
from tinygrad_edu.engine import Value, dot
from tinygrad_edu.nn import ACTIVATIONS, MLP, Model

if TYPE_CHECKING:  # numpy is optional: evaluate_grid takes its arrays where it is installed
    import numpy

# The points evaluate_grid reads: rows of numbers, as lists or as a numpy array.
Points = Union[Sequence[Sequence[float]], "numpy.ndarray"]

# train.evaluate: (model, X, y, loss) -> (mean loss, accuracy), passed in (train imports this).
Evaluate = Callable[[Model, Sequence[Sequence[float]], Sequence[int], str], tuple[float, float]]
# dataset_loss evaluates this many examples at a time (a few MB of arrays each).
CHUNK = 10_000
# record=True keeps every k-th step with k chosen so that there are at most this many frames
# (plus the trained model at the end).
MAX_FRAMES = 100


@dataclass
class Snapshot:
    """One frame of training: the parameters, and the loss, accuracy and gradient they gave."""

    step: int  # the step about to update these parameters (the number of steps done so far)
    parameters: list[float]
    loss: float
    accuracy: float
    gradients: Optional[list[float]] = None  # None for the trained model at the end


@dataclass
class Recording:
    """What fit(record=...) kept: the loss it trained with, every how many steps, the frames."""

    loss: str
    every: int
    snapshots: list[Snapshot] = field(default_factory=list)


def recording_interval(steps: int, record: Union[bool, int]) -> int:
    """Every how many steps to keep a snapshot: record=k means k; True means at most MAX_FRAMES."""
    require_type(record, "record", (bool, int), "True, False or a whole number of steps >= 1")
    if record is True:
        return max(1, math.ceil(steps / MAX_FRAMES))
    return whole_number(record, "record (every how many steps)", 1)


class Recorder:
    """Keeps the snapshots while fit() trains: one call after every step, one at the end."""

    def __init__(self, model: Model, loss: str, steps: int, record: Union[bool, int]) -> None:
        self.parameters = model.parameters()
        self.recording = Recording(loss, recording_interval(steps, record))
        self.before: Optional[list[float]] = [p.data for p in self.parameters]  # step 0's

    def step_done(self, step: int, loss: float, accuracy: float) -> None:
        """Keep step `step` if it is a recorded one; copy the parameters the next one starts from.

        The gradients are still those of this step's loss: optimizers do not touch them.
        """
        if self.before is not None:
            self.recording.snapshots.append(Snapshot(
                step, self.before, loss, accuracy, [p.grad for p in self.parameters]))
            self.before = None
        if (step + 1) % self.recording.every == 0:
            self.before = [p.data for p in self.parameters]

    def finish(self, model: Model, X: Sequence[Sequence[float]], y: Sequence[int],
               steps_done: int, evaluate: Evaluate) -> Recording:
        """Add the trained model as the last frame: loss and accuracy over all of (X, y).

        `evaluate` is train.evaluate, used where numpy is not installed.
        """
        loss, accuracy = dataset_loss(model, X, y, self.recording.loss, evaluate)
        self.recording.snapshots.append(
            Snapshot(steps_done, [p.data for p in self.parameters], loss, accuracy))
        return self.recording


# ------------------------------------------------------------ the grid
@dataclass
class GridValues:
    """An MLP's numbers at many points: per layer, z = W x + b and a = g(z), one row per point.

    With numpy, each entry is an array of shape (points, units); without, a list of rows.
    `probabilities` has one column per class: [1 − σ(z), σ(z)] for one output, else softmax.
    """

    pre_activations: list[Any]
    activations: list[Any]
    probabilities: Any

    @property
    def outputs(self) -> Any:
        """The last layer's activations: the logits for a linear output layer."""
        return self.activations[-1]


def layer_parameters(model: MLP, parameters: Optional[Sequence[float]] = None) -> list[list]:
    """Per layer, one row [w_1, ..., w_nin, b] per neuron, from `parameters` (flat, in
    model.parameters() order) or from the model's current numbers."""
    flat = _flat_parameters(model, parameters)
    layers, start = [], 0
    for nin, nout in _layer_sizes(model):
        layers.append([flat[start + k * (nin + 1):start + (k + 1) * (nin + 1)]
                       for k in range(nout)])
        start += nout * (nin + 1)
    return layers


def _layer_sizes(model: MLP) -> list[tuple[int, int]]:
    """(inputs, neurons) of each layer: parameters() holds nout rows of nin weights and a bias."""
    sizes = [model.nin, *model.nouts]
    return list(zip(sizes, sizes[1:]))


def _flat_parameters(model: MLP, parameters: Optional[Sequence[float]]) -> Sequence[float]:
    require_type(model, "model", MLP, "an MLP (evaluate_grid reads its layers)")
    if parameters is None:
        return [p.data for p in model.parameters()]
    expected = sum((nin + 1) * nout for nin, nout in _layer_sizes(model))
    require(len(parameters) == expected, "parameters", f"{len(parameters)} numbers",
            f"{expected} numbers, one per parameter of {model!r}")
    return parameters


def evaluate_grid(model: MLP, points: Points,
                  parameters: Optional[Sequence[float]] = None,
                  single: bool = False) -> GridValues:
    """Every neuron's z and g(z), and the class probabilities, of `model` at every point.

    `parameters` (flat, as in a Snapshot) replaces the model's own numbers,
    without changing the model. numpy does it one layer at a time for all
    points; without numpy, one Value graph per point. single=True computes
    with numpy in 32-bit floats, for pictures (a heatmap's bytes): about three
    times faster on a film's grid, the numbers within about 1e-6 of the 64-bit
    ones (without numpy it changes nothing).
    """
    require_type(model, "model", MLP, "an MLP (evaluate_grid reads its layers)")
    activations = [layer.neurons[0].activation for layer in model.layers]
    try:
        import numpy
    except ImportError:
        return _evaluate_with_values(model, layer_parameters(model, parameters), activations,
                                     points)
    dtype = numpy.float32 if single else numpy.float64
    flat = numpy.asarray(_flat_parameters(model, parameters), dtype=dtype)
    tables, start = [], 0
    for nin, nout in _layer_sizes(model):  # (units, nin + 1): a neuron's weights, then its bias
        tables.append(flat[start:start + nout * (nin + 1)].reshape(nout, nin + 1))
        start += nout * (nin + 1)
    return _evaluate_with_numpy(numpy, tables, activations, points, dtype)


def _evaluate_with_numpy(np: Any, tables: list[Any], activations: list[str],
                         points: Points, dtype: Any = float) -> GridValues:
    values = np.asarray(points, dtype=dtype).reshape(len(points), -1)
    pre, post = [], []
    for table, activation in zip(tables, activations):
        z = values @ table[:, :-1].T + table[:, -1]
        values = numpy_activation(np, activation, z)
        pre.append(z)
        post.append(values)
    return GridValues(pre, post, numpy_probabilities(np, values))


def numpy_activation(np: Any, activation: str, z: Any) -> Any:
    """g(z) elementwise: the activation's own rule from the engine's table, read on arrays
    (the numpy backend's math), so an activation added to the table works here too."""
    if activation == "linear":
        return z
    from tinygrad_edu.engine import find_primitive
    from tinygrad_edu.tracing.numpy_backend import ARRAYS  # numpy is there: np was given

    try:
        primitive = find_primitive(activation)
    except KeyError:
        raise ValueError(f"evaluate_grid: unknown activation {activation!r}") from None
    return primitive.evaluate(ARRAYS, z)


def _numpy_sigmoid(np: Any, z: Any) -> Any:
    """σ(z) as the engine computes it: 1/(1 + e^-z) for z >= 0, e^z/(1 + e^z) below."""
    e = np.exp(-np.abs(z))  # e^-z for z >= 0, e^z for z < 0: never overflows
    return np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def numpy_probabilities(np: Any, logits: Any) -> Any:
    """[1 − σ(z), σ(z)] for one logit per point, else softmax shifted by each row's max."""
    if logits.shape[1] == 1:
        p = _numpy_sigmoid(np, logits[:, 0])
        return np.stack([1.0 - p, p], axis=1)
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def _evaluate_with_values(model: MLP, layers: list[list], activations: list[str],
                          points: Points) -> GridValues:
    """The same numbers from Value graphs: one neuron at a time, as nn computes it."""
    pre: list[list] = [[] for _ in layers]
    post: list[list] = [[] for _ in layers]
    chances = []
    for point in points:
        values: list = [float(x) for x in point]
        for k, (rows, activation) in enumerate(zip(layers, activations)):
            zs = [_neuron_sum(row, values) for row in rows]
            g = ACTIVATIONS[activation]
            outs = [z if g is None else g(z) for z in zs]
            pre[k].append([z.data for z in zs])
            post[k].append([a.data for a in outs])
            values = outs
        chances.append(_probabilities([a.data for a in values]))
    return GridValues(pre, post, chances)


def _probabilities(logits: list[float]) -> list[float]:
    """[1 − σ(z), σ(z)] for one logit (the engine's σ), else softmax shifted by the max."""
    if len(logits) == 1:
        p = Value(logits[0]).sigmoid().data
        return [1.0 - p, p]
    shift = max(logits)
    exps = [math.exp(z - shift) for z in logits]
    total = math.fsum(exps)
    return [e / total for e in exps]


def _neuron_sum(row: list[float], inputs: list) -> Value:
    """w·x + b as nn's neuron computes it: one dot node over Value weights."""
    return dot([Value(w) for w in row[:-1]], inputs, Value(row[-1]))


def dataset_loss(model: Model, X: Sequence[Sequence[float]], y: Sequence[int],
                 loss: str, evaluate: Evaluate) -> tuple[float, float]:
    """(mean loss, accuracy) over all of (X, y): train.evaluate's numbers, from evaluate_grid's
    logits with numpy; `evaluate` itself without numpy or for a model that is not an MLP."""
    try:
        import numpy as np
    except ImportError:
        return evaluate(model, X, y, loss)
    if not isinstance(model, MLP):
        return evaluate(model, X, y, loss)
    total, correct = 0.0, 0
    for start in range(0, len(X), CHUNK):  # bounded memory however many examples
        logits = evaluate_grid(model, X[start:start + CHUNK]).outputs
        labels = np.asarray(y[start:start + CHUNK])
        total += numpy_mean_loss(np, logits, labels, loss) * len(labels)
        correct += int(np.sum(predicted_classes(np, logits) == labels))
    return total / len(X), correct / len(X)


def predicted_classes(np: Any, logits: Any) -> Any:
    """1 where the one logit is > 0 (else 0), or the index of the largest logit, per point."""
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0.0).astype(int)
    return logits.argmax(axis=1)


def numpy_mean_loss(np: Any, logits: Any, y: Any, loss: str) -> float:
    """The mean of train.example_loss over the points, from their logits, without overflow."""
    if loss == "ce":
        shift = logits.max(axis=1, keepdims=True)
        log_total = np.log(np.exp(logits - shift).sum(axis=1)) + shift[:, 0]
        return float(np.mean(log_total - logits[np.arange(len(y)), y]))
    z = logits[:, 0]
    if loss == "bce":  # max(z, 0) − z·y + log(1 + e^(−|z|))
        return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    if loss == "hinge":
        return float(np.mean(np.maximum(0.0, 1.0 - (2 * y - 1) * z)))
    if loss == "mse":
        return float(np.mean((_numpy_sigmoid(np, z) - y) ** 2))
    raise ValueError(f"unknown loss {loss!r}; choose one of: bce, ce, hinge, mse")


__all__ = ["MAX_FRAMES", "GridValues", "Recorder", "Recording", "Snapshot", "dataset_loss",
           "evaluate_grid", "layer_parameters", "numpy_activation", "numpy_probabilities",
           "recording_interval"]
