"""viz.walkthrough: the lecture's forward and backward passes, one node per step (§5, §6)."""

from __future__ import annotations

import json
import re

import pytest
from lecture import lecture_graph

from tinygrad_edu import Value, engine, topological_order, viz
from tinygrad_edu import sum as value_sum
from tinygrad_edu.nn import MLP
from tinygrad_edu.viz.walkthrough import backward_grads, build_steps, formula, walkthrough_html


def page_data(html: str) -> dict:
    """The JSON the page's script steps through."""
    return json.loads(re.search(r"const DATA = (.*);\n", html).group(1))


# ------------------------------------------------------------------ steps
def test_lecture_steps_forward_in_topological_order_then_backward_in_reverse():
    L = lecture_graph()
    order = topological_order(L)
    steps = build_steps(L, order)
    assert len(steps) == 1 + 6 + 6  # the start, then one forward and one backward step per node
    assert [step["phase"] for step in steps] == ["start"] + ["forward"] * 6 + ["backward"] * 6
    assert [step["node"] for step in steps[1:7]] == list(range(6))
    assert [step["node"] for step in steps[7:]] == list(range(5, -1, -1))


def test_lecture_forward_steps_show_each_value_computed_from_its_inputs():
    L = lecture_graph()
    forward = {step["title"].split(" = ")[0]: step
               for step in build_steps(L, topological_order(L)) if step["phase"] == "forward"}
    assert forward["a"]["title"] == "a = 3.0000"
    assert forward["d"]["title"] == "d = b * 2"
    assert forward["d"]["lines"][0] == "= 1.0000 * 2 = 2.0000"
    assert forward["e"]["title"] == "e = a + d"
    assert forward["e"]["lines"][0] == "= 3.0000 + 2.0000 = 5.0000"
    assert forward["L"]["lines"][0] == "= (-2.0000) * 5.0000 = -10.0000"
    # The local gradients are computed alongside the value, for the backward pass to use.
    assert forward["L"]["lines"][-1].endswith("∂L/∂c = 5.0000, ∂L/∂e = -2.0000")


def test_lecture_backward_steps_multiply_upstream_by_local_grad():
    L = lecture_graph()
    backward = [step for step in build_steps(L, topological_order(L))
                if step["phase"] == "backward"]
    titles = [step["title"] for step in backward]
    assert titles[0] == "∂L/∂L = 1"
    assert set(titles[1:]) == {"∂L/∂c = 5.0000", "∂L/∂e = -2.0000", "∂L/∂a = -2.0000",
                               "∂L/∂d = -2.0000", "∂L/∂b = -4.0000"}
    # b's gradient is only known after d's: reverse topological order
    assert titles.index("∂L/∂b = -4.0000") > titles.index("∂L/∂d = -2.0000")
    b_step = backward[titles.index("∂L/∂b = -4.0000")]
    assert b_step["lines"] == ["via d: ∂L/∂d × ∂d/∂b = -2.0000 × 2.0000 = -4.0000"]


def test_a_value_used_several_times_adds_its_paths_with_a_running_sum():
    x = Value(2.0, label="x")
    square = x * x
    y = square + x  # x is used three times: twice by the product, once by the sum
    y.label = "y"
    steps = build_steps(y, topological_order(y))
    x_step = next(step for step in steps if step["title"].startswith("∂y/∂x"))
    assert x_step["title"] == "∂y/∂x = 5.0000"  # 2x + 1 at x = 2
    sums = [re.search(r"running sum (\S+)", line).group(1) for line in x_step["lines"][:3]]
    assert sums == ["1.0000", "3.0000", "5.0000"]
    assert "(1st use)" in x_step["lines"][1] and "(2nd use)" in x_step["lines"][2]
    assert "used 3 times" in x_step["lines"][3]


def test_grads_are_computed_fresh_even_after_backward_ran_twice():
    model = MLP(2, [3, 1], seed=3)
    out = model([0.5, -1.0])
    loss = (out - 1.0) ** 2
    loss.backward()
    expected = {p: p.grad for p in model.parameters()}
    loss.backward()  # leaf grads accumulate: now doubled
    grads = backward_grads(loss, topological_order(loss))
    for parameter, grad in expected.items():
        assert grads[parameter] == pytest.approx(grad, rel=1e-12, abs=1e-15)


X, Y = Value(1.5, label="x"), Value(2.0, label="y")


@pytest.mark.parametrize("build, operands, expected", [
    (lambda: X + Y, ["a", "d"], "a + d"),
    (lambda: X ** Y, ["x", "y"], "x ** y"),
    (lambda: X * 2, ["b"], "b * 2"),
    (lambda: 2 * X, ["b"], "b * 2"),
    (lambda: X ** 2, ["x"], "x ** 2"),
    (lambda: X + -3, ["x"], "x + -3"),
    (lambda: X - 0.001, ["x"], "x - 0.001"),
    (lambda: 2 - X, ["x"], "2 - x"),
    (lambda: -2 - X, ["x"], "-2 - x"),
    (lambda: 2 ** X, ["x"], "2 ** x"),
    (lambda: 1e-08 / X, ["x"], "1e-08 / x"),
    (lambda: X / 3, ["x"], "x / 3"),
    (lambda: -X, ["x"], "-x"),
    (lambda: X.tanh(), ["z"], "tanh(z)"),
    (lambda: engine.sum([X, Y, X]), ["p", "q", "r"], "sum(p, q, r)"),
    (lambda: engine.sum([X, Y, 3]), ["a", "b"], "sum(a, b) + 3"),
    (lambda: engine.sum([X, Y, -0.25]), ["a", "b"], "sum(a, b) - 0.25"),
    (lambda: engine.mean([X, Y]), ["p", "q"], "mean(p, q)"),
    (lambda: engine.dot([X], [Y], 0.5), ["w", "x"], "dot(w, x) + 0.5: Σ weight × input (+ bias)"),
])
def test_formula_writes_out_how_the_engine_made_a_node(build, operands, expected):
    assert formula(build(), operands) == expected


