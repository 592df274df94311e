"""tinygrad_edu.nn: neurons as one dot node, named parameters, and micrograd compatibility."""

from __future__ import annotations

import gc
import random

import micrograd.engine
import micrograd.nn
import numpy as np
import pytest

import tinygrad_edu
import tinygrad_edu.nn
from tinygrad_edu import Value
from tinygrad_edu.data import make_moons
from tinygrad_edu.nn import ACTIVATIONS, MLP, Embedding, Layer, Module, Neuron


def test_a_neuron_computes_w_dot_x_plus_b_as_one_node_then_the_activation():
    neuron = Neuron(2, activation="relu", seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 2.0, -1.0, 0.5
    x = [Value(3.0, label="x0"), Value(1.0, label="x1")]
    y = neuron(x)
    assert y.op == "relu"
    (z,) = y.inputs
    assert z.op == "dot"
    assert z.data == 2.0 * 3.0 + -1.0 * 1.0 + 0.5
    y.backward()
    # dy/dw_i = x_i, dy/dx_i = w_i, dy/db = 1 (ReLU is active: z = 5.5 > 0)
    assert [w.grad for w in neuron.w] == [3.0, 1.0]
    assert [xi.grad for xi in x] == [2.0, -1.0]
    assert neuron.b.grad == 1.0


@pytest.mark.parametrize("activation, expected", [
    ("relu", 0.0), ("tanh", np.tanh(-0.5)), ("sigmoid", 1 / (1 + np.exp(0.5))), ("linear", -0.5),
])
def test_each_activation_is_applied_to_z(activation, expected):
    neuron = Neuron(1, activation=activation, seed=0)
    neuron.w[0].data = 1.0
    assert neuron([-0.5]).data == pytest.approx(expected, abs=1e-15)


def test_an_unknown_activation_lists_the_valid_ones():
    listed = ", ".join(ACTIVATIONS)  # every one, read from the engine's table: relu first
    assert listed.startswith("relu, tanh, sigmoid")
    with pytest.raises(ValueError, match=f"{listed}, got 'swish'"):
        MLP(2, [4, 1], activation="swish")
    with pytest.raises(ValueError, match=listed):
        Neuron(2, activation="ReLU")


def test_a_wrong_input_length_says_what_was_expected():
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="nin"):
        MLP(0, [4, 1])
    with pytest.raises(ValueError, match="nouts"):
        MLP(2, [])
    with pytest.raises(ValueError, match="nout"):
        Layer(2, 0)


def test_weights_start_uniform_in_minus_one_one_and_biases_at_zero():
    model = MLP(2, [16, 16, 1], seed=0)
    for name, p in model.named_parameters():
        if name.endswith(".b"):
            assert p.data == 0.0
        else:
            assert -1.0 <= p.data <= 1.0
    weights = [p.data for name, p in model.named_parameters() if not name.endswith(".b")]
    assert min(weights) < -0.9 and max(weights) > 0.9  # spread over the whole interval


def test_parameters_are_named_and_labelled_by_their_path():
    model = MLP(2, [4, 1], seed=0)
    named = model.named_parameters()
    assert [name for name, _ in named[:3]] == [
        "layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert named[-1][0] == "layers.1.neurons.0.b"
    assert "layers.0.neurons.3.w.1" in dict(named)
    assert all(p.label == name for name, p in named)
    assert [p for _, p in named] == model.parameters()
    assert len(model.parameters()) == 4 * (2 + 1) + 1 * (4 + 1)


def test_a_one_unit_output_is_a_value_and_a_wider_one_a_list():
    assert isinstance(MLP(2, [3, 1], seed=0)([1.0, 2.0]), Value)
    outputs = MLP(2, [3, 4], seed=0)([1.0, 2.0])
    assert isinstance(outputs, list) and len(outputs) == 4
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), Value)


def test_outputs_is_always_a_list_for_a_layer_as_for_a_model():
    """Layer.outputs is typed as the list it is, as MLP.outputs is: the same Values as calling."""
    one, three = Layer(2, 1, seed=0), Layer(2, 3, seed=0)
    assert [v.data for v in one.outputs([1.0, 2.0])] == [one([1.0, 2.0]).data]
    called = three([1.0, 2.0])
    assert isinstance(called, list)
    assert [v.data for v in three.outputs([1.0, 2.0])] == [v.data for v in called]
    assert len(called) == 3


def test_the_last_layer_is_linear_by_default_and_the_hidden_ones_relu():
    model = MLP(2, [3, 3, 2], seed=0)
    assert [layer.neurons[0].activation for layer in model.layers] == ["relu", "relu", "linear"]
    model = MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    assert [layer.neurons[0].activation for layer in model.layers] == ["tanh", "sigmoid"]


def test_zero_grad_clears_every_parameter_grad():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_an_int_seed_gives_the_same_weights_and_leaves_the_global_generator_alone():
    random.seed(5)
    expected_next = random.random()
    random.seed(5)
    first = [p.data for p in MLP(2, [8, 1], seed=3).parameters()]
    assert random.random() == expected_next
    assert [p.data for p in MLP(2, [8, 1], seed=3).parameters()] == first
    assert [p.data for p in MLP(2, [8, 1], seed=4).parameters()] != first


