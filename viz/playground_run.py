"""The playground's run: data, model and optimizer from a setup, trained a few steps at a time.

A setup is a small dict of plain values (what the page's controls and its URL
hold), checked here field by field with the messages the page shows:

    setup = check_setup({"data": "moons", "hidden": [8, 8], "optimizer": "adam", "lr": 0.03})
    run = Run(setup)
    run.train(steps=10)            # ten optimizer steps on the real engine
    run.frame()                    # the film's frame of the model as it is now
    print(run.script())            # the same run as a Python script using tinygrad_edu

The frames are the training film's (viz.film.frame_numbers), so the page's
panels are the film's, fed live. `playground_server` serves all this to a
browser; `tinygrad-edu playground` and `viz.playground()` start it.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
import tempfile
import time
from typing import Any, Callable, Optional, Sequence

from tinygrad_edu.data import load_csv, make_blobs, make_circles, make_moons, make_spiral, make_xor
from tinygrad_edu.nn import ACTIVATIONS, MLP
from tinygrad_edu.optim import SGD, Adam, Optimizer
from tinygrad_edu.snapshots import Snapshot, dataset_loss
from tinygrad_edu.train import LOSSES, _CompiledStep, evaluate
from tinygrad_edu.viz.film import (
    NEURON_RESOLUTION,
    RESOLUTION,
    _ExampleGraph,
    _extent,
    _grid,
    _palette,
    frame_numbers,
)

# The bounds of a request: what one page may ask of the server.
MAX_POINTS = 10_000
MAX_LAYERS = 8
MAX_UNITS = 64
MAX_CSV_BYTES = 2_000_000
MAX_STEPS_PER_REQUEST = 1000
MAX_SECONDS_PER_REQUEST = 0.5
DATASETS = ("moons", "circles", "xor", "spiral", "blobs", "csv")
OPTIMIZERS = ("sgd", "momentum", "adam")
MOMENTUM = 0.9  # the "momentum" optimizer: SGD with this momentum
# The hidden layers' activations the page offers: the engine's, without "linear" (no hidden
# layer is linear here; the output layer is, and the loss applies σ or softmax).
HIDDEN_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "linear")

DEFAULT_SETUP: dict[str, Any] = {
    "data": "moons", "classes": 2, "noise": 0.1, "points": 200, "test": 0.2, "dataSeed": 0,
    "hidden": [8, 8], "activation": "tanh", "loss": "bce", "optimizer": "adam", "lr": 0.03,
    "batch": 0, "l2": 0.0, "seed": 0,
}
# A change of any of these makes new data; the others keep the data (and its edited points).
DATA_FIELDS = ("data", "classes", "noise", "points", "test", "dataSeed")


class SetupError(ValueError):
    """A setup, a point or a CSV the playground cannot use: the message is shown in the page."""


# ------------------------------------------------------------------ checking a setup
def check_setup(raw: Any) -> dict[str, Any]:
    """A complete, checked setup from the page's (missing fields take DEFAULT_SETUP's values).

    SetupError names the field, its value and what it must be, as every check of the library.
    """
    if not isinstance(raw, dict):
        raise SetupError(f"the setup must be an object of fields, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(DEFAULT_SETUP))
    if unknown:
        raise SetupError(f"unknown setup field {_shown(unknown[0])}; the fields are: "
                         f"{', '.join(DEFAULT_SETUP)}")
    setup = {**DEFAULT_SETUP, **raw}
    _choice(setup, "data", DATASETS)
    _whole(setup, "classes", 2, 5)
    _real(setup, "noise", 0.0, 2.0)
    _whole(setup, "points", 4, MAX_POINTS)
    _real(setup, "test", 0.0, 0.8)
    _whole(setup, "dataSeed", 0, 2**31 - 1)
    hidden = setup["hidden"]
    if not isinstance(hidden, list) or len(hidden) > MAX_LAYERS:
        raise SetupError(f"hidden must be a list of at most {MAX_LAYERS} layer sizes, got "
                         f"{_shown(hidden)}")
    for k, units in enumerate(hidden):
        _whole({f"hidden layer {k + 1}": units}, f"hidden layer {k + 1}", 1, MAX_UNITS)
    _choice(setup, "activation", HIDDEN_ACTIVATIONS)
    _choice(setup, "loss", tuple(LOSSES))
    _choice(setup, "optimizer", OPTIMIZERS)
    _real(setup, "lr", 1e-6, 10.0)
    _whole(setup, "batch", 0, MAX_POINTS)
    _real(setup, "l2", 0.0, 1.0)
    _whole(setup, "seed", 0, 2**31 - 1)
    if setup["optimizer"] == "adam" and setup["l2"] > 0:
        raise SetupError(f"l2 must be 0 with Adam (this engine's Adam has no weight decay), got "
                         f"{setup['l2']}; choose SGD or momentum for an L2 penalty")
    setup["hidden"] = [int(units) for units in hidden]
    for name in ("noise", "test", "lr", "l2"):
        setup[name] = float(setup[name])
    return setup


def _shown(value: Any) -> str:
    """A value for a message: its repr, cut short (it may be anything a page sent)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _choice(setup: dict, name: str, choices: Sequence[str]) -> None:
    if not isinstance(setup[name], str) or setup[name] not in choices:
        raise SetupError(f"{name} must be one of {', '.join(choices)}, got {_shown(setup[name])}")


