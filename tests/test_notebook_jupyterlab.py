"""Graphs in a real JupyterLab, in Chromium at 1,280 px: with the file browser open (an output
848 px wide) and closed (1,080 px), in a trusted notebook (the viewer runs) and in an
untrusted one (JupyterLab strips scripts and SVG, and shows the still pictures).

The notebook holds every graph of the lecture's notebooks 01-04 (§5's graph, §6's, §3's
one-example loss, ...), a first `draw_dot(loss, params=dict(model.named_parameters()))` of
`MLP(2, [4, 1])`, and a 200-node chain, each with the outputs a real kernel made.
"""

from __future__ import annotations

import json
import time
import urllib.request

import nbformat
import pytest
from chromium import browser  # noqa: F401 - the fixture
from lab_server import running_lab
from nbclient import NotebookClient
from notebook_runs import executed, tagged_cells

from tinygrad_edu.viz.notebook import MIN_SCALE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT = {"width": 1280, "height": 900}
# JupyterLab's output area at 1,280 px, with the file browser open and closed (measured; the
# drawing gets 20 px less, 828 and 1,080 px: the output keeps a margin on its right).
OUTPUT_WIDTHS = {"open": 848, "closed": 1100}
EXTRA_CELLS = {
    "mlp-params": """from tinygrad_edu import viz
from tinygrad_edu.losses import binary_cross_entropy_with_logits
from tinygrad_edu.nn import MLP
model = MLP(2, [4, 1], seed=0)
loss = binary_cross_entropy_with_logits(model([0.5, -1.0]), 1)
viz.draw_dot(loss, params=dict(model.named_parameters()))""",
    "chain": """from tinygrad_edu import Value
x = Value(0.5, label="x")
y = x
for _ in range(99):
    y = (y * 1.01).tanh()
y.label = "y"
viz.draw_dot(y)""",
}


def _graph_cells() -> list[nbformat.NotebookNode]:
    """Every graph of notebooks 01-04 with its outputs, then the extra cells, run in a kernel."""
    cells = []
    for name in ("01_computation_graph", "02_two_paths", "03_logistic_and_softmax_regression",
                 "04_mlp_classifier"):
        for number, cell in enumerate(tagged_cells(executed(name), "graph")):
            cell.metadata["tags"] = [f"{name[:2]}-{number}"]
            cells.append(cell)
    extra = nbformat.v4.new_notebook()
    extra.cells = [nbformat.v4.new_code_cell(source, metadata={"tags": [tag]})
                   for tag, source in EXTRA_CELLS.items()]
    NotebookClient(extra, timeout=120, kernel_name="python3").execute()
    return cells + extra.cells


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving two copies of the notebook: one signed (trusted), one not."""
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = _graph_cells()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, root / "trusted.ipynb")
    steps = nbformat.v4.new_notebook(metadata=dict(notebook.metadata))
    steps.cells = tagged_cells(executed("01_computation_graph"), "walkthrough")
    nbformat.write(steps, root / "walkthrough.ipynb")
    notebook.metadata["copy"] = "not signed"  # a different notebook: its signature is unknown
    nbformat.write(notebook, root / "untrusted.ipynb")
    with running_lab(root) as server:
        server.trust(root / "trusted.ipynb")
        server.trust(root / "walkthrough.ipynb")
        server.tags = [cell.metadata["tags"][0] for cell in notebook.cells]
        yield server


@pytest.fixture(scope="module")
def page(browser, lab):  # noqa: F811 - the fixture imported above
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert errors == []


def open_notebook(page, lab, name: str, cells: int) -> None:
    page.goto(lab.url(f"{name}.ipynb"))
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=60_000)
    # JupyterLab renders cells as they scroll into view: show every one, then go back up.
    for _ in range(3 * cells):
        if page.locator(".jp-OutputArea-output").count() >= cells:
            break
        page.mouse.wheel(0, 2000)
        time.sleep(0.1)
    page.wait_for_timeout(300)


def set_file_browser(page, state: str) -> None:
    """Open or close JupyterLab's file browser, as a student does with its tab."""
    shown = page.locator(".jp-FileBrowser").is_visible()
    if shown != (state == "open"):
        page.locator('.jp-SideBar [data-id="filebrowser"]').click()
        page.wait_for_timeout(500)  # the layout settles, the viewers fit again


