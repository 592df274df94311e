"""viz.notebook: what Jupyter shows, and saving a drawing without Graphviz's `dot`."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest
from lecture import lecture_graph

from tinygrad_edu import Value, viz
from tinygrad_edu.nn import MLP
from tinygrad_edu.viz import renderer
from tinygrad_edu.viz.notebook import (
    FITS_ANY_CELL,
    MIN_SCALE,
    SCROLLS_FROM,
    FramedPage,
    fit_to_cell,
    natural_width,
)

SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def svg_texts(svg: str) -> list[str]:
    """Every text the picture shows, parsed as XML (so a malformed SVG fails here)."""
    return [text.text or "" for text in ET.fromstring(svg.encode("utf-8")).iter(SVG + "text")]


def png_width(png: bytes) -> int:
    return int.from_bytes(png[16:20], "big")


@pytest.fixture
def no_renderer(monkeypatch):
    """A machine with neither Graphviz's dot nor graphviz-pure."""
    monkeypatch.setattr(renderer.shutil, "which", lambda name: None)
    monkeypatch.setattr(renderer, "find_graphviz_pure", lambda: None)


def test_jupyter_gets_an_svg_and_a_png_of_the_same_graph():
    L = lecture_graph()
    L.backward()
    bundle, metadata = viz.draw_dot(L, show_local_grads=True)._repr_mimebundle_()
    assert "data -10.0000" in svg_texts(bundle["image/svg+xml"])
    png = bundle["image/png"]
    assert png.startswith(PNG_MAGIC)
    # Drawn at twice the density, shown at the SVG's natural width: sharp, and the same size.
    view_box = ET.fromstring(bundle["image/svg+xml"].encode("utf-8")).get("viewBox").split()
    width_px = float(view_box[2]) * 96 / 72  # Graphviz's viewBox is in points
    assert metadata["image/png"]["width"] == pytest.approx(width_px, abs=2)
    assert png_width(png) == pytest.approx(2 * metadata["image/png"]["width"], rel=0.02)
    assert "Digraph" in bundle["text/plain"]


def test_a_wide_graph_fills_the_cell():
    svg = viz.render_source(viz.draw_dot(lecture_graph(), show_local_grads=True).source)
    svg = svg.decode("utf-8")
    width = natural_width(svg)
    assert FITS_ANY_CELL < width <= SCROLLS_FROM  # the lecture graph is one of the wide ones
    fitted = fit_to_cell(svg)
    root = ET.fromstring(fitted.encode("utf-8"))
    assert root.get("width") == "100%" and root.get("height") is None  # height from viewBox
    style = dict(part.split(":") for part in root.get("style").split(";"))
    assert style["max-width"] == f"{width:.0f}px"  # never larger than drawn
    assert style["min-width"] == f"{MIN_SCALE * width:.0f}px"  # wider than this: the cell scrolls
    assert style["height"] == "auto"
    assert root.get("viewBox") == ET.fromstring(svg.encode("utf-8")).get("viewBox")


def test_a_very_wide_graph_is_drawn_at_the_smallest_readable_scale_and_scrolls():
    model = MLP(2, [16, 1], seed=0)
    svg = viz.render_source(viz.draw_dot(model([0.5, -1.0]), cluster="module").source)
    svg = svg.decode("utf-8")
    width = natural_width(svg)
    assert width > SCROLLS_FROM
    root = ET.fromstring(fit_to_cell(svg).encode("utf-8"))
    assert root.get("width") == f"{MIN_SCALE * width:.0f}px" and root.get("style") is None
    height = float(ET.fromstring(svg.encode("utf-8")).get("height")[:-2]) * 96 / 72
    assert root.get("height") == f"{MIN_SCALE * height:.0f}px"


def test_a_small_graph_keeps_its_natural_size():
    x = Value(2.0, label="x")
    svg = viz.render_source(viz.draw_dot(x * x, legend=False).source).decode("utf-8")
    assert natural_width(svg) <= FITS_ANY_CELL
    root = ET.fromstring(fit_to_cell(svg).encode("utf-8"))
    assert root.get("width").endswith("pt") and root.get("style") == "max-width:100%;height:auto"


