"""viz.film: the training film as a page: its size bound, what it refuses, escaping, the fallback.

The page in a real browser is tested in test_film_browser.py.
"""

from __future__ import annotations

import base64
import json
import re
import warnings

import pytest

from tinygrad_edu import viz
from tinygrad_edu.data import make_blobs, make_moons
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import Adam
from tinygrad_edu.train import fit
from tinygrad_edu.viz.film import MAX_BYTES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">&amp;{{DATA}}'


def trained(sizes=(4, 1), steps=20, loss="bce", samples=30, record=True, seed=0):
    if loss == "ce":
        X, y = make_blobs(n_samples=samples, centers=3, seed=seed)
    else:
        X, y = make_moons(n_samples=samples, noise=0.1, seed=seed)
    model = MLP(2, list(sizes), seed=seed)
    history = fit(model, X, y, Adam(model.parameters(), lr=0.05), loss=loss, steps=steps,
                  record=record, progress=False)
    return model, X, y, history


def page_data(page: str) -> dict:
    """The DATA the page's script starts from."""
    text = re.search(r"const DATA = (\{.*?\});\n", page, re.S).group(1)
    return json.loads(text)


@pytest.mark.slow
def test_the_demo_film_is_under_3_mb_with_every_frame():
    # The demo: 200 steps, 100 moons, MLP(2, [16, 16, 1]), the default grid.
    model, X, y, history = trained((16, 16, 1), steps=200, samples=100)
    film = viz.film(model, X, y, history)
    assert film.size <= MAX_BYTES == 3_000_000
    assert film.frames == 101 and film.notes == []
    data = page_data(film.html)
    assert [frame["step"] for frame in data["frames"]] == [*range(0, 200, 2), 200]
    assert data["graph"]["tape"]  # the example's graph is there
    print(f"demo film: {film.size:,} bytes, {film.frames} frames")


def test_a_big_run_is_thinned_to_the_bound_and_says_so(tmp_path):
    model, X, y, history = trained(steps=60, record=1)
    full = viz.film(model, X, y, history)
    assert full.frames == 61
    bound = full.size // 2
    thinned = viz.film(model, X, y, history, max_bytes=bound)
    assert thinned.size <= bound and 2 <= thinned.frames < 61
    assert re.fullmatch(rf"{thinned.frames} of the 61 recorded frames are shown, to keep the "
                        rf"page under [\d.]+ MB", thinned.notes[0])
    steps = [frame["step"] for frame in page_data(thinned.html)["frames"]]
    assert steps[0] == 0 and steps[-1] == 60  # the first and the last are kept
    assert thinned.notes[0] in thinned.html  # said on the page too


def test_a_film_that_cannot_fit_is_refused_with_the_numbers(tmp_path):
    model, X, y, history = trained()
    with pytest.raises(ValueError, match=r"the film would need [\d,]+ bytes for its first and "
                                         r"last frames, more than max_bytes=10,000"):
        viz.film(model, X, y, history, max_bytes=10_000)


@pytest.mark.parametrize("change, error, message", [
    (dict(history="no record"), ValueError, "history has no snapshots: train with "
                                            r"fit\(..., record=True\)"),
    (dict(model=MLP(3, [2, 1])), ValueError, "model must be an MLP with 2 inputs"),
    (dict(model=MLP(2, [5, 1])), ValueError, "the history was recorded from a model with 17 "
                                             "parameters"),
    (dict(model=lambda x: x), TypeError, "model must be an MLP"),
    (dict(resolution=1), ValueError, "resolution must be a whole number >= 2, got 1"),
    (dict(class_names=["one"]), ValueError, "class_names must be 2 names"),
    (dict(example=30), ValueError, "example must be the index of a drawn point, below 30"),
])
def test_what_the_film_cannot_show_is_a_clear_error(change, error, message):
    model, X, y, history = trained()
    arguments = {"model": model, "X": X, "y": y, "history": history}
    if change.get("history") == "no record":
        change = {"history": trained(record=False)[3]}
    options = {k: v for k, v in change.items() if k not in arguments}
    arguments.update({k: v for k, v in change.items() if k in arguments})
    with pytest.raises(error, match=message):
        viz.film(arguments["model"], arguments["X"], arguments["y"], arguments["history"],
                 **options)


