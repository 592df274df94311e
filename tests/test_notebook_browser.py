"""An executed notebook, exported to HTML as a student would share it, in a real browser.

The lecture notebook is run through a kernel, exported with nbconvert's lab
template (the page JupyterLab would show), and opened in headless Chromium at
1,200 px: the lecture graph must fit the page, and the step-by-step frame must
step with its buttons and keys without touching the page around it.
"""

from __future__ import annotations

import pytest
from chromium import browser, page_opener  # noqa: F401 - browser: the fixture
from lecture import lecture_graph
from notebook_runs import executed

from tinygrad_edu import Value, viz
from tinygrad_edu.viz.notebook import MIN_SCALE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE_WIDTH = 1200
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The executed lecture notebook as one HTML file."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(
        executed("01_computation_graph"))
    path = tmp_path_factory.mktemp("export") / "01_computation_graph.html"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def open_page(browser):  # noqa: F811 - the fixture imported above
    """Open a file at 1,200 px, offline (the template's CDN scripts are refused at once);
    fail the test on any script error."""
    with page_opener(browser, PAGE_WIDTH, 900) as open_:
        yield open_


def test_the_lecture_graph_fits_a_1200_px_page(open_page, exported, tmp_path):
    page = open_page(exported)
    # nbconvert's page runs the viewer's script, as a trusted notebook does.
    view = page.locator(".celltag_lecture-graph .tge-graph .tge-view")
    svg = view.locator("svg")
    natural = svg.evaluate("svg => svg.viewBox.baseVal.width * 96 / 72")
    box, area = svg.bounding_box(), view.bounding_box()
    right_of_L = svg.evaluate("svg => Array.from(svg.querySelectorAll('g.node'))"
                              ".find(node => node.textContent.includes('-10.0000'))"
                              ".getBoundingClientRect().right")
    visible = page.evaluate("document.documentElement.clientWidth")
    page.screenshot(path=str(tmp_path / "lecture_graph_cell.png"))
    assert 0 <= area["x"] and box["x"] + box["width"] <= area["x"] + area["width"] <= visible
    assert right_of_L <= area["x"] + area["width"]  # L, the output, is in view
    assert MIN_SCALE <= box["width"] / natural <= 1  # scaled down, but stays readable
    assert page.locator(".celltag_lecture-graph .tge-still").count() == 0  # replaced by it
    assert page.evaluate("document.documentElement.scrollWidth") <= visible  # no sideways scroll


def test_the_inline_walkthrough_steps_with_its_buttons_and_keys(open_page, exported):
    page = open_page(exported)
    element = page.locator(".celltag_walkthrough iframe")
    frame = page.frame_locator(".celltag_walkthrough iframe")
    assert frame.locator("#counter").text_content() == "step 0 of 12"
    frame.locator("#next").click()
    frame.locator("#next").click()
    assert frame.locator("#counter").text_content() == "step 2 of 12"
    assert frame.locator("#step-title").text_content() == "d = b * 2"
    page.keyboard.press("End")  # the focus is in the frame: its keys work there
    assert frame.locator("#counter").text_content() == "step 12 of 12"
    assert frame.locator("#step-title").text_content() == "∂L/∂b = -4.0000"
    frame.locator("#prev").click()
    assert frame.locator("#counter").text_content() == "step 11 of 12"
    # The frame grew to its page, and the page's styles stayed inside it.
    inner_height = frame.locator("body").evaluate("body => body.scrollHeight")
    assert element.bounding_box()["height"] >= inner_height
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") \
        != "rgb(250, 250, 250)"  # the walkthrough's own background


def test_ctrl_s_in_the_frame_says_so_and_gives_the_keys_back_to_the_notebook(open_page, exported):
    page = open_page(exported)
    frame = page.frame_locator(".celltag_walkthrough iframe")
    note = frame.locator("#frame-note")
    assert note.is_visible() and "click outside it before Ctrl+S" in note.text_content()
    frame.locator("#next").click()
    assert page.evaluate("document.activeElement.tagName") == "IFRAME"  # the frame has the keys
    page.keyboard.press("Control+s")
    assert "the notebook was not saved" in note.text_content()
    assert page.evaluate("document.activeElement.tagName") != "IFRAME"  # the notebook has them
    page.keyboard.press("ArrowRight")  # so a key no longer steps the frame
    assert frame.locator("#counter").text_content() == "step 1 of 12"


def test_two_walkthroughs_on_one_page_each_keep_their_own_step(open_page, tmp_path):
    x = Value(0.5, label="x")
    square = x * x
    square.label = "s"
    frames = [viz.walkthrough(lecture_graph()), viz.walkthrough(square)]
    path = tmp_path / "two.html"
    path.write_text("<!DOCTYPE html><html><body>" + "".join(
        f"<div class='out'>{frame._repr_html_()}</div>" for frame in frames) + "</body></html>",
        encoding="utf-8")
    page = open_page(path)
    first, second = (page.frame_locator(".out iframe").nth(i) for i in range(2))
    for _ in range(3):
        first.locator("#next").click()
    second.locator("#next").click()
    page.keyboard.press("ArrowRight")  # goes to the frame clicked last
    assert first.locator("#counter").text_content() == "step 3 of 12"
    assert second.locator("#counter").text_content() == "step 2 of 4"
