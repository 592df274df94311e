"""viz.playground() in a real JupyterLab: the kernel serves the page, the cell shows it, the page's
controls train, and `playground.model` in the next cell is the MLP they trained.

Needs JupyterLab (dev extra), the `browser` extra and a Chromium; skipped without them.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from chromium import browser  # noqa: F401 - the fixture
from lab_server import running_lab

pytestmark = pytest.mark.browser
CELLS = ["from tinygrad_edu import viz\n\nplayground = viz.playground()\nplayground",
         "print(playground.model, len(playground.run.losses))"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("playground-lab")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, root / "playground.ipynb")
    with running_lab(root) as server:
        yield server


def run_cell(page, cell) -> None:
    """Run a cell as a student does (click it, Shift+Enter) until its prompt shows a count."""
    for _ in range(3):  # a run pressed while the kernel connects is sometimes dropped
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        prompt = cell.locator(".jp-InputArea-prompt")
        for _ in range(100):
            if re.search(r"\[[0-9*]+\]", prompt.text_content() or ""):
                return
            page.wait_for_timeout(100)
    raise AssertionError(f"the cell did not run: its prompt reads {prompt.text_content()!r}")


def test_the_playground_runs_in_a_notebook_and_model_is_what_it_trained(browser, lab, tmp_path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(lab.url("playground.ipynb"))
        cells = page.locator(".jp-Notebook .jp-CodeCell")
        cells.first.wait_for(timeout=60_000)
        # The kernel connected and idle (a cell run before that may be dropped), then run.
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
        run_cell(page, cells.nth(0))
        frame = page.frame_locator(".jp-OutputArea-output iframe")
        frame.locator("#counter").wait_for(timeout=60_000)
        frame.locator("#counter:text('step 0')").wait_for(timeout=60_000)
        for k in range(1, 4):
            frame.locator("#step").click()
            frame.locator(f"#counter:text('step {k}')").wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "playground-in-lab.png"))
        run_cell(page, cells.nth(1))
        output = cells.nth(1).locator(".jp-OutputArea-output")
        output.wait_for(timeout=60_000)
        assert output.text_content().strip() == (
            "MLP(2, [8, 8, 1], activation='tanh', output_activation='linear') 3")
    except Exception:
        page.screenshot(path=str(tmp_path / "failed.png"))  # what the lab showed
        raise
    finally:
        page.close()
    assert errors == []
