"""The playground's server and run: the token, each endpoint, the bounds, bad parameters, sessions.

Every server here listens on 127.0.0.1 and is stopped at the end of its test module.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tinygrad_edu.viz.playground_run import Run, SetupError, check_setup
from tinygrad_edu.viz.playground_server import MAX_BODY_BYTES, MAX_SESSIONS, PlaygroundServer


@pytest.fixture(scope="module")
def server():
    server = PlaygroundServer(max_sessions=100).start()  # more tabs than a person opens
    yield server
    server.stop()


def request(server, method, path, body=None, token=True, raw=None):
    """(status, parsed JSON or text) of one request to the server."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    separator = "&" if "?" in path else "?"
    url = path + (f"{separator}token={server.token}" if token else "")
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    connection.request(method, url, body=data,
                       headers={"Content-Type": "application/json"} if data is not None else {})
    response = connection.getresponse()
    text = response.read().decode("utf-8")
    connection.close()
    kind = response.getheader("Content-Type", "")
    return response.status, json.loads(text) if kind.startswith("application/json") else text


def session_with(server, **setup):
    status, answer = request(server, "POST", "/api/session", {})
    assert status == 200
    key = answer["session"]
    status, answer = request(server, "POST", "/api/reset", {"session": key, "setup": setup})
    assert status == 200, answer
    return key, answer


def test_listens_on_localhost_only_and_prints_a_token(server):
    assert server.server_address[0] == "127.0.0.1"
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")
    assert len(server.token) >= 32


@pytest.mark.parametrize("method, path", [("GET", "/"), ("POST", "/api/session"),
                                          ("POST", "/api/train"), ("GET", "/api/export.py")])
def test_every_request_without_the_token_is_refused(server, method, path):
    status, text = request(server, method, path, {} if method == "POST" else None, token=False)
    assert status == 403 and "token" in text
    status, text = request(server, method, path + "?token=" + "0" * len(server.token),
                           {} if method == "POST" else None, token=False)
    assert status == 403


def test_the_page_has_its_script_inline_and_no_outside_address(server):
    status, text = request(server, "GET", "/")
    assert status == 200
    assert "class BoundaryPanel" in text and "window.playground" in text  # the film's panels
    import re
    addresses = set(re.findall(r"https?://[^\"' ]+", text)) - {"http://www.w3.org/2000/svg"}
    assert addresses == set() and "<script src" not in text and "<link" not in text


def test_reset_train_and_the_same_first_loss_after_reset(server):
    key, answer = session_with(server, data="moons", points=120, hidden=[6], lr=0.05)
    assert answer["frame"]["step"] == 0 and answer["spec"]["layers"] == [2, 6, 1]
    assert len(answer["spec"]["points"]) == 96 and len(answer["spec"]["testPoints"]) == 24
    status, first = request(server, "POST", "/api/train", {"session": key, "steps": 20,
                                                          "seconds": 0.5})
    assert status == 200 and len(first["losses"]) == 20 and first["frame"]["step"] == 20
    assert first["losses"][-1] < first["losses"][0]
    request(server, "POST", "/api/reset", {"session": key, "setup": answer["spec"]["setup"]})
    _, again = request(server, "POST", "/api/train", {"session": key, "steps": 20,
                                                      "seconds": 0.5})
    assert again["losses"] == first["losses"]  # the same initial weights: the same run


def test_exports_reproduce_the_run(server, tmp_path):
    key, _ = session_with(server, data="xor", points=80, hidden=[5], optimizer="momentum",
                          lr=0.1, l2=0.001, batch=16, seed=3)
    _, trained = request(server, "POST", "/api/train", {"session": key, "steps": 30,
                                                        "seconds": 0.5})
    status, script = request(server, "GET", f"/api/export.py?session={key}")
    assert status == 200 and "make_xor" in script and "momentum=0.9" in script
    path = tmp_path / "run.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True)
    assert f"last step loss {trained['losses'][-1]!r}" in out.stdout
    status, weights = request(server, "GET", f"/api/weights.json?session={key}")
    assert status == 200 and weights["steps"] == 30 and len(weights["parameters"]) == 21


def test_an_added_point_is_trained_on_and_the_script_says_the_data_changed(server, tmp_path):
    key, answer = session_with(server, data="blobs", classes=3, loss="ce", points=60)
    assert answer["spec"]["layers"][-1] == 3 and answer["spec"]["softmax"] is True  # 3 columns
    request(server, "POST", "/api/train", {"session": key, "steps": 5, "seconds": 0.5})
    status, edited = request(server, "POST", "/api/point", {"session": key, "action": "add",
                                                           "x1": 0.1, "x2": 0.2, "label": 2})
    assert status == 200 and edited["spec"]["points"][-1] == [0.1, 0.2]
    assert edited["frame"]["step"] == 5  # the model trains on where it was
    _, script = request(server, "GET", f"/api/export.py?session={key}")
    assert "changed at step 5" in script and "[0.1, 0.2]" in script
    status, answer = request(server, "POST", "/api/point", {"session": key, "action": "add",
                                                           "x1": 0.0, "x2": 0.0, "label": 7})
    assert status == 400 and answer["error"] == ("label must be a whole number from 0 to 2, "
                                                 "got 7")