def _whole(setup: dict, name: str, low: int, high: int) -> None:
    value = setup[name]
    if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
            or not low <= int(value) <= high):
        raise SetupError(f"{name} must be a whole number from {low} to {high}, got "
                         f"{_shown(value)}")


def _real(setup: dict, name: str, low: float, high: float) -> None:
    value = setup[name]
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not (math.isfinite(float(value)) and low <= float(value) <= high)):
        raise SetupError(f"{name} must be a number from {low:g} to {high:g}, got "
                         f"{_shown(value)}")


# ------------------------------------------------------------------ data
GENERATORS: dict[str, Callable[..., tuple[list, list]]] = {
    "moons": make_moons, "circles": make_circles, "xor": make_xor, "spiral": make_spiral,
    "blobs": make_blobs}


def make_data(setup: dict, uploaded: Optional[tuple[list, list]] = None) -> tuple[list, list]:
    """The setup's points and labels: a generator's, or the uploaded CSV's."""
    if setup["data"] == "csv":
        if uploaded is None:
            raise SetupError("data is csv, but no CSV has been uploaded: choose a file first")
        return [list(x) for x in uploaded[0]], list(uploaded[1])
    return GENERATORS[setup["data"]](**_generator_arguments(setup))


def _generator_arguments(setup: dict) -> dict[str, Any]:
    arguments: dict[str, Any] = {"n_samples": setup["points"], "noise": setup["noise"],
                                 "seed": setup["dataSeed"]}
    if setup["data"] == "spiral":
        arguments["classes"] = setup["classes"]
    elif setup["data"] == "blobs":
        arguments["centers"] = setup["classes"]
    return arguments


def split(X: list, y: list, test: float) -> tuple[list, list, list, list]:
    """The first points for training, the last `test` share for testing (the generators shuffle).
    """
    n_train = _train_count(len(X), test)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _train_count(points: int, test: float) -> int:
    """How many of the points train: all but the test share, and at least two."""
    return points - min(points - 2, round(test * points))


def parse_csv(text: str, classes: Optional[int] = None) -> tuple[list, list]:
    """Points and labels from a CSV's text, with load_csv's rules and messages ("your CSV" for
    the file's name)."""
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        raise SetupError(f"the CSV must be at most {MAX_CSV_BYTES:,} bytes, got "
                         f"{len(text.encode('utf-8')):,}")
    handle, path = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        try:
            X, y = load_csv(path, classes)
        except ValueError as problem:
            raise SetupError(str(problem).replace(path, "your CSV")) from None
    finally:
        os.unlink(path)
    if len(X) > MAX_POINTS:
        raise SetupError(f"the CSV must have at most {MAX_POINTS:,} points, got {len(X):,}")
    if max(y) + 1 > 5:
        raise SetupError(f"the CSV's labels must be 0 to 4 (at most 5 classes), got {max(y) + 1} "
                         f"classes")
    return X, y