def test_without_a_seed_the_weights_are_micrograds_for_the_same_global_seed():
    random.seed(1337)
    theirs = micrograd.nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]

    x = [0.3, -1.2]
    ours_out, theirs_out = ours(x), theirs(x)
    assert ours_out.data == pytest.approx(theirs_out.data, abs=1e-12)
    ours_out.backward()
    theirs_out.backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.grad == pytest.approx(q.grad, abs=1e-12)


def micrograd_demo(engine, nn, steps):
    """micrograd's demo notebook, verbatim but for the imports and 100 steps cut to `steps`."""
    Value = engine.Value  # noqa: N806 - the notebook's `from micrograd.engine import Value`
    MLP = nn.MLP  # noqa: N806

    np.random.seed(1337)
    random.seed(1337)
    X, y = map(np.array, make_moons(n_samples=100, noise=0.1))  # noqa: N806
    y = y*2 - 1 # make y be -1 or 1

    model = MLP(2, [16, 16, 1]) # 2-layer neural network

    # loss function
    def loss(batch_size=None):

        # inline DataLoader :)
        if batch_size is None:
            Xb, yb = X, y  # noqa: N806
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]  # noqa: N806
        inputs = [list(map(Value, xrow)) for xrow in Xb]

        # forward the model to get scores
        scores = list(map(model, inputs))

        # svm "max-margin" loss
        losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum((p*p for p in model.parameters()))  # noqa: UP034 - verbatim
        total_loss = data_loss + reg_loss

        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    history = []
    for k in range(steps):

        # forward
        total_loss, acc = loss()

        # backward
        model.zero_grad()
        total_loss.backward()

        # update (sgd)
        learning_rate = 1.0 - 0.9*k/100
        for p in model.parameters():
            p.data -= learning_rate * p.grad

        history.append((total_loss.data, acc))
    return history


def test_micrograds_demo_runs_unchanged_with_the_import_swapped():
    ours = micrograd_demo(tinygrad_edu, tinygrad_edu.nn, steps=4)
    # micrograd's graphs are reference cycles; with the collector off its 4 steps take
    # a fraction of a second instead of several (the collector is back on right after).
    gc.disable()
    try:
        theirs = micrograd_demo(micrograd.engine, micrograd.nn, steps=4)
    finally:
        gc.enable()
    for (our_loss, our_accuracy), (their_loss, their_accuracy) in zip(ours, theirs):
        assert our_loss == pytest.approx(their_loss, abs=1e-9)
        assert our_accuracy == their_accuracy
    assert ours[-1][0] < ours[0][0]  # and it learns


def test_an_embedding_returns_its_row_as_parameter_values():
    table = Embedding(5, 3, seed=0)
    assert len(table.parameters()) == 15
    assert table.named_parameters()[4][0] == "weight.1.1"
    assert all(p.label == name for name, p in table.named_parameters())
    row = table(2)
    assert row == table.weight[2] and row is not table.weight[2]
    assert [p.label for p in row] == ["weight.2.0", "weight.2.1", "weight.2.2"]
    tinygrad_edu.sum(row).backward()
    assert [p.grad for p in table.weight[2]] == [1.0, 1.0, 1.0]
    assert all(p.grad == 0.0 for p in table.weight[1])


def test_an_embedding_index_out_of_range_is_a_value_error():
    table = Embedding(5, 3, seed=0)
    with pytest.raises(ValueError, match="index must be a whole number from 0 to 4.*got 5"):
        table(5)
    with pytest.raises(ValueError, match="got -1"):
        table(-1)
    with pytest.raises(TypeError, match="index must be a whole number.*got float: 1.0"):
        table(1.0)


def test_an_embedding_is_seeded_like_the_mlp():
    assert [p.data for p in Embedding(4, 2, seed=1).parameters()] == \
           [p.data for p in Embedding(4, 2, seed=1).parameters()]


def test_micrograds_nonlin_spelling_picks_relu_or_linear():
    assert Neuron(3, nonlin=True, seed=0).activation == "relu"
    assert Neuron(3, nonlin=False, seed=0).activation == "linear"
    assert Layer(2, 4, nonlin=False, seed=0).neurons[0].activation == "linear"
    with pytest.raises(TypeError, match="nonlin must be True .* got str: 'yes'"):
        Neuron(3, nonlin="yes")


def test_a_module_of_your_own_finds_its_parameters_from_its_attributes():
    class Residual(Module):
        def __init__(self):
            self.inner = Layer(2, 2, seed=0)
            self.scale = Value(0.5)
            self.sizes = [2, 2]  # numbers are not parameters
            self._cache = [Value(9.0)]  # private attributes are not either

    block = Residual()
    names = [name for name, _ in block.named_parameters()]
    assert names == ["inner.neurons.0.w.0", "inner.neurons.0.w.1", "inner.neurons.0.b",
                     "inner.neurons.1.w.0", "inner.neurons.1.w.1", "inner.neurons.1.b", "scale"]
    assert block.parameters() == [p for _, p in block.named_parameters()]
