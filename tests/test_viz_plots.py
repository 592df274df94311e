"""viz.plots: the decision boundary and the loss curve refuse what they cannot draw, saying why."""

from __future__ import annotations

import pytest

from tinygrad_edu import Value, viz
from tinygrad_edu.data import make_moons
from tinygrad_edu.nn import MLP

X, y = make_moons(n_samples=20, seed=0)
MODEL = MLP(2, [4, 1], seed=0)


@pytest.mark.parametrize("points, labels, message", [
    ([], [], "X and y must be non-empty and of the same length, got 0 points and 0 labels"),
    (X, y[:-1], "got 20 points and 19 labels"),
    ([[0.5, 1.0], [0.2]], [0, 1], r"X\[1\] must be a point \[x1, x2\], got \[0.2\]"),
])
def test_the_decision_boundary_needs_points_with_a_label_each(points, labels, message):
    with pytest.raises(ValueError, match=message):
        viz.plot_decision_boundary(MODEL, points, labels)


@pytest.mark.parametrize("labels, error, message", [
    ([0, 1, -1] + y[3:], ValueError, r"y\[2\] \(a class label\) must be a whole number >= 0, "
                                     r"got -1"),
    ([0, 1.5] + y[2:], TypeError, r"y\[1\] \(a class label\) must be a whole number >= 0, "
                                  r"got float: 1.5"),
])
def test_the_decision_boundary_needs_class_labels(labels, error, message):
    with pytest.raises(error, match=message):
        viz.plot_decision_boundary(MODEL, X, labels)


@pytest.mark.parametrize("resolution, error", [(0, ValueError), (1, ValueError),
                                               (-5, ValueError), (2.5, TypeError)])
def test_the_decision_boundary_needs_a_grid_of_at_least_two_points(resolution, error):
    with pytest.raises(error, match=rf"resolution \(grid points along each axis\) must be a "
                                    rf"whole number >= 2, got .*{resolution}"):
        viz.plot_decision_boundary(MODEL, X, y, resolution=resolution)


def test_the_smallest_grid_still_draws():
    assert len(viz.plot_decision_boundary(MODEL, X, y, resolution=2).axes) == 1


@pytest.mark.parametrize("losses, accuracies, error, message", [
    ([Value(1.0), Value(0.5)], None, TypeError,
     r"losses\[0\] must be a number \(a float; of a Value, its \.data\), got Value: "
     r"Value\(data=1\.0"),
    ([1.0, 0.5], [0.5, Value(1.0)], TypeError, r"accuracies\[1\] must be a number"),
    ([1.0, 0.5, 0.25], [0.5, 1.0], ValueError,
     r"accuracies must be one per step, as many as the losses \(3\), got 2"),
    ([1.0, 0.5], [0.5, 0.6, 0.7], ValueError, r"as many as the losses \(2\), got 3"),
    ([], None, ValueError, "needs at least one step's loss"),
])
def test_the_loss_curve_needs_one_number_per_step(losses, accuracies, error, message):
    with pytest.raises(error, match=message):
        viz.plot_loss_curve(losses, accuracies)
