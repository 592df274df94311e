"""How tracing grows with the graph: a chain `x = (x * 0.999 + 0.001).relu()` of N nodes.

    python bench/trace_size.py 100000

Prints, for each backend, the CPU seconds to trace and compile, to replay once, and the
seconds eager `backward()` takes on the same graph, with the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import time

from tinygrad_edu import Value, trace


def measure(nodes: int, backend: str) -> str:
    x = Value(0.5)
    y = x
    for _ in range(nodes // 3):
        y = (y * 0.999 + 0.001).relu()
    root = y
    start = time.process_time()
    program = trace(lambda: root, backend=backend)
    traced = time.process_time()
    program()
    replayed = time.process_time()
    root.backward()
    done = time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"{backend:>6}: {nodes:,} nodes, trace {traced - start:.2f} s, replay "
            f"{replayed - traced:.3f} s, eager backward {done - replayed:.3f} s, "
            f"peak memory of the process so far {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nodes", type=int, nargs="?", default=100_000)
    parser.add_argument("--backend", choices=("python", "numpy"), action="append")
    args = parser.parse_args()
    for backend in args.backend or ("python", "numpy"):
        print(measure(args.nodes, backend))


if __name__ == "__main__":
    main()