def test_a_wide_layer_is_refused_so_the_network_stays_readable():
    model, X, y, history = trained((40, 1), steps=2)
    with pytest.raises(ValueError, match="layer 0 of the model must be at most 32 units"):
        viz.film(model, X, y, history)


def test_hostile_titles_and_class_names_stay_text():
    model, X, y, history = trained()
    page = viz.film(model, X, y, history, title=HOSTILE, class_names=[HOSTILE, "b"]).html
    assert "<script>window.pwned" not in page and "<img src=x" not in page
    assert page.count("<script>") == 1  # the page's own
    assert page_data(page)["classNames"][0] == HOSTILE  # kept exactly, as data
    assert "&lt;script&gt;window.pwned" in page  # the escaped title in <title> and <h1>


def test_a_softmax_classifier_gets_a_colour_per_class():
    model, X, y, history = trained((6, 3), loss="ce")
    data = page_data(viz.film(model, X, y, history).html)
    assert data["softmax"] and len(data["colours"]) >= 3
    # Two bytes per grid point: the winning class and its probability.
    boundary = base64.b64decode(data["frames"][-1]["boundary"])
    assert len(boundary) == 2 * data["resolution"] ** 2
    assert set(boundary[0::2]) <= {0, 1, 2} and len(set(boundary[0::2])) == 3
    assert data["graph"]["targetKind"] == "ce"


def test_a_frame_draws_the_grids_in_32_bits_and_predicts_the_points_in_64():
    import numpy as np

    from tinygrad_edu.snapshots import Snapshot, evaluate_grid
    from tinygrad_edu.viz.film import frame_numbers

    model = MLP(2, [3, 1], seed=0)
    # every output is σ(1e-9): 0.5 in 32 bits (a tie: class 0), 0.50000000025 in 64 (class 1)
    for p in model.layers[-1].parameters():
        p.data = 0.0
    model.layers[-1].neurons[0].b.data = 1e-9
    parameters = [p.data for p in model.parameters()]
    grid = np.array([[x, y] for x in (-1.0, 1.0) for y in (-1.0, 1.0)])
    points = np.array([[0.5, 0.5], [-0.5, 2.0]])
    everywhere = np.concatenate([grid, grid, points])
    frame = frame_numbers(model, everywhere, 4, 4, Snapshot(0, parameters, 0.7, 0.5))
    assert list(base64.b64decode(frame["predicted"])) == [1, 1]  # what fit's accuracy counts
    assert evaluate_grid(model, points).probabilities.argmax(axis=1).tolist() == [1, 1]
    assert evaluate_grid(model, points, single=True).probabilities.argmax(axis=1).tolist() \
        == [0, 0]  # so the 64-bit pass is what decides them
    assert list(base64.b64decode(frame["boundary"])) == [128] * 4  # 0.5 of 255, rounded


