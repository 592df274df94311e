"""The training film in a real browser: scrub, play, click a point, hover a weight, read numbers.

Needs the `browser` extra and a Chromium (see tests/chromium.py); skipped without them.
"""

from __future__ import annotations

import base64
import copy
import html
import re

import numpy as np
import pytest
from chromium import browser, page_opener  # noqa: F401 - browser: the fixture

from tinygrad_edu import topological_order, viz
from tinygrad_edu.data import make_moons
from tinygrad_edu.engine import Value
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import Adam
from tinygrad_edu.train import fit, traceable_loss
from tinygrad_edu.viz.dot import format_number

pytestmark = pytest.mark.browser
HOSTILE = '<img src=x onerror="window.pwned = 1"><script>window.pwned = 2</script>'


@pytest.fixture(scope="module")
def run():
    X, y = make_moons(n_samples=40, noise=0.1, seed=1)
    model = MLP(2, [6, 5, 1], seed=1)
    history = fit(model, X, y, Adam(model.parameters(), lr=0.05), steps=60, record=2,
                  progress=False)
    return model, X, y, history


@pytest.fixture(scope="module")
def film_file(run, tmp_path_factory):
    model, X, y, history = run
    path = tmp_path_factory.mktemp("film") / "film.html"
    viz.film(model, X, y, history, title=HOSTILE, class_names=["orange <b>", "blue"]).save(path)
    return path


@pytest.fixture
def open_film(browser, film_file):  # noqa: F811 - the fixture imported above
    """The film in a 1,400 x 1,000 page; fail on any script error or request off the file."""
    requests = []
    with page_opener(browser, 1400, 1000) as open_:
        def opened(path=film_file):
            page = open_(path)
            page.on("request", lambda request: requests.append(request.url))
            page.evaluate("window.film.shown")
            return page
        yield opened
    assert [url for url in requests if not url.startswith(("file:", "data:", "blob:"))] == []


def boundary_image(page) -> str:
    return page.evaluate("document.getElementById('boundary').toDataURL()")


def frame(page) -> int:
    return page.evaluate("window.film.frame")


def test_the_slider_moves_every_panel_to_frame_k(open_film, run, tmp_path):
    page = open_film()
    snapshots = run[3].recording.snapshots
    first = boundary_image(page)
    assert page.locator("#counter").text_content() == "frame 1 of 31 · step 0 of 60"
    page.locator("#slider").fill("20")
    page.evaluate("window.film.shown")
    k = frame(page)
    assert k == 20
    cursor = page.locator("#curves .cursor")
    assert int(cursor.get_attribute("data-step")) == snapshots[20].step == 40
    assert float(cursor.get_attribute("data-loss")) == snapshots[20].loss
    assert page.locator("#cursor-text").text_content().startswith(
        f"step 40: loss {format_number(snapshots[20].loss)}, accuracy")
    assert boundary_image(page) != first
    # The cursor is drawn where the curve is at step 40.
    x = float(cursor.get_attribute("x1"))
    dot = page.locator("#curves circle").first
    assert float(dot.get_attribute("cx")) == x
    page.screenshot(path=str(tmp_path / "film_frame_20.png"), full_page=True)


def test_arrow_keys_home_end_and_play(open_film):
    page = open_film()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert frame(page) == 2
    page.keyboard.press("ArrowLeft")
    assert frame(page) == 1
    page.keyboard.press("End")
    assert frame(page) == 30
    assert "(trained)" in page.locator("#counter").text_content()
    page.keyboard.press("Home")
    assert frame(page) == 0
    page.locator("#speed").select_option("15")
    page.click("#play")
    assert page.locator("#play").text_content() == "⏸ Pause"
    page.wait_for_function("window.film.frame >= 3")
    page.click("#play")
    stopped = frame(page)
    page.wait_for_timeout(400)
    assert frame(page) == stopped and page.locator("#play").text_content() == "▶ Play"


