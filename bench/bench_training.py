"""micrograd's own demo, in both engines: seconds per training step of MLP(2, [16, 16, 1]).

The workload is micrograd's demo notebook: 100 two-moons points (noise 0.1),
`MLP(2, [16, 16, 1])`, the SVM max-margin loss plus 1e-4 L2 regularisation,
full-batch SGD with learning rate 1.0 - 0.9*k/100. `demo_steps` below is the
notebook's loop with the import swapped: plain Value arithmetic, the builtin
`sum`, `loss.backward()`, `p.data -= learning_rate * p.grad`. Both engines start
from the same weights (micrograd's, copied into ours) and must give the same
losses. tinygrad_edu runs as users run it (garbage collector on); micrograd
runs as users run it and with its collector disabled (gc.disable() around its
run only), the kindest setting for it. When PyTorch is importable, the same
workload runs vectorized (one 100 x 2 batch, one thread) for context.

Each run is timed twice: CPU time (time.process_time, the time this process
actually ran) and wall-clock time. The targets are judged on CPU time, because
on a shared machine the wall clock also counts the time other programs held the
cores; both are reported.
"""

from __future__ import annotations

import gc
import platform
import random
import statistics
import sys
import time
from typing import Callable

STEPS = 3  # timed steps per repeat: k = 0, 1, 2 of the demo's schedule
TARGET_VS_GC_ON = 40.0
TARGET_VS_GC_OFF = 5.0


def moons(seed: int = 0, n_samples: int = 100) -> tuple[list[list[float]], list[int]]:
    """The demo's data: 100 two-moons points with noise 0.1, labels -1/+1 as in the notebook."""
    from tinygrad_edu.data import make_moons

    X, y = make_moons(n_samples=n_samples, noise=0.1, seed=seed)
    return X, [yi * 2 - 1 for yi in y]  # make y be -1 or 1


def demo_loss(Value: Callable, model, X, y):
    """micrograd's demo loss, verbatim: the SVM max-margin loss plus L2, and the accuracy."""
    Xb, yb = X, y
    inputs = [list(map(Value, xrow)) for xrow in Xb]

    # forward the model to get scores
    scores = list(map(model, inputs))

    # svm "max-margin" loss
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss

    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


def demo_steps(Value: Callable, model, X, y, steps: int) -> list[float]:
    """micrograd's demo loop, verbatim but for `Value` being a parameter; the loss of each step."""
    history = []
    for k in range(steps):
        # forward
        total_loss, acc = demo_loss(Value, model, X, y)

        # backward
        model.zero_grad()
        total_loss.backward()

        # update (sgd)
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append(total_loss.data)
    return history


def _timed(run: Callable[[], list[float]], collector_on: bool,
           steps: int = STEPS) -> tuple[float, float, list[float]]:
    """CPU and wall seconds per step of `run()`, and its losses, with the collector on or off."""
    gc.collect()  # start every run from a clean heap
    if not collector_on:
        gc.disable()
    try:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        losses = run()
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    finally:
        gc.enable()
    gc.collect()  # micrograd's graphs are webs of cycles: free them before the next run
    return cpu / steps, wall / steps, losses


