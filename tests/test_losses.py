"""tinygrad_edu.losses: the lecture's losses (§3), their gradients, and stability at extremes."""

from __future__ import annotations

import math

import pytest

from tinygrad_edu import Value, topological_order
from tinygrad_edu.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    log_softmax,
    mean_loss,
    mse,
    softmax,
)
from tinygrad_edu.nn import Embedding


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


# ----------------------------------------------------------------- binary
@pytest.mark.parametrize("p, y", [(0.8, 1), (0.8, 0), (0.3, 0.25)])
def test_binary_cross_entropy_is_the_lectures_formula_with_its_gradient(p, y):
    prob = Value(p)
    loss = binary_cross_entropy(prob, y)
    assert loss.data == pytest.approx(-(y * math.log(p) + (1 - y) * math.log(1 - p)), rel=1e-15)
    loss.backward()
    # lecture §3: dL/dŷ = -(y/ŷ + (y - 1)/(1 - ŷ))
    assert prob.grad == pytest.approx(-(y / p + (y - 1) / (1 - p)), rel=1e-14)


def test_binary_cross_entropy_of_a_certain_right_answer_is_zero():
    assert binary_cross_entropy(Value(1.0), 1).data == 0.0
    assert binary_cross_entropy(Value(0.0), 0).data == 0.0


def test_binary_cross_entropy_of_a_certain_wrong_answer_points_to_the_logit_version():
    with pytest.raises(ValueError, match="log\\(0\\).*binary_cross_entropy_with_logits"):
        binary_cross_entropy(Value(1.0), 0)


@pytest.mark.parametrize("bad", [2, -0.5, 1.0001])
def test_a_binary_target_outside_zero_one_is_refused_with_its_value(bad):
    with pytest.raises(ValueError, match=rf"target y must be a number in \[0, 1\], got {bad!r}"):
        binary_cross_entropy(Value(0.5), bad)
    with pytest.raises(ValueError, match=f"target y .* got {bad!r}"):
        binary_cross_entropy_with_logits(Value(0.5), bad)


def test_a_probability_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="p = 1.5 is not a probability"):
        binary_cross_entropy(Value(1.5), 1)


@pytest.mark.parametrize("z", [-3.0, -0.4, 0.0, 0.7, 5.0])
@pytest.mark.parametrize("y", [0, 1, 0.3])
def test_bce_with_logits_equals_bce_of_the_sigmoid(z, y):
    expected = binary_cross_entropy(Value(z).sigmoid(), y).data
    assert binary_cross_entropy_with_logits(Value(z), y).data == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("z", [-1000.0, -30.0, 0.0, 30.0, 1000.0])
@pytest.mark.parametrize("y", [0, 1, 0.25])
def test_bce_with_logits_is_finite_with_gradient_sigma_minus_y_everywhere(z, y):
    logit = Value(z)
    loss = binary_cross_entropy_with_logits(logit, y)
    assert math.isfinite(loss.data) and loss.data >= 0.0
    loss.backward()
    assert logit.grad == pytest.approx(sigmoid(z) - y, abs=1e-15)


def test_bce_with_logits_grows_linearly_for_confident_wrong_answers():
    # -log σ(-1000) = 1000 + log(1 + e^-1000), which is 1000 in floats
    assert binary_cross_entropy_with_logits(Value(1000.0), 0).data == 1000.0
    assert binary_cross_entropy_with_logits(Value(-1000.0), 1).data == 1000.0
    assert binary_cross_entropy_with_logits(Value(0.0), 1).data == pytest.approx(math.log(2))


# ----------------------------------------------------------------- softmax
def test_softmax_is_positive_sums_to_one_and_matches_the_formula():
    zs = [Value(1.0), Value(2.0), Value(-1.0)]
    probs = softmax(zs)
    total = sum(math.exp(z.data) for z in zs)
    assert [p.data for p in probs] == pytest.approx([math.exp(z.data) / total for z in zs])
    assert sum(p.data for p in probs) == pytest.approx(1.0)


def test_softmax_and_log_softmax_survive_huge_logits():
    probs = softmax([Value(1000.0), Value(1000.0), Value(0.0)])
    assert [p.data for p in probs] == pytest.approx([0.5, 0.5, 0.0])
    logs = log_softmax([Value(1000.0), Value(0.0)])
    assert [v.data for v in logs] == pytest.approx([0.0, -1000.0])


def test_log_softmax_is_the_log_of_softmax():
    zs = [Value(0.5), Value(-2.0), Value(3.0)]
    assert [v.data for v in log_softmax(zs)] == \
        pytest.approx([math.log(p.data) for p in softmax(zs)], rel=1e-14)


# ----------------------------------------------------------- cross-entropy
def test_cross_entropy_is_log_sum_exp_minus_the_right_logit():
    zs = [Value(2.0), Value(1.0), Value(0.1)]
    loss = cross_entropy(zs, 0)
    # lecture §3: L = -z_c + log Σ_j exp(z_j)
    assert loss.data == pytest.approx(-2.0 + math.log(sum(math.exp(z.data) for z in zs)))


