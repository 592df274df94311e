"""tinygrad_edu.snapshots: fit(record=...) keeps the frames of training; evaluate_grid gives the
engine's numbers at many points at once."""

from __future__ import annotations

import math
import random
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import dot, snapshots
from tinygrad_edu.data import make_blobs, make_moons
from tinygrad_edu.nn import ACTIVATIONS, MLP
from tinygrad_edu.optim import SGD, Adam
from tinygrad_edu.snapshots import MAX_FRAMES, evaluate_grid, recording_interval
from tinygrad_edu.train import evaluate, fit, probabilities

# numpy sums w·x + b in another order than the engine's dot: the last bits may differ.
CLOSE = 1e-12


def engine_numbers(model: MLP, point: list[float]):
    """Each layer's z and g(z), and the probabilities, from the model's own Value graph."""
    pre, post = [], []
    values = point
    for layer in model.layers:
        zs = [dot(neuron.w, values, neuron.b) for neuron in layer.neurons]  # what g reads
        outs = [neuron(values) for neuron in layer.neurons]
        pre.append([z.data for z in zs])
        post.append([a.data for a in outs])
        values = outs
    return pre, post, probabilities(values[0] if len(values) == 1 else values)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), activation=st.sampled_from(sorted(ACTIVATIONS)),
       output=st.sampled_from(["linear", "sigmoid", "tanh"]),
       sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3), classes=st.integers(1, 4),
       nin=st.integers(1, 3), points=st.integers(1, 6), scale=st.sampled_from([0.1, 1.0, 30.0]))
def test_evaluate_grid_gives_the_value_graphs_numbers(seed, activation, output, sizes, classes,
                                                      nin, points, scale):
    model = MLP(nin, [*sizes, classes], activation=activation, output_activation=output,
                seed=seed)
    rng = random.Random(seed)
    for p in model.parameters():  # biases too, so relu's kink and σ's tails are reached
        p.data = rng.uniform(-2, 2)
    X = [[rng.uniform(-scale, scale) for _ in range(nin)] for _ in range(points)]
    grid = evaluate_grid(model, X)
    for row, point in enumerate(X):
        pre, post, chances = engine_numbers(model, point)
        for layer in range(len(model.layers)):
            assert np.allclose(grid.pre_activations[layer][row], pre[layer], rtol=CLOSE,
                               atol=CLOSE)
            assert np.allclose(grid.activations[layer][row], post[layer], rtol=CLOSE,
                               atol=CLOSE)
        assert np.allclose(grid.probabilities[row], chances, rtol=CLOSE, atol=CLOSE)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), activation=st.sampled_from(sorted(ACTIVATIONS)),
       sizes=st.lists(st.integers(1, 16), min_size=1, max_size=3), classes=st.integers(1, 4),
       scale=st.sampled_from([0.1, 1.0, 30.0]))
def test_evaluate_grid_in_32_bits_is_within_a_picture_of_64(seed, activation, sizes, classes,
                                                           scale):
    model = MLP(2, [*sizes, classes], activation=activation, seed=seed)
    rng = random.Random(seed)
    for p in model.parameters():
        p.data = rng.uniform(-2, 2)
    X = [[rng.uniform(-scale, scale), rng.uniform(-scale, scale)] for _ in range(50)]
    double, single = evaluate_grid(model, X), evaluate_grid(model, X, single=True)
    assert single.probabilities.dtype == np.float32
    for wide, narrow in zip(double.activations, single.activations):
        size = 1.0 + np.abs(wide).max()  # relative to the layer's largest number
        assert np.abs(narrow - wide).max() <= 1e-5 * size
    # a heatmap byte is 1/255: far coarser than what 32 bits change
    assert np.abs(single.probabilities - double.probabilities).max() <= 1e-5


def test_the_fallback_without_numpy_gives_the_same_numbers(monkeypatch):
    model = MLP(2, [4, 3, 3], activation="tanh", seed=3)
    X = [[0.3, -1.2], [2.0, 0.5], [-40.0, 40.0]]
    with_numpy = evaluate_grid(model, X)
    monkeypatch.setitem(sys.modules, "numpy", None)  # import numpy now fails
    without = evaluate_grid(model, X)
    assert isinstance(without.probabilities, list)
    for layer in range(3):
        assert np.allclose(without.activations[layer], with_numpy.activations[layer],
                           rtol=CLOSE, atol=CLOSE)
    assert np.allclose(without.probabilities, with_numpy.probabilities, rtol=CLOSE, atol=CLOSE)


def test_evaluate_grid_reads_a_snapshots_parameters_without_changing_the_model():
    model = MLP(2, [3, 1], seed=0)
    before = [p.data for p in model.parameters()]
    doubled = [2 * w for w in before]
    grid = evaluate_grid(model, [[1.0, 1.0]], parameters=doubled)
    assert [p.data for p in model.parameters()] == before
    for p, w in zip(model.parameters(), doubled):
        p.data = w
    assert grid.outputs[0][0] == pytest.approx(model([1.0, 1.0]).data, rel=CLOSE)


