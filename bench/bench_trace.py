"""Traced training against eager, PyTorch and JAX jit: micrograd's demo and a bigger net.

The workload is micrograd's demo step (see bench_training.py): 100 two-moons
points, `MLP(2, [16, 16, 1])`, SVM loss plus 1e-4 L2, full-batch SGD. The
traced step is the demo's loop with `loss.backward()` replaced by a program
traced once from the same loss function: `model.zero_grad()`, `program()`,
then the same SGD update on every parameter's `.data`. The bigger net is the
same with 256 points and `MLP(2, [64, 64, 1])` (the numpy backend only: the
python backend would compile a million lines, and eager takes seconds a step).

PyTorch runs vectorized with one thread; JAX runs the same vectorized step
under jax.jit in float64, on one thread (XLA_FLAGS below, unless you set
them), timed in steady state and, separately, its first call (tracing and
compiling). Each is skipped with a note when it is not installed. All times are
CPU time (time.process_time), medians of the repeats; a step is one forward,
backward and SGD update over the whole batch.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Callable

# Everyone on one thread, as PyTorch with set_num_threads(1): JAX's XLA, and the BLAS under
# numpy (OpenBLAS's idle threads spin, and on a busy 2-core machine that spinning alone cost
# the bigger net 30x in CPU time). Set before numpy and jax are imported; values you set
# yourself are kept.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from bench_training import (  # noqa: E402
    _timed,
    _torch_step_seconds,
    demo_loss,
    demo_steps,
    moons,
    not_installed,
)

STEPS = 20  # timed steps per repeat of a traced program (a step is well under a millisecond)
EAGER_STEPS = 3
TARGET_PYTHON_VS_EAGER = 4.0  # the python backend, per step
TARGET_NUMPY_VS_TORCH = 3.5  # the numpy backend on the demo, per step
TARGET_TRACE_SECONDS = 0.1  # trace + compile of the numpy backend on the demo
TARGET_BIG_VS_TORCH = 1.0  # the numpy backend on the bigger net: no slower than PyTorch
# The training program (trace(..., optimizer=...): parameters and SGD inside the program).
TARGET_PROGRAM_DEMO_VS_TORCH = 3.5
TARGET_PROGRAM_BIG_VS_TORCH = 1.5
TARGET_BIG_TRACE_SECONDS = 0.3  # trace + compile of the bigger net's training program
TARGET_FORWARD_SECONDS = 2.0  # outputs_of on 1,000,000 points, MLP(2, [16, 16, 1])
FORWARD_POINTS = 1_000_000


def traced_steps(program: Callable[[], float], model, steps: int) -> list[float]:
    """The demo's loop with the traced program in place of rebuilding the graph and backward()."""
    parameters = model.parameters()
    history = []
    for k in range(steps):
        model.zero_grad()
        total_loss = program()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in parameters:
            p.data -= learning_rate * p.grad
        history.append(total_loss)
    return history


def training_program_steps(program: Callable[[], float], optimizer, steps: int) -> list[float]:
    """The demo's loop as one training program: the lr schedule set on the optimizer, then
    program() does forward, backward and the SGD update on the parameters it holds."""
    history = []
    for k in range(steps):
        optimizer.lr = 1.0 - 0.9 * k / 100
        history.append(program())
    return history