def _torch_step_seconds(X, y, initial: list[float], repeats: int,
                        sizes: tuple[int, ...] = (2, 16, 16, 1), steps: int = STEPS) -> dict:
    """The same workload vectorized in PyTorch, from the same weights; seconds per step."""
    import torch

    inputs = torch.tensor(X, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64)

    def build() -> list[tuple[torch.Tensor, torch.Tensor]]:
        # micrograd's parameter order: neuron by neuron, its weights then its bias
        layers, i = [], 0
        for nin, nout in zip(sizes, sizes[1:]):
            weight = torch.zeros(nout, nin, dtype=torch.float64)
            bias = torch.zeros(nout, dtype=torch.float64)
            for j in range(nout):
                weight[j] = torch.tensor(initial[i:i + nin], dtype=torch.float64)
                bias[j] = initial[i + nin]
                i += nin + 1
            layers.append((weight.requires_grad_(), bias.requires_grad_()))
        return layers

    def run(layers) -> list[float]:
        params = [t for layer in layers for t in layer]
        history = []
        for k in range(steps):
            h = inputs
            for n, (weight, bias) in enumerate(layers):
                h = h @ weight.T + bias
                if n < len(layers) - 1:
                    h = h.relu()
            scores = h[:, 0]
            data_loss = (1 - targets * scores).relu().mean()
            reg_loss = 1e-4 * sum((p * p).sum() for p in params)
            total_loss = data_loss + reg_loss
            for p in params:
                p.grad = None
            total_loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= (1.0 - 0.9 * k / 100) * p.grad
            history.append(total_loss.item())
        return history

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the fair comparison with a single-threaded Python engine
    cpu_times, wall_times, losses = [], [], []
    try:
        for _ in range(repeats):
            layers = build()
            cpu, wall, losses = _timed(lambda layers=layers: run(layers), collector_on=True,
                                       steps=steps)
            cpu_times.append(cpu)
            wall_times.append(wall)
    finally:
        torch.set_num_threads(threads)
    return {"cpu": statistics.median(cpu_times), "wall": statistics.median(wall_times),
            "losses": losses, "version": torch.__version__}


def run_training_benchmark(repeats: int = 5) -> dict:
    """Time micrograd's demo in tinygrad_edu and micrograd 0.1.0 (collector on and off)."""
    try:
        import micrograd.engine
        import micrograd.nn
    except ImportError:
        raise ImportError("the training benchmark compares with micrograd 0.1.0: "
                          "pip install -e '.[bench]'") from None
    import tinygrad_edu
    import tinygrad_edu.nn

    X, y = moons(seed=0)
    random.seed(1337)  # as the notebook does, before building its model
    theirs = micrograd.nn.MLP(2, [16, 16, 1])
    ours = tinygrad_edu.nn.MLP(2, [16, 16, 1])
    initial = [p.data for p in theirs.parameters()]

    def restart(model) -> None:
        """Put back the initial weights, so every repeat runs the same steps."""
        for p, data in zip(model.parameters(), initial):
            p.data = data

    def run_ours() -> list[float]:
        return demo_steps(tinygrad_edu.Value, ours, X, y, STEPS)

    def run_theirs() -> list[float]:
        return demo_steps(micrograd.engine.Value, theirs, X, y, STEPS)

    names = ("ours", "micrograd_gc_on", "micrograd_gc_off")
    cpu_times: dict[str, list[float]] = {name: [] for name in names}
    wall_times: dict[str, list[float]] = {name: [] for name in names}
    losses: dict[str, list[float]] = {}
    for _ in range(repeats):
        for name, run, collector_on in (("ours", run_ours, True),
                                        ("micrograd_gc_on", run_theirs, True),
                                        ("micrograd_gc_off", run_theirs, False)):
            restart(ours if name == "ours" else theirs)
            cpu, wall, losses[name] = _timed(run, collector_on)
            cpu_times[name].append(cpu)
            wall_times[name].append(wall)

    # The same workload: both engines must compute the same losses, up to rounding
    # (a dot node sums in a different order than micrograd's chain of additions).
    difference = max(abs(a - b) for a, b in zip(losses["ours"], losses["micrograd_gc_on"]))
    if difference > 1e-9:
        raise AssertionError(f"the engines disagree on the demo's losses by {difference:g}: "
                             f"{losses['ours']} vs {losses['micrograd_gc_on']}")

    cpu = {name: statistics.median(values) for name, values in cpu_times.items()}
    wall = {name: statistics.median(values) for name, values in wall_times.items()}
    results = {
        "workload": "micrograd demo: 100 moons, MLP(2, [16, 16, 1]), SVM loss + 1e-4 L2, SGD",
        "repeats": repeats,
        "steps_per_repeat": STEPS,
        "parameters": len(initial),
        "losses": losses["ours"],
        "max_loss_difference": difference,
        "cpu_seconds_per_step": cpu,
        "wall_seconds_per_step": wall,
        "speedup_vs_micrograd_gc_on": cpu["micrograd_gc_on"] / cpu["ours"],
        "speedup_vs_micrograd_gc_off": cpu["micrograd_gc_off"] / cpu["ours"],
        "wall_speedup_vs_micrograd_gc_on": wall["micrograd_gc_on"] / wall["ours"],
        "wall_speedup_vs_micrograd_gc_off": wall["micrograd_gc_off"] / wall["ours"],
        "torch": None,
    }
    try:
        import torch  # noqa: F401
    except ImportError:
        results["torch"] = not_installed("torch")
    else:
        vectorized = _torch_step_seconds(X, y, initial, repeats)
        results["torch"] = {
            "version": vectorized["version"],
            "cpu_seconds_per_step": vectorized["cpu"],
            "wall_seconds_per_step": vectorized["wall"],
            "ours_over_torch": cpu["ours"] / vectorized["cpu"],
            "max_loss_difference": max(abs(a - b) for a, b in
                                       zip(losses["ours"], vectorized["losses"])),
        }
    return results


