"""`tinygrad-edu render`: the lecture's example from the command line, and its one-line errors."""

from __future__ import annotations

import io
import json
import re
import sys
import xml.etree.ElementTree as ET

import pytest

from tinygrad_edu.cli import main

LECTURE = "d = 2*b; e = a + d; L = c*e"
LECTURE_INPUTS = ["--set", "a=3", "b=1", "c=-2"]
SVG_TEXT = "{http://www.w3.org/2000/svg}text"


def svg_texts(path) -> list[str]:
    return [text.text or "" for text in ET.parse(path).getroot().iter(SVG_TEXT)]


def one_line_error(capsys) -> str:
    """The error main() printed: exactly one line on stderr."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("tinygrad-edu render: error: ")
    return err


def test_render_draws_the_lecture_graph_named_by_variable(tmp_path, capsys):
    out = tmp_path / "lecture.svg"
    assert main(["render", LECTURE, *LECTURE_INPUTS, "-o", str(out), "--local-grads"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    texts = svg_texts(out)
    for name in "abcdeL":
        assert name in texts
    for expected in ["data -10.0000", "grad -4.0000", "grad 5.0000", "∂L/∂e = -2.0000"]:
        assert expected in texts


def test_render_writes_the_walkthrough_page_too(tmp_path):
    page = tmp_path / "steps.html"
    assert main(["render", LECTURE, *LECTURE_INPUTS, "-o", str(tmp_path / "g.dot"),
                 "--walkthrough", str(page), "--rankdir", "TB"]) == 0
    html = page.read_text(encoding="utf-8")
    steps = json.loads(re.search(r"const DATA = (.*);\n", html).group(1))["steps"]
    assert "∂L/∂b = -4.0000" in [step["title"] for step in steps]
    assert "rankdir=TB" in (tmp_path / "g.dot").read_text(encoding="utf-8")


def test_program_from_a_file_and_from_stdin(tmp_path, monkeypatch):
    program = tmp_path / "prog.txt"
    program.write_text("d = 2*b\ne = a + d\nL = c*e\n", encoding="utf-8")
    assert main(["render", "-f", str(program), *LECTURE_INPUTS,
                 "-o", str(tmp_path / "file.dot")]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(LECTURE))
    assert main(["render", "-", *LECTURE_INPUTS, "-o", str(tmp_path / "stdin.dot")]) == 0
    assert (tmp_path / "file.dot").read_text() == (tmp_path / "stdin.dot").read_text()
    assert "data -10.0000" in (tmp_path / "file.dot").read_text(encoding="utf-8")


def test_a_bare_expression_is_labelled_result(tmp_path):
    out = tmp_path / "bare.dot"
    assert main(["render", "c * (a + 2*b)", *LECTURE_INPUTS, "-o", str(out)]) == 0
    assert "<b>result</b></td><td>data -10.0000" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["L = a.b", "-o", "{out}"], "column 5: attribute access not allowed"),
    (["import os", "-o", "{out}"], "import not allowed"),
    (["L = open('x')", "-o", "{out}"], "calling open"),
    (["L = [a][0]", "-o", "{out}"], "column 5:"),
    (["L = lambda: 1", "-o", "{out}"], "lambda not allowed"),
    (["L = 'text'", "-o", "{out}"], "str constants"),
    (["L = c * ee", "--set", "c=1", "-o", "{out}"], "ee is not set"),
    (["L = c * e", "--set", "c=1", "e=2", "f=3", "-o", "{out}"], "f is set but not used"),
    (["L = log(a)", "--set", "a=0", "-o", "{out}"], "log(0.0): input must be > 0"),
    (["L = 1 / a", "--set", "a=0", "-o", "{out}"], "division by zero"),
    (["L = a", "--set", "a=x", "-o", "{out}"], "'x' is not a number"),
    (["L = a", "--set", "a=1", "-o", "{out_pdf}"], "unknown suffix '.pdf'"),
    (["L = a", "--set", "a=1", "-o", "{below_a_file}"], "is a file, not a folder"),
    (["L = a", "--set", "a=1", "-o", "{missing}", "--walkthrough", "{below_a_file_html}"],
     "is a file, not a folder"),
    (["L = a", "--set", "a=1", "--walkthrough", "{out}"], "give a file name ending in .html"),
    (["L = a", "--set", "a=1"], "nothing to write"),
    (["L = a", "--set", "a=1", "-f", "{out}", "-o", "{out}"], "either as an argument or with -f"),
])
def test_errors_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, argv, message):
    (tmp_path / "file").write_text("a file, not a folder")
    paths = {"out": str(tmp_path / "graph.svg"), "out_pdf": str(tmp_path / "graph.pdf"),
             "missing": str(tmp_path / "no" / "graph.svg"),
             "below_a_file": str(tmp_path / "file" / "graph.svg"),
             "below_a_file_html": str(tmp_path / "file" / "deeper" / "steps.html")}
    argv = [word.format(**paths) for word in argv]
    assert main(["render", *argv]) == 2
    assert message in one_line_error(capsys)
    assert [path.name for path in tmp_path.iterdir()] == ["file"]  # no folder made either


def test_render_makes_the_folders_of_its_outputs_as_train_does(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a fresh folder, as the README's first command meets it
    assert main(["render", "d = 2*b; e = a + d; L = c*e", *LECTURE_INPUTS, "--local-grads",
                 "-o", "out/lecture.svg", "--walkthrough", "out/pages/steps.html"]) == 0
    assert capsys.readouterr().out == "wrote out/lecture.svg\nwrote out/pages/steps.html\n"
    assert "data -10.0000" in svg_texts(tmp_path / "out" / "lecture.svg")
    assert (tmp_path / "out" / "pages" / "steps.html").read_text(encoding="utf-8").startswith(
        "<!DOCTYPE html>")


def test_an_empty_program_on_stdin_is_an_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["render", "-o", str(tmp_path / "g.svg")]) == 2
    assert "empty program" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []
