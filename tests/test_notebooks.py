"""The lecture as notebooks: each runs top to bottom in a real kernel and shows what it should.

Cells are tagged with what they must show: `graph` (a drawing, as a viewer that fits
the output with still pictures inside, and as PNG), `plot` (a matplotlib figure, as
PNG), `walkthrough` (the step-by-step page in a frame), `film` (the training film in a frame,
with a picture of its last frame for an untrusted reader) and `progress` (fit's bar, a
widget whose saved text is the finished bar).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_runs import NOTEBOOKS, executed, mime_types, stored, tagged_cells

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parent.parent / "README.md"
LECTURE_PARTS = ["01_computation_graph", "02_two_paths", "03_logistic_and_softmax_regression",
                 "04_mlp_classifier", "05_language_model", "06_watch_it_learn",
                 "07_from_scalars_to_tensors"]
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_there_is_a_notebook_for_every_part_of_the_lecture():
    assert NOTEBOOKS == LECTURE_PARTS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_are_stored_without_outputs(name):
    for cell in stored(name).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_readme_links_every_notebook(name):
    assert f"(notebooks/{name}.ipynb)" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_without_errors_or_warnings(name):
    notebook = executed(name)  # raises CellExecutionError, naming the cell, on any error
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert [output for output in outputs if output.output_type == "error"] == []
    # Nothing on stderr: no warnings, and no text progress bar redrawn line after line.
    assert [output.text for output in outputs
            if output.output_type == "stream" and output.name == "stderr"] == []


# A float printed with all its digits shows the rounding of binary fractions, e.g.
# 0.1 * 1.5 printed as 0.15000000000000002: a student reads it as a wrong answer.
FLOAT_NOISE = re.compile(r"\d\.\d*(0{8,}|9{8,})\d\b")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_printed_numbers_show_no_rounding_noise(name):
    texts = [output.get("text") or output.get("data", {}).get("text/plain", "")
             for cell in executed(name).cells for output in cell.get("outputs", [])]
    assert [text for text in texts if FLOAT_NOISE.search(text)] == []


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_graph_comes_as_a_fitting_viewer_and_png(name):
    for cell in tagged_cells(executed(name), "graph"):
        assert {"text/html", "image/png"} <= mime_types(cell), cell.source
        page = next(output.data["text/html"] for output in cell.outputs
                    if "text/html" in output.get("data", {}))
        # The viewer (its script fits the SVG to the output), and the still pictures a
        # notebook that runs no scripts shows.
        assert page.startswith('<div class="tge-graph"><div class="tge-still"><div><img ')
        assert "<script>" in page and "\\u003csvg" in page


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_plot_is_shown_as_a_png(name):
    for cell in tagged_cells(executed(name), "plot"):
        assert "image/png" in mime_types(cell), cell.source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_walkthrough_is_a_framed_page(name):
    for cell in tagged_cells(executed(name), "walkthrough"):
        html = next(output.data["text/html"] for output in cell.outputs
                    if "text/html" in output.get("data", {}))
        assert html.startswith("<iframe srcdoc=") and "&lt;svg" in html


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_film_is_a_framed_page_with_a_picture_for_an_untrusted_reader(name):
    for cell in tagged_cells(executed(name), "film"):
        html = next(output.data["text/html"] for output in cell.outputs
                    if "text/html" in output.get("data", {}))
        assert html.startswith("<iframe srcdoc=") and "&lt;canvas id=&quot;boundary" in html
        fallback = html.split('loading="eager">', 1)[1]
        assert fallback.startswith('<div><img alt="Two moons')
        assert "data:image/png;base64," in fallback
        assert "To play the film, run this cell (or trust the notebook)" in fallback


def test_the_film_notebook_has_a_film():
    assert tagged_cells(stored("06_watch_it_learn"), "film")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_progress_bar_is_a_widget_that_saves_as_one_finished_line(name):
    for cell in tagged_cells(executed(name), "progress"):
        bars = [output.data for output in cell.outputs if WIDGET in output.get("data", {})]
        assert bars, cell.source
        for bar in bars:
            text = bar["text/plain"]
            assert "\n" not in text and re.search(r"100%.*(\d+)/\1 ", text), text


def test_every_kind_of_picture_is_checked_somewhere():
    tags = {tag for name in NOTEBOOKS for cell in stored(name).cells
            for tag in cell.metadata.get("tags", [])}
    assert {"graph", "plot", "walkthrough", "progress", "lecture-graph"} <= tags


def test_the_lecture_notebook_computes_the_lecture_numbers_by_hand():
    notebook = executed("01_computation_graph")
    printed = "".join(output.get("text", "") for cell in notebook.cells
                      for output in cell.get("outputs", []))
    assert "forward: d = 2.0, e = 5.0, L = -10.0" in printed
    assert "∂L/∂c = 5.0, ∂L/∂e = -2.0" in printed
    assert "∂L/∂a = -2.0, ∂L/∂d = -2.0, ∂L/∂b = -4.0" in printed
    assert any("L._backward()" in cell.source for cell in notebook.cells)


def test_the_tensor_notebook_shows_the_compare_table_and_both_speeds():
    notebook = executed("07_from_scalars_to_tensors")  # skipped without torch
    (table,) = tagged_cells(notebook, "compare")
    html = next(output.data["text/html"] for output in table.outputs
                if "text/html" in output.get("data", {}))
    assert html.startswith("<table") and "layers.0.weight.grad[3, 1]" in html
    printed = "".join(output.get("text", "") for cell in notebook.cells
                      for output in cell.get("outputs", []))
    assert re.search(r"PyTorch: 1,000,000 examples \(10 passes over 100,000 points\) in "
                     r"[\d.]+ s, accuracy (9\d|100)\.\d%", printed), printed
    assert re.search(r"Values: \d+ µs an example; 1,000,000 examples would take about \d+ "
                     r"minutes", printed), printed
