"""Practice mode of the step-by-step page, in a real browser, used the way a learner uses it.

The lecture's graph (d = 2b, e = a + d, L = c·e): the forward pass fills in, then the
page asks for ∂L/∂node in reverse topological order (L, c, e, a, d, b). A right
answer moves on; a wrong one brings a hint, a second one the answer; a score ends it.
"""

from __future__ import annotations

import pytest
from chromium import browser, page_opener  # noqa: F401 - browser: the fixture
from lecture import lecture_graph

from tinygrad_edu import Value, viz
from tinygrad_edu.cli import main

pytestmark = pytest.mark.browser
FORWARD_STEPS = 6  # six values: the backward questions are steps 7 to 12


@pytest.fixture
def open_page(browser):  # noqa: F811 - the fixture imported above
    with page_opener(browser, 1280, 800) as open_:
        yield open_


def grad_shown(page, label: str) -> str:
    return page.locator(f'g.node[data-label="{label}"] text').all_text_contents()[-1]


def answer(page, text: str) -> str:
    """Type an answer with the keyboard, press Enter; the feedback it gets."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    return page.locator("#feedback").text_content()


def to_first_question(page) -> None:
    for _ in range(FORWARD_STEPS + 1):
        page.keyboard.press("ArrowRight")
    assert page.locator("#step-title").text_content() == "∂L/∂L = ?"
    assert page.evaluate("document.activeElement.id") == "answer"


def test_a_whole_practice_with_the_keyboard_only(open_page, tmp_path):
    page = open_page(viz.walkthrough(lecture_graph(), tmp_path / "practice.html",
                                     practice=True))
    assert page.title() == "Practice: backpropagate through L"
    assert page.locator("#practice").is_hidden()
    to_first_question(page)
    # The question's grad stays hidden, and the page does not go past an open question.
    assert grad_shown(page, "L") == "grad ?"
    assert page.locator("#next").is_disabled()
    page.keyboard.press("End")
    assert page.locator("#step-title").text_content() == "∂L/∂L = ?"
    page.locator("#answer").blur()
    page.keyboard.press("ArrowRight")
    assert page.locator("#counter").text_content() == "step 7 of 12"
    page.locator("#answer").focus()

    assert answer(page, "1") == "✓ Right at the first try."
    assert grad_shown(page, "L") == "grad 1.0000"
    assert page.evaluate("document.activeElement.id") == "next"
    page.keyboard.press("ArrowRight")  # ∂L/∂c = e = 5
    assert page.locator("#step-title").text_content() == "∂L/∂c = ?"
    assert answer(page, "5.0004") == "✓ Right at the first try."  # within a relative 1e-3
    page.keyboard.press("Enter")  # Enter on the focused Next button moves on too: ∂L/∂e = c
    assert page.locator("#step-title").text_content() == "∂L/∂e = ?"

    # A wrong answer: the hint is upstream × local with the numbers, and another try.
    assert answer(page, "2").startswith("Not quite.")
    assert page.locator("#hint").inner_text() == "via L: ∂L/∂L × ∂L/∂e = 1.0000 × (-2.0000)"
    assert grad_shown(page, "e") == "grad ?"
    assert answer(page, "-2") == "✓ Right at the second try."
    assert page.locator("#hint").is_hidden()

    # Nonsense is not a try: it asks for a number.
    page.keyboard.press("ArrowRight")  # ∂L/∂a
    assert answer(page, "two") == "Type a number, e.g. -4, 0.25, 1e-3 or -2/3."
    assert answer(page, "1/0") == "Type a number, e.g. -4, 0.25, 1e-3 or -2/3."
    # Two wrong answers reveal the answer.
    assert answer(page, "3").startswith("Not quite.")
    assert answer(page, "+4") == "✗ Revealed after two tries."
    assert grad_shown(page, "a") == "grad -2.0000"
    assert page.locator("#step-title").text_content() == "∂L/∂a = -2.0000"

    page.keyboard.press("ArrowRight")  # ∂L/∂d = -2, written as a fraction with a true minus
    assert answer(page, "−4/2") == "✓ Right at the first try."
    page.keyboard.press("ArrowRight")  # ∂L/∂b = ∂L/∂d · 2 = -4
    assert page.locator("#score").is_hidden()
    assert answer(page, "-4") == "✓ Right at the first try."
    assert page.locator("#counter").text_content() == "step 12 of 12"
    assert page.locator("#score").text_content() == (
        "Score: 5 of 6 right (4 at the first try, 1 at the second); 1 revealed.")
    page.screenshot(path=str(tmp_path / "practice_score.png"))

    # Going back shows each answered step with its working and its verdict.
    page.keyboard.press("Home")
    assert page.locator("#practice").is_hidden()
    page.locator("#slider").fill("9")
    assert page.locator("#feedback").text_content() == "✓ Right at the second try."
    assert "1.0000 × (-2.0000) = -2.0000" in page.locator("#step-lines").inner_text()


def test_fractions_and_hints_on_a_value_used_twice(open_page, tmp_path):
    x = Value(3.0, label="x")
    y = x * x / 2
    y.label = "y"
    page = open_page(viz.walkthrough(y, tmp_path / "square.html", practice=True))
    page.keyboard.press("End")  # through the forward pass (x, #1 = x * x, y), to the first question
    assert page.locator("#step-title").text_content() == "∂y/∂y = ?"
    assert answer(page, "1") == "✓ Right at the first try."
    page.keyboard.press("ArrowRight")
    assert page.locator("#step-title").text_content() == "∂y/∂#1 = ?"
    assert answer(page, " 1 / 2 ") == "✓ Right at the first try."
    page.keyboard.press("ArrowRight")
    assert page.locator("#step-title").text_content() == "∂y/∂x = ?"
    assert answer(page, "1").startswith("Not quite.")
    hint = page.locator("#hint").inner_text().splitlines()
    assert len(hint) == 3 and hint[2] == "x is used 2 times: add the products up (lecture §6)."
    assert answer(page, "9/3") == "✓ Right at the second try."  # ∂y/∂x = x = 3


def test_the_command_writes_a_practice_page(open_page, tmp_path):
    path = tmp_path / "quiz.html"
    assert main(["render", "L = c * (a + 2*b)", "--set", "a=3", "b=1", "c=-2",
                 "--walkthrough", str(path), "--practice"]) == 0
    page = open_page(path)
    page.keyboard.press("End")
    assert page.locator("#step-title").text_content() == "∂L/∂L = ?"
    page.screenshot(path=str(tmp_path / "practice_question.png"))


@pytest.mark.slow
def test_the_practice_frame_works_inline_in_the_lecture_notebook(browser, tmp_path):  # noqa: F811
    from nbconvert import HTMLExporter
    from notebook_runs import executed, tagged_cells

    notebook = executed("01_computation_graph")
    (cell,) = tagged_cells(notebook, "practice")
    html = next(output.data["text/html"] for output in cell.outputs
                if "text/html" in output.get("data", {}))
    assert html.startswith("<iframe srcdoc=") and "&quot;practice&quot;: true" in html
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    path = tmp_path / "01_computation_graph.html"
    path.write_text(body, encoding="utf-8")
    with page_opener(browser, 1200, 900) as open_:
        page = open_(path)
        frame = page.frame_locator(".celltag_practice iframe")
        assert frame.locator("h1").text_content() == "Your turn: backpropagate through L by hand"
        frame.locator("#next").click()  # the focus is now in the frame: its keys work there
        page.keyboard.press("End")
        assert frame.locator("#step-title").text_content() == "∂L/∂L = ?"
        page.keyboard.type("1")
        page.keyboard.press("Enter")
        assert frame.locator("#feedback").text_content() == "✓ Right at the first try."
        page.keyboard.press("ArrowRight")
        page.keyboard.type("4")
        page.keyboard.press("Enter")
        assert frame.locator("#feedback").text_content().startswith("Not quite.")
        frame.locator("#hint").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "notebook_practice.png"), full_page=False)