# ------------------------------------------------------------------ the model and its step
def make_model(setup: dict, classes: int) -> MLP:
    """The setup's MLP: its hidden layers, then one logit (bce, hinge, mse) or one per class."""
    if setup["loss"] != "ce" and classes != 2:
        raise SetupError(f"loss must be ce for {classes} classes, got {setup['loss']!r} (a loss "
                         f"with one logit tells two classes apart)")
    outputs = classes if setup["loss"] == "ce" else 1
    return MLP(2, [*setup["hidden"], outputs], activation=setup["activation"], seed=setup["seed"])


def make_optimizer(setup: dict, model: MLP) -> Optimizer:
    """SGD, SGD with momentum 0.9, or Adam, with the setup's learning rate and L2."""
    if setup["optimizer"] == "adam":
        return Adam(model.parameters(), lr=setup["lr"])
    momentum = MOMENTUM if setup["optimizer"] == "momentum" else 0.0
    return SGD(model.parameters(), lr=setup["lr"], momentum=momentum, weight_decay=setup["l2"])


class Stepper:
    """Training one step at a time, as fit(..., compile=True, seed=seed) does: the same batches
    from the same generator, one step's graph traced once and replayed (numpy backend).

    The one place the playground trains: a faster compiled step plugs in here.
    """

    def __init__(self, model: MLP, optimizer: Optimizer, loss: str, X: list, y: list,
                 batch_size: int, seed: int) -> None:
        self.X, self.y, self.optimizer = X, y, optimizer
        self.full_batch = batch_size == 0 or batch_size >= len(X)
        self.batch_size = batch_size
        self.rng = random.Random(seed)
        self.everything = list(range(len(X)))
        size = len(X) if self.full_batch else batch_size
        # Parameters and optimizer state live in the program between steps (trace(...,
        # optimizer=...)); step() syncs them back, since every frame reads the model.
        self.compiled = _CompiledStep(model, loss, size, 2, "numpy", optimizer)
        self.checked = False
        self.slopes = Slopes(model, loss, X, y)

    def step(self) -> tuple[float, float]:
        """One optimizer step: the batch's loss and accuracy before the update."""
        if self.full_batch:
            X, y = self.X, self.y
        else:
            batch = self.rng.sample(self.everything, self.batch_size)
            X, y = [self.X[i] for i in batch], [self.y[i] for i in batch]
        # The first step is checked against an eager rebuild of the graph, as fit does.
        value, accuracy = self.compiled.step(X, y, check=not self.checked)
        self.compiled.program.sync()
        self.checked = True
        return value, accuracy


class Slopes:
    """∂loss/∂parameter of the mean loss over all the training points, at the model's
    parameters now: the gradient a frame shows beside the parameters it draws, as the film
    shows each snapshot's (a step's own gradient was taken at the parameters before it)."""

    def __init__(self, model: MLP, loss: str, X: list, y: list) -> None:
        from tinygrad_edu import Value, engine, trace

        record = LOSSES[loss]
        outputs = model(X[0])
        classes = len(outputs) if isinstance(outputs, list) else 2

        def as_values(target: Any) -> Any:  # fed as Values: the loss is then branch-free
            return [Value(t) for t in target] if isinstance(target, list) else Value(target)

        targets = [as_values(record.target(label, classes)) for label in y]
        self.program = trace(lambda: engine.mean([record.of_target(model(x), t)
                                                  for x, t in zip(X, targets)]),
                             backend="numpy")
        place = {id(leaf): k for k, leaf in enumerate(self.program.leaves)}
        self.where = [place[id(p)] for p in model.parameters()]

    def __call__(self) -> Optional[list[float]]:
        """The gradient now, one number per parameter; None where it is not finite."""
        try:
            _, _, grads = self.program.backend.run([leaf.data for leaf in self.program.leaves])
        except (ArithmeticError, ValueError):  # a diverged network: nothing to show
            return None
        return [grads[k] for k in self.where]


