"""trace(): a recorded graph replayed equals an eager rebuild, reads as code, and fails clearly."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from lecture import lecture_graph
from test_engine_ops import ALL_BUILDERS

from tinygrad_edu import TraceMismatch, Value, engine, trace
from tinygrad_edu.cli import main
from tinygrad_edu.nn import MLP
from tinygrad_edu.testing import expressions
from tinygrad_edu.tracing.python_backend import RUNTIME

BACKENDS = ("python", "numpy")
LECTURE_SOURCE = """\
def forward_backward(b, a, c):
    # forward: each node from its inputs, inputs first
    d = b * 2.0
    e = a + d
    L = c * e
    # backward: each edge adds upstream grad * local grad (the first one assigns)
    grad_L = 1.0
    grad_c = grad_L * e
    grad_e = grad_L * c
    grad_a = grad_e * 1.0
    grad_d = grad_e * 1.0
    grad_b = grad_d * 2.0
    return L, (), (grad_b, grad_a, grad_c)
"""


def close(a: float, b: float) -> bool:
    """Equal to 1e-12, relative (absolute near zero)."""
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def eager_grads(root: Value, leaves: list[Value]) -> list[float]:
    """Leaf gradients of a fresh eager backward(), from zero."""
    for leaf in leaves:
        leaf.grad = 0.0
    root.backward()
    return [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_primitive_replays_in_every_backend(backend):
    # Each builder of each primitive (the table's ops, with folded numbers on either side),
    # traced at one point and replayed at another, gives eager's value and gradients.
    failures = []
    for primitive, build, ranges in ALL_BUILDERS:
        leaves = [Value(0.5 * (low + high) + 0.1) for low, high in ranges]
        try:
            program = trace(lambda build=build, leaves=leaves: build(*leaves) * 1.0,
                            backend=backend)
            for leaf, (low, high) in zip(leaves, ranges):
                leaf.data = 0.3 * low + 0.7 * high
            value = program()
            expected = build(*leaves)
            grads = engine.grad(expected, leaves)
            assert value == pytest.approx(expected.data, rel=1e-12)
            assert [leaf.grad for leaf in leaves] == pytest.approx([g.data for g in grads],
                                                                   rel=1e-12)
        except Exception as problem:  # noqa: BLE001 - collected, so every primitive is named
            failures.append(f"{primitive.name} ({build.__code__.co_firstlineno}): {problem!r}")
    assert not failures, f"primitives the {backend} backend cannot replay: {failures}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_lecture_example_replays_its_numbers(backend):
    L = lecture_graph()
    program = trace(lambda: L, backend=backend)
    a, b, c = sorted(program.leaves, key=lambda leaf: leaf.label)
    assert program() == -10.0
    assert (a.grad, b.grad, c.grad) == (-2.0, -4.0, 5.0)
    assert program() == -10.0  # leaf grads accumulate, as with backward()
    assert (a.grad, b.grad, c.grad) == (-4.0, -8.0, 10.0)
    a.data = 1.0  # new numbers, same graph: L = c (a + 2b)
    a.grad = b.grad = c.grad = 0.0
    assert program() == -6.0
    assert (a.grad, b.grad, c.grad) == (-2.0, -4.0, 3.0)


def test_the_lecture_source_reads_as_the_chain_rule():
    program = trace(lecture_graph)
    assert program.source == LECTURE_SOURCE
    assert trace(lecture_graph).source == program.source  # deterministic
    assert trace(lecture_graph, backend="numpy").source == program.source


def test_the_generated_source_runs():
    namespace: dict = dict(RUNTIME)  # the engine's own float functions
    exec(trace(lecture_graph).source, namespace)
    assert namespace["forward_backward"](1.0, 3.0, -2.0) == (-10.0, (), (-4.0, -2.0, 5.0))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions())
def test_replay_equals_eager_on_random_graphs(backend, expr):
    leaves = [Value(x, label=name) for x, name in zip(expr.inputs, expr.input_names)]
    root = expr(*leaves)
    expected = eager_grads(root, leaves)
    for leaf in leaves:
        leaf.grad = 0.0
    program = trace(lambda: root, backend=backend)
    assert close(program(), root.data)
    for leaf, grad in zip(leaves, expected):
        assert close(leaf.grad, grad), (leaf.label, leaf.grad, grad)
    program.check()


def demo_loss(model, X, y):
    """micrograd's demo loss: SVM max-margin plus L2, built on plain-float inputs."""
    scores = [model(x) for x in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    reg = 1e-4 * sum(p * p for p in model.parameters())
    return sum(losses) * (1.0 / len(losses)) + reg


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_demo_mlp_trains_the_same_traced_or_eager(backend):
    rng = random.Random(0)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(12)]
    y = [rng.choice((-1, 1)) for _ in X]
    eager, traced = MLP(2, [16, 16, 1], seed=0), MLP(2, [16, 16, 1], seed=0)
    program = trace(lambda: demo_loss(traced, X, y), backend=backend)
    for k in range(4):
        lr = 1.0 - 0.9 * k / 100
        loss = demo_loss(eager, X, y)
        eager.zero_grad()
        loss.backward()
        traced.zero_grad()
        assert close(program(), loss.data)
        for p, q in zip(eager.parameters(), traced.parameters()):
            assert close(q.grad, p.grad)
            p.data -= lr * p.grad
            q.data -= lr * q.grad
    program.check()