def cell_output(page, position: int):
    """The output of the notebook's cell at `position` (JupyterLab does not mark cells by tag)."""
    return page.locator(".jp-Notebook .jp-CodeCell").nth(position).locator(
        ".jp-OutputArea-output").first


def measure_viewer(page, position: int) -> dict:
    """How the trusted notebook shows one graph: the output's width, the drawing's scale, and
    where its output node is, all measured in the page."""
    output = cell_output(page, position)
    output.scroll_into_view_if_needed()
    return output.evaluate("""output => {
        const box = output.querySelector('.tge-graph'), view = box.querySelector('.tge-view');
        const svg = view.querySelector('svg');
        const data = svg.viewBox.baseVal;
        const rect = element => element.getBoundingClientRect();
        const sink = Array.from(svg.querySelectorAll('g.node')).filter(node => {
            const name = node.querySelector('title').textContent;
            return !Array.from(svg.querySelectorAll('g.edge title')).some(
                edge => edge.textContent.startsWith(name + '->'));
        }).pop();
        const o = rect(output), v = rect(view), s = rect(svg), n = rect(sink);
        return {output: o.width, view: v.width, svg: s.width, natural: data.width * 96 / 72,
                scale: s.width / (data.width * 96 / 72), mode: box.dataset.mode,
                sinkInView: n.left >= v.left - 1 && n.right <= v.right + 1,
                outputScrolls: output.scrollWidth > output.clientWidth + 1,
                bar: box.querySelector('.tge-bar').style.display !== 'none'};
    }""")


@pytest.mark.parametrize("state", ["open", "closed"])
def test_every_graph_fits_the_output_readable_with_its_output_node_in_view(page, lab, state,
                                                                          tmp_path):
    open_notebook(page, lab, "trusted", len(lab.tags))
    set_file_browser(page, state)
    width = OUTPUT_WIDTHS[state]
    page.screenshot(path=str(tmp_path / f"trusted-{state}.png"))
    assert {"mlp-params", "chain", "02-0", "03-0"} <= set(lab.tags)
    for position, tag in enumerate(lab.tags):
        shown = measure_viewer(page, position)
        assert shown["output"] == pytest.approx(width, abs=1), tag
        assert shown["scale"] >= MIN_SCALE - 0.005, (tag, shown)  # the text stays readable
        assert not shown["outputScrolls"], tag  # no sideways scroll of the output itself
        assert shown["sinkInView"], (tag, shown)  # the output node is always on screen
        fits = min(1, shown["view"] / shown["natural"])  # the scale that fills the width
        if fits >= MIN_SCALE:  # as large as the output allows, up to 100 %
            assert shown["scale"] == pytest.approx(fits, abs=0.005), (tag, shown)
            assert shown["bar"] == (fits < 1), tag  # the zoom bar only when it is scaled
        else:  # too wide even at the smallest readable size: zoom and pan, starting there
            assert shown["scale"] == pytest.approx(MIN_SCALE, abs=0.005) and shown["bar"], tag


@pytest.mark.parametrize("state", ["open", "closed"])
def test_untrusted_the_still_pictures_stay_readable(page, lab, state, tmp_path):
    """Opened untrusted, JupyterLab strips the viewer (scripts, SVG) and shows the pictures."""
    open_notebook(page, lab, "untrusted", len(lab.tags))
    set_file_browser(page, state)
    page.screenshot(path=str(tmp_path / f"untrusted-{state}.png"))
    for position, tag in enumerate(lab.tags):
        output = cell_output(page, position)
        output.scroll_into_view_if_needed()
        shown = output.evaluate("""output => ({
            viewers: output.querySelectorAll('svg, script, .tge-view').length,
            pictures: Array.from(output.querySelectorAll('.tge-still img')).map(image => ({
                shown: image.getBoundingClientRect().width,
                drawn: +image.getAttribute('width') || parseFloat(image.style.maxWidth),
                pixels: image.naturalWidth, loaded: image.complete && image.naturalWidth > 0})),
            outputScrolls: output.scrollWidth > output.clientWidth + 1})""")
        assert shown["viewers"] == 0 and shown["pictures"], tag
        assert not shown["outputScrolls"], tag
        for picture in shown["pictures"]:
            assert picture["loaded"], tag
            scale = picture["shown"] / picture["drawn"]
            assert scale >= MIN_SCALE, (tag, picture)  # the issue measured 8 % to 32 % here
            assert picture["pixels"] >= picture["shown"], (tag, picture)  # sharp, not blown up
        if tag == "chain":  # a 200-node chain: many pieces, each readable, instead of a strip
            assert len(shown["pictures"]) >= 10
            output.locator("img").nth(3).scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / f"untrusted-{state}-chain.png"))


