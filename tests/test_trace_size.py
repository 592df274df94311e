"""Big graphs: a trace's memory grows in proportion to the graph, and what it builds is exact.

A chain, where no two nodes can share an array operation, runs on the numpy
backend as one scalar tape; the python backend starts a big graph on a tape and
later compiles it, as parts it compiles one at a time. All must give eager's
numbers and eager's errors, and the tape the compiled code's numbers to the bit.
Time is measured by `bench/trace_size.py`, never here; memory is counted here
with tracemalloc, which does not depend on the machine's load.
"""

from __future__ import annotations

import gc
import math
import traceback
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings

from tinygrad_edu import Value, engine, trace
from tinygrad_edu.testing import expressions
from tinygrad_edu.tracing import python_backend

np = pytest.importorskip("numpy")
from tinygrad_edu.tracing.numpy_backend import ScalarRun  # noqa: E402 - needs numpy

BACKENDS = ("python", "numpy")


def chain(x: Value, links: int) -> Value:
    """The engine benchmark's chain: (x * 0.999 + 0.001).relu(), `links` times (3 nodes each)."""
    y = x
    for _ in range(links):
        y = (y * 0.999 + 0.001).relu()
    return y


def eager(build, leaves):
    """The root's value and each leaf's gradient, built and differentiated eagerly."""
    root = build()
    grads = engine.grad(root, leaves)
    return root.data, [g.data if isinstance(g, Value) else g for g in grads]


@pytest.fixture
def small_parts(monkeypatch):
    """The python backend writes any graph of more than 6 steps as parts of 5."""
    monkeypatch.setattr(python_backend, "ONE_FUNCTION_STEPS", 6)
    monkeypatch.setattr(python_backend, "PART_STEPS", 5)


def test_a_chain_is_one_scalar_run_on_numpy_and_replays_exactly_as_eager():
    x = Value(0.3)
    program = trace(lambda: chain(x, 1000), backend="numpy")
    # Before, each of its 2,000 groups was an array operation of one element.
    assert [type(op) for op in program.backend.operations] == [ScalarRun]
    for start in (0.3, -0.2, 5.0):  # -0.2: the relus are 0 until the + 0.001s add up
        x.data, x.grad = start, 0.0
        value = program()
        expected_value, (expected_grad,) = eager(lambda: chain(x, 1000), [x])
        assert value == expected_value  # the same float operations in the same order
        assert x.grad == expected_grad
    program.check()


def refuses_what_eager_refuses(backend: str, on_a_tape) -> None:
    """A log outside its domain: eager's error, in eager's words; an exp that overflows: "not
    finite", as numpy's arrays say it. `on_a_tape(program)` checks the tape is what ran."""
    x = Value(2.0)

    def logs():
        y = x
        for _ in range(50):
            y = (y * 0.5 + 1.0).log() + 1.0
        return y

    program = trace(logs, backend=backend)
    assert on_a_tape(program)
    x.data = -10.0  # the first log's operand is -4
    with pytest.raises(ValueError) as eager_error:
        logs()
    with pytest.raises(ValueError) as replay_error:
        program()
    assert str(eager_error.value) in str(replay_error.value)
    assert x.grad == 0.0

    z = Value(1.0)
    overflowing = trace(lambda: ((z * 2.0).exp() * 3.0).exp() * 1.0 + 1.0, backend=backend)
    assert on_a_tape(overflowing)
    z.data = 300.0  # exp(600) * 3 is fine, its exp overflows (eager: OverflowError)
    with pytest.raises(FloatingPointError, match="not finite"):
        overflowing()
    assert z.grad == 0.0


def test_a_scalar_run_refuses_what_eager_refuses_in_eager_words():
    refuses_what_eager_refuses(
        "numpy", lambda program: any(isinstance(op, ScalarRun)
                                     for op in program.backend.operations))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.function_scoped_fixture])
@given(expr=expressions())
def test_parts_and_scalar_runs_equal_eager_on_random_graphs(backend, expr, small_parts):
    leaves = [Value(x, label=name) for x, name in zip(expr.inputs, expr.input_names)]
    root = expr(*leaves)
    expected_value, expected = eager(lambda: root, leaves)
    program = trace(lambda: (root, [root]), backend=backend)
    if backend == "python" and len(program) > 6:
        assert "def part_1(v, g):" in program.source
    value, (again,) = program()
    assert math.isclose(value, expected_value, rel_tol=1e-12, abs_tol=1e-12)
    assert again == value
    for leaf, grad in zip(leaves, expected):
        assert math.isclose(leaf.grad, grad, rel_tol=1e-12, abs_tol=1e-12), (leaf.label, grad)
    program.check()
    forward = trace(lambda: root, backend=backend, gradients=False)
    assert math.isclose(forward(), expected_value, rel_tol=1e-12, abs_tol=1e-12)


