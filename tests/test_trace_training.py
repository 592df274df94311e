"""Training programs: trace(fn, optimizer=opt) runs forward, backward and opt's update per call.

Every test trains a twin model eagerly (zero_grad, backward, step) from the
same seed on the same batches, and compares parameters, losses and the
optimizer's state to 1e-9 relative.
"""

from __future__ import annotations

import random

import pytest

from tinygrad_edu import Value, engine, trace
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD, Adam
from tinygrad_edu.train import fit

BACKENDS = ["python", pytest.param("numpy", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("numpy") is None, reason="numpy is not installed"))]

OPTIMIZERS = {
    "sgd": lambda params: SGD(params, lr=0.05),
    "sgd momentum decay": lambda params: SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "adam": lambda params: Adam(params, lr=0.01),
}


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12


def all_close(xs, ys) -> bool:
    xs, ys = list(xs), list(ys)
    return len(xs) == len(ys) and all(close(a, b) for a, b in zip(xs, ys))


def batches(classes: int, size: int, count: int, seed: int = 0):
    rng = random.Random(seed)
    return [([[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(size)],
             [rng.randrange(classes) for _ in range(size)]) for _ in range(count)]


class Demo:
    """micrograd's demo: MLP(2, [16, 16, 1]), hinge loss with labels ±1, an L2 penalty."""

    classes = 2

    def __init__(self) -> None:
        self.model = MLP(2, [16, 16, 1], seed=0)

    def loss(self, xs, ys) -> Value:
        scores = [self.model(x) for x in xs]
        losses = [(1 + -y * score).relu() for y, score in zip(ys, scores)]
        reg = 1e-4 * sum(p * p for p in self.model.parameters())
        return sum(losses) * (1.0 / len(losses)) + reg

    def targets(self, labels):
        return [2.0 * t - 1.0 for t in labels]

    def placeholders(self, size):
        return [Value(0.0) for _ in range(size)]


class Softmax:
    """A softmax classifier of three classes: MLP(2, [8, 3]), cross-entropy on one-hot targets."""

    classes = 3

    def __init__(self) -> None:
        self.model = MLP(2, [8, 3], seed=1)

    def loss(self, xs, ys) -> Value:
        return engine.mean([cross_entropy(self.model(x), y) for x, y in zip(xs, ys)])

    def targets(self, labels):
        return [[1.0 if c == t else 0.0 for c in range(3)] for t in labels]

    def placeholders(self, size):
        return [[Value(0.0) for _ in range(3)] for _ in range(size)]


def eager_step(net, optimizer, X, labels) -> float:
    xs = [[Value(a) for a in row] for row in X]
    ys = net.targets(labels)
    ys = [[Value(c) for c in row] for row in ys] if isinstance(ys[0], list) else ys
    loss = net.loss(xs, ys)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.data


def compiled(net, optimizer, size: int, backend: str):
    xs = [[Value(0.0), Value(0.0)] for _ in range(size)]
    ys = net.placeholders(size)
    program = trace(lambda: net.loss(xs, ys), backend=backend, optimizer=optimizer)

    def step(X, labels) -> float:
        program.feed(xs, X)
        program.feed(ys, net.targets(labels))
        return program()

    return program, step


def state_of(optimizer) -> list[float]:
    if isinstance(optimizer, Adam):
        return [*optimizer.m, *optimizer.v, optimizer.steps]
    return list(optimizer.velocities or [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("make", [Demo, Softmax], ids=["demo mlp", "softmax"])
def test_fifty_compiled_steps_equal_fifty_eager_steps(make, name, backend):
    eager, traced = make(), make()
    eager_opt = OPTIMIZERS[name](eager.model.parameters())
    traced_opt = OPTIMIZERS[name](traced.model.parameters())
    program, step = compiled(traced, traced_opt, 8, backend)
    for X, labels in batches(make.classes, 8, 50):
        assert close(step(X, labels), eager_step(eager, eager_opt, X, labels))
    program.sync()
    assert all_close([p.data for p in traced.model.parameters()],
                     [p.data for p in eager.model.parameters()])
    assert all_close([p.grad for p in traced.model.parameters()],
                     [p.grad for p in eager.model.parameters()])
    assert all_close(state_of(traced_opt), state_of(eager_opt))
    # and they moved: the comparison is not of two untouched models
    assert not all_close([p.data for p in traced.model.parameters()],
                         [p.data for p in make().model.parameters()])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["sgd momentum decay", "adam"])
def test_an_lr_schedule_set_between_calls_is_followed(name, backend):
    eager, traced = Demo(), Demo()
    eager_opt = OPTIMIZERS[name](eager.model.parameters())
    traced_opt = OPTIMIZERS[name](traced.model.parameters())
    program, step = compiled(traced, traced_opt, 6, backend)
    for k, (X, labels) in enumerate(batches(2, 6, 20, seed=3)):
        eager_opt.lr = traced_opt.lr = 0.1 * (1.0 - 0.9 * k / 20)  # micrograd's schedule
        assert close(step(X, labels), eager_step(eager, eager_opt, X, labels))
    program.sync()
    assert all_close([p.data for p in traced.model.parameters()],
                     [p.data for p in eager.model.parameters()])


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_are_stale_between_calls_and_exact_after_sync(backend):
    eager, traced = Demo(), Demo()
    eager_opt, traced_opt = SGD(eager.model.parameters(), lr=0.1), \
        SGD(traced.model.parameters(), lr=0.1)
    start = [p.data for p in traced.model.parameters()]
    program, step = compiled(traced, traced_opt, 4, backend)
    for X, labels in batches(2, 4, 3, seed=5):
        step(X, labels)
        eager_step(eager, eager_opt, X, labels)
        assert [p.data for p in traced.model.parameters()] == start  # stale: the last sync
    program.sync()
    assert all_close([p.data for p in traced.model.parameters()],
                     [p.data for p in eager.model.parameters()])
    program.sync()  # twice is once
    assert all_close([p.data for p in traced.model.parameters()],
                     [p.data for p in eager.model.parameters()])


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_syncs_and_compares_the_current_parameters(backend):
    net = Demo()
    opt = Adam(net.model.parameters(), lr=0.05)
    program, step = compiled(net, opt, 4, backend)
    for X, labels in batches(2, 4, 3, seed=6):
        step(X, labels)
    program.check()  # would raise if the replay ran at other parameters than the Values hold
    assert opt.steps == 3


def test_an_optimizer_of_another_kind_is_refused():
    class Mine(SGD):
        pass

    model = MLP(2, [1], seed=0)
    x = [Value(1.0), Value(2.0)]
    with pytest.raises(TypeError, match="optimizer must be"):
        trace(lambda: model(x), optimizer=object())
    trace(lambda: model(x), optimizer=Mine(model.parameters(), lr=0.1))  # a subclass is an SGD


def test_sync_on_a_program_without_optimizer_is_refused():
    model = MLP(2, [1], seed=0)
    x = [Value(1.0), Value(2.0)]
    with pytest.raises(ValueError, match="holds no parameters"):
        trace(lambda: model(x)).sync()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_non_finite_input_changes_no_parameter(backend):
    net = Demo()
    opt = SGD(net.model.parameters(), lr=0.1)
    program, step = compiled(net, opt, 2, backend)
    step([[1.0, 2.0], [0.5, -1.0]], [1, 0])
    program.sync()
    before = [p.data for p in net.model.parameters()]
    program.leaves[program.training.input_slots[0]].data = float("inf")
    with pytest.raises(ValueError, match="finite"):
        program()
    program.sync()
    assert [p.data for p in net.model.parameters()] == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_parameter_outside_the_graph_moves_as_in_eager_training(backend):
    used, unused = Value(0.5), Value(2.0)
    twins = Value(0.5), Value(2.0)
    x = Value(3.0)
    opt = SGD([used, unused], lr=0.1, momentum=0.5, weight_decay=0.1)
    eager_opt = SGD(list(twins), lr=0.1, momentum=0.5, weight_decay=0.1)
    program = trace(lambda: used * x, backend=backend, optimizer=opt)
    for _ in range(3):
        program()
        eager_opt.zero_grad()
        (twins[0] * x).backward()
        eager_opt.step()
    program.sync()
    assert all_close([used.data, unused.data], [t.data for t in twins])


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_in_fit_compile_leaves_the_model_synced(backend, monkeypatch):
    from tinygrad_edu import train

    rng = random.Random(0)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(20)]
    y = [int(a * b > 0) for a, b in X]
    eager, traced = MLP(2, [4, 1], seed=3), MLP(2, [4, 1], seed=3)
    done = fit(eager, X, y, Adam(eager.parameters(), lr=0.05), steps=4, batch_size=5,
               progress=False)
    original = train._CompiledStep.step
    calls = []

    def interrupted_after_four(self, *args, **kwargs):
        result = original(self, *args, **kwargs)  # the step's update is done ...
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # ... and Ctrl-C comes before fit syncs for anyone
        return result

    monkeypatch.setattr(train._CompiledStep, "step", interrupted_after_four)
    history = fit(traced, X, y, Adam(traced.parameters(), lr=0.05), steps=10, batch_size=5,
                  progress=False, compile=backend)
    assert history.interrupted and history.steps == 3 and all_close(history.losses,
                                                                    done.losses[:3])
    assert all_close([p.data for p in traced.parameters()], [p.data for p in eager.parameters()])


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_callbacks_see_the_trained_numbers(backend):
    rng = random.Random(1)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(12)]
    y = [int(a > b) for a, b in X]
    seen: dict[str, list] = {"eager": [], "compiled": []}
    for kind, compile_ in (("eager", False), ("compiled", backend)):
        model = MLP(2, [4, 1], seed=2)
        fit(model, X, y, SGD(model.parameters(), lr=0.2, momentum=0.9), steps=5,
            progress=False, compile=compile_,
            callback=lambda step, loss, acc, model=model, kind=kind: seen[kind].append(
                [p.data for p in model.parameters()]))
    assert len(seen["compiled"]) == 5
    for a, b in zip(seen["compiled"], seen["eager"]):
        assert all_close(a, b)