@pytest.mark.parametrize("setup, message", [
    ({"lr": "0.1; import os"}, "lr must be a number from 1e-06 to 10, got '0.1; import os'"),
    ({"hidden": [8] * 9}, "hidden must be a list of at most 8 layer sizes"),
    ({"hidden": [65]}, "hidden layer 1 must be a whole number from 1 to 64, got 65"),
    ({"points": 10_001}, "points must be a whole number from 4 to 10000, got 10001"),
    ({"data": "<script>"}, "data must be one of moons, circles, xor, spiral, blobs, csv, got "
                           "'<script>'"),
    ({"data": "blobs", "classes": 3}, "loss must be ce for 3 classes, got 'bce'"),
    ({"optimizer": "adam", "l2": 0.1}, "l2 must be 0 with Adam"),
    ({"surprise": 1}, "unknown setup field 'surprise'"),
    ({"data": "csv"}, "data is csv, but no CSV has been uploaded"),
])
def test_bad_parameters_get_a_clear_message(server, setup, message):
    status, answer = request(server, "POST", "/api/session", {})
    status, answer = request(server, "POST", "/api/reset", {"session": answer["session"],
                                                           "setup": setup})
    assert status == 400 and answer["error"].startswith(message), answer


def test_bodies_are_bounded_and_must_be_json(server):
    # A body announced too large is refused before it is read (the client may stop sending).
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(f"POST /api/csv?token={server.token} HTTP/1.1\r\nHost: x\r\n"
                           f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode())
        answer = connection.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.1 413") and "a request body must be at most" in answer
    status, answer = request(server, "POST", "/api/session", raw=b"{not json")
    assert status == 400 and answer["error"] == "the request body must be JSON"
    key, _ = session_with(server, points=40, hidden=[2])
    status, answer = request(server, "POST", "/api/train", {"session": key, "steps": 100_000,
                                                           "seconds": 0.1})
    assert status == 400 and "steps must be a whole number from 1 to 1000" in answer["error"]


def test_a_csv_upload_has_load_csvs_rules_and_messages(server):
    key, _ = session_with(server, points=40, hidden=[2])
    text = "x1,x2,label\n0,0,0\n1,1,1\n0.5,0.2,0\n0.9,0.8,1\n"
    status, answer = request(server, "POST", "/api/csv", {"session": key, "text": text})
    assert status == 200 and answer == {"points": 4, "classes": 2}
    status, answer = request(server, "POST", "/api/reset", {"session": key, "setup": {
        "data": "csv", "test": 0.0, "hidden": [2]}})
    assert status == 200 and answer["spec"]["points"] == [[0, 0], [1, 1], [0.5, 0.2], [0.9, 0.8]]
    status, answer = request(server, "POST", "/api/csv", {"session": key,
                                                         "text": "0,0,0\nO.5,1,1\n"})
    assert status == 400
    assert answer["error"] == "your CSV, line 2: x1 = 'O.5' is not a number"


def test_unknown_sessions_and_endpoints(server):
    status, answer = request(server, "POST", "/api/train", {"session": "nope", "steps": 1,
                                                           "seconds": 0.1})
    assert status == 400 and "reload the page" in answer["error"]
    status, answer = request(server, "POST", "/api/nothing", {})
    assert status == 404