# ------------------------------------------------------------------ one run
class Run:
    """One playground run: the data (with the points added or removed), the model from the
    setup's seed, its optimizer, and what training has given so far."""

    def __init__(self, setup: dict, uploaded: Optional[tuple[list, list]] = None,
                 data: Optional[tuple[list, list, list, list]] = None) -> None:
        self.setup = setup
        self.uploaded = uploaded
        if data is None:
            X, y = make_data(setup, uploaded)
            data = split(X, y, setup["test"])
        self.X_train, self.y_train, self.X_test, self.y_test = data
        self.classes = max(2, max(self.y_train + self.y_test) + 1)
        if setup["data"] == "blobs" or setup["data"] == "spiral":
            self.classes = max(self.classes, setup["classes"])
        self.model = make_model(setup, self.classes)
        self.optimizer = make_optimizer(setup, self.model)
        self.edited_at: Optional[int] = None  # the step at which points changed, if they did
        self.steps = 0
        self.losses: list[float] = []
        self.accuracies: list[float] = []
        self.tests: list[list[float]] = []  # [step, train loss, train acc., test loss, test acc.]
        self.extent = _extent(self.X_train + self.X_test)
        self._prepare()

    def _prepare(self) -> None:
        """The step and the points every frame asks about, for the data as it is now."""
        import numpy as np

        self.stepper = Stepper(self.model, self.optimizer, self.setup["loss"], self.X_train,
                               self.y_train, self.setup["batch"], self.setup["seed"])
        grid, neuron_grid = _grid(self.extent, RESOLUTION), _grid(self.extent, NEURON_RESOLUTION)
        self.sizes = (len(grid), len(neuron_grid))
        self.everywhere = np.concatenate([grid, neuron_grid,
                                          np.asarray(self.X_train + self.X_test, dtype=float)])

    # ----- training
    def train(self, steps: int, seconds: float = MAX_SECONDS_PER_REQUEST) -> dict:
        """Up to `steps` steps, stopping sooner after `seconds`; the new curve points and frame."""
        first = self.steps
        start = time.perf_counter()
        for _ in range(steps):
            try:
                value, accuracy = self.stepper.step()
            except (ValueError, ArithmeticError) as problem:  # the engine refused a number
                raise SetupError(f"training stopped at step {self.steps}: {problem}; lower the "
                                 f"learning rate and reset") from None
            self.steps += 1
            self.losses.append(value)
            self.accuracies.append(accuracy)
            if not math.isfinite(value):
                break  # diverged: the page says so, and stops
            if time.perf_counter() - start > seconds:
                break
        return {"losses": [_finite(v) for v in self.losses[first:]],
                "accuracies": self.accuracies[first:], "frame": self.frame(),
                "seconds": time.perf_counter() - start}

    def evaluate(self) -> list[float]:
        """[step, train loss, train accuracy, test loss, test accuracy] of the model now."""
        loss = self.setup["loss"]
        with numpy_quiet():
            train = dataset_loss(self.model, self.X_train, self.y_train, loss, evaluate)
            test = (dataset_loss(self.model, self.X_test, self.y_test, loss, evaluate)
                    if self.X_test else (math.nan, math.nan))
        row = [self.steps, *train, *test]
        if not self.tests or self.tests[-1][0] != self.steps:
            self.tests.append(row)
        return row

    def frame(self) -> dict:
        """The film's frame of the model as it is now, and its evaluation on train and test."""
        parameters = self.model.parameters()
        row = self.evaluate()
        # The loss and accuracy over all training points with the parameters now: the curve's
        # next point (a full batch's step k has the loss of the parameters after k updates), and
        # the gradient at these parameters, over the same points.
        gradients = self.stepper.slopes()
        snapshot = Snapshot(self.steps, [p.data for p in parameters], row[1], row[2], gradients)
        with numpy_quiet():  # a diverged network's infinities are packed as they are
            frame = frame_numbers(self.model, self.everywhere, *self.sizes, snapshot)
        frame["evaluation"] = [_finite(v) for v in row]
        frame["loss"], frame["accuracy"] = _finite(frame["loss"]), _finite(frame["accuracy"])
        frame["scales"] = [_finite(v) for v in frame["scales"]]
        return frame

    # ----- the points
    def edit_point(self, action: Any, x1: Any, x2: Any, label: Any) -> None:
        """Add a training point of class `label` at (x1, x2), or remove the nearest point (train
        or test) within 5 % of the plane's width; the model keeps training where it is."""
        for name, value in (("x1", x1), ("x2", x2)):
            _real({name: value}, name, -1e6, 1e6)
        if action == "add":
            _whole({"label": label}, "label", 0, self.classes - 1)
            if len(self.X_train) + len(self.X_test) >= MAX_POINTS:
                raise SetupError(f"a data set has at most {MAX_POINTS:,} points: remove some first")
            self.X_train = self.X_train + [[float(x1), float(x2)]]
            self.y_train = self.y_train + [int(label)]
        elif action == "remove":
            reach = 0.05 * (self.extent[1] - self.extent[0])
            nearest = min(((math.dist(p, (x1, x2)), kind, i)
                           for kind, points in (("train", self.X_train), ("test", self.X_test))
                           for i, p in enumerate(points)), default=None)
            if nearest is None or nearest[0] > reach:
                raise SetupError("no point near where you clicked to remove")
            _, kind, i = nearest
            if kind == "train":
                if len(self.X_train) <= 2 or len(set(self.y_train[:i] + self.y_train[i + 1:])) < 2:
                    raise SetupError("the training points must keep at least two classes")
                self.X_train = self.X_train[:i] + self.X_train[i + 1:]
                self.y_train = self.y_train[:i] + self.y_train[i + 1:]
            else:
                self.X_test = self.X_test[:i] + self.X_test[i + 1:]
                self.y_test = self.y_test[:i] + self.y_test[i + 1:]
        else:
            raise SetupError(f"action must be add or remove, got {_shown(action)}")
        if self.edited_at is None:
            self.edited_at = self.steps
        self._prepare()

    @property
    def data(self) -> tuple[list, list, list, list]:
        """(X_train, y_train, X_test, y_test) as they are now."""
        return self.X_train, self.y_train, self.X_test, self.y_test

    # ----- what the page draws
    def spec(self, graph_timeout: float = 20.0) -> dict:
        """What the panels are built from: sizes, colours, points, the example graph's drawing."""
        model = self.model
        return {
            "setup": self.setup, "classes": self.classes,
            "classNames": [f"class {k}" for k in range(self.classes)],
            "colours": _palette(self.classes), "extent": self.extent,
            "resolution": RESOLUTION, "neuronResolution": NEURON_RESOLUTION,
            "layers": [model.nin, *model.nouts],
            "activations": [layer.neurons[0].activation for layer in model.layers],
            "softmax": model.nouts[-1] > 2,  # as viz.film: pairs for 3 classes and more
            "loss": self.setup["loss"],
            "parameterNames": [name for name, _ in model.named_parameters()],
            "points": self.X_train, "labels": self.y_train,
            "testPoints": self.X_test, "testLabels": self.y_test,
            "graph": graph_drawing(model, self.setup["loss"], self.classes, graph_timeout),
        }

    # ----- export
    def weights(self) -> dict:
        """The model's parameters by name, with the setup and the step they are from (JSON)."""
        return {"model": repr(self.model), "setup": self.setup, "steps": self.steps,
                "parameters": {name: p.data for name, p in self.model.named_parameters()}}

    def script(self) -> str:
        """A Python script that reproduces this run with tinygrad_edu: same data, seed, model,
        optimizer and steps; it prints the last step's loss, the page's last loss."""
        return export_script(self.setup, self.steps, self.data if self._data_is_own() else None,
                             self.edited_at)

    def _data_is_own(self) -> bool:
        """True when the data is not a generator's as it stands (uploaded, or points edited)."""
        return self.setup["data"] == "csv" or self.edited_at is not None


