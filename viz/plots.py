"""Pictures of training: a classifier's decision regions over its data, and the loss curve.

Drawn with matplotlib's object-oriented API on a `Figure` of its own, which
saves through the Agg (PNG) and SVG backends and never opens a window, so it
works on a server or in a test. Each function returns the Figure, which
Jupyter shows inline (as a PNG, with or without pyplot), and writes it to every
path it is given, the format taken from the suffix (`.png`, `.svg`, `.pdf`),
each file atomically: all are drawn first, then renamed into place;
`figure.savefig(path)` saves it later.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from tinygrad_edu.checks import numbers_each, points_and_labels, whole_number
from tinygrad_edu.engine import Value
from tinygrad_edu.nn import Module
from tinygrad_edu.train import outputs_of
from tinygrad_edu.train import probabilities as output_probabilities
from tinygrad_edu.viz.renderer import write_all_atomically

PathLike = Union[str, Path]
# Where to save: nothing, one path, or several (one picture per format).
Paths = Union[PathLike, Sequence[PathLike], None]
# What plot_decision_boundary asks about a point: a model (its output is a logit Value or a
# list of logit Values) or a function giving the probability of each class.
Classifier = Callable[[list[float]], Union[Value, Sequence[Value], Sequence[float]]]


class InlineFigure(Figure):
    """A matplotlib Figure that Jupyter shows as a PNG, even where pyplot was never imported."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()

# One colour per class, colour-blind friendly (matplotlib's tab10 start).
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _save(figure: Figure, paths: Paths) -> Figure:
    """Write the figure to every path (none, one, or a list); each file appears whole or not."""
    if paths is None:
        paths = []
    elif isinstance(paths, (str, Path)):
        paths = [paths]
    pictures = {}
    for path in map(Path, paths):
        picture = io.BytesIO()
        figure.savefig(picture, format=path.suffix[1:].lower() or None, dpi=120,
                       bbox_inches="tight")
        pictures[path] = picture.getvalue()
    for path in pictures:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_all_atomically(pictures)
    return figure


def _class_probabilities(model: Classifier) -> Callable[[list[float]], Sequence[float]]:
    """A function giving each class's probability at a point, from a model or such a function.

    A model's logit Value z becomes [1 − σ(z), σ(z)]; a list of logits, their softmax.
    """
    def probabilities(point: list[float]) -> Sequence[float]:
        output = model(point)
        if isinstance(output, Value) or (isinstance(output, (list, tuple)) and output
                                         and isinstance(output[0], Value)):
            return output_probabilities(output)  # type: ignore[arg-type]
        return output  # type: ignore[return-value]  # already probabilities

    return probabilities


def _colour(k: int) -> str:
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


def plot_decision_boundary(model: Classifier, X: Sequence[Sequence[float]],
                           y: Sequence[int], path: Paths = None, title: str = "",
                           resolution: int = 80) -> Figure:
    """Shade where the model predicts each class, draw the boundaries, and plot the data on top.

    `model([x1, x2])` gives a logit Value (two classes, σ), a list of logits
    (softmax), or the probability of each class. The model is asked on a
    `resolution` x `resolution` grid around the data. Returns the Figure
    (Jupyter shows it); `path` saves it too (a path or a list of them).
    """
    points_and_labels(X, y)
    for index, point in enumerate(X):
        if len(point) != 2:
            raise ValueError(f"X[{index}] must be a point [x1, x2], got {point!r}")
    for index, label in enumerate(y):
        whole_number(label, f"y[{index}] (a class label)", 0)
    resolution = whole_number(resolution, "resolution (grid points along each axis)", 2)
    x1s = [point[0] for point in X]
    x2s = [point[1] for point in X]
    pad1 = 0.15 * (max(x1s) - min(x1s) or 1.0)
    pad2 = 0.15 * (max(x2s) - min(x2s) or 1.0)
    grid1 = _linspace(min(x1s) - pad1, max(x1s) + pad1, resolution)
    grid2 = _linspace(min(x2s) - pad2, max(x2s) + pad2, resolution)
    # rows follow x2 and columns x1, as contourf expects
    points = [[a, b] for b in grid2 for a in grid1]
    if isinstance(model, Module):  # all points at once: a forward-only program with numpy
        flat = [output_probabilities(out) for out in outputs_of(model, points)]
    else:
        flat = [list(_class_probabilities(model)(point)) for point in points]
    grid = [flat[row * resolution:(row + 1) * resolution] for row in range(resolution)]
    classes = max(len(grid[0][0]), max(y) + 1)

    figure = InlineFigure(figsize=(6, 5.2))
    axes = figure.add_subplot()
    for k in range(len(grid[0][0])):
        # Class k wins where its probability beats every other class's: margin > 0.
        margin = [[p[k] - max(q for j, q in enumerate(p) if j != k) for p in row]
                  for row in grid]
        axes.contourf(grid1, grid2, margin, levels=[0.0, 1.0], colors=[_colour(k)], alpha=0.25)
        axes.contour(grid1, grid2, margin, levels=[0.0], colors="black", linewidths=1.2)
    for k in range(classes):
        members = [point for point, label in zip(X, y) if label == k]
        if members:
            axes.scatter([p[0] for p in members], [p[1] for p in members], s=28,
                         color=to_rgba(_colour(k)), edgecolors="black", linewidths=0.6,
                         label=f"class {k}", zorder=3)
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_title(title or "Decision boundary")
    axes.legend(loc="best", fontsize=8, framealpha=0.9)
    axes.set_aspect("equal", adjustable="box")
    return _save(figure, path)


def plot_loss_curve(losses: Sequence[float], accuracies: Optional[Sequence[float]] = None,
                    path: Paths = None, title: str = "") -> Figure:
    """Loss after each training step, with the accuracy beside it when given; returns the Figure.

    `history.losses` and `history.accuracies` from fit() fit straight in;
    `path` saves it too (a path or a list of them).
    """
    if not losses:
        raise ValueError("plot_loss_curve() needs at least one step's loss")
    losses = numbers_each(losses, "losses")
    if accuracies is not None:
        accuracies = numbers_each(accuracies, "accuracies")
        if len(accuracies) != len(losses):
            raise ValueError(f"accuracies must be one per step, as many as the losses "
                             f"({len(losses)}), got {len(accuracies)}")
    steps = range(1, len(losses) + 1)
    figure = InlineFigure(figsize=(9, 3.6) if accuracies is not None else (5.5, 3.6))
    if accuracies is None:
        left = figure.subplots()
    else:
        left, right = figure.subplots(1, 2)
    left.plot(steps, losses, color=_colour(0), linewidth=1.5)
    if min(losses) > 0.0 and max(losses) / min(losses) > 20:
        left.set_yscale("log")  # a loss falling over decades reads better on a log axis
    left.set_xlabel("step")
    left.set_ylabel("loss")
    left.set_title("Training loss")
    left.grid(True, alpha=0.3)
    if accuracies is not None:
        right.plot(steps, [100.0 * a for a in accuracies], color=_colour(2), linewidth=1.5)
        right.set_ylim(0, 102)
        right.set_xlabel("step")
        right.set_ylabel("accuracy (%)")
        right.set_title("Training accuracy")
        right.grid(True, alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, path)


def _linspace(start: float, stop: float, count: int) -> list[float]:
    """`count` evenly spaced numbers from start to stop, both included."""
    step = (stop - start) / (count - 1)
    return [start + i * step for i in range(count)]