def test_concurrent_sessions_train_apart_and_the_limit_is_said():
    server = PlaygroundServer().start()
    try:
        keys = [session_with(server, points=60, hidden=[4], seed=k)[0] for k in range(2)]
        results: dict = {}

        def train(key):
            results[key] = request(server, "POST", "/api/train", {"session": key, "steps": 40,
                                                                 "seconds": 0.5})[1]["losses"]

        threads = [threading.Thread(target=train, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        alone = Run(check_setup({"points": 60, "hidden": [4], "seed": 0}))
        assert results[keys[0]] == alone.train(40, 10.0)["losses"]
        assert results[keys[0]] != results[keys[1]]
        for _ in range(MAX_SESSIONS - 2):
            session_with(server, points=20, hidden=[1])
        status, answer = request(server, "POST", "/api/session", {})
        assert status == 400 and "at most 8 tabs" in answer["error"]
    finally:
        server.stop()


def test_check_setup_fills_in_the_defaults():
    setup = check_setup({"hidden": [3]})
    assert setup["data"] == "moons" and setup["hidden"] == [3] and setup["lr"] == 0.03
    with pytest.raises(SetupError, match="the setup must be an object"):
        check_setup([1])


# ------------------------------------------------------------------ the command and the notebook
def test_the_command_prints_the_address_and_ctrl_c_stops_it_with_130():
    command = subprocess.Popen([sys.executable, "-m", "tinygrad_edu", "playground"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = command.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]+)", line)
        assert match, line
        with urllib.request.urlopen(match.group(0), timeout=30) as response:
            assert response.status == 200 and b"playground" in response.read()
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/", timeout=30)
        command.send_signal(signal.SIGINT)
        _, errors = command.communicate(timeout=30)
    finally:
        command.kill()
    assert command.returncode == 130
    assert errors.strip() == "tinygrad-edu playground: interrupted"


def test_the_command_says_when_its_port_is_taken(server):
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", "playground", "--port",
                           str(server.port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"tinygrad-edu playground: error: cannot listen on "
                                  f"127.0.0.1:{server.port}")


def test_in_a_notebook_the_page_is_a_frame_and_model_is_the_live_mlp():
    from tinygrad_edu import viz
    from tinygrad_edu.nn import MLP

    shown = viz.playground()
    assert shown.model is None  # the page has not loaded yet
    page = shown._repr_html_()
    assert "<iframe" in page and html.escape(shown.url) in page and "session=" in shown.url
    status, answer = request(shown.server, "POST", "/api/reset", {"session": shown.session,
                                                                 "setup": {"hidden": [3]}})
    assert status == 200
    assert isinstance(shown.model, MLP) and shown.model.nouts == [3, 1]
    request(shown.server, "POST", "/api/train", {"session": shown.session, "steps": 3,
                                                 "seconds": 0.5})
    weights = [p.data for p in shown.model.parameters()]
    assert weights == list(json.loads(json.dumps(shown.run.weights()))["parameters"].values())
    assert viz.playground().server is shown.server  # one server per kernel


def test_a_diverged_model_is_drawn_and_sent_as_json_with_nulls():
    run = Run(check_setup({"points": 30, "hidden": [3], "optimizer": "sgd", "lr": 1.0}))
    run.train(1)
    run.model.parameters()[0].data = float("inf")  # as if a step had overflowed
    frame = run.frame()
    text = json.dumps(frame, allow_nan=False)  # what the server sends: no NaN, no Infinity
    assert "NaN" not in text and "Infinity" not in text
    run.stepper.compiled.program.training.load()  # the program holds the parameters now
    with pytest.raises(SetupError, match=r"^training stopped at step 1: program\(\): leaf "
                                         r"'layers.0.neurons.0.w.0' has data inf"):
        run.train(1)  # the traced step refuses it: the page shows this and stops


def test_the_engine_refusing_a_number_stops_training_with_a_message():
    run = Run(check_setup({"points": 30, "hidden": [3]}))
    run.model.parameters()[0].data = float("inf")  # the first step is checked eagerly
    run.stepper.compiled.program.training.load()  # the program holds the parameters
    with pytest.raises(SetupError, match=r"^training stopped at step 0: dot\(inf, .*an operand "
                                         r"is inf, not a finite number; lower the learning rate"):
        run.train(1)


def test_open_hands_the_address_to_the_browser(tmp_path):
    opened = tmp_path / "opened.txt"
    browser = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write(sys.argv[2])\" " \
              f"{opened} %s"
    command = subprocess.Popen([sys.executable, "-m", "tinygrad_edu", "playground", "--open"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "BROWSER": browser})
    try:
        line = command.stdout.readline()
        for _ in range(100):  # the browser command runs in the background: up to 10 s
            if opened.exists() and opened.read_text():
                break
            time.sleep(0.1)
        assert opened.read_text() in line and "token=" in opened.read_text()
    finally:
        command.send_signal(signal.SIGINT)
        command.communicate(timeout=30)


@pytest.mark.parametrize("options", [{}, {"batch": 8, "optimizer": "adam"},
                                     {"data": "blobs", "classes": 3, "loss": "ce"}])
def test_a_frame_shows_the_gradient_at_the_parameters_it_draws(options):
    # The hover label says ∂loss/∂weight at step N: the gradient of the mean loss over the
    # training points at the parameters of that frame, before the next update (as the film).
    import base64

    import numpy as np

    from tinygrad_edu import engine
    from tinygrad_edu.train import example_loss

    run = Run(check_setup({"points": 40, "hidden": [4], "seed": 1, **options}))
    for steps in (0, 1, 5):
        run.train(steps)
        frame = run.frame()
        shown = np.frombuffer(base64.b64decode(frame["gradients"]), dtype="<f4")
        parameters = run.model.parameters()
        assert np.array_equal(np.frombuffer(base64.b64decode(frame["parameters"]), dtype="<f4"),
                              np.array([p.data for p in parameters], dtype="<f4"))
        loss = engine.mean([example_loss(run.model(x), t, run.setup["loss"])
                            for x, t in zip(run.X_train, run.y_train)])
        expected = engine.grad(loss, parameters)
        assert np.allclose(shown, [g.data for g in expected], rtol=1e-5, atol=1e-6), steps
