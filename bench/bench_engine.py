"""The engine benchmark: a 20,000-step chain `x = (x * 0.999 + 0.001).relu()`, against micrograd.

Both engines build the same chain in the same process; build and backward are
timed separately, and tracemalloc counts the bytes allocated per operation.
tinygrad_edu runs as users run it (the garbage collector on); micrograd runs
both as users run it and with its garbage collector disabled, the kindest
setting for it. micrograd's recursive topological sort cannot walk 20,000
levels at the default recursion limit, so its backward runs in a thread with
a large stack and a raised limit, only for this measurement.
"""

from __future__ import annotations

import gc
import statistics
import sys
import threading
import time
import tracemalloc
from typing import Callable

STEPS = 20_000
OPS_PER_STEP = 3  # *, +, relu


def build_chain(value_class: Callable, steps: int = STEPS):
    """The benchmark's graph: x = (x * 0.999 + 0.001).relu(), `steps` times."""
    x = value_class(0.5)
    for _ in range(steps):
        x = (x * 0.999 + 0.001).relu()
    return x


def time_build_and_backward(value_class: Callable, collector_on: bool) -> tuple[float, float]:
    """CPU seconds to build the chain and to run backward on it, with the collector on or off.

    CPU time of this process, not wall time: on a shared machine other processes'
    load then changes the numbers less.
    """
    gc.collect()
    if not collector_on:
        gc.disable()
    try:
        start = time.process_time()
        root = build_chain(value_class)
        built = time.process_time()
        root.backward()
        done = time.process_time()
    finally:
        gc.enable()
    del root
    gc.collect()  # micrograd's graph is a web of cycles: free it before the next run
    return built - start, done - built


def bytes_per_operation(value_class: Callable) -> float:
    """Bytes allocated per operation while building the chain (tracemalloc, collector off)."""
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        root = build_chain(value_class)
        allocated, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    del root
    gc.collect()
    return allocated / (STEPS * OPS_PER_STEP)


def median_times(value_class: Callable, collector_on: bool, repeats: int) -> tuple[float, float]:
    """Median build and backward seconds over `repeats` runs."""
    runs = [time_build_and_backward(value_class, collector_on) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def run_engine_benchmark(repeats: int = 7) -> dict:
    """Run the chain benchmark on both engines; the seconds, bytes and ratios as a dict."""
    from micrograd.engine import Value as MicrogradValue

    from tinygrad_edu import Value

    results: dict = {}

    def measure() -> None:
        ours = median_times(Value, True, repeats)
        micro_on = median_times(MicrogradValue, True, repeats)
        micro_off = median_times(MicrogradValue, False, repeats)
        results.update(
            ours_build=ours[0], ours_backward=ours[1],
            micrograd_build_gc_on=micro_on[0], micrograd_backward_gc_on=micro_on[1],
            micrograd_build_gc_off=micro_off[0], micrograd_backward_gc_off=micro_off[1],
            ours_bytes_per_op=bytes_per_operation(Value),
            micrograd_bytes_per_op=bytes_per_operation(MicrogradValue),
        )

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * STEPS * OPS_PER_STEP))
    threading.stack_size(512 * 1024 * 1024)
    try:
        worker = threading.Thread(target=measure)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(0)
        sys.setrecursionlimit(limit)
    results["build_speedup_vs_gc_on"] = results["micrograd_build_gc_on"] / results["ours_build"]
    results["build_speedup_vs_gc_off"] = results["micrograd_build_gc_off"] / results["ours_build"]
    results["backward_over_build"] = results["ours_backward"] / results["ours_build"]
    return results


def report(results: dict) -> list[str]:
    """Readable lines for the engine benchmark, with each target and whether it is met."""
    ops = STEPS * OPS_PER_STEP
    timings = ("ours_build", "ours_backward", "micrograd_build_gc_on", "micrograd_backward_gc_on",
               "micrograd_build_gc_off", "micrograd_backward_gc_off")
    per_op = {key: results[key] / ops * 1e6 for key in timings}
    return [
        f"chain of {STEPS:,} steps ({ops:,} operations), medians; CPU microseconds per operation:",
        f"  tinygrad_edu         build {per_op['ours_build']:.3f}   "
        f"backward {per_op['ours_backward']:.3f}",
        f"  micrograd (gc on)    build {per_op['micrograd_build_gc_on']:.3f}   "
        f"backward {per_op['micrograd_backward_gc_on']:.3f}",
        f"  micrograd (gc off)   build {per_op['micrograd_build_gc_off']:.3f}   "
        f"backward {per_op['micrograd_backward_gc_off']:.3f}",
        _target("build speed-up vs micrograd, gc on", results["build_speedup_vs_gc_on"], 10, "x"),
        _target("build speed-up vs micrograd, gc off", results["build_speedup_vs_gc_off"], 2, "x"),
        _target("backward time / build time", results["backward_over_build"], 1.0, "",
                higher_is_better=False),
        _target("bytes per operation", results["ours_bytes_per_op"], 200, " B",
                higher_is_better=False)
        + f"   (micrograd: {results['micrograd_bytes_per_op']:.0f} B)",
    ]


def _target(name: str, value: float, target: float, unit: str,
            higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    return f"  {name:<40} {value:8.2f}{unit}  target {sign} {target:g}{unit}  " \
           f"{'met' if met else 'NOT MET'}"
