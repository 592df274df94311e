"""`make bench`: tinygrad_edu against micrograd 0.1.0, the same workloads in one process.

Prints medians and the ratios the README quotes. Machines are shared and noisy:
run it a few times and compare medians, never a single number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

# One thread for every library, as the comparison with single-threaded PyTorch needs (see
# bench_trace.py); set before anything imports numpy or jax.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per measurement (median)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, "
          f"{platform.system()}; medians of {args.repeats} runs\n")
    results = {"engine": bench_engine.run_engine_benchmark(args.repeats)}
    print("\n".join(bench_engine.report(results["engine"])))
    try:
        import bench_training
    except ImportError:
        bench_training = None
    if bench_training is not None:
        print()
        results["training"] = bench_training.run_training_benchmark(args.repeats)
        print("\n".join(bench_training.report(results["training"])))
    try:
        import bench_trace
    except ImportError:
        bench_trace = None
    if bench_trace is not None:
        results["trace"] = bench_trace.run_trace_benchmark(args.repeats)
        print("\n".join(bench_trace.report(results["trace"])))
    try:
        import bench_film
    except ImportError:
        bench_film = None
    if bench_film is not None:
        results["film"] = bench_film.run_film_benchmark(args.repeats)
        print("\n".join(bench_film.report(results["film"])))
    try:
        import numpy  # noqa: F401 - the big run measures the numpy paths
    except ImportError:
        numpy = None
    if numpy is not None:
        import trace_size

        results["trace_size"] = trace_size.run_trace_size_benchmark(args.repeats)
        print("\n".join(trace_size.report_all(results["trace_size"])))
        import bench_big_train

        results["big_train"] = bench_big_train.run_big_train_benchmark()
        print("\n".join(bench_big_train.report(results["big_train"])))
    try:
        import bench_playground
    except ImportError:
        bench_playground = None
    if bench_playground is not None:
        results["playground"] = bench_playground.run_playground_benchmark(args.repeats)
        print("\n".join(bench_playground.report(results["playground"])))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
