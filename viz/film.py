"""The training film: one page where the boundary, the curves, the network and one example's graph
move together as a learner scrubs through training.

    history = fit(model, X, y, optimizer, steps=200, record=True)
    viz.film(model, X, y, history)                 # inline in Jupyter, in a frame of its own
    viz.film(model, X, y, history).save("film.html")   # one file, opens offline

Python computes every frame's numbers from the snapshots that fit(record=...)
kept, through `snapshots.evaluate_grid` (one numpy pass per layer for all
points of a frame; the grids in 32-bit floats), and packs them small: heatmaps as bytes (0-255) in
base64, parameters and gradients as 32-bit floats. The page's script draws
them. Its panels (templates/film_panels.js) are components fed with plain data, so
a live page can feed them too:
  1. the boundary: the predicted probability over the input plane, the
     training points on it, the misclassified ones ringed in red;
  2. the loss and accuracy curves, with a cursor at the frame's step;
  3. the network as TensorFlow Playground draws it: each neuron a small
     heatmap of its activation over the input plane, each edge coloured by
     its weight's sign and as thick as its size; hover for the numbers;
  4. the computation graph of one example (the drawing of viz.dot, laid out
     once): the page computes its data, grads and local grads for the
     frame's parameters with the engine's rules, so any training point can be
     chosen by clicking it (every drawn point, up to MAX_POINTS).
"""

from __future__ import annotations

import base64
import copy
import gzip
import html
import math
import random
from typing import Any, Optional, Sequence

from tinygrad_edu.checks import require, require_type, whole_number
from tinygrad_edu.engine import Value, folded, primitive_of, topological_order
from tinygrad_edu.nn import MLP
from tinygrad_edu.snapshots import Recording, Snapshot, evaluate_grid
from tinygrad_edu.train import History, traceable_loss
from tinygrad_edu.viz.dot import GraphTooLarge, draw_dot
from tinygrad_edu.viz.notebook import FramedPage
from tinygrad_edu.viz.renderer import RENDER_TIMEOUT_SECONDS, render_source
from tinygrad_edu.viz.walkthrough import _script_json, _template, fill_template

# The boundary is sampled on RESOLUTION x RESOLUTION points, each neuron's heatmap on
# NEURON_RESOLUTION x NEURON_RESOLUTION; the page smooths them as it scales them up.
RESOLUTION = 50
NEURON_RESOLUTION = 16
# Class 0 and class 1 of a binary classifier; also negative and positive in the neuron heatmaps.
BINARY_COLOURS = ("#f59322", "#0877bd")
# The page's size bound: frames are thinned (evenly, first and last kept) to stay under it.
MAX_BYTES = 3_000_000
# The network panel draws at most this many neurons in a layer (beyond, it is a smear).
MAX_UNITS = 32
# At most this many training points are drawn (a fixed sample of bigger data sets).
MAX_POINTS = 1000
# The engine's primitives the page replays (PRIMITIVES in templates/film_panels.js).
KNOWN_OPERATIONS = {"+", "-", "*", "/", "**", "neg", "exp", "log", "tanh", "sigmoid", "relu",
                    "sum", "mean", "dot"}
# The example's graph is laid out with every number this wide (see _ExampleGraph.data).
LAYOUT_NUMBER = 1.2345e-05
# The example's graph is drawn when it has at most this many Values and its SVG fits the budget.
MAX_GRAPH_NODES = 1500


