"""viz.notebook: what Jupyter shows, and saving a drawing without Graphviz's `dot`."""

from __future__ import annotations

import base64
import json
import math
import re
import xml.etree.ElementTree as ET

import pytest
from lecture import lecture_graph

from tinygrad_edu import Value, viz
from tinygrad_edu.losses import binary_cross_entropy_with_logits
from tinygrad_edu.nn import MLP
from tinygrad_edu.viz import notebook, renderer
from tinygrad_edu.viz.notebook import (
    MIN_SCALE,
    PNG_MAX_PIXELS,
    STILL_WIDTH,
    FramedPage,
    natural_size,
    natural_width,
    png_density,
    still_cuts,
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


def viewer_data(page: str) -> dict:
    """The data the viewer's script reads: the SVG, its natural size, the output node."""
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    return json.loads(re.search(r"const DATA = (\{.*?\});\n", script).group(1))


def stills(page: str) -> list[bytes]:
    """The still pictures a notebook that runs no scripts shows, decoded."""
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"',
                                                           page)]


def chain(length: int) -> Value:
    x = Value(0.5, label="x")
    y = x
    for _ in range(length):
        y = (y * 1.01).tanh()
    return y


def test_jupyter_gets_a_viewer_with_still_pictures_and_a_png_of_the_same_graph():
    L = lecture_graph()
    L.backward()
    bundle, metadata = viz.draw_dot(L, show_local_grads=True)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/png", "text/plain"}
    page = bundle["text/html"]
    assert page.startswith('<div class="tge-graph"><div class="tge-still">')
    data = viewer_data(page)
    assert "data -10.0000" in svg_texts(data["svg"])
    assert data["minScale"] == MIN_SCALE
    width, height = natural_size(data["svg"])
    assert (data["width"], data["height"]) == (width, height)
    assert data["output"] == "n5"  # L, the box no arrow leaves
    png = bundle["image/png"]
    assert png.startswith(PNG_MAGIC)
    # Drawn at twice the density, shown at the SVG's natural width: sharp, and the same size.
    assert metadata["image/png"]["width"] == round(width)
    assert png_width(png) == pytest.approx(2 * width, rel=0.02)
    assert stills(page) == [png]  # narrow enough to be one picture
    assert f'width="{round(width)}"' in page and "pieces" not in page
    assert "Digraph" in bundle["text/plain"]


def test_a_wide_graph_is_cut_between_boxes_into_pieces_readable_in_a_narrow_output():
    svg = viz.render_source(viz.draw_dot(chain(99)).source).decode("utf-8")
    width = natural_width(svg)
    cuts = still_cuts(svg)
    longest = STILL_WIDTH / MIN_SCALE  # shown STILL_WIDTH px wide, a piece is at MIN_SCALE
    assert math.ceil(width / longest) <= len(cuts) <= math.ceil(width / longest * 1.2)
    assert cuts[0][0] == 0 and cuts[-1][1] == width
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))  # nothing lost, nothing twice
    assert all(0 < end - start <= longest for start, end in cuts)
    boxes = notebook._occupied(svg)
    assert len(boxes) == 199 + 198  # a box per Value, a circle per operation
    for start, _ in cuts[1:]:
        assert not any(low < start < high for low, high in boxes)  # between boxes, never through
    bundle, _ = viz.draw_dot(chain(99))._repr_mimebundle_()
    pieces = stills(bundle["text/html"])
    assert len(pieces) == len(cuts) and all(piece.startswith(PNG_MAGIC) for piece in pieces)
    # Each piece keeps only the rows with something on them: the chain's, not the legend's.
    heights = [int.from_bytes(piece[20:24], "big") for piece in pieces]
    assert max(heights[1:]) < heights[0] / 2
    assert f"The graph in {len(pieces)} pieces, left to right" in bundle["text/html"]


def test_a_big_graphs_png_stays_within_its_pixel_budget():
    model = MLP(2, [16, 16, 1], seed=0)
    svg = viz.render_source(viz.draw_dot(model([0.5, -1.0]), cluster="module").source)
    svg = svg.decode("utf-8")
    width, height = natural_size(svg)
    density = png_density(svg)
    assert density < 2 and (width * density) * (height * density) <= PNG_MAX_PIXELS * 1.001
    assert png_density(viz.render_source(viz.draw_dot(lecture_graph()).source).decode()) == 2


def test_a_label_cannot_break_out_of_the_viewers_script():
    x = Value(2.0, label="</script><script>alert(1)</script>")
    page = viz.draw_dot(x * 3)._repr_mimebundle_()[0]["text/html"]
    assert page.count("<script>") == 1 and page.count("</script>") == 1
    assert "alert(1)" in viewer_data(page)["svg"]  # still drawn, as text


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
    assert fallback.startswith('<div><img alt="Lecture §5" width=') and "run this cell" in fallback
    assert base64.b64decode(re.search(r"base64,([^\"]+)", fallback).group(1)).startswith(PNG_MAGIC)
    # A wide graph's still picture comes in pieces, as draw_dot's does.
    model = MLP(2, [4, 1], seed=0)
    loss = binary_cross_entropy_with_logits(model([0.5, -1.0]), 1)
    wide = viz.walkthrough(loss, parameters=model.parameters())._repr_html_()
    assert wide.count("<img ") >= 2 and "pieces, left to right" in wide
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