def test_a_folded_constant_is_written_exactly_not_rounded():
    node = X + 0.1234567891
    assert node.constant == 0.1234567891
    assert formula(node, ["x"]) == "x + 0.1234567891"


def test_the_page_writes_sum_with_a_constant_as_a_sum_plus_the_constant():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    total = engine.sum([a, b, 3])
    total.label = "s"
    steps = build_steps(total, topological_order(total))
    assert steps[3]["title"] == "s = sum(a, b) + 3"
    assert steps[3]["lines"][0] == "= sum(1.0000, 2.0000) + 3 = 6.0000"


def test_long_operand_lists_are_shortened():
    total = engine.sum([Value(float(i)) for i in range(20)])
    shortened = formula(total, [f"x{i}" for i in range(20)])
    assert shortened == "sum(x0, x1, x2, x3, x4, …, x19)"


# ------------------------------------------------------------------ the page
def test_page_is_self_contained_html_with_inline_svg_and_script(tmp_path):
    path = viz.walkthrough(lecture_graph(), tmp_path / "steps.html")
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 1 and "<?xml" not in html
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    # The only URLs are XML namespace names inside the SVG, which are never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    data = page_data(html)
    assert [node["label"] for node in data["nodes"]] == ["b", "d", "a", "e", "c", "L"]
    assert {node["label"]: node["grad"] for node in data["nodes"]}["b"] == "-4.0000"
    assert len(data["steps"]) == 13
    for control in ('id="prev"', 'id="next"', 'id="slider"', "ArrowRight", "ArrowLeft"):
        assert control in html


def test_labels_cannot_break_out_of_the_page():
    a = Value(1.0, label="</script><script>alert(1)</script>")
    b = a * 2
    b.label = "<b onload=alert(2)>"
    html = walkthrough_html(b)
    assert "<script>alert" not in html
    assert "<b onload" not in html
    assert page_data(html)["nodes"][0]["label"] == "</script><script>alert(1)</script>"


def test_unlabelled_nodes_are_numbered_on_the_page_and_in_the_picture():
    x = Value(0.5, label="x")
    y = (x * 3).tanh()
    html = walkthrough_html(y)
    assert [node["label"] for node in page_data(html)["nodes"]] == ["x", "#1", "#2"]
    assert ">#1</text>" in html and ">#2</text>" in html
    assert page_data(html)["steps"][2]["title"] == "#1 = x * 3"


def test_an_unlabelled_output_is_called_the_output_in_the_title_not_a_number():
    x = Value(0.5, label="x")
    y = (x * 3).tanh()
    for page in (walkthrough_html(y), viz.walkthrough(y).html):
        assert "<title>Forward and backward through the output</title>" in page
        assert "<h1>Forward and backward through the output</h1>" in page
    assert viz.walkthrough(y).title == "Forward and backward through the output"
    y.label = "y"
    assert "<title>Forward and backward through y</title>" in walkthrough_html(y)


def test_help_shows_the_walkthroughs_options_by_name():
    import inspect

    parameters = inspect.signature(viz.walkthrough).parameters
    assert list(parameters) == ["root", "path", "title", "rankdir", "decimals", "parameters",
                                "max_nodes", "timeout", "practice"]
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
               for name in list(parameters)[2:])
    with pytest.raises(TypeError, match="colour"):
        viz.walkthrough(lecture_graph(), colour="red")  # a misspelt option is refused at once


def test_small_mlp_walkthrough_covers_every_node():
    model = MLP(2, [3, 1], seed=1)
    loss = (model([0.5, -1.0]) - 1.0) ** 2
    loss.label = "loss"
    data = page_data(walkthrough_html(loss))
    nodes = len(topological_order(loss))
    assert len(data["steps"]) == 2 * nodes + 1
    grads = {node["label"]: float(node["grad"]) for node in data["nodes"]}
    loss.backward()
    for name, parameter in model.named_parameters():
        assert grads[name] == pytest.approx(parameter.grad, abs=1e-4)


def test_walkthrough_respects_max_nodes():
    total = value_sum([Value(float(i)) for i in range(50)])
    with pytest.raises(ValueError, match="max_nodes=20"):
        walkthrough_html(total, max_nodes=20)


def test_a_label_that_looks_like_a_template_slot_is_shown_as_it_is():
    x = Value(2.0, label="{{SVG}}")
    y = x * 3
    y.label = "{{DATA}}"
    page = walkthrough_html(y)
    assert page.count("<svg") == 1  # the SVG went in once, where its slot is
    assert "{{SVG}}" in page and "{{DATA}}" in page  # the labels, untouched
    assert page_data(page)["nodes"][-1]["label"] == "{{DATA}}"
