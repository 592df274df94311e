"""The walkthrough page in a real browser: step through the lecture's example and read the numbers.

Needs the `browser` extra (`pip install -e '.[browser]'`, which brings Playwright)
and a Chromium, e.g. Debian's `apt-get install chromium`. Playwright is pointed
at that Chromium and never downloads a browser of its own. Without either, the
tests are skipped.
"""

from __future__ import annotations

import pytest
from chromium import browser, page_opener  # noqa: F401 - browser: the fixture
from lecture import lecture_graph

from tinygrad_edu import topological_order, viz
from tinygrad_edu.nn import MLP
from tinygrad_edu.viz.dot import format_number

pytestmark = pytest.mark.browser


@pytest.fixture
def open_page(browser):  # noqa: F811 - the fixture imported above
    """Open a walkthrough file; fail the test on any script error in the page."""
    with page_opener(browser, 1280, 800) as open_:
        yield open_




def shown(page, label: str) -> tuple[str, str]:
    """The (data, grad) texts the picture shows on the box of `label`."""
    texts = page.locator(f'g.node[data-label="{label}"] text').all_text_contents()
    return texts[-2], texts[-1]


def test_lecture_walkthrough_steps_forward_then_backward(open_page, tmp_path):
    page = open_page(viz.walkthrough(lecture_graph(), tmp_path / "steps.html"))
    assert not page.locator("#frame-note").is_visible()  # a page of its own: Ctrl+S is its own
    assert page.locator("#counter").text_content() == "step 0 of 12"
    assert shown(page, "a") == ("data ?", "grad ?")
    assert page.locator("#prev").is_disabled()

    # Forward, in topological order: b, d, a, e, c, L. Values appear one node at a time.
    page.click("#next")
    assert shown(page, "b") == ("data 1.0000", "grad ?")
    assert shown(page, "d") == ("data ?", "grad ?")
    page.click("#next")
    assert shown(page, "d") == ("data 2.0000", "grad ?")
    assert page.locator("#step-title").text_content() == "d = b * 2"
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    assert shown(page, "e") == ("data 5.0000", "grad ?")
    assert "= 3.0000 + 2.0000 = 5.0000" in page.locator("#step-lines").inner_text()
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    assert shown(page, "L") == ("data -10.0000", "grad ?")

    # Backward, in reverse order: L first, b last.
    page.keyboard.press("ArrowRight")
    assert page.locator("#step-title").text_content() == "∂L/∂L = 1"
    assert shown(page, "L") == ("data -10.0000", "grad 1.0000")
    assert shown(page, "c") == ("data -2.0000", "grad ?")
    page.keyboard.press("ArrowRight")
    assert shown(page, "c")[1] == "grad 5.0000"
    page.keyboard.press("ArrowRight")
    assert shown(page, "e")[1] == "grad -2.0000"
    assert shown(page, "b")[1] == "grad ?"
    page.keyboard.press("End")
    assert page.locator("#counter").text_content() == "step 12 of 12"
    assert shown(page, "b") == ("data 1.0000", "grad -4.0000")
    assert shown(page, "a")[1] == "grad -2.0000"
    assert page.locator("#step-title").text_content() == "∂L/∂b = -4.0000"
    assert "-2.0000 × 2.0000 = -4.0000" in page.locator("#step-lines").inner_text()
    assert page.locator("#next").is_disabled()
    # The step's node and the node it reads from are highlighted.
    assert "current" in page.locator('g.node[data-label="b"]').get_attribute("class")
    assert "operand" in page.locator('g.node[data-label="d"]').get_attribute("class")

    # Back one step with the button, and anywhere with the slider.
    page.click("#prev")
    assert shown(page, "b")[1] == "grad ?"
    page.locator("#slider").fill("2")
    assert page.locator("#counter").text_content() == "step 2 of 12"
    assert shown(page, "d") == ("data 2.0000", "grad ?")
    assert shown(page, "L") == ("data ?", "grad ?")
    page.screenshot(path=str(tmp_path / "lecture_walkthrough.png"))


def test_small_mlp_walkthrough_ends_with_every_parameter_gradient(open_page, tmp_path):
    model = MLP(2, [3, 1], seed=1)
    loss = (model([0.5, -1.0]) - 1.0) ** 2
    loss.label = "loss"
    page = open_page(viz.walkthrough(loss, tmp_path / "mlp.html"))
    steps = 2 * len(topological_order(loss))
    assert page.locator("#counter").text_content() == f"step 0 of {steps}"
    page.keyboard.press("End")
    loss.backward()
    for name, parameter in model.named_parameters():
        assert shown(page, name) == (f"data {format_number(parameter.data)}",
                                     f"grad {format_number(parameter.grad)}")