def test_parts_give_the_one_functions_numbers_to_the_bit(small_parts):
    # labels v and g would shadow the lists the parts pass numbers in: they are renamed
    a, b, c = Value(0.7, label="v"), Value(-1.3, label="g"), Value(2.0, label="x")

    def fn():
        t = (a * b + c).tanh()
        u = (t * a - b * 2.0).relu() + (c * t).sigmoid()
        return u * t + a * a, [t, u]

    parted = trace(fn)
    assert parted.source.count("def part_") >= 3
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(python_backend, "ONE_FUNCTION_STEPS", 10_000)
        whole = trace(fn)
    assert "def part_" not in whole.source
    for values in ((0.7, -1.3, 2.0), (-0.4, 0.2, 0.1), (1.5, 1.5, -3.0)):
        for leaf, number in zip((a, b, c), values):
            leaf.data = number
        first = parted.backend.run([leaf.data for leaf in parted.leaves])
        second = whole.backend.run([leaf.data for leaf in whole.leaves])
        assert first == second


def test_a_failure_inside_a_part_points_at_its_line_of_the_source(small_parts):
    x = Value(3.0)
    program = trace(lambda: ((x * 2.0 + 1.0).exp() * 0.5 + x).log() * x * x + x)
    assert "def part_1" in program.source
    x.data = -100.0  # log's operand is -100 + a tiny exp: outside its domain
    with pytest.raises(ValueError) as error:
        program.backend.run([x.data])
    frames = [frame for frame in traceback.extract_tb(error.value.__traceback__)
              if frame.filename.startswith("<trace")]
    assert frames, "the traceback goes through the generated source"
    line = program.source.splitlines()[frames[-1].lineno - 1]
    assert "domain_error(" in line and line.strip() == frames[-1].line


def traced_bytes_per_node(backend: str, links: int) -> float:
    """The peak of memory allocated while tracing a chain, per node of the chain."""
    x = Value(0.5)
    root = chain(x, links)
    gc.collect()
    tracemalloc.start()
    try:
        program = trace(lambda: root, backend=backend)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert program() == root.data
    return peak / (3 * links)


@pytest.mark.parametrize("backend, bound", [("python", 1_000), ("numpy", 1_000)])
def test_tracing_a_9000_node_chain_needs_bounded_memory_per_node(backend, bound):
    # Before: the python backend compiled one 18,000-line function, 8,155 bytes a node at its
    # peak; the numpy backend made an array operation per node, 1,444 bytes a node. Now the
    # python backend writes a tape (about 360 bytes a node) and numpy about 430.
    assert traced_bytes_per_node(backend, 3_000) < bound


def test_compiling_a_9000_node_chain_needs_bounded_memory_per_node():
    # The parts keep the compiler's peak from growing faster than the graph: about 1,600
    # bytes a node (one 18,000-line function: 8,155).
    x = Value(0.5)
    root = chain(x, 3_000)
    program = trace(lambda: root)
    assert not program.backend.compiled
    gc.collect()
    tracemalloc.start()
    try:
        program.backend.compile()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert program.backend.compiled
    assert peak / 9_000 < 3_000
    assert program() == root.data


@pytest.fixture
def tape_first(monkeypatch):
    """The python backend starts any graph of more than 6 steps on a tape."""
    monkeypatch.setattr(python_backend, "TAPE_STEPS", 6)


def bits(result) -> list[str]:
    """A backend's (value, extras, gradients) as exact bit patterns (the sign of a zero too)."""
    value, extras, grads = result
    return [float.hex(float(x)) for x in (value, *extras, *grads)]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.function_scoped_fixture])
@given(expr=expressions())
def test_the_tape_gives_the_compiled_codes_numbers_to_the_bit(expr, tape_first):
    leaves = [Value(x, label=name) for x, name in zip(expr.inputs, expr.input_names)]
    root = expr(*leaves)
    graph = set(engine.topological_order(root))
    extras = [root, *[leaf for leaf in leaves if leaf in graph][:1]]  # a node, a leaf
    for gradients in (True, False):
        program = trace(lambda: (root, extras), gradients=gradients)
        backend = program.backend
        data = [leaf.data for leaf in program.leaves]
        if len(program) <= 6:
            assert backend.compiled  # a small graph is compiled when traced
            continue
        assert not backend.compiled
        on_tape = backend.run(data)
        backend.compile()
        assert backend.compiled
        assert bits(backend.run(data)) == bits(on_tape)
        if gradients:
            expected_value, expected = eager(lambda: root, leaves)
            assert math.isclose(on_tape[0], expected_value, rel_tol=1e-12, abs_tol=1e-12)
            for leaf, grad in zip(leaves, expected):
                position = program.leaves.index(leaf)
                assert math.isclose(on_tape[2][position], grad, rel_tol=1e-12, abs_tol=1e-12)