def test_clicking_a_point_shows_its_graph_with_the_engines_numbers(open_film, run):
    model, X, y, history = run
    page = open_film()
    page.locator("#slider").fill("10")
    page.evaluate("window.film.shown")
    assert page.locator("#graph").get_attribute("data-example") == "0"
    # Click point 7 on the canvas, where the page draws it.
    x, y_ = page.evaluate("window.film.boundary.toPixel(window.film.points[7])")
    canvas = page.locator("#boundary")
    box = canvas.bounding_box()
    scale = box["width"] / 360
    page.mouse.click(box["x"] + x * scale, box["y"] + y_ * scale)
    page.evaluate("window.film.shown")
    assert page.locator("#graph").get_attribute("data-example") == "7"
    assert "Example 7:" in page.locator("#graph-caption").text_content()

    # The same graph built by the engine, at frame 10's parameters (stored as float32).
    snapshot = history.recording.snapshots[10]
    copy_ = copy.deepcopy(model)
    for parameter, w in zip(copy_.parameters(), np.float32(snapshot.parameters)):
        parameter.data = float(w)
    copy_.zero_grad()  # backward() adds into the grads the training left
    z = copy_([Value(X[7][0]), Value(X[7][1])])
    loss = traceable_loss(z, Value(float(y[7])), "bce")
    loss.backward()
    order = topological_order(loss)
    shown = page.evaluate("""() => window.film.graph.texts.data.map(
        entry => [entry.node, entry.text.textContent])""")
    grads = page.evaluate("""() => window.film.graph.texts.grads.map(
        entry => [entry.node, entry.text.textContent])""")
    assert len(shown) == len(order)  # every Value's number is on the drawing
    for node, text in shown:
        assert text.split()[-1] == format_number(order[node].data)
    for node, text in grads:
        assert text.split()[-1] == format_number(order[node].grad)
    caption = page.locator("#graph-caption").text_content()
    assert f"its loss is {format_number(loss.data)}." in caption
    # The lecture's result, with this example's numbers: backprop's ∂loss/∂z is σ(z) − y.
    assert re.search(rf"Its logit z = {re.escape(format_number(z.data))}, and ∂loss/∂z = "
                     rf"σ\(z\) − y = [\d.]+ − {y[7]} = {re.escape(format_number(z.grad))} ",
                     caption)


def test_hovering_an_edge_shows_its_weight_and_gradient(open_film, run):
    history = run[3]
    page = open_film()
    page.keyboard.press("ArrowRight")
    # The edge from the second unit of the last hidden layer to the output, near where it
    # leaves its unit (where no other edge crosses it).
    edge = page.locator("#network path.edge").nth(6 * 2 + 5 * 6 + 1)
    k = int(edge.get_attribute("data-parameter"))
    x, y = edge.evaluate("""path => {
        const point = path.getPointAtLength(0.15 * path.getTotalLength());
        const screen = point.matrixTransform(path.getScreenCTM());
        return [screen.x, screen.y]; }""")
    page.mouse.move(x, y)
    tip = page.locator("#tooltip")
    assert tip.is_visible()
    snapshot = history.recording.snapshots[1]
    text = tip.text_content()
    assert f"weight   {format_number(float(np.float32(snapshot.parameters[k])))}" in text
    assert f"gradient {format_number(float(np.float32(snapshot.gradients[k])))}" in text
    assert run[0].named_parameters()[k][0] == "layers.2.neurons.0.w.1" == text.split()[0]
    unit = page.locator("#network canvas.unit[data-layer='2'][data-unit='1']")
    unit.hover()
    text = tip.text_content()
    assert text.startswith("unit a2.1 = relu(w·x + b)")
    names = [name for name, _ in run[0].named_parameters()]
    numbers = [float(np.float32(snapshot.parameters[names.index(f"layers.1.neurons.1.{name}")]))
               for name in ["w.0", "w.1", "w.2", "w.3", "w.4", "w.5", "b"]]
    assert min(numbers) < 0 < max(numbers)  # both signs are shown
    written = ("−" if numbers[0] < 0 else "") + f"{format_number(abs(numbers[0]))}·a1.0"
    written += "".join(f" {'−' if number < 0 else '+'} {format_number(abs(number))}·a1.{k + 1}"
                       for k, number in enumerate(numbers[1:6]))
    written += f" {'−' if numbers[6] < 0 else '+'} {format_number(abs(numbers[6]))}"
    assert f"= relu({written})" in text, text
    assert "+ -" not in text