class Film(FramedPage):
    """The training film: shown inline in Jupyter (a frame of its own), `.save(path)` writes it.

    `frames` is how many frames the page holds and `notes` what was left out to keep it
    small (frames thinned, points sampled, the graph panel dropped), also said on the page.
    """

    def __init__(self, page: str, title: str, picture: bytes, frames: int,
                 notes: list[str]) -> None:
        super().__init__(page, title, height=900, pictures=[(picture, 900)])
        self.frames = frames
        self.notes = notes

    @property
    def size(self) -> int:
        """The page's size in bytes, as saved."""
        return len(self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        # The frame's fallback says how to play the film, for a notebook opened untrusted.
        return super()._repr_html_().replace(
            "An interactive page is here: run this cell (or trust the notebook) "
            "to step through it.",
            "This is the film's last frame. To play the film, run this cell (or trust the "
            "notebook), or save it with .save(\"film.html\") and open that file.")


def film(model: MLP, X: Sequence[Sequence[float]], y: Sequence[int], history: History, *,
         title: Optional[str] = None, class_names: Optional[Sequence[str]] = None,
         resolution: int = RESOLUTION, max_bytes: int = MAX_BYTES, example: int = 0,
         timeout: float = RENDER_TIMEOUT_SECONDS) -> Film:
    """The training film of `model` on (X, y), from `history = fit(..., record=True)`.

    `class_names` labels the classes (default: class 0, class 1, ...);
    `resolution` is the boundary grid's side; `max_bytes` bounds the page
    (frames are thinned to fit, or ValueError if even two do not);
    `example` is the training point whose graph is shown first.
    """
    parts = _FilmParts(model, X, y, history, title, class_names, resolution, max_bytes,
                       example)
    page = parts.page(timeout)
    return Film(page, parts.title, parts.still_picture(), len(parts.frames), parts.notes)


# ------------------------------------------------------------ the numbers of each frame
class _FilmParts:
    """Everything the page shows, checked and computed from the model, data and snapshots."""

    def __init__(self, model: MLP, X: Sequence[Sequence[float]], y: Sequence[int],
                 history: History, title: Optional[str], class_names: Optional[Sequence[str]],
                 resolution: int, max_bytes: int, example: int) -> None:
        import numpy as np  # matplotlib, which viz needs, brings numpy

        self.np = np
        self.recording = _check(model, X, y, history)
        self.model = model
        self.resolution = whole_number(resolution, "resolution", 2)
        require(resolution <= 400, "resolution", resolution, "a whole number from 2 to 400")
        self.max_bytes = whole_number(max_bytes, "max_bytes", 1)
        self.history = history
        self.classes = max(2, model.nouts[-1], max(y) + 1)
        self.class_names = _class_names(class_names, self.classes)
        self.title = title if title is not None else (
            f"{model!r} learning, {history.steps} steps")
        require_type(self.title, "title", str, "a string")
        self.notes: list[str] = []
        self.points, self.labels = self._drawn_points(X, y)
        self.example = whole_number(example, "example", 0)
        require(example < len(self.points), "example", example,
                f"the index of a drawn point, below {len(self.points)}")
        self.extent = _extent(self.points)
        self.grid = _grid(self.extent, self.resolution)
        self.neuron_grid = _grid(self.extent, NEURON_RESOLUTION)
        # Every frame asks the network about the same points: both grids, then the data.
        self.everywhere = np.concatenate([self.grid, self.neuron_grid, np.asarray(self.points)])
        self.graph = _ExampleGraph(model, self.recording.loss, self.classes)
        self.frames = list(self.recording.snapshots)

    def _drawn_points(self, X: Sequence[Sequence[float]], y: Sequence[int]) -> tuple[list, list]:
        if len(X) <= MAX_POINTS:
            return [list(map(float, x)) for x in X], list(y)
        chosen = sorted(random.Random(0).sample(range(len(X)), MAX_POINTS))
        self.notes.append(f"{MAX_POINTS} of the {len(X)} training points are drawn "
                          f"(a fixed random sample)")
        return [list(map(float, X[i])) for i in chosen], [y[i] for i in chosen]

    # ----- one frame
    def frame(self, snapshot: Snapshot) -> dict:
        """The numbers of one frame, packed: heatmaps as bytes, parameters as float32."""
        return frame_numbers(self.model, self.everywhere, len(self.grid), len(self.neuron_grid),
                             snapshot)

    # ----- the page
    def page(self, timeout: float) -> str:
        """The whole page, with frames thinned to keep it under max_bytes."""
        graph = self.graph.data(timeout)
        if graph.get("missing"):
            self.notes.append(graph["missing"])
        # The page without frames, with room for a note on thinning; a frame's size is its
        # JSON's, with room for numbers written longer than the first frame's.
        base = len(self._fill(self._data([], graph))) + 1_000
        first = self.frame(self.frames[0])
        per_frame = len(_script_json(first)) + 64
        keep = (self.max_bytes - base) // per_frame
        if keep < min(2, len(self.frames)):
            raise ValueError(
                f"the film would need {base + 2 * per_frame:,} bytes for its first and last "
                f"frames, more than max_bytes={self.max_bytes:,}: draw a smaller network, a "
                f"coarser grid (resolution={self.resolution}), or raise max_bytes")
        if keep < len(self.frames):
            chosen = _evenly(len(self.frames), keep)
            self.notes.append(f"{keep} of the {len(self.frames)} recorded frames are shown, to "
                              f"keep the page under {self.max_bytes / 1e6:g} MB")
            self.frames = [self.frames[i] for i in chosen]
        frames = [first] + [self.frame(s) for s in self.frames[1:]]
        self.last = frames[-1]
        return self._fill(self._data(frames, graph))

    def _data(self, frames: list[dict], graph: dict) -> dict:
        layers = [self.model.nin, *self.model.nouts]
        losses, accuracies, stride = _curve(self.history)
        return {
            "title": self.title, "notes": self.notes, "classNames": self.class_names,
            "colours": _palette(self.classes),
            "extent": self.extent, "resolution": self.resolution,
            "neuronResolution": NEURON_RESOLUTION, "layers": layers,
            "activations": [layer.neurons[0].activation for layer in self.model.layers],
            # frame_numbers packs (class, probability) pairs for 3 classes and more; for two
            # (one logit, or ce's two) one byte: the probability of class 1.
            "softmax": self.model.nouts[-1] > 2, "loss": self.recording.loss,
            "parameterNames": [name for name, _ in self.model.named_parameters()],
            "points": self.points,  # exact: the graph panel computes with them
            "labels": self.labels, "example": self.example,
            "curve": {"losses": losses, "accuracies": accuracies, "stride": stride,
                      "steps": self.history.steps,
                      "finalLoss": self.recording.snapshots[-1].loss},
            "frames": frames, "graph": graph,
        }

    def _fill(self, data: dict) -> str:
        return fill_template(_template("film.html"), {
            "TITLE": html.escape(self.title),
            "STYLE": _template("film.css"),
            "NETWORK_AND_GRAPH_PANELS": _template("film_panels.html"),
            "SCRIPT": _template("film_panels.js") + "\n" +
            fill_template(_template("film.js"), {"DATA": _script_json(data)}),
        })

    def still_picture(self) -> bytes:
        """A PNG of the last frame (boundary and curves) for a notebook opened untrusted."""
        import io

        from matplotlib.figure import Figure

        np = self.np
        last = self.frames[-1]
        figure = Figure(figsize=(9, 3.8))
        boundary, curve = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
        side = 120
        probabilities = evaluate_grid(self.model, _grid(self.extent, side),
                                      last.parameters).probabilities
        winner = probabilities.argmax(axis=1).reshape(side, side)
        palette = _palette(probabilities.shape[1])
        colours = np.array([_rgb(colour) for colour in palette])
        classes = probabilities.shape[1]  # as the page: white where unsure, deeper where sure
        sure = (probabilities.max(axis=1) - 1 / classes) / (1 - 1 / classes)
        strength = 0.8 * np.clip(sure, 0.0, 1.0).reshape(side, side, 1)
        image = 1.0 - strength * (1.0 - colours[winner])
        boundary.imshow(image, extent=self.extent, aspect="auto")
        points = np.asarray(self.points)
        boundary.scatter(points[:, 0], points[:, 1], s=14, edgecolors="black", linewidths=0.5,
                         c=[palette[t % len(palette)] for t in self.labels])
        boundary.set_title(f"step {last.step}: loss {last.loss:.4f}, accuracy "
                           f"{last.accuracy:.0%}", fontsize=10)
        losses = self.history.losses
        curve.plot(range(len(losses)), losses, color="#d62728")  # the page's colours
        if losses and min(losses) > 0.0 and max(losses) / min(losses) > 20:
            curve.set_yscale("log")  # as the page: a loss falling over decades
        curve.set_xlabel("step")
        curve.set_ylabel("loss", color="#d62728")
        right = curve.twinx()
        right.plot(range(len(self.history.accuracies)),
                   [100 * a for a in self.history.accuracies], color="#2ca02c")
        right.set_ylabel("accuracy (%)", color="#2ca02c")
        right.set_ylim(0, 102)
        figure.suptitle(self.title, fontsize=11)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def frame_numbers(model: MLP, everywhere: Any, r2: int, n2: int, snapshot: Snapshot) -> dict:
    """One frame's numbers, packed as the panels read them (heatmaps as bytes, parameters as
    float32): `everywhere` is the boundary grid's r2 points, the neuron grid's n2 points, then
    the drawn data points; the film and the playground both send frames made here."""
    import numpy as np

    # The grids become pictures (bytes 0-255): 32-bit floats, about three times faster. The
    # data points' predicted classes (drawn right or ringed wrong) in 64 bits, as fit counts.
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow: the 64-bit pass below
        values = evaluate_grid(model, everywhere[:r2 + n2], snapshot.parameters, single=True)
    if not all(np.isfinite(a).all() for a in values.activations):  # beyond 32 bits' 3.4e38
        values = evaluate_grid(model, everywhere[:r2 + n2], snapshot.parameters)
    probabilities = values.probabilities
    boundary = probabilities[:r2]
    if probabilities.shape[1] == 2:
        packed = _bytes(np, boundary[:, 1] * 255.0)
    else:  # the winning class and its probability, side by side
        pairs = np.stack([boundary.argmax(axis=1), boundary.max(axis=1) * 255.0], axis=1)
        packed = _bytes(np, pairs.reshape(-1))
    heat, scales = [], []
    for layer in values.activations:  # each unit's heatmap, scaled by its largest |a|
        a = layer[r2:r2 + n2].T  # (units, points)
        scale = np.abs(a).max(axis=1)
        scale[scale == 0.0] = 1.0
        scales += scale.tolist()
        heat.append(_bytes(np, 127.5 + 127.5 * a / scale[:, None]))
    drawn = everywhere[r2 + n2:]
    predicted = evaluate_grid(model, drawn, snapshot.parameters).probabilities.argmax(axis=1) \
        if len(drawn) else np.zeros(0, dtype=np.intp)
    return {
        "step": snapshot.step, "loss": snapshot.loss, "accuracy": snapshot.accuracy,
        "boundary": _b64(packed), "neurons": _b64(b"".join(heat)),
        "scales": [float(f"{s:.4g}") for s in scales],
        "predicted": _b64(_bytes(np, predicted)),
        "parameters": _b64(np.asarray(snapshot.parameters, dtype="<f4").tobytes()),
        "gradients": None if snapshot.gradients is None else
        _b64(np.asarray(snapshot.gradients, dtype="<f4").tobytes()),
    }


def check_filmable(model: Any) -> None:
    """TypeError or ValueError unless the film can draw this model: an MLP with 2 inputs and
    at most MAX_UNITS units a layer (checked before training by the command line)."""
    require_type(model, "model", MLP, "an MLP (the film draws its layers)")
    require(model.nin == 2, "model", model, "an MLP with 2 inputs: the film draws the input "
            "plane (x1, x2)")
    for k, size in enumerate(model.nouts):
        require(size <= MAX_UNITS, f"layer {k} of the model", f"{size} units",
                f"at most {MAX_UNITS} units, so the network panel stays readable")


def _check(model: Any, X: Sequence[Sequence[float]], y: Sequence[int],
           history: Any) -> Recording:
    """Clear errors for what the film cannot show; the history's recording, with snapshots."""
    check_filmable(model)
    require_type(history, "history", History, "the History that fit() returned")
    if history.recording is None or not history.recording.snapshots:
        raise ValueError("history has no snapshots: train with fit(..., record=True) to "
                         "record the frames of the film")
    if len(history.recording.snapshots[0].parameters) != len(model.parameters()):
        raise ValueError(f"the history was recorded from a model with "
                         f"{len(history.recording.snapshots[0].parameters)} parameters, but "
                         f"{model!r} has {len(model.parameters())}: pass the model it trained")
    if len(X) != len(y) or not X:
        raise ValueError(f"X and y must be non-empty and of the same length, "
                         f"got {len(X)} points and {len(y)} labels")
    return history.recording


def _class_names(names: Optional[Sequence[str]], classes: int) -> list[str]:
    if names is None:
        return [f"class {k}" for k in range(classes)]
    names = [str(name) for name in names]
    require(len(names) >= classes, "class_names", names, f"{classes} names, one per class")
    return names


def _extent(points: list[list[float]]) -> list[float]:
    """[x1 min, x1 max, x2 min, x2 max] around the data, 15 % wider each way (as the plots)."""
    out = []
    for axis in (0, 1):
        low = min(p[axis] for p in points)
        high = max(p[axis] for p in points)
        pad = 0.15 * (high - low or 1.0)
        out += [low - pad, high + pad]
    return out


def _grid(extent: list[float], side: int) -> Any:
    """side x side points over the extent, row by row from the top (largest x2) down."""
    import numpy as np

    x1 = np.linspace(extent[0], extent[1], side)
    x2 = np.linspace(extent[3], extent[2], side)
    a, b = np.meshgrid(x1, x2)
    return np.stack([a.reshape(-1), b.reshape(-1)], axis=1)


def _palette(classes: int) -> list[str]:
    """Two classes: TensorFlow Playground's orange (0, negative) and blue (1, positive), as the
    neurons' heatmaps; more: matplotlib's tab10, as viz.plot_decision_boundary."""
    from tinygrad_edu.viz.plots import CLASS_COLOURS

    return list(BINARY_COLOURS) if classes <= 2 else list(CLASS_COLOURS)


def _rgb(colour: str) -> list[float]:
    return [int(colour[k:k + 2], 16) / 255.0 for k in (1, 3, 5)]


def _bytes(np: Any, values: Any) -> bytes:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8).tobytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _evenly(count: int, keep: int) -> list[int]:
    """`keep` indices from 0 to count - 1, evenly spread, the first and the last included."""
    if keep >= count:
        return list(range(count))
    return sorted({round(i * (count - 1) / (keep - 1)) for i in range(keep)})


