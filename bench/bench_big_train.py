"""`tinygrad-edu train` on a 1,000,000-row CSV: wall time and peak memory of the command.

The issue's workload: `--batch-size 32 --steps 10` on a million two-feature
points, with the σ(z) − y check run on every example before and after
training, the final evaluation over all of them, and the pictures. The CSV is
written to a temporary folder first (not timed); the command runs as its own
process, so its peak memory (the largest resident set of the children) is its own.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 1_000_000
TARGET_WALL_SECONDS = 30.0
TARGET_PEAK_MB = 500.0


def write_csv(path: Path, rows: int = ROWS, seed: int = 0) -> None:
    """x1,x2,label lines: uniform points in [-2, 2]², labelled by the sign of x1·x2."""
    rng = random.Random(seed)
    with path.open("w") as out:
        out.write("x1,x2,label\n")
        for _ in range(rows):
            a, b = rng.uniform(-2, 2), rng.uniform(-2, 2)
            out.write(f"{a:.6f},{b:.6f},{int(a * b > 0)}\n")


def measure(data: Path, out: Path) -> dict:
    """Run the command once as a child of this process: its wall seconds, peak MB and output.

    Called in a process of its own (see run_big_train_benchmark), so that the peak resident
    set of its children is the command's, not that of an earlier benchmark's child.
    """
    command = [sys.executable, "-m", "tinygrad_edu", "train", "--data", str(data),
               "--batch-size", "32", "--steps", "10", "--out", str(out)]
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise RuntimeError(f"train failed ({finished.returncode}): {finished.stderr[-2000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux
    checks = [line for line in finished.stdout.splitlines() if line.startswith("check")]
    return {"wall": wall, "peak_mb": peak_kb / 1024, "checks": checks}


def run_big_train_benchmark(rows: int = ROWS) -> dict:
    """Wall seconds and peak resident MB of one `train` run on `rows` rows."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "big.csv"
        write_csv(data, rows)
        finished = subprocess.run([sys.executable, __file__, "--measure", str(data),
                                   str(Path(folder) / "out")],
                                  capture_output=True, text=True, check=True)
    return {"rows": rows, **json.loads(finished.stdout)}


def report(result: dict) -> list[str]:
    wall_met = "met" if result["wall"] < TARGET_WALL_SECONDS else "NOT MET"
    memory_met = "met" if result["peak_mb"] < TARGET_PEAK_MB else "NOT MET"
    return ["", f"tinygrad-edu train --batch-size 32 --steps 10 on a {result['rows']:,}-row CSV "
                f"(σ(z) − y check on every example):",
            f"  {'wall seconds':<52} {result['wall']:8.1f}   target < {TARGET_WALL_SECONDS:g} s"
            f"  {wall_met}",
            f"  {'peak memory, MB':<52} {result['peak_mb']:8.0f}   target < {TARGET_PEAK_MB:g} MB"
            f"  {memory_met}",
            *(f"  {line}" for line in result["checks"])]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(Path(sys.argv[2]), Path(sys.argv[3]))))
    else:
        print("\n".join(report(run_big_train_benchmark())))