def test_user_text_is_shown_as_text_and_runs_nothing(open_film):
    page = open_film()
    assert page.locator("h1").text_content() == HOSTILE
    assert page.locator("#boundary-legend").text_content().startswith("orange <b>")
    assert page.evaluate("window.pwned") is None


def test_an_untrusted_notebook_shows_the_last_frame_and_says_how_to_play(browser, run, tmp_path):  # noqa: F811
    # JupyterLab's sanitizer removes the <iframe>; its fallback content is what remains.
    model, X, y, history = run
    fallback = viz.film(model, X, y, history)._repr_html_()
    fallback = fallback.split('loading="eager">', 1)[1][:-len("</iframe>")]
    path = tmp_path / "untrusted.html"
    path.write_text(f"<!DOCTYPE html><html><body>{fallback}</body></html>", encoding="utf-8")
    with page_opener(browser, 1000, 700) as open_:
        page = open_(path)
        image = page.locator("img")
        assert page.evaluate("document.querySelector('img').naturalWidth") >= 800
        assert image.bounding_box()["width"] >= 800
        assert "To play the film" in page.locator("p").text_content()
        assert page.locator("script").count() == 0 and page.locator("canvas").count() == 0
        page.screenshot(path=str(tmp_path / "untrusted.png"))
    source = re.search(r'src="data:image/png;base64,([^"]+)"', fallback)[1]
    assert base64.b64decode(source)[:4] == b"\x89PNG"
    assert html.escape("film") in fallback



def test_the_page_replays_every_primitive_as_the_engine_does(open_film):
    from tinygrad_edu import engine
    from tinygrad_edu.viz.film import KNOWN_OPERATIONS, _operation

    a, b, c = Value(0.7, label="a"), Value(-1.3, label="b"), Value(2.5, label="c")
    terms = [a + b, a + 2, 2 + a, a - b, a - 2, 2 - a, a * b, a * 3, 3 * a, a / b, a / 4, 4 / a,
             a ** c, a ** 2, 2 ** a, -b, a.exp(), c.log(), b.tanh(), b.sigmoid(), b.relu(),
             a.relu(), engine.sum([a, b, 1.5]), engine.mean([a, b, c]),
             engine.dot([a, b, 3.0], [c, 2.0, a], 0.5), engine.dot([a, b], [b, c], c)]
    root = engine.sum([t * (k + 1) for k, t in enumerate(terms)])
    root.backward()
    order = topological_order(root)
    position = {node: k for k, node in enumerate(order)}
    leaves = [a, b, c]
    tape = [_operation(node, position) if node.inputs else
            {"input": leaves.index(node)} if any(node is leaf for leaf in leaves) else
            {"constant": node.data} for node in order]
    assert {entry["op"] for entry in tape if "op" in entry} == KNOWN_OPERATIONS
    page = open_film()
    values, grads = page.evaluate("""([tape, inputs]) => {
        const run = runTape(tape, [], inputs, []);
        return [Array.from(run.values), Array.from(run.grads)]; }""", [tape, [0.7, -1.3, 2.5]])
    assert values == pytest.approx([node.data for node in order], rel=1e-14, abs=1e-15)
    assert grads == pytest.approx([node.grad for node in order], rel=1e-14, abs=1e-15)


def test_two_classes_with_cross_entropy_draw_the_boundary(browser, tmp_path):  # noqa: F811
    # Two logits (ce on two classes) give a frame of one byte a pixel, as one logit does: the page
    # once read it as (class, probability) pairs and stopped at the first undefined pair.
    X, y = make_moons(n_samples=30, noise=0.1, seed=2)
    model = MLP(2, [4, 2], seed=2)
    history = fit(model, X, y, Adam(model.parameters(), lr=0.05), loss="ce", steps=10,
                  record=5, progress=False)
    path = tmp_path / "ce.html"
    viz.film(model, X, y, history).save(path)
    with page_opener(browser, 1400, 1000) as open_:
        page = open_(path)
        page.evaluate("window.film.shown")
        page.evaluate("window.film.go(2)")
        assert page.evaluate("+document.getElementById('boundary').dataset.misclassified") >= 0