def test_zoom_pan_fit_and_actual_size_inside_the_output(page, lab, tmp_path):
    open_notebook(page, lab, "trusted", len(lab.tags))
    set_file_browser(page, "open")
    output = cell_output(page, lab.tags.index("mlp-params"))
    output.scroll_into_view_if_needed()
    box, view = output.locator(".tge-graph"), output.locator(".tge-view")
    page.wait_for_function("box => box.dataset.scale", arg=box.element_handle())  # laid out

    def state() -> tuple[float, str]:
        return float(box.get_attribute("data-scale")), box.get_attribute("data-mode")

    assert state() == (pytest.approx(MIN_SCALE, abs=0.001), "readable")
    output.locator("button[data-action=fit]").click()
    scale, mode = state()
    assert mode == "fit" and scale < MIN_SCALE  # the whole graph, smaller than readable
    assert view.evaluate("v => v.scrollWidth <= v.clientWidth")
    page.screenshot(path=str(tmp_path / "fit.png"))
    output.locator("button[data-action=actual]").click()
    assert state() == (1.0, "actual")
    output.locator("button[data-action=in]").click()
    assert state() == (pytest.approx(1.25), "zoomed")
    output.locator("button[data-action=out]").click()
    output.locator("button[data-action=out]").click()
    assert state()[0] == pytest.approx(0.8)
    # Ctrl + wheel zooms at the pointer; a plain wheel leaves the zoom alone.
    area = view.bounding_box()
    page.mouse.move(area["x"] + area["width"] / 2, area["y"] + area["height"] / 2)
    page.mouse.wheel(0, 200)
    assert state()[0] == pytest.approx(0.8)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.wait_for_timeout(100)
    zoomed = state()[0]
    assert zoomed > 0.8 * 1.5
    # Dragging pans the drawing inside the output.
    left = view.evaluate("v => v.scrollLeft")
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] / 2 - 200, area["y"] + area["height"] / 2, steps=5)
    page.mouse.up()
    assert view.evaluate("v => v.scrollLeft") == pytest.approx(left + 200, abs=2)
    assert state()[0] == zoomed
    page.screenshot(path=str(tmp_path / "zoomed.png"))


def saved_at(lab, name: str) -> str:
    """When the server last wrote the notebook, as its contents API says."""
    url = f"http://127.0.0.1:{lab.port}/api/contents/{name}?content=0&token={lab.token}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)["last_modified"]


def test_ctrl_s_in_an_inline_walkthrough_says_so_and_the_next_one_saves(page, lab, tmp_path):
    open_notebook(page, lab, "walkthrough", 1)
    frame = page.frame_locator(".jp-OutputArea-output iframe")
    note = frame.locator("#frame-note")
    assert note.is_visible()
    frame.locator("#next").click()  # as the README says: click into it, then step
    assert frame.locator("#counter").text_content() == "step 1 of 12"
    before = saved_at(lab, "walkthrough.ipynb")
    time.sleep(1.1)  # the server's times have a resolution of a second or better
    page.keyboard.press("Control+s")
    assert "the notebook was not saved" in note.text_content()
    page.screenshot(path=str(tmp_path / "ctrl-s-in-frame.png"))
    assert saved_at(lab, "walkthrough.ipynb") == before  # indeed not saved
    page.keyboard.press("Control+s")  # the notebook has the keys again: this one saves
    deadline = time.monotonic() + 10
    while saved_at(lab, "walkthrough.ipynb") == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert saved_at(lab, "walkthrough.ipynb") != before
