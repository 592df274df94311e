"""The playground's speed: training steps and boundary frames per second, the issue's targets.

MLP(2, [8, 8, 1]) (tanh, Adam) on 200 two-moons points, full batch (the page's
default: 160 training points and 40 test points, so also 200 points with the
default test share 0), CPU time on one core:
  - steps per second of the playground's step (`Stepper`: fit's compiled step today);
  - frames per second of `Run.frame()`: the film's numbers of the model now (a
    2,500-point boundary grid, 16 neuron heatmaps, the points) and its loss and
    accuracy on the training and the test points;
  - what one browser gets, end to end: the play loop's request (train for 20 ms,
    then a frame) through the local server, in wall time, as frames and steps per
    second (the page's own drawing, ~5 ms a frame in Chromium, is not in it).
Targets: 30 steps/s and 10 frames/s.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time

TARGET_STEPS = 30.0
TARGET_FRAMES = 10.0
SETUP = {"data": "moons", "points": 200, "test": 0.0, "hidden": [8, 8], "activation": "tanh",
         "optimizer": "adam", "lr": 0.03, "batch": 0}


def _run():
    from tinygrad_edu.viz.playground_run import Run, check_setup

    return Run(check_setup(SETUP))


def _steps_per_second(steps: int = 200) -> float:
    run = _run()
    run.stepper.step()  # the first step is checked against an eager rebuild, as in fit
    start = time.process_time()
    for _ in range(steps):
        run.stepper.step()
    return steps / (time.process_time() - start)


def _frames_per_second(frames: int = 50) -> float:
    run = _run()
    run.train(20)
    start = time.process_time()
    for _ in range(frames):
        run.frame()
    return frames / (time.process_time() - start)


def _served(seconds: float = 3.0) -> tuple[float, float]:
    """(frames/s, steps/s) of the play loop's requests to a local server, wall time."""
    from tinygrad_edu.viz.playground_server import PlaygroundServer

    server = PlaygroundServer().start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

        def ask(method: str, path: str, body=None) -> dict:
            data = None if body is None else json.dumps(body)
            connection.request(method, f"{path}{'&' if '?' in path else '?'}token={server.token}",
                               data, {"Content-Type": "application/json"})
            return json.loads(connection.getresponse().read())

        key = ask("POST", "/api/session", {})["session"]
        ask("POST", "/api/reset", {"session": key, "setup": SETUP})
        frames = steps = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            steps += len(ask("GET", f"/api/train?session={key}&steps=1000&seconds=0.02")["losses"])
            frames += 1
        elapsed = time.perf_counter() - start
        connection.close()
        return frames / elapsed, steps / elapsed
    finally:
        server.stop()


def run_playground_benchmark(repeats: int = 5) -> dict:
    steps = [_steps_per_second() for _ in range(repeats)]
    frames = [_frames_per_second() for _ in range(repeats)]
    served = [_served() for _ in range(min(repeats, 3))]
    return {"steps_per_second": statistics.median(steps),
            "frames_per_second": statistics.median(frames),
            "served_frames_per_second": statistics.median(f for f, _ in served),
            "served_steps_per_second": statistics.median(s for _, s in served)}


def report(results: dict) -> list[str]:
    def met(value: float, target: float) -> str:
        return f"target >= {target:g}  {'met' if value >= target else 'MISSED'}"

    return [
        "\nThe playground: MLP(2, [8, 8, 1]) on 200 moons, full batch, Adam (medians)",
        f"  training steps per second (CPU)          {results['steps_per_second']:8.0f}  "
        f"{met(results['steps_per_second'], TARGET_STEPS)}",
        f"  frames per second, computed (CPU)        {results['frames_per_second']:8.0f}",
        f"  served: frames per second (wall)         {results['served_frames_per_second']:8.1f}  "
        f"{met(results['served_frames_per_second'], TARGET_FRAMES)}",
        f"  served: steps per second while framing   {results['served_steps_per_second']:8.0f}  "
        f"{met(results['served_steps_per_second'], TARGET_STEPS)}",
    ]


if __name__ == "__main__":
    print("\n".join(report(run_playground_benchmark())))
