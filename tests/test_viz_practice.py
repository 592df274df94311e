"""Practice mode of the step-by-step page, without a browser: the questions, answers and hints
it carries, the command's --practice, and the JavaScript that reads an answer (never eval)."""

from __future__ import annotations

import json
import re

from lecture import lecture_graph

from tinygrad_edu import Value, viz
from tinygrad_edu.cli import main
from tinygrad_edu.viz.walkthrough import TEMPLATES, walkthrough_html


def page_data(html: str) -> dict:
    return json.loads(re.search(r"const DATA = (.*);\n", html).group(1))


def test_each_backward_step_is_a_question_with_its_answer_and_a_hint():
    data = page_data(walkthrough_html(lecture_graph(), practice=True))
    assert data["practice"] is True and data["roundoff"] == 0.00005
    backward = [step for step in data["steps"] if step["phase"] == "backward"]
    assert [step["question"] for step in backward] == ["∂L/∂L", "∂L/∂c", "∂L/∂e", "∂L/∂a",
                                                      "∂L/∂d", "∂L/∂b"]
    answers = {node["label"]: node["answer"] for node in data["nodes"]}
    assert answers == {"L": 1.0, "c": 5.0, "e": -2.0, "a": -2.0, "d": -2.0, "b": -4.0}
    hints = {step["question"]: step["hint"] for step in backward}
    # Upstream × local with the numbers, but not the product: that is the learner's to do.
    assert hints["∂L/∂b"] == ["via d: ∂L/∂d × ∂d/∂b = -2.0000 × 2.0000"]
    assert hints["∂L/∂e"] == ["via L: ∂L/∂L × ∂L/∂e = 1.0000 × (-2.0000)"]
    assert hints["∂L/∂L"] == ["Backward starts at the output: how much does L change when L "
                              "itself changes by 1?"]


def test_a_value_used_twice_gets_a_hint_line_per_use_and_the_sum_rule():
    x = Value(3.0, label="x")
    y = x * x + x
    y.label = "y"
    data = page_data(walkthrough_html(y, practice=True))
    hint = next(step["hint"] for step in data["steps"] if step.get("question") == "∂y/∂x")
    assert len(hint) == 4 and hint[-1] == "x is used 3 times: add the products up (lecture §6)."
    assert next(n["answer"] for n in data["nodes"] if n["label"] == "x") == 7.0  # 2x + 1


def test_the_plain_page_carries_no_answers():
    page = walkthrough_html(lecture_graph())
    data = page_data(page)
    assert "practice" not in data and not any("answer" in node for node in data["nodes"])


def test_the_practice_page_gives_answers_away_nowhere_before_they_are_asked():
    frame = viz.walkthrough(lecture_graph(), practice=True)
    assert frame.pictures == []  # the still picture for untrusted notebooks has every grad
    assert "Practice: backpropagate through L" in frame.html


def test_the_answer_reader_is_a_regular_expression_not_eval():
    script = (TEMPLATES / "walkthrough.js").read_text(encoding="utf-8")
    assert "eval(" not in script and "Function(" not in script
    assert "function parseAnswer(text)" in script


def test_render_practice_writes_the_page_and_needs_a_walkthrough(tmp_path, capsys):
    page = tmp_path / "quiz.html"
    assert main(["render", "L = c * (a + 2*b)", "--set", "a=3", "b=1", "c=-2",
                 "--walkthrough", str(page), "--practice"]) == 0
    assert page_data(page.read_text(encoding="utf-8"))["practice"] is True
    picture = tmp_path / "graph.svg"
    assert main(["render", "L = c * 2", "--set", "c=1", "-o", str(picture), "--practice"]) == 2
    assert "--practice makes the --walkthrough page a practice" in capsys.readouterr().err
    assert not picture.exists()
