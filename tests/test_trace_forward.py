"""Forward-only programs: trace(fn, gradients=False), fed batches up to the traced length.

The reference is always the Value graph built eagerly for each example.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygrad_edu import Value, trace
from tinygrad_edu.nn import MLP
from tinygrad_edu.train import LOSSES, evaluate, evaluate_graphs, outputs_of

np = pytest.importorskip("numpy")
BACKENDS = ["python", "numpy"]


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12


def program_of(model, rows: int, backend: str):
    xs = [[Value(0.0), Value(0.0)] for _ in range(rows)]

    def forward():
        outs = [model(x) for x in xs]
        flat = [z for out in outs for z in ([out] if type(out) is Value else out)]
        return sum(flat), outs

    return xs, trace(forward, backend=backend, gradients=False)


def eager_outputs(model, X) -> list:
    outs = [model(x) for x in X]
    return [z.data if type(z) is Value else [v.data for v in z] for z in outs]


def same(a, b) -> bool:
    if isinstance(a, list):
        return len(a) == len(b) and all(close(u, v) for u, v in zip(a, b))
    return close(a, b)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), hidden=st.lists(st.integers(1, 6), min_size=0, max_size=2),
       outputs=st.integers(1, 3), activation=st.sampled_from(["relu", "tanh", "sigmoid"]),
       traced=st.integers(1, 12), data=st.data())
def test_forward_programs_give_eager_outputs_on_random_networks(seed, hidden, outputs,
                                                                  activation, traced, data):
    model = MLP(2, [*hidden, outputs], activation=activation, seed=seed)
    rng = random.Random(seed)
    for backend in BACKENDS:
        xs, program = program_of(model, traced, backend)
        for _ in range(2):
            length = data.draw(st.integers(1, traced), label="batch length")
            X = [[rng.uniform(-3, 3), rng.uniform(-3, 3)] for _ in range(length)]
            program.feed(xs, X)
            assert program.rows_fed == length
            _, outs = program()
            assert all(same(a, b) for a, b in zip(outs[:length], eager_outputs(model, X)))
            # the padding rows are copies of the last row, so they are finite and in domain
            assert all(same(a, outs[length - 1]) for a in outs[length:])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_of_one_and_an_array_batch(backend):
    model = MLP(2, [5, 1], seed=4)
    xs, program = program_of(model, 7, backend)
    program.feed(xs, [[0.5, -1.5]])
    assert close(program()[1][0], model([0.5, -1.5]).data)
    X = np.array([[1.0, 2.0], [-0.5, 0.25], [3.0, -1.0]])
    program.feed(xs, X)
    assert program.rows_fed == 3
    assert all(close(a, b) for a, b in zip(program()[1][:3], eager_outputs(model, X.tolist())))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_longer_than_traced_is_refused_clearly(backend):
    model = MLP(2, [3, 1], seed=4)
    xs, program = program_of(model, 4, backend)
    before = [x.data for row in xs for x in row]
    with pytest.raises(ValueError, match="a batch of 5 rows, but the program was traced on 4 "
                                         "placeholder rows"):
        program.feed(xs, [[1.0, 1.0]] * 5)
    with pytest.raises(ValueError, match="a batch of 5 rows"):
        program.feed(xs, np.ones((5, 2)))
    with pytest.raises(ValueError, match="an empty batch"):
        program.feed(xs, [])
    with pytest.raises(ValueError, match=r"data\[1\]\[0\] is nan"):
        program.feed(xs, np.array([[1.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="int too large to convert to float"):
        program.feed(xs, np.array([[1, 10**400]], dtype=object))
    assert [x.data for row in xs for x in row] == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_forward_only_program_touches_no_grad_and_computes_none(backend):
    model = MLP(2, [3, 1], seed=4)
    xs, program = program_of(model, 2, backend)
    program.feed(xs, [[1.0, 2.0], [3.0, 4.0]])
    program()
    assert all(p.grad == 0.0 for p in model.parameters())
    program.check()  # values compared with eager; no gradients asked for
    if backend == "python":
        assert "grad_" not in program.backend.source and "backward" not in program.source
    else:
        assert program.backend.grads.size == 0


def test_a_training_program_keeps_refusing_a_shorter_batch():
    model = MLP(2, [3, 1], seed=4)
    xs = [[Value(0.0), Value(0.0)] for _ in range(3)]
    program = trace(lambda: sum(model(x) for x in xs))
    with pytest.raises(ValueError, match="has 2 entries for 3 leaves"):
        program.feed(xs, [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="gradients=False is for forward-only"):
        trace(lambda: sum(model(x) for x in xs), gradients=False,
              optimizer=__import__("tinygrad_edu").optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize("loss, outputs", [("bce", 1), ("ce", 3), ("hinge", 1), ("mse", 1)])
def test_evaluate_by_program_equals_evaluate_by_graphs(loss, outputs, monkeypatch):
    from tinygrad_edu import train

    monkeypatch.setattr(train, "FORWARD_ROWS", 64)  # several chunks, the last one shorter
    rng = random.Random(7)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(150)]
    y = [rng.randrange(3 if outputs == 3 else 2) for _ in X]
    model = MLP(2, [6, outputs], seed=3)
    fast, reference = evaluate(model, X, y, loss), evaluate_graphs(model, X, y, loss)
    assert close(fast[0], reference[0]) and fast[1] == reference[1]
    assert LOSSES[loss].name == loss
    outs = outputs_of(model, X)
    assert len(outs) == 150 and all(same(a, b) for a, b in zip(outs, eager_outputs(model, X)))


def test_the_checks_agree_with_and_without_the_programs(monkeypatch):
    from tinygrad_edu import train
    from tinygrad_edu.data import make_moons, make_spiral

    X, y = make_moons(n_samples=300, seed=2)
    model = MLP(2, [6, 1], seed=5)
    Xs, ys = make_spiral(n_samples=90, n_classes=3, seed=1)
    softmax = MLP(2, [6, 3], seed=5)
    fast = (train.check_sigmoid_bce_gradient(model, X, y), evaluate(model, X, y, "bce"),
            train.check_softmax_ce_gradient(softmax, Xs, ys))
    monkeypatch.setattr(train, "_has_numpy", lambda: False)  # as where numpy is missing
    assert train._Forward.of(model, X, "bce") is None
    slow = (train.check_sigmoid_bce_gradient(model, X, y), evaluate(model, X, y, "bce"),
            train.check_softmax_ce_gradient(softmax, Xs, ys))
    for check in (fast[0], slow[0], fast[2], slow[2]):
        assert 0.0 <= check.max_abs_difference <= train.TOLERANCE
    assert fast[0].examples == slow[0].examples == 300
    assert close(fast[1][0], slow[1][0]) and fast[1][1] == slow[1][1]


def test_the_traced_check_still_catches_a_wrong_derivative(monkeypatch):
    from tinygrad_edu import train
    from tinygrad_edu.data import make_moons

    def sloppy_log(x: Value) -> Value:  # the right value, a derivative 1% too large
        return Value.log(x) + 0.01 * (x - x.data) / x.data

    X, y = make_moons(n_samples=40, seed=0)
    model = MLP(2, [4, 1], seed=0)
    assert train._Forward.of(model, X, None) is not None  # the program path is the one tested
    monkeypatch.setattr(train, "_bce_of_sigmoid", lambda z, t: -(
        t * sloppy_log(z.sigmoid()) + (1 - t) * (1 - z.sigmoid()).log()))
    with pytest.raises(train.OutputGradientError, match="backprop is wrong"):
        train.check_sigmoid_bce_gradient(model, X, y)


def test_evaluate_keeps_one_program_per_model_while_the_model_is_unchanged():
    import gc
    import threading
    import weakref

    from tinygrad_edu import train
    from tinygrad_edu.data import make_moons

    X, y = make_moons(n_samples=120, seed=3)
    model = MLP(2, [5, 1], seed=2)
    first = evaluate(model, X, y, "bce")
    forward = train._Forward.of(model, X, "bce")
    assert train._Forward.of(model, X, "bce") is forward  # traced once, reused
    model.parameters()[0].data += 0.3  # new numbers: the same program reads them

    def agrees(net) -> bool:
        fast, reference = evaluate(net, X, y, "bce"), evaluate_graphs(net, X, y, "bce")
        return close(fast[0], reference[0]) and fast[1] == reference[1]

    assert agrees(model) and not close(evaluate(model, X, y, "bce")[0], first[0])
    model.layers[0].neurons[0].w[0] = Value(2.0)  # another Value: the program would miss it
    assert train._Forward.of(model, X, "bce") is not forward
    assert agrees(model)
    tanh = MLP(1, [1], activation="tanh").layers[0].neurons[0]._activate
    model.layers[0].neurons[1]._activate = tanh  # another activation: another graph
    assert agrees(model)

    # Threads share the program and its placeholders: each gets its own data's numbers.
    halves = [(X[:60], y[:60]), (X[60:], y[60:])]
    expected = [evaluate(model, Xh, yh, "bce") for Xh, yh in halves]  # one at a time
    results: dict = {}

    def run(net, k):
        Xh, yh = halves[k % 2]
        for _ in range(20):
            results.setdefault(k, []).append(evaluate(net, Xh, yh, "bce"))

    threads = [threading.Thread(target=run, args=(model, k)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k, got in results.items():
        assert all(result == expected[k % 2] for result in got)

    gone = weakref.ref(model)
    del model, forward, threads
    gc.collect()
    assert gone() is None  # the kept programs do not keep their model alive