def _curve(history: History, most: int = 2000) -> tuple[list[float], list[float], int]:
    """The loss and accuracy of every step, every stride-th step past `most` steps."""
    stride = max(1, math.ceil(history.steps / most))
    return ([float(f"{v:.6g}") for v in history.losses[::stride]],
            [round(a, 5) for a in history.accuracies[::stride]], stride)


# ------------------------------------------------------------ panel 4: one example's graph
class _ExampleGraph:
    """The graph of one example's loss, laid out once, and the tape the page replays it from.

    The graph is built on placeholder inputs x1, x2 and target y with
    train.traceable_loss, whose shape does not depend on the numbers, so the
    page can fill in any point's values at any frame. Each tape entry is one
    Value: a leaf ("param" k, "input" i, "target" j or a constant) or an
    operation, named as the engine names its primitive, with its folded
    constant and its inputs' positions.
    """

    def __init__(self, model: MLP, loss: str, classes: int) -> None:
        self.model, self.loss, self.classes = model, loss, classes

    def data(self, timeout: float) -> dict:
        # Laid out on a copy of the model whose numbers are all small, so every box and table
        # cell is as wide as a number in e-notation (`-1.234e-05`): the page's numbers fit.
        model = copy.deepcopy(self.model)
        for parameter in model.parameters():
            parameter.data = LAYOUT_NUMBER
        inputs = [Value(LAYOUT_NUMBER, label="x1"), Value(LAYOUT_NUMBER, label="x2")]
        if self.loss == "ce":
            targets = [Value(1.0, label=f"y{c}") for c in range(model.nouts[-1])]
            target: Any = targets
        else:
            targets = [Value(1.0, label="y")]
            target = targets[0]
        root = traceable_loss(model(inputs), target, self.loss)
        root.label = "loss"
        order = topological_order(root)
        if len(order) > MAX_GRAPH_NODES:
            return {"missing": f"the graph of one example has {len(order)} Values, more than "
                               f"{MAX_GRAPH_NODES}: the graph panel is left out"}
        parameters = {p: k for k, p in enumerate(model.parameters())}
        position = {node: k for k, node in enumerate(order)}
        tape: list[dict[str, Any]] = []
        for node in order:
            if node in parameters:
                tape.append({"param": parameters[node]})
            elif any(node is x for x in inputs):
                tape.append({"input": next(i for i, x in enumerate(inputs) if x is node)})
            elif any(node is t for t in targets):
                tape.append({"target": next(j for j, t in enumerate(targets) if t is node)})
            elif not node.inputs:
                tape.append({"constant": node.data})
            else:
                tape.append(_operation(node, position))
        unknown = {entry["op"] for entry in tape if "op" in entry} - KNOWN_OPERATIONS
        if unknown:
            return {"missing": f"the graph panel cannot replay the operation(s) "
                               f"{', '.join(sorted(unknown))}: it is left out"}
        for node in order:
            node.data = node.grad = -LAYOUT_NUMBER
        try:
            graph = draw_dot(root, show_local_grads=True, cluster="module", rankdir="LR",
                             parameters=list(parameters), max_nodes=MAX_GRAPH_NODES)
        except GraphTooLarge as problem:
            return {"missing": str(problem)}
        svg = render_source(graph.source, "svg", timeout=timeout)
        svg = svg[svg.index(b"<svg"):]
        # gzip: a 16,16 network's drawing is 0.9 MB of SVG text and 0.1 MB packed; the page
        # unpacks it with the browser's DecompressionStream.
        return {"svg": _b64(gzip.compress(svg, mtime=0)), "tape": tape,
                "labels": [node.label for node in order], "targetKind": self.loss,
                "outputIsLogit": model.output_activation == "linear"}


def _operation(node: Value, position: dict) -> dict:
    """A tape entry for an operation: its primitive, its folded numbers and its inputs.

    A one- or two-operand op may have folded a plain number (`x * 2`, `2 - x`: "c", and
    "left" when it stands on the left); sum, mean and dot keep what engine.folded says:
    the constant they add, mean's count, and dot's (w, x) pairs and single factors.
    """
    primitive = primitive_of(node)
    entry: dict[str, Any] = {"op": primitive.name, "c": node.constant,
                             "left": node.constant_left,
                             "in": [position[operand] for operand in node.inputs]}
    if primitive.arity is None:
        numbers = folded(node)
        entry.update(count=numbers.count, pairs=numbers.pairs, factors=list(numbers.factors))
    return entry


__all__ = ["Film", "film", "check_filmable", "MAX_BYTES", "MAX_POINTS", "MAX_UNITS", "RESOLUTION",
           "NEURON_RESOLUTION"]