def numpy_quiet() -> Any:
    """numpy's warnings off (overflow, invalid values): a diverged run is said in the page."""
    import numpy as np

    return np.errstate(all="ignore")


def _finite(value: float) -> Optional[float]:
    """JSON has no NaN or infinity: a diverged loss is sent as null."""
    return value if math.isfinite(value) else None


_GRAPHS: dict[tuple, dict] = {}


def graph_drawing(model: MLP, loss: str, classes: int, timeout: float) -> dict:
    """The example graph's drawing and tape for this shape of model (drawn once per shape)."""
    key = (model.nin, tuple(model.nouts), model.activation, loss, classes)
    if key not in _GRAPHS:
        try:
            _GRAPHS[key] = _ExampleGraph(model, loss, classes).data(timeout)
        except Exception as problem:  # no renderer, or it timed out: the panel says why
            return {"missing": f"the graph panel is left out: {problem}"}
        if len(_GRAPHS) > 32:
            _GRAPHS.pop(next(iter(_GRAPHS)))
    return _GRAPHS[key]


# ------------------------------------------------------------------ the script
OPTIMIZER_CODE = {
    "sgd": "SGD(model.parameters(), lr={lr!r}, weight_decay={l2!r})",
    "momentum": "SGD(model.parameters(), lr={lr!r}, momentum=" + repr(MOMENTUM) +
                ", weight_decay={l2!r})",
    "adam": "Adam(model.parameters(), lr={lr!r})",
}