def test_on_the_tape_a_replay_refuses_what_eager_refuses_in_eager_words(tape_first):
    refuses_what_eager_refuses("python", lambda program: not program.backend.compiled)

    # inf - inf is NaN, which relu would turn into 0: eager refuses the inf where it appears
    big = Value(1e-200)
    hidden = trace(lambda: ((big * 1e200) * 1e200 - (big * 1e200) * 1e200).relu() + big)
    assert not hidden.backend.compiled
    big.data = 1e10
    with pytest.raises(FloatingPointError, match="not finite"):
        hidden()
    assert big.grad == 0.0


def test_a_big_graph_is_compiled_once_its_tape_replays_took_as_long_as_compiling_would():
    x = Value(0.3)
    program = trace(lambda: chain(x, 2_000))  # 6,000 steps: more than TAPE_STEPS
    backend = program.backend
    assert len(program) > python_backend.TAPE_STEPS
    assert not backend.compiled and backend.compile_estimate > 0.0
    assert repr(program).endswith("backend 'python', on a tape until compiled>")
    assert "def part_1(v, g):" in program.source  # written when asked for, not compiled
    assert not backend.compiled
    expected_value, (expected_grad,) = eager(lambda: chain(x, 2_000), [x])
    calls, total = 0, 0.0
    while not backend.compiled:
        spent = backend.tape_seconds
        assert program() == expected_value
        calls, total = calls + 1, total + expected_grad
        assert x.grad == total  # eager's gradient, added once a call, exactly
        assert calls < 10_000
    assert calls > 1
    assert spent >= backend.compile_estimate  # the replays on the tape had paid for it
    assert backend.tape_seconds == spent  # the call that compiled ran the compiled code
    assert repr(program).endswith("backend 'python'>")
    assert program() == expected_value
    assert x.grad == total + expected_grad


def test_threads_calling_a_program_while_it_moves_from_tape_to_compiled_code(tape_first):
    from test_trace import call_from_threads

    from tinygrad_edu.nn import MLP

    model = MLP(2, [4, 4, 1], seed=1)
    points = [[0.1 * k, 1.0 - 0.05 * k] for k in range(8)]
    program = trace(lambda: engine.mean([model(x) * model(x) for x in points]))
    backend = program.backend
    program()
    once = [p.grad for p in model.parameters()]
    model.zero_grad()
    backend.compile_estimate = backend.tape_seconds * 30  # about 30 calls on the tape
    backend.tape_seconds = 0.0
    call_from_threads(program)  # 4 threads, 25 calls each
    assert backend.compiled
    # the tape and the compiled code add the same number: 100 of them, in any order, exactly
    total = [0.0] * len(once)
    for _ in range(100):
        total = [t + g for t, g in zip(total, once)]
    assert [p.grad for p in model.parameters()] == total


def test_the_size_benchmark_runs_as_the_readme_shows():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "trace_size.py"
    done = subprocess.run([sys.executable, str(script), "3000", "--repeats", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["python", "numpy"]
    assert all("3,000 nodes: trace" in line and "MB" in line for line in lines)


def test_without_scalar_runs_every_group_is_an_array_operation():
    from tinygrad_edu.tracing.numpy_backend import NumpyBackend
    from tinygrad_edu.tracing.recording import record

    x = Value(0.3)
    recording = record(chain(x, 20))
    backend = NumpyBackend(recording, scalar_runs=False)  # for a reader of each node's own op
    assert len(backend.operations) == 40 and not any(
        isinstance(op, ScalarRun) for op in backend.operations)
    value, _, grads = backend.run([0.3])
    expected_value, expected = eager(lambda: chain(x, 20), [x])
    assert math.isclose(value, expected_value, rel_tol=1e-12)
    assert math.isclose(grads[0], expected[0], rel_tol=1e-12)


def test_nodes_written_from_one_template_keep_their_own_numbers_and_names():
    # The python backend writes each shape of node once and fills in the names: the sign of
    # a zero, the side of a constant and a domain check's node number stay each node's own.
    x = Value(2.0, label="x")
    program = trace(lambda: (x * 0.0 + x * -0.0 + (3.0 - x) + (x - 3.0)
                             + (x + 1.0).log() + (x + 5.0).log()))
    source = program.source
    for line in ("x * 0.0", "x * -0.0", "3.0 - x", "x - 3.0"):
        assert line in source
    checks = [line for line in source.splitlines() if "domain_error(" in line]
    assert len(checks) == 2 and checks[0] != checks[1]
    x.data = -3.0  # x + 1.0 is -2: the first log refuses, naming its own operand
    with pytest.raises(ValueError, match="-2"):
        program()