@pytest.mark.parametrize("target", [0, 1, 2])
def test_cross_entropy_gradient_is_softmax_minus_onehot(target):
    zs = [Value(2.0), Value(1.0), Value(0.1)]
    cross_entropy(zs, target).backward()
    total = sum(math.exp(z.data) for z in zs)
    for j, z in enumerate(zs):
        expected = math.exp(z.data) / total - (1.0 if j == target else 0.0)
        assert z.grad == pytest.approx(expected, abs=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    zs = [Value(1000.0), Value(-1000.0), Value(0.0)]
    assert cross_entropy(zs, 0).data == 0.0
    loss = cross_entropy(zs, 1)
    assert loss.data == pytest.approx(2000.0)
    loss.backward()
    assert [z.grad for z in zs] == pytest.approx([1.0, -1.0, 0.0])


def test_cross_entropy_is_one_compact_subgraph():
    zs = [Value(0.3), Value(-0.2), Value(1.1), Value(0.0)]
    nodes = topological_order(cross_entropy(zs, 2))
    # the 4 logits, 4 shifts, 4 exps, one sum, one log, one subtraction
    assert len(nodes) == 3 * len(zs) + 3
    assert [node.op for node in nodes].count("sum") == 1


@pytest.mark.parametrize("bad", [3, -1])
def test_a_class_index_out_of_range_is_refused_with_its_value(bad):
    with pytest.raises(ValueError, match=f"target_index must be .* of 3 classes.*got {bad}"):
        cross_entropy([Value(0.0), Value(1.0), Value(2.0)], bad)


def test_a_class_index_must_be_an_int_the_same_error_as_an_embedding_row():
    with pytest.raises(TypeError, match="target_index must be a whole number.*got float: 1.0"):
        cross_entropy([Value(0.0), Value(1.0)], 1.0)
    with pytest.raises(TypeError, match="index must be a whole number.*got float: 1.0"):
        Embedding(2, 3, seed=0)(1.0)


# ------------------------------------------------------------- the others
def test_mse_is_the_squared_error_with_gradient_two_times_the_error():
    pred = Value(0.75)
    loss = mse(pred, 1.0)
    assert loss.data == 0.0625
    loss.backward()
    assert pred.grad == 2 * (0.75 - 1.0)


def test_hinge_is_micrograds_max_margin_loss():
    assert hinge(Value(0.25), 1).data == 0.75  # inside the margin
    assert hinge(Value(2.0), 1).data == 0.0  # beyond it: no loss and no gradient
    score = Value(0.5)
    loss = hinge(score, -1)
    assert loss.data == 1.5
    loss.backward()
    assert score.grad == 1.0


def test_hinge_wants_labels_minus_one_and_plus_one():
    with pytest.raises(ValueError, match="y = 0 must be -1 or \\+1.*2\\*y - 1"):
        hinge(Value(0.5), 0)


def test_mean_loss_is_one_node_giving_each_example_one_nth():
    losses = [Value(1.0), Value(2.0), Value(6.0)]
    total = mean_loss(losses)
    assert total.op == "mean" and total.data == 3.0
    total.backward()
    assert [v.grad for v in losses] == [1 / 3] * 3
    with pytest.raises(ValueError, match="empty"):
        mean_loss([])


# ------------------------------------------------------- the library's losses, traced
@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_the_library_losses_trace_with_labels_fed_as_values(backend):
    from tinygrad_edu import trace
    from tinygrad_edu.nn import MLP

    model = MLP(2, [4, 1], seed=0)
    x = [Value(0.5), Value(-1.0)]
    y = Value(1.0)
    program = trace(lambda: binary_cross_entropy_with_logits(model(x), y), backend=backend)
    for point, label in ([[3.0, -2.0], 0.0], [[-3.0, 2.0], 1.0], [[0.1, 0.2], 1.0]):
        program.feed(x, point)
        program.feed(y, label)
        program.check()  # the graph is the same whatever the logit's sign
        z = model(point)
        assert program() == pytest.approx(binary_cross_entropy_with_logits(z, label).data,
                                          rel=1e-12, abs=1e-15)

    three = MLP(2, [4, 3], seed=0)
    target = [Value(0.0), Value(1.0), Value(0.0)]
    program = trace(lambda: cross_entropy(three(x), target), backend=backend)
    for point, label in ([[3.0, -2.0], 0], [[-3.0, 2.0], 2]):
        program.feed(x, point)
        program.feed(target, [1.0 if c == label else 0.0 for c in range(3)])
        program.check()
        assert program() == pytest.approx(cross_entropy(three(point), label).data, rel=1e-12)

    score_label = Value(1.0)
    program = trace(lambda: hinge(model(x), score_label), backend=backend)
    program.feed(score_label, -1.0)
    assert program() == pytest.approx(hinge(model([v.data for v in x]), -1).data, rel=1e-12)


def test_a_number_label_that_branches_says_what_to_use():
    from tinygrad_edu import TraceMismatch, trace

    z = Value(2.0)
    program = trace(lambda: binary_cross_entropy_with_logits(z, 1.0))
    z.data = -2.0
    with pytest.raises(TraceMismatch, match="give it the label as a Value"):
        program.check()


def test_a_value_label_gives_the_numbers_and_gradient_of_a_number_label():
    for z_data in (-40.0, -1.5, 0.0, 0.7, 40.0):
        for label in (0.0, 1.0):
            z1, z2 = Value(z_data), Value(z_data)
            eager = binary_cross_entropy_with_logits(z1, label)
            branch_free = binary_cross_entropy_with_logits(z2, Value(label))
            eager.backward()
            branch_free.backward()
            assert branch_free.data == pytest.approx(eager.data, rel=1e-12, abs=1e-15)
            assert z2.grad == pytest.approx(z1.grad, rel=1e-12, abs=1e-15)