def _training_program(loss: Callable, model, backend: str, restart: Callable[[], None],
                      repeats: int) -> tuple:
    """(CPU, wall, losses, trace + compile seconds) of the training program, medians."""
    from tinygrad_edu import trace
    from tinygrad_edu.optim import SGD

    times, program, optimizer = [], None, None
    for _ in range(max(1, repeats // 2)):
        restart()
        optimizer = SGD(model.parameters(), lr=1.0)
        start = time.process_time()
        # compiled up front, as fit() does for a long run: the steps timed are compiled ones
        program = trace(loss, backend=backend, optimizer=optimizer).compile()
        times.append(time.process_time() - start)

    def restart_program() -> None:  # the program's own parameters back to the initial ones
        restart()
        program.training.load()

    timing = _median_times(lambda: training_program_steps(program, optimizer, STEPS),
                           restart_program, repeats, STEPS)
    return timing + (statistics.median(times),)


def _forward_seconds(repeats: int) -> dict:
    """outputs_of on FORWARD_POINTS points through MLP(2, [16, 16, 1]), and the Value graphs'
    seconds per point (measured on 2,000 points)."""
    import tinygrad_edu.nn
    from tinygrad_edu.train import outputs_of

    rng = random.Random(0)
    points = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(FORWARD_POINTS)]
    model = tinygrad_edu.nn.MLP(2, [16, 16, 1], seed=0)
    times = []
    for _ in range(max(1, repeats // 2)):
        start = time.process_time()
        outputs = outputs_of(model, points)
        times.append(time.process_time() - start)
    sample = points[:2000]
    start = time.process_time()
    graphs = [model(x).data for x in sample]
    per_point = (time.process_time() - start) / len(sample)
    difference = max(abs(a - b) for a, b in zip(outputs, graphs))
    if difference > 1e-9:
        raise AssertionError(f"the forward program disagrees with the graphs by {difference:g}")
    return {"points": FORWARD_POINTS, "cpu": statistics.median(times),
            "graphs_per_point": per_point}


def _workload(n_samples: int, sizes: tuple[int, ...]):
    """Data, a model with micrograd's seeded weights, and a way to put them back."""
    import tinygrad_edu.nn

    X, y = moons(seed=0, n_samples=n_samples)
    random.seed(1337)
    model = tinygrad_edu.nn.MLP(sizes[0], list(sizes[1:]))
    initial = [p.data for p in model.parameters()]

    def restart() -> None:
        for p, data in zip(model.parameters(), initial):
            p.data = data

    return X, y, model, initial, restart


def _median_times(run: Callable[[], list[float]], restart: Callable[[], None], repeats: int,
                  steps: int) -> tuple[float, float, list[float]]:
    cpu_times, wall_times, losses = [], [], []
    for _ in range(repeats):
        restart()
        cpu, wall, losses = _timed(run, collector_on=True, steps=steps)
        cpu_times.append(cpu)
        wall_times.append(wall)
    return statistics.median(cpu_times), statistics.median(wall_times), losses


def _trace_seconds(loss: Callable, backend: str, repeats: int) -> tuple[float, Callable]:
    """Median CPU seconds of trace(loss, backend) (calling loss once, recording, compiling)."""
    from tinygrad_edu import trace

    times, program = [], None
    for _ in range(repeats):
        start = time.process_time()
        program = trace(loss, backend=backend).compile()  # the python backend: now, not later
        times.append(time.process_time() - start)
    return statistics.median(times), program


def _jax_seconds(X, y, initial: list[float], sizes: tuple[int, ...], repeats: int,
                 steps: int) -> dict:
    """The vectorized step under jax.jit: steady-state seconds per step, and the first call."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    inputs, targets = jnp.asarray(X, dtype=jnp.float64), jnp.asarray(y, dtype=jnp.float64)

    def build() -> list:
        layers, i = [], 0
        for nin, nout in zip(sizes, sizes[1:]):
            rows = [initial[i + j * (nin + 1): i + (j + 1) * (nin + 1)] for j in range(nout)]
            weight = jnp.asarray([row[:nin] for row in rows], dtype=jnp.float64)
            bias = jnp.asarray([row[nin] for row in rows], dtype=jnp.float64)
            layers.append((weight, bias))
            i += nout * (nin + 1)
        return layers

    def loss_fn(layers):
        h = inputs
        for n, (weight, bias) in enumerate(layers):
            h = h @ weight.T + bias
            if n < len(layers) - 1:
                h = jax.nn.relu(h)
        data_loss = jnp.mean(jax.nn.relu(1 - targets * h[:, 0]))
        reg_loss = 1e-4 * sum(jnp.sum(w * w) + jnp.sum(b * b) for w, b in layers)
        return data_loss + reg_loss

    @jax.jit
    def step(layers, learning_rate):
        loss, grads = jax.value_and_grad(loss_fn)(layers)
        new = [(w - learning_rate * gw, b - learning_rate * gb)
               for (w, b), (gw, gb) in zip(layers, grads)]
        return new, loss

    def run(layers) -> list[float]:
        history = []
        for k in range(steps):
            layers, loss = step(layers, 1.0 - 0.9 * k / 100)
            history.append(loss)
        return [float(loss) for loss in history]  # waits for the last step

    start_cpu, start_wall = time.process_time(), time.perf_counter()
    jax.block_until_ready(step(build(), 1.0))  # the first call traces and compiles
    first_cpu, first_wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    cpu, wall, losses = _median_times(lambda: run(build()), lambda: None, repeats, steps)
    return {"version": jax.__version__, "cpu": cpu, "wall": wall, "losses": losses,
            "first_call_cpu": first_cpu, "first_call_wall": first_wall}


def _optional(name: str, measure: Callable[[], dict]) -> dict:
    """Run `measure` if `name` can be imported, else say why it was skipped."""
    try:
        __import__(name)
    except ImportError:
        return {"skipped": not_installed(name)}
    return measure()


def run_trace_benchmark(repeats: int = 5) -> dict:
    """Time the demo step eager, traced (python, numpy), in PyTorch and JAX; then the bigger net."""
    import numpy  # noqa: F401 - imported once here, so trace times do not include it

    import tinygrad_edu

    X, y, model, initial, restart = _workload(100, (2, 16, 16, 1))
    loss = lambda: demo_loss(tinygrad_edu.Value, model, X, y)[0]  # noqa: E731
    demo: dict = {"workload": "micrograd demo: 100 moons, MLP(2, [16, 16, 1]), "
                              "SVM loss + 1e-4 L2, SGD"}
    demo["eager"] = _median_times(lambda: demo_steps(tinygrad_edu.Value, model, X, y, EAGER_STEPS),
                                  restart, repeats, EAGER_STEPS)
    for backend in ("python", "numpy"):
        restart()
        seconds, program = _trace_seconds(loss, backend, 3 if backend == "python" else repeats)
        timing = _median_times(lambda p=program: traced_steps(p, model, STEPS), restart,
                               repeats, STEPS)
        demo[backend] = timing + (seconds,)
    # The same steps: a traced program must give the eager losses.
    eager_losses = demo["eager"][2]
    for backend in ("python", "numpy"):
        difference = max(abs(a - b) for a, b in zip(eager_losses, demo[backend][2]))
        if difference > 1e-9:
            raise AssertionError(f"the {backend} trace disagrees with eager by {difference:g}")
    for backend in ("python", "numpy"):
        demo[f"program {backend}"] = _training_program(loss, model, backend, restart, repeats)
        difference = max(abs(a - b) for a, b in zip(eager_losses, demo[f"program {backend}"][2]))
        if difference > 1e-9:
            raise AssertionError(f"the {backend} training program disagrees with eager by "
                                 f"{difference:g}")
    demo["torch"] = _optional("torch", lambda: _torch_step_seconds(X, y, initial, repeats,
                                                                   steps=STEPS))
    demo["jax"] = _optional("jax", lambda: _jax_seconds(X, y, initial, (2, 16, 16, 1),
                                                        repeats, STEPS))

    sizes = (2, 64, 64, 1)
    X, y, model, initial, restart = _workload(256, sizes)
    loss = lambda: demo_loss(tinygrad_edu.Value, model, X, y)[0]  # noqa: E731
    big: dict = {"workload": "bigger net: 256 moons, MLP(2, [64, 64, 1]), same loss and SGD"}
    seconds, program = _trace_seconds(loss, "numpy", 1)
    big["numpy"] = _median_times(lambda: traced_steps(program, model, STEPS), restart,
                                 repeats, STEPS) + (seconds,)
    big["program numpy"] = _training_program(loss, model, "numpy", restart, repeats)
    big["torch"] = _optional("torch", lambda: _torch_step_seconds(X, y, initial, repeats,
                                                                  sizes=sizes, steps=STEPS))
    big["jax"] = _optional("jax", lambda: _jax_seconds(X, y, initial, sizes, repeats, STEPS))
    return {"repeats": repeats, "steps_per_repeat": STEPS, "demo": demo, "big": big,
            "forward": _forward_seconds(repeats)}


def _line(label: str, cpu: float, wall: float, note: str = "") -> str:
    return f"  {label:<44} {cpu * 1e3:9.3f} {wall * 1e3:9.3f}  {note}"


def _target(name: str, value: float, target: float) -> str:
    met = "met" if value >= target else f"NOT MET (short by {target / value:.2f}x)"
    return f"  {name:<52} {value:8.2f}x  target >= {target:g}x  {met}"


def report(results: dict) -> list[str]:
    """Readable lines: ms per step (CPU, wall), trace and compile times, ratios and targets."""
    lines = []
    for name in ("demo", "big"):
        part = results[name]
        lines += ["", part["workload"],
                  f"milliseconds per training step, median of {results['repeats']} runs:"
                  f"            CPU      wall"]
        reference = part.get("eager")
        if reference:
            lines.append(_line("tinygrad_edu eager (rebuild + backward)", *reference[:2]))
        for backend in ("python", "numpy", "program python", "program numpy"):
            if backend in part:
                cpu, wall, _, seconds = part[backend]
                what = (f"training program, {backend.split()[1]} backend"
                        if backend.startswith("program") else f"trace, {backend} backend")
                lines.append(_line(f"tinygrad_edu {what}", cpu, wall,
                                   f"(trace + compile {seconds:.3f} s CPU)"))
        torch_result, jax_result = part["torch"], part["jax"]
        if "skipped" in torch_result:
            lines.append(f"  PyTorch: skipped, {torch_result['skipped']}")
        else:
            lines.append(_line(f"PyTorch {torch_result['version']} vectorized, 1 thread",
                               torch_result["cpu"], torch_result["wall"]))
        if "skipped" in jax_result:
            lines.append(f"  JAX: skipped, {jax_result['skipped']}")
        else:
            lines.append(_line(f"JAX {jax_result['version']} jit, 1 thread", jax_result["cpu"],
                               jax_result["wall"], f"(first call {jax_result['first_call_cpu']:.3f}"
                                                   f" s CPU, {jax_result['first_call_wall']:.3f}"
                                                   f" s wall)"))
        numpy_cpu = part["numpy"][0]
        if reference:
            lines.append(_target("python backend vs eager", reference[0] / part["python"][0],
                                 TARGET_PYTHON_VS_EAGER))
            lines.append(f"  {'numpy backend vs eager':<52} {reference[0] / numpy_cpu:8.2f}x")
        if "skipped" not in torch_result:
            target = TARGET_NUMPY_VS_TORCH if name == "demo" else TARGET_BIG_VS_TORCH
            lines.append(_target("numpy backend vs PyTorch", torch_result["cpu"] / numpy_cpu,
                                 target))
        if "skipped" not in jax_result:
            lines.append(f"  {'numpy backend vs JAX jit (steady state)':<52} "
                         f"{jax_result['cpu'] / numpy_cpu:8.2f}x")
        program_cpu = part["program numpy"][0]
        if "skipped" not in torch_result:
            target = TARGET_PROGRAM_DEMO_VS_TORCH if name == "demo" else \
                TARGET_PROGRAM_BIG_VS_TORCH
            lines.append(_target("numpy training program vs PyTorch",
                                 torch_result["cpu"] / program_cpu, target))
        if "skipped" not in jax_result:
            lines.append(_target("numpy training program vs JAX jit (steady state)",
                                 jax_result["cpu"] / program_cpu, 1.0))
        if name == "big":
            seconds = part["program numpy"][3]
            met = "met" if seconds < TARGET_BIG_TRACE_SECONDS else \
                f"NOT MET ({seconds / TARGET_BIG_TRACE_SECONDS:.1f}x over)"
            lines.append(f"  {'numpy training program trace + compile, seconds':<52} "
                         f"{seconds:8.3f}   target < {TARGET_BIG_TRACE_SECONDS:g} s  {met}")
        if name == "demo":
            seconds = part["numpy"][3]
            met = "met" if seconds < TARGET_TRACE_SECONDS else "NOT MET"
            lines.append(f"  {'numpy trace + compile, seconds':<52} {seconds:8.3f}   "
                         f"target < {TARGET_TRACE_SECONDS:g} s  {met}")
    forward = results["forward"]
    met = "met" if forward["cpu"] < TARGET_FORWARD_SECONDS else "NOT MET"
    lines += ["", f"forward pass over {forward['points']:,} points, MLP(2, [16, 16, 1]), "
                  f"CPU seconds:",
              f"  {'outputs_of (forward-only program, numpy)':<52} {forward['cpu']:8.3f}   "
              f"target < {TARGET_FORWARD_SECONDS:g} s  {met}",
              f"  {'as Value graphs (from 2,000 points)':<52} "
              f"{forward['graphs_per_point'] * forward['points']:8.1f}"]
    return lines


if __name__ == "__main__":
    print("\n".join(report(run_trace_benchmark())))