@pytest.mark.parametrize("backend", BACKENDS)
def test_minibatches_are_fed_into_placeholder_leaves(backend):
    model = MLP(2, [4, 1], seed=1)
    xs = [[Value(0.0, label=f"x{n}.{i}") for i in range(2)] for n in range(3)]
    ys = [Value(0.0, label=f"y{n}") for n in range(3)]

    def loss():
        return sum((1 - y * model(x)).relu() for x, y in zip(xs, ys))

    program = trace(loss, backend=backend)
    for batch, labels in (([[1, 2], [3, -1], [0.5, 0.5]], [1, -1, 1]),
                          ([[-1, 0], [2, 2], [0, -3]], [-1, -1, 1])):
        program.feed(xs, batch)
        program.feed(ys, labels)
        model.zero_grad()
        value = program()
        traced = [p.grad for p in model.parameters()]
        fresh = [[Value(float(a)) for a in row] for row in batch]
        eager = sum((1 - t * model(x)).relu() for x, t in zip(fresh, labels))
        assert close(value, eager.data)
        assert all(close(a, b) for a, b in zip(traced, eager_grads(eager, model.parameters())))


def test_fn_may_return_more_values_to_read_back():
    model = MLP(2, [3, 1], seed=2)
    X = [[1.0, 2.0], [-1.0, 0.5]]

    def loss_and_scores():
        scores = [model(x) for x in X]
        return sum(s * s for s in scores), scores

    value, scores = trace(loss_and_scores, backend="numpy")()
    assert scores == [model(x).data for x in X]
    assert close(value, sum(s * s for s in scores))


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_catches_a_branch_on_data(backend):
    x = Value(1.0, label="x")

    def branchy():
        return x * 2 if x.data > 0 else x * 3  # the graph depends on the value

    program = trace(branchy, backend=backend)
    program.check()  # same value, same graph
    x.data = -1.0
    with pytest.raises(TraceMismatch, match=r"node 1 \(v1\) differs: recorded `v1 = x \* 2.0`"):
        program.check()
    assert x.grad == 0.0


def test_check_catches_a_stale_relu_free_branch_in_the_numbers():
    x = Value(2.0, label="x")
    program = trace(lambda: x * (x.data + 0.0))  # x.data baked in as a constant
    x.data = 3.0
    with pytest.raises(TraceMismatch, match="differs"):
        program.check()


def test_a_function_that_does_not_return_a_value_is_refused():
    with pytest.raises(TypeError, match="fn must return a Value"):
        trace(lambda: 3.0)
    with pytest.raises(TypeError, match="fn must be a function"):
        trace(Value(1.0))
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        trace(lecture_graph, backend="jax")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_nan_leaf_is_refused_and_no_grad_changes(backend):
    L = lecture_graph()
    program = trace(lambda: L, backend=backend)
    a = next(leaf for leaf in program.leaves if leaf.label == "a")
    for leaf in program.leaves:
        leaf.grad = 0.5
    a.data = float("nan")
    with pytest.raises(ValueError, match="leaf 'a' has data nan"):
        program()
    assert [leaf.grad for leaf in program.leaves] == [0.5, 0.5, 0.5]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_domain_error_while_replaying_changes_no_grad(backend):
    x = Value(2.0, label="x")
    program = trace(lambda: x.log() * 3, backend=backend)
    x.data = -1.0
    with pytest.raises((ValueError, ArithmeticError), match="program\\(\\)"):
        program()
    assert x.grad == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_data_of_the_wrong_shape_is_refused_and_no_grad_changes(backend):
    xs = [[Value(0.0), Value(0.0)] for _ in range(2)]
    program = trace(lambda: sum(a * b for a, b in xs), backend=backend)
    for leaf in program.leaves:
        leaf.grad = 1.0
    with pytest.raises(ValueError, match=r"data\[1\] has 3 entries for 2 leaves"):
        program.feed(xs, [[1, 2], [3, 4, 5]])
    with pytest.raises(ValueError, match=r"data\[0\]\[1\] is nan"):
        program.feed(xs, [[1, float("nan")], [3, 4]])
    with pytest.raises(ValueError, match="not a leaf of the traced graph"):
        program.feed([Value(1.0)], [2.0])
    assert [x.data for row in xs for x in row] == [0.0] * 4
    assert [leaf.grad for leaf in program.leaves] == [1.0] * 4


