"""How tracing grows with the graph: a chain `x = (x * 0.999 + 0.001).relu()` of N nodes.

    python bench/trace_size.py 100000
    python bench/trace_size.py 1000000 --backend numpy --repeats 3

Each measurement runs in a fresh process, so that the peak memory is that of one
graph and one trace. It builds the chain eagerly, traces it (the CPU seconds of
`trace()`), replays it twice, and runs eager `backward()` on the same graph.
Prints the medians of the repeats: the trace's seconds, the process's peak
resident memory after tracing (and what the graph alone held), one replay
against eager build + backward (what a replay stands for). The python backend
starts a big graph on a tape: its compile (and the peak memory after it) and a
compiled replay are measured too.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """This process's peak resident memory. Linux's ru_maxrss starts at the parent's size at
    the fork (make bench's process is large by then), so the kernel's VmHWM is read first."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_once(nodes: int, backend: str) -> dict:
    """One measurement, in this process (call it in a fresh one: see measure)."""
    from tinygrad_edu import Value, trace

    if backend == "numpy":
        import numpy  # noqa: F401 - imported before the graph, as a user's program would
    start = time.process_time()
    y = Value(0.5)
    for _ in range(nodes // 3):
        y = (y * 0.999 + 0.001).relu()
    built = time.process_time()
    graph_mb = _resident_mb()
    program = trace(lambda: y, backend=backend)
    traced = time.process_time()
    peak_mb = _peak_mb()
    replays = []
    for _ in range(2):
        before = time.process_time()
        program()
        replays.append(time.process_time() - before)
    before = time.process_time()
    y.backward()
    backward = time.process_time() - before
    result = {"build": built - start, "trace": traced - built, "replay": min(replays),
              "backward": backward, "graph_mb": graph_mb, "peak_mb": peak_mb}
    if backend == "python" and not program.backend.compiled:  # a big graph starts on a tape
        before = time.process_time()
        program.backend.compile()
        result["compile"] = time.process_time() - before
        result["compiled_peak_mb"] = _peak_mb()
        compiled = []
        for _ in range(2):
            before = time.process_time()
            program()
            compiled.append(time.process_time() - before)
        result["compiled_replay"] = min(compiled)
        # replays on the tape before it compiles itself (PythonBackend.run)
        result["tape_replays"] = program.backend.compile_estimate / result["replay"]
    return result


def measure(nodes: int, backend: str, repeats: int) -> dict:
    """Medians of `repeats` measurements, each in a fresh Python process."""
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, __file__, str(nodes), "--backend", backend,
                               "--once"], capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def report(nodes: int, backend: str, result: dict) -> str:
    eager = result["build"] + result["backward"]
    return (f"{backend:>6}: {nodes:,} nodes: trace {result['trace']:.2f} s, peak "
            f"{result['peak_mb']:.0f} MB (the graph alone {result['graph_mb']:.0f} MB); replay "
            f"{result['replay']:.3f} s, eager build + backward {eager:.3f} s "
            f"({result['build']:.3f} + {result['backward']:.3f}): the replay takes "
            f"{result['replay'] / eager:.2f}x eager's time"
            + ("" if "compile" not in result else
               f"; on a tape until about replay {result['tape_replays']:.0f}, then compiled in "
               f"{result['compile']:.2f} s (peak {result['compiled_peak_mb']:.0f} MB), a "
               f"compiled replay {result['compiled_replay']:.3f} s"))


def run_trace_size_benchmark(repeats: int) -> dict:
    """make bench's rows: the 100,000-node chain on both backends, the 1,000,000 on numpy."""
    results = {}
    for nodes, backend in ((100_000, "python"), (100_000, "numpy"), (1_000_000, "numpy")):
        results[f"{backend} {nodes}"] = measure(nodes, backend, min(repeats, 3))
    return results


def report_all(results: dict) -> list[str]:
    lines = ["", "Tracing a chain (x * 0.999 + 0.001).relu(), each run in a fresh process:"]
    for key, result in results.items():
        backend, nodes = key.split()
        lines.append("  " + report(int(nodes), backend, result))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nodes", type=int, nargs="?", default=100_000)
    parser.add_argument("--backend", choices=("python", "numpy"), action="append")
    parser.add_argument("--repeats", type=int, default=3, help="runs per backend (median)")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(measure_once(args.nodes, args.backend[0])))
        return
    for backend in args.backend or ("python", "numpy"):
        print(report(args.nodes, backend, measure(args.nodes, backend, args.repeats)))


if __name__ == "__main__":
    main()