def test_evaluate_grid_refuses_what_it_cannot_read():
    with pytest.raises(TypeError, match="model must be an MLP"):
        evaluate_grid(lambda x: x, [[0.0]])
    with pytest.raises(ValueError, match=r"parameters must be 13 numbers.*got '3 numbers'"):
        evaluate_grid(MLP(2, [3, 1]), [[0.0, 0.0]], parameters=[1.0, 2.0, 3.0])


@pytest.mark.parametrize("loss", ["bce", "hinge", "mse", "ce"])
def test_dataset_loss_is_train_evaluate(loss):
    if loss == "ce":
        X, y = make_blobs(n_samples=40, centers=3, seed=1)
        model = MLP(2, [5, 3], seed=1)
    else:
        X, y = make_moons(n_samples=40, seed=1)
        model = MLP(2, [5, 1], seed=1)
    for p in model.parameters():
        p.data *= 3.0  # some confident outputs
    expected = evaluate(model, X, y, loss)
    found = snapshots.dataset_loss(model, X, y, loss, evaluate)
    assert found[0] == pytest.approx(expected[0], rel=1e-12)
    assert found[1] == expected[1]


# ------------------------------------------------------------ recording
@pytest.mark.parametrize("steps, record, every", [
    (200, True, 2), (100, True, 1), (1000, True, 10), (7, True, 1), (50, 5, 5), (0, True, 1)])
def test_record_keeps_at_most_about_100_frames_and_the_trained_model(steps, record, every):
    assert recording_interval(steps, record) == every
    X, y = make_moons(n_samples=20, seed=0)
    model = MLP(2, [3, 1], seed=0)
    history = fit(model, X, y, SGD(model.parameters(), lr=0.1), steps=steps, record=record,
                  progress=False)
    frames = history.recording.snapshots
    assert [s.step for s in frames] == [*range(0, steps, every), steps]
    assert len(frames) <= MAX_FRAMES + 1
    assert frames[-1].parameters == [p.data for p in model.parameters()]
    assert frames[-1].gradients is None


@pytest.mark.parametrize("compile", [False, True])
def test_a_snapshot_holds_the_parameters_loss_and_gradient_of_its_step(compile):  # noqa: A002
    X, y = make_moons(n_samples=30, seed=2)
    model = MLP(2, [4, 1], seed=2)
    seen = []
    recorded = fit(model, X, y, Adam(model.parameters(), lr=0.05), steps=9, record=3,
                   progress=False, compile=compile,
                   callback=lambda *_: seen.append(([p.data for p in model.parameters()],
                                                    [p.grad for p in model.parameters()])))
    plain_model = MLP(2, [4, 1], seed=2)
    plain = fit(plain_model, X, y, Adam(plain_model.parameters(), lr=0.05), steps=9,
                progress=False, compile=compile)
    assert plain.losses == recorded.losses  # recording changes nothing in training
    frames = recorded.recording.snapshots
    assert [s.step for s in frames] == [0, 3, 6, 9]
    for frame in frames[:-1]:
        assert frame.loss == recorded.losses[frame.step]
        assert frame.accuracy == recorded.accuracies[frame.step]
        assert frame.gradients == seen[frame.step][1]  # the gradient that step's update used
        if frame.step:
            assert frame.parameters == seen[frame.step - 1][0]  # before that step's update
    # Step 0's loss comes from the initial parameters, through the model's own graph.
    for p, w in zip(plain_model.parameters(), frames[0].parameters):
        p.data = w
    assert evaluate(plain_model, X, y, "bce")[0] == pytest.approx(frames[0].loss, rel=1e-12)
    last = frames[-1]
    assert (last.loss, last.accuracy) == pytest.approx(evaluate(model, X, y, "bce"), rel=1e-12)
    assert recorded.recording.loss == "bce" and recorded.recording.every == 3


@pytest.mark.parametrize("record, message", [
    (-1, "record .every how many steps. must be a whole number >= 1, got -1"),
    ("yes", "record must be True, False or a whole number of steps >= 1, got str"),
    (1.5, "record must be True, False"),
])
def test_bad_record_values_are_refused_before_training(record, message):
    model = MLP(2, [2, 1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises((TypeError, ValueError), match=message):
        fit(model, [[0.0, 1.0]], [1], SGD(model.parameters(), lr=0.1), steps=3,
            record=record, progress=False)
    assert [p.data for p in model.parameters()] == before


def test_without_record_nothing_is_kept():
    model = MLP(2, [2, 1], seed=0)
    history = fit(model, [[0.0, 1.0]], [1], SGD(model.parameters(), lr=0.1), steps=3,
                  progress=False)
    assert history.recording is None
    assert math.isfinite(history.losses[-1])


def test_ctrl_c_keeps_the_frames_so_far_and_the_model_as_trained():
    X, y = make_moons(n_samples=20, seed=0)
    model = MLP(2, [3, 1], seed=0)

    def stop_at_step_7(step, loss, accuracy):
        if step == 7:
            raise KeyboardInterrupt

    history = fit(model, X, y, SGD(model.parameters(), lr=0.1), steps=100, record=2,
                  callback=stop_at_step_7, progress=False)
    assert history.interrupted and history.steps == 8
    frames = history.recording.snapshots
    assert [s.step for s in frames] == [0, 2, 4, 6, 8]
    assert frames[-1].parameters == [p.data for p in model.parameters()]