def test_an_op_of_your_own_is_named():
    x = Value(0.5)
    node = Value.from_op(math.log1p(math.exp(0.5)), [x], [engine.FLOATS.sigmoid(0.5)],
                         "my_softplus")
    with pytest.raises(TypeError, match="cannot replay the op 'my_softplus'"):
        trace(lambda: node * 2)


def test_mean_with_plain_numbers_replays():
    x = Value(1.5, label="x")
    program = trace(lambda: engine.mean([x, 2.0, x * x]))
    x.data = 3.0
    assert close(program(), (3.0 + 2.0 + 9.0) / 3)
    assert close(x.grad, (1 + 2 * 3.0) / 3)


def test_the_trace_command_prints_the_code(capsys):
    assert main(["trace", "d = 2*b; e = a + d; L = c*e", "--set", "a=3", "b=1", "c=-2"]) == 0
    out = capsys.readouterr().out
    assert out == LECTURE_SOURCE + "# L = -10; gradients: a = -2, b = -4, c = 5\n"


@pytest.mark.parametrize("args, message", [
    (["d = 2*b; L = c*d", "--set", "b=1"], "c is not set"),
    (["x = log(a)", "--set", "a=-1"], "while running the program: log(-1.0)"),
    (["x = a.b", "--set", "a=1"], "attribute access"),
])
def test_the_trace_command_errors_like_render(args, message, capsys):
    assert main(["trace", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tinygrad-edu trace: error: ")
    assert message in err


def test_labels_that_are_no_python_names_become_safe_ones():
    w = Value(0.5, label="w²")
    y = w * 3 + Value(1.0, label="ﬁ") + Value(2.0, label="fi")  # NFKC folds ﬁ into fi
    y.label = "d²y/dx²; import os"
    program = trace(lambda: y)
    assert "import os" not in program.source.replace("# ", "")
    assert program() == y.data
    assert (w.grad, y.inputs[1].grad) == (3.0, 1.0)


# ------------------------------------------- replays that must never be silently wrong
def test_the_numpy_backend_returns_leaves_beside_the_loss_in_their_order():
    a, b = Value(1.0), Value(2.0)
    for backend in BACKENDS:
        assert trace(lambda: (a * b + b, [b, a]), backend=backend)() == (4.0, [2.0, 1.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_numbers_folded_into_mean_and_dot_replay_at_any_scale(backend):
    x = Value(1e17)
    averaged = trace(lambda: engine.mean([x, 1.0]), backend=backend)
    products = trace(lambda: engine.dot([x, 2.0], [3.0, 2.0]), backend=backend)
    x.data = 0.0
    assert averaged() == 0.5 and products() == 4.0  # eager: (0 + 1) / 2, 0 * 3 + 2 * 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_replay_refuses_what_eager_refuses(backend):
    a, b = Value(2.0, label="a"), Value(0.5, label="b")
    program = trace(lambda: a ** b, backend=backend)
    a.data = -2.0
    with pytest.raises(ValueError, match="with a Value exponent the base must be > 0"):
        program()
    with pytest.raises(ValueError, match="with a Value exponent the base must be > 0"):
        a ** b
    assert (a.grad, b.grad) == (0.0, 0.0)
    a.data = 2.0
    logged = trace(lambda: (a - b).log(), backend=backend)
    b.data = 3.0
    with pytest.raises(ValueError, match=r"log\(-1\.0\): input must be > 0"):
        logged()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_nan_that_relu_would_hide_is_refused_by_both_backends(backend):
    z = Value(1.0, label="z")
    program = trace(lambda: (z * 1e300 - z * 1e300).relu() + z, backend=backend)
    z.data = 1e10  # z * 1e300 overflows to inf, and inf - inf is NaN, which relu makes 0
    with pytest.raises(FloatingPointError, match="not finite"):
        program()
    with pytest.raises(OverflowError):
        (z * 1e300 - z * 1e300).relu() + z  # eager refuses it too


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_gradient_penalty_through_relu_replays_across_the_kink(backend):
    w, x = Value(2.0, label="w"), Value(0.5, label="x")

    def penalty():
        (dw,) = engine.grad((w * x).relu() * w, [w], create_graph=True)
        return dw * dw

    program = trace(penalty, backend=backend)
    for point in (0.5, -0.5, 0.25):
        x.data, w.grad, x.grad = point, 0.0, 0.0
        program.check()
        value = program()
        expected = penalty()
        assert value == pytest.approx(expected.data, rel=1e-12, abs=1e-15)
        eager = engine.grad(expected, [w, x])
        assert [w.grad, x.grad] == pytest.approx([g.data for g in eager], rel=1e-12, abs=1e-15)


def test_check_notices_a_graph_built_on_new_leaves_with_the_same_numbers():
    from tinygrad_edu.nn import MLP

    models = [MLP(2, [3, 1], seed=0)]
    program = trace(lambda: models[-1]([1.0, 2.0]) * 1.0)
    models.append(MLP(2, [3, 1], seed=0))  # a notebook's model cell run again, same seed
    with pytest.raises(TraceMismatch, match="another Value now, with the same data"):
        program.check()


def call_from_threads(program, threads: int = 4, calls: int = 25) -> None:
    """Call `program` `calls` times from each of `threads` threads at once; wait for all."""
    import threading

    def run() -> None:
        for _ in range(calls):
            program()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_threads_calling_one_program_get_what_calls_one_by_one_get(backend):
    from tinygrad_edu.nn import MLP

    model = MLP(2, [16, 16, 1], seed=1)
    points = [[0.1 * k, 1.0 - 0.05 * k] for k in range(32)]
    program = trace(lambda: engine.mean([model(x) * model(x) for x in points]), backend=backend)
    program()
    once = [p.grad for p in model.parameters()]
    model.zero_grad()
    call_from_threads(program)
    assert [p.grad for p in model.parameters()] == pytest.approx([100 * g for g in once],
                                                                 rel=1e-9)


def test_a_mean_of_thousands_of_operands_compiles_and_replays():
    leaves = [Value(float(k)) for k in range(5000)]
    program = trace(lambda: engine.mean(leaves))
    assert program() == pytest.approx(2499.5)
    assert leaves[7].grad == pytest.approx(1 / 5000)


def test_a_dropped_program_frees_its_generated_source():
    import gc
    import linecache

    x = Value(1.0)
    before = len(linecache.cache)
    programs = [trace(lambda k=k: x * float(k)) for k in range(20)]
    assert len(linecache.cache) >= before + 20
    del programs
    gc.collect()
    assert len(linecache.cache) <= before


def test_the_trace_command_runs_the_code_it_prints_even_for_a_big_graph(monkeypatch, capsys):
    from tinygrad_edu.tracing import python_backend
    from tinygrad_edu.tracing.program import Program

    monkeypatch.setattr(python_backend, "TAPE_STEPS", 2)  # this graph would start on a tape
    ran = []
    call = Program.__call__
    monkeypatch.setattr(Program, "__call__",
                        lambda self: ran.append(self.backend.compiled) or call(self))
    assert main(["trace", "d = 2*b; e = a + d; L = c*e", "--set", "a=3", "b=1", "c=-2"]) == 0
    assert ran == [True]
    assert "# L = -10; gradients: a = -2, b = -4, c = 5" in capsys.readouterr().out


@pytest.mark.parametrize("argv, code", [
    (["trace", "L = log(x) * 1e300", "--set", "x=1e-10"], 2),  # the replay's gradient overflows
    (["trace", "y = __debug__ * 2", "--set", "__debug__=1"], 0),
])
def test_the_trace_command_reports_like_render(argv, code, capsys):
    assert main(argv) == code
    assert "internal error" not in capsys.readouterr().err