def export_script(setup: dict, steps: int, data: Optional[tuple[list, list, list, list]],
                  edited_at: Optional[int]) -> str:
    """The run as a script: the data (a generator's call, or the points themselves), the model
    from the same seed, the optimizer, and fit with the same batches (seed) and steps."""
    generator = GENERATORS[setup["data"]].__name__ if data is None else None
    lines = ['"""A run of the tinygrad_edu playground, as a script: python this_file.py"""']
    if generator is not None:
        lines.append(f"from tinygrad_edu.data import {generator}")
    lines += ["from tinygrad_edu.nn import MLP",
              "from tinygrad_edu.optim import " + ("Adam" if setup["optimizer"] == "adam"
                                                   else "SGD"),
              "from tinygrad_edu.train import evaluate, fit", ""]
    if data is None:
        arguments = ", ".join(f"{k}={v!r}" for k, v in _generator_arguments(setup).items())
        lines += [f"X, y = {generator}({arguments})",
                  f"n_train = {_train_count(setup['points'], setup['test'])}",
                  "X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], "
                  "y[n_train:]"]
    else:
        if edited_at:
            lines += [f"# The points changed at step {edited_at}, after training had begun: this "
                      f"script trains on them",
                      "# as they are now from step 0, so its numbers differ from the page's."]
        for name, values in zip(("X_train", "y_train", "X_test", "y_test"), data):
            lines.append(f"{name} = {json.dumps(values)}")
    classes = max(2, max(list(data[1]) + list(data[3])) + 1) if data is not None else (
        setup["classes"] if setup["data"] in ("blobs", "spiral") else 2)
    outputs = classes if setup["loss"] == "ce" else 1
    lines += ["",
              f"model = MLP(2, {[*setup['hidden'], outputs]}, activation={setup['activation']!r}, "
              f"seed={setup['seed']})",
              "optimizer = " + OPTIMIZER_CODE[setup["optimizer"]].format(**setup),
              f"history = fit(model, X_train, y_train, optimizer, loss={setup['loss']!r}, "
              f"steps={steps}, batch_size={setup['batch']},",
              f"              seed={setup['seed']}, compile=True, progress=False)",
              "if history.losses:",
              "    print('last step loss', repr(history.losses[-1]))",
              f"train_loss, train_accuracy = evaluate(model, X_train, y_train, {setup['loss']!r})",
              "print(f'train: loss {train_loss:.4f}, accuracy {train_accuracy:.1%}')",
              "if X_test:",
              f"    test_loss, test_accuracy = evaluate(model, X_test, y_test, {setup['loss']!r})",
              "    print(f'test:  loss {test_loss:.4f}, accuracy {test_accuracy:.1%}')", ""]
    return "\n".join(lines)


__all__ = ["DEFAULT_SETUP", "MAX_CSV_BYTES", "MAX_LAYERS", "MAX_POINTS", "MAX_UNITS", "Run",
           "SetupError", "Stepper", "check_setup", "export_script", "parse_csv"]