def test_pipe_and_render_use_the_bundled_renderer(tmp_path, monkeypatch):
    monkeypatch.setattr(renderer.shutil, "which", lambda name: None)  # no system dot
    graph = viz.draw_dot(lecture_graph())
    assert graph.pipe(format="png").startswith(PNG_MAGIC)
    assert "data -10.0000" in svg_texts(graph.pipe(encoding="utf-8"))
    written = graph.render(directory=tmp_path)  # graphviz's defaults: Digraph.gv, Digraph.gv.svg
    assert written == str(tmp_path / "Digraph.gv.svg")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["Digraph.gv", "Digraph.gv.svg"]
    assert (tmp_path / "Digraph.gv").read_text() == graph.source
    assert graph.render(outfile=tmp_path / "lecture.png", cleanup=True).endswith("lecture.png")
    assert (tmp_path / "lecture.png").read_bytes().startswith(PNG_MAGIC)


def test_without_any_renderer_render_leaves_no_stray_file(tmp_path, no_renderer):
    graph = viz.draw_dot(lecture_graph())
    with pytest.raises(viz.RendererNotFound, match="graphviz-pure"):
        graph.render("lecture", directory=tmp_path)
    with pytest.raises(viz.RendererNotFound):
        graph.pipe()
    assert list(tmp_path.iterdir()) == []


def test_formats_only_graphviz_draws_say_so_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(renderer.shutil, "which", lambda name: None)  # graphviz-pure only
    graph = viz.draw_dot(lecture_graph())
    with pytest.raises(viz.RendererNotFound, match="'pdf'.*needs Graphviz's own `dot`"):
        graph.render("lecture", directory=tmp_path, format="pdf")
    assert list(tmp_path.iterdir()) == []


def test_walkthrough_without_a_path_is_a_framed_page_and_with_one_a_file(tmp_path):
    L = lecture_graph()
    page = viz.walkthrough(L, title="Lecture §5")
    assert isinstance(page, FramedPage)
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and frame.endswith("</iframe>")
    assert "<style>" not in frame  # the page's styles are inside the frame, escaped
    assert "&lt;style&gt;" in frame and 'title="Lecture §5"' in frame
    assert 300 < page.height <= 900
    # What an untrusted notebook keeps of it (frames are removed): a picture and a hint.
    fallback = frame.split('loading="eager">', 1)[1][:-len("</iframe>")]
    assert fallback.startswith('<img alt="Lecture §5" width=') and "run this cell" in fallback
    assert base64.b64decode(re.search(r"base64,([^\"]+)", fallback).group(1)).startswith(PNG_MAGIC)
    path = viz.walkthrough(L, tmp_path / "steps.html", title="Lecture §5")
    assert path == tmp_path / "steps.html"
    assert path.read_text(encoding="utf-8") == page.html
    assert page.save(tmp_path / "again.html").read_text(encoding="utf-8") == page.html


def test_plots_return_figures_that_jupyter_shows_and_save_on_request(tmp_path):
    from matplotlib.figure import Figure

    from tinygrad_edu.data import make_blobs

    X, y = make_blobs(n_samples=30, centers=3, seed=0)
    model = MLP(2, [4, 3], seed=0)  # three logits per point: softmax
    figure = viz.plot_decision_boundary(model, X, y, resolution=20)
    assert isinstance(figure, Figure) and figure._repr_png_().startswith(PNG_MAGIC)
    assert list(tmp_path.iterdir()) == []
    curve = viz.plot_loss_curve([1.0, 0.5, 0.25], path=tmp_path / "loss.svg")
    assert len(curve.axes) == 1  # no accuracies given: the loss alone
    assert "<svg" in (tmp_path / "loss.svg").read_text(encoding="utf-8")
    two = viz.plot_loss_curve([1.0, 0.5], [0.5, 1.0], [tmp_path / "a.png", tmp_path / "b.svg"])
    assert len(two.axes) == 2 and (tmp_path / "a.png").read_bytes().startswith(PNG_MAGIC)


def test_plot_functions_load_matplotlib_only_when_asked_for():
    import subprocess
    import sys

    code = ("import sys; from tinygrad_edu import viz; assert 'matplotlib' not in sys.modules; "
            "viz.plot_loss_curve; assert 'matplotlib' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError, match="no attribute 'plot_everything'"):
        viz.plot_everything  # noqa: B018


def test_repr_says_how_to_see_the_graph():
    assert re.fullmatch(r"<Digraph of 8 arrows: .*render.*>", repr(viz.draw_dot(lecture_graph())))