def test_a_frame_of_a_network_beyond_32_bits_falls_back_to_64():
    import numpy as np

    from tinygrad_edu.snapshots import Snapshot
    from tinygrad_edu.viz.film import frame_numbers

    model = MLP(2, [2, 1], activation="linear", seed=0)
    parameters = [1e30] * len(model.parameters())  # z near 1e60: finite in 64 bits only
    grid = np.array([[1.0, 1.0], [2.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 32-bit overflow is expected, and not shown
        frame = frame_numbers(model, np.concatenate([grid, grid]), 2, 2,
                              Snapshot(0, parameters, 0.7, 0.5))
    assert all(np.isfinite(frame["scales"])) and frame["scales"][-1] > 1e59


def test_inline_in_jupyter_and_untrusted_a_picture_of_the_last_frame(tmp_path):
    model, X, y, history = trained()
    film = viz.film(model, X, y, history)
    frame = film._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "<script>" not in frame.split(">", 1)[0]
    # What an untrusted notebook keeps (frames removed): the last frame as a PNG, and a line.
    fallback = frame.split('loading="eager">', 1)[1][:-len("</iframe>")]
    picture = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', fallback)[1])
    assert picture.startswith(PNG_MAGIC)
    assert "To play the film, run this cell (or trust the notebook)" in fallback
    assert film.save(tmp_path / "film.html").read_text(encoding="utf-8") == film.html
    assert "http://" not in film.html.replace('"http://www.w3.org/2000/svg"', "") \
        and "https://" not in film.html  # nothing to fetch: no CDN, no font, no image


# ------------------------------------------------------------ the command line and the demo
def test_the_train_command_writes_a_film_beside_the_plots(tmp_path, capsys):
    from tinygrad_edu import cli

    # A CSV whose name is markup: the name is the film's title, shown as text.
    name = tmp_path / "<img src=x onerror=alert(1)>moons.csv"
    X, y = make_moons(n_samples=40, noise=0.1, seed=0)
    name.write_text("".join(f"{a},{b},{t}\n" for (a, b), t in zip(X, y)), encoding="utf-8")
    film_path = tmp_path / "film.html"
    code = cli.main(["train", "--data", str(name), "--hidden", "4", "--steps", "30",
                     "--out", str(tmp_path / "out"), "--film", str(film_path)])
    assert code == 0
    assert f"wrote {film_path}" in capsys.readouterr().out
    page = film_path.read_text(encoding="utf-8")
    data = page_data(page)
    assert [frame["step"] for frame in data["frames"]] == [*range(30), 30]
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;moons" in page
    assert data["title"].startswith(f"{name}: hidden 4 relu, bce loss, accuracy")


@pytest.mark.parametrize("options, message", [
    (["--film", "film.png"], "--film film.png: the film is an HTML page; give a name ending "
                             "in .html"),
    (["--film", "film.html", "--hidden", "40"], "--film: layer 0 of the model must be at most "
                                                "32 units"),
])
def test_the_train_command_refuses_a_film_it_cannot_write_before_training(options, message,
                                                                        tmp_path, capsys):
    from tinygrad_edu import cli

    out = tmp_path / "out"
    assert cli.main(["train", "--steps", "3", "--out", str(out), *options]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_run_of_no_steps_has_a_film_of_one_frame(tmp_path):
    model, X, y, history = trained(steps=0)
    film = viz.film(model, X, y, history)
    assert film.frames == 1
    assert page_data(film.html)["frames"][0]["gradients"] is None


def test_the_classifier_demo_writes_its_film(tmp_path, capsys):
    import runpy
    from pathlib import Path

    demo = runpy.run_path(str(Path(__file__).resolve().parent.parent / "demos" /
                              "train_classifier.py"))
    result = demo["main"](["--out", str(tmp_path), "--steps", "20"])
    assert result["film"] == tmp_path / "film.html"
    data = page_data(result["film"].read_text(encoding="utf-8"))
    assert len(data["frames"]) == 21 and data["layers"] == [2, 16, 1]
    assert str(tmp_path / "film.html") in capsys.readouterr().out


def test_every_page_fills_every_slot_of_its_templates():
    # The film and the playground share their panels 3 and 4 (film_panels.html), put in by a
    # slot; a slot that nothing filled would stay in the page as {{...}}.
    import re

    from tinygrad_edu.data import make_moons
    from tinygrad_edu.nn import MLP
    from tinygrad_edu.optim import Adam
    from tinygrad_edu.train import fit
    from tinygrad_edu.viz import film
    from tinygrad_edu.viz.playground_server import page
    from tinygrad_edu.viz.walkthrough import fill_template

    assert fill_template("<{{A_1}}>", {"A_1": "x"}) == "<x>"
    X, y = make_moons(n_samples=20, seed=0)
    model = MLP(2, [3, 1], seed=0)
    history = fit(model, X, y, Adam(model.parameters(), lr=0.05), steps=3, compile=True,
                  record=True, progress=False)
    for html in (film(model, X, y, history).html, page()):
        assert not re.search(r"\{\{[A-Za-z0-9_]+\}\}", html)
        assert html.count('id="network-panel"') == 1 and html.count('id="graph-panel"') == 1