# The optional comparison subjects the bench extra brings, and the Python each needs (the
# markers in setup.cfg's bench extra; tests/test_packaging.py checks that they agree).
BENCH_EXTRA_NEEDS_PYTHON = {"torch": (3, 10), "jax": (3, 11)}


def not_installed(name: str) -> str:
    """Why `name` was skipped, and the command that installs it (or why none can here)."""
    major, minor = BENCH_EXTRA_NEEDS_PYTHON[name]
    if sys.version_info[:2] < (major, minor):
        return (f"{name} is not installed: the bench extra brings it on Python {major}.{minor}+, "
                f"and this is Python {platform.python_version()}")
    return f"{name} is not installed: make bench (or pip install -e '.[bench]') installs it"


def report(results: dict) -> list[str]:
    """Readable lines for the training benchmark, with each target and whether it is met."""
    cpu, wall = results["cpu_seconds_per_step"], results["wall_seconds_per_step"]
    lines = [
        f"{results['workload']}",
        f"milliseconds per training step, median of {results['repeats']} x "
        f"{results['steps_per_repeat']} steps:        CPU      wall",
    ]
    for name, label in (("ours", "tinygrad_edu"), ("micrograd_gc_on", "micrograd (gc on)"),
                        ("micrograd_gc_off", "micrograd (gc off)")):
        lines.append(f"  {label:<44} {cpu[name] * 1e3:9.2f} {wall[name] * 1e3:9.2f}")
    torch_result = results["torch"]
    if isinstance(torch_result, dict):
        label = f"PyTorch {torch_result['version']} (vectorized, 1 thread)"
        lines.append(f"  {label:<44} {torch_result['cpu_seconds_per_step'] * 1e3:9.2f} "
                     f"{torch_result['wall_seconds_per_step'] * 1e3:9.2f}")
    else:
        lines.append(f"  PyTorch (vectorized, for context): {torch_result}")
    lines += [
        f"  same losses in both engines: largest difference "
        f"{results['max_loss_difference']:.1e}",
        _target("speed-up vs micrograd, gc on (CPU)", results["speedup_vs_micrograd_gc_on"],
                TARGET_VS_GC_ON, results["wall_speedup_vs_micrograd_gc_on"]),
        _target("speed-up vs micrograd, gc off (CPU)", results["speedup_vs_micrograd_gc_off"],
                TARGET_VS_GC_OFF, results["wall_speedup_vs_micrograd_gc_off"]),
    ]
    return lines


def _target(name: str, value: float, target: float, wall: float) -> str:
    met = "met" if value >= target else "NOT MET"
    return f"  {name:<40} {value:8.2f}x  target >= {target:g}x  {met}   (wall clock: {wall:.1f}x)"


if __name__ == "__main__":
    print("\n".join(report(run_training_benchmark())))
