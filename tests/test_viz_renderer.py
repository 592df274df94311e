"""viz.renderer and viz.render: find and run a renderer; write files whole or not at all."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import sysconfig
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import tinygrad_edu.viz.renderer as renderer
from tinygrad_edu import Value, viz
from tinygrad_edu.viz import RendererNotFound
from tinygrad_edu.viz.renderer import (
    RENDER_TIMEOUT_SECONDS,
    RendererFailed,
    find_graphviz_pure,
    find_renderer,
    render_source,
    write_all_atomically,
    write_atomically,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL_DOT = 'digraph { a [label="a"]; b [label="b"]; a -> b }'

RENDERERS = [pytest.param([find_graphviz_pure(), "-Kdot"], id="graphviz-pure")]
if shutil.which("dot"):
    RENDERERS.append(pytest.param([shutil.which("dot")], id="dot"))


def lecture_graph() -> Value:
    a, b, c = Value(3.0, label="a"), Value(1.0, label="b"), Value(-2.0, label="c")
    L = c * (a + 2 * b)
    L.label = "L"
    L.backward()
    return L


@pytest.fixture
def no_renderer(monkeypatch, tmp_path):
    """A machine with neither `dot` on PATH nor graphviz-pure next to Python."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path / "bin"))


# ------------------------------------------------------------------ finding
def test_graphviz_pure_is_found_beside_python_without_an_activated_venv(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # as when .venv/bin/python is run directly
    found = find_graphviz_pure()
    assert found is not None
    assert Path(found).parent == Path(sys.executable).parent
    assert find_renderer() == [found, "-Kdot"]


def test_graphviz_dot_on_path_is_preferred(monkeypatch, tmp_path):
    fake_dot = tmp_path / "dot"
    fake_dot.write_text("#!/bin/sh\nexit 0\n")
    fake_dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_renderer() == [str(fake_dot)]


def test_no_renderer_raises_renderer_not_found_naming_both_installs(no_renderer):
    with pytest.raises(RendererNotFound) as caught:
        find_renderer()
    message = str(caught.value)
    assert "apt-get install graphviz" in message and "graphviz.org" in message
    assert "pip install graphviz-pure==0.2.2" in message
    assert isinstance(caught.value, RuntimeError)


def test_without_a_renderer_dot_files_still_work_and_pictures_write_nothing(no_renderer,
                                                                          tmp_path):
    graph = lecture_graph()
    with pytest.raises(RendererNotFound):
        viz.render(graph, tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()
    viz.render(graph, tmp_path / "graph.dot")
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8").startswith("digraph {")


# ------------------------------------------------------------------ running
@pytest.mark.parametrize("command", RENDERERS)
def test_each_renderer_writes_svg_and_png(command):
    svg = render_source(SMALL_DOT, "svg", command)
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    assert render_source(SMALL_DOT, "png", command).startswith(PNG_SIGNATURE)


def test_a_renderer_failure_names_the_program_and_its_message():
    with pytest.raises(RuntimeError, match=r"graphviz-pure failed \(exit 1\): .*syntax error"):
        render_source("digraph { a -> }", "svg", [find_graphviz_pure(), "-Kdot"])


def test_unknown_picture_format_is_refused():
    with pytest.raises(ValueError, match="format='pdf'"):
        render_source(SMALL_DOT, "pdf")


# ------------------------------------------------------------------ writing
@pytest.mark.parametrize("name", ["graph.svg", "graph.SVG", "graph.png", "graph.dot", "graph.gv"])
def test_render_picks_the_format_from_the_suffix(tmp_path, name):
    path = viz.render(lecture_graph(), tmp_path / name, show_local_grads=True)
    content = path.read_bytes()
    suffix = name.rsplit(".", 1)[1].lower()
    if suffix == "png":
        assert content.startswith(PNG_SIGNATURE)
    elif suffix == "svg":
        assert b"data &#45;10.0000" in content and ET.fromstring(content) is not None
    else:
        assert content.startswith(b"digraph {") and "∂L/∂c".encode() in content
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


@pytest.mark.parametrize("name", ["graph.pdf", "graph", "graph.svg.bak"])
def test_render_refuses_an_unknown_suffix_and_writes_nothing(tmp_path, name):
    with pytest.raises(ValueError, match="unknown suffix") as caught:
        viz.render(lecture_graph(), tmp_path / name)
    assert repr(Path(name).suffix or "(none)") in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    target = tmp_path / "graph.svg"
    target.write_text("the old picture")

    def broken_renderer(source, format="svg", command=None, timeout=None):
        raise RuntimeError("the renderer crashed")

    monkeypatch.setattr(viz, "render_source", broken_renderer)
    with pytest.raises(RuntimeError, match="crashed"):
        viz.render(lecture_graph(), target)
    assert target.read_text() == "the old picture"


def test_write_atomically_replaces_whole_and_cleans_up_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    write_atomically(target, "first")
    write_atomically(target, b"second")
    assert target.read_text() == "second"
    # An ordinary file mode, not mkstemp's private 0600.
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(renderer.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, "third")
    assert target.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_write_atomically_makes_missing_folders_and_refuses_a_path_below_a_file(tmp_path):
    assert write_atomically(tmp_path / "new" / "deeper" / "out.svg", "x").read_text() == "x"
    (tmp_path / "file").write_text("a file")
    with pytest.raises(NotADirectoryError, match=r"file/a/out.svg: .*file is a file, not a"):
        write_atomically(tmp_path / "file" / "a" / "out.svg", "x")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "new"]


def test_a_failed_write_removes_the_folders_it_made(tmp_path, monkeypatch):
    def full_disk(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(renderer.os, "replace", full_disk)
    (tmp_path / "kept").mkdir()
    with pytest.raises(OSError, match="No space"):
        write_all_atomically({tmp_path / "new" / "a.svg": "a", tmp_path / "kept" / "b.svg": "b"})
    assert [path.name for path in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ------------------------------------------------- a renderer that misbehaves
def _fake_renderer(tmp_path, body: str) -> list[str]:
    """A renderer command whose behaviour is the shell script `body`."""
    script = tmp_path / "fake-renderer"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return [str(script)]


def _gone(pid: int) -> bool:
    """True if the process has ended (a zombie waiting for a parent to reap it counts)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return "\nState:\tZ" in status


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for the renderer")
def test_a_hung_renderer_is_stopped_at_the_timeout_children_and_all(tmp_path):
    pid_file = tmp_path / "child.pid"
    command = _fake_renderer(tmp_path, f"sleep 60 & echo $! > {pid_file}; wait")
    started = time.monotonic()
    with pytest.raises(RendererFailed, match=r"took over 0\.5 s .* was stopped"):
        render_source(SMALL_DOT, "svg", command, timeout=0.5)
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child), "the renderer's child process still runs after the timeout"


def test_the_default_timeout_is_a_minute_and_can_be_set():
    assert RENDER_TIMEOUT_SECONDS == 60
    with pytest.raises(ValueError, match="timeout .* must be a number > 0, got 0"):
        render_source(SMALL_DOT, "svg", ["true"], timeout=0)


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for the renderer")
@pytest.mark.parametrize("format, printed, problem", [
    ("svg", "garbage", "not an SVG picture"),
    ("svg", "<html></html>", "root is <html>"),
    ("png", "garbage", "not a PNG picture"),
])
def test_a_renderer_that_prints_garbage_with_exit_0_is_refused(tmp_path, format, printed,
                                                                problem):
    command = _fake_renderer(tmp_path, f"cat > /dev/null; echo '{printed}'")
    with pytest.raises(RendererFailed, match=problem):
        render_source(SMALL_DOT, format, command)


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for the renderer")
def test_garbage_from_the_renderer_never_replaces_a_picture(tmp_path, monkeypatch):
    target = tmp_path / "graph.svg"
    target.write_text("the old picture")
    command = _fake_renderer(tmp_path, "cat > /dev/null; echo garbage")
    monkeypatch.setattr(renderer, "find_renderer", lambda: command)
    with pytest.raises(RendererFailed):
        viz.render(lecture_graph(), target)
    assert target.read_text() == "the old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-renderer", "graph.svg"]


def test_overwriting_keeps_the_files_mode(tmp_path):
    target = tmp_path / "graph.dot"
    target.write_text("old")
    target.chmod(0o640)
    write_atomically(target, "new")
    assert (target.read_text(), stat.S_IMODE(target.stat().st_mode)) == ("new", 0o640)


def test_write_all_atomically_replaces_nothing_when_one_file_cannot_be_written(tmp_path):
    first = tmp_path / "first.txt"
    first.write_text("old")
    (tmp_path / "folder.txt").mkdir()  # a folder where a file should go
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        write_all_atomically({first: "new", tmp_path / "folder.txt": "new"})
    assert first.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.txt", "folder.txt"]
