"""viz.dot: the lecture's graph as DOT text, and what every box, circle and arrow says."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lecture import lecture_graph as unrun_lecture_graph

from tinygrad_edu import Value, dot, topological_order, viz
from tinygrad_edu.nn import MLP
from tinygrad_edu.viz.dot import (
    ROLE_COLOURS,
    draw_dot,
    escape_label,
    format_number,
    module_paths,
    node_role,
)
from tinygrad_edu.viz.renderer import find_graphviz_pure, render_source

SVG = "{http://www.w3.org/2000/svg}"

# Every renderer on this machine: the bundled graphviz-pure always, Graphviz's dot if installed.
RENDERERS = [pytest.param([find_graphviz_pure(), "-Kdot"], id="graphviz-pure")]
if shutil.which("dot"):
    RENDERERS.append(pytest.param([shutil.which("dot")], id="dot"))


def lecture_graph() -> Value:
    """Lecture §5: d = 2b, e = a + d, L = c·e with a = 3, b = 1, c = -2, after backward."""
    L = unrun_lecture_graph()
    L.backward()
    return L


def boxes(source: str) -> list[str]:
    """The DOT names of the Value boxes (n0, n1, ...) in a graph's source."""
    return re.findall(r"^\s*(n\d+) \[", source, flags=re.MULTILINE)


def ops(source: str) -> list[str]:
    return re.findall(r"^\s*(n\d+op) \[", source, flags=re.MULTILINE)


def edges(source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*([\w:]+) -> (\w+)", source, flags=re.MULTILINE)


def svg_texts(svg: bytes) -> list[str]:
    """Every text the picture shows, parsed as XML (so a malformed SVG fails here)."""
    return [text.text or "" for text in ET.fromstring(svg).iter(SVG + "text")]


# ---------------------------------------------------------------- the lecture
def test_lecture_graph_has_a_box_per_value_and_a_circle_per_operation():
    source = draw_dot(lecture_graph()).source
    assert len(boxes(source)) == 6  # a, b, c, d, e, L
    assert len(ops(source)) == 3  # *2, +, *
    # one arrow per operand (1 + 2 + 2) and one from each op to its result (3)
    assert len(edges(source)) == 8


def test_each_box_shows_label_data_and_grad_with_four_decimals():
    source = draw_dot(lecture_graph()).source
    for label, data, grad in [("a", "3.0000", "-2.0000"), ("b", "1.0000", "-4.0000"),
                              ("c", "-2.0000", "5.0000"), ("d", "2.0000", "-2.0000"),
                              ("e", "5.0000", "-2.0000"), ("L", "-10.0000", "1.0000")]:
        assert f"<b>{label}</b></td><td>data {data}</td><td>grad {grad}</td>" in source


def test_decimals_option_changes_the_precision():
    source = draw_dot(lecture_graph(), decimals=1).source
    assert "data -10.0</td><td>grad 1.0</td>" in source


def test_local_grads_are_written_on_the_arrows_into_each_op():
    source = draw_dot(lecture_graph(), show_local_grads=True).source
    for text in ["∂d/∂b = 2.0000", "∂e/∂a = 1.0000", "∂e/∂d = 1.0000",
                 "∂L/∂c = 5.0000", "∂L/∂e = -2.0000"]:
        assert f"[label=<{text}>]" in source
    assert "∂" not in draw_dot(lecture_graph(), legend=False).source


def test_x_times_x_draws_two_arrows_each_with_its_local_grad():
    x = Value(3.0, label="x")
    y = x * x
    y.backward()
    source = draw_dot(y, show_local_grads=True).source
    arrows = [edge for edge in edges(source) if edge[1] == "n1op"]
    assert arrows == [("n0", "n1op"), ("n0", "n1op")]
    # y is unlabelled, so the arrows carry just the number: d(x*x)/dx = x, for each use
    assert source.count("[label=<3.0000>]") == 2


def test_same_graph_built_twice_gives_identical_dot_text():
    first, second = lecture_graph(), lecture_graph()
    assert first is not second
    assert draw_dot(first, show_local_grads=True).source == \
        draw_dot(second, show_local_grads=True).source


def test_rankdir_and_format_are_passed_to_graphviz():
    graph = draw_dot(lecture_graph(), format="png", rankdir="TB")
    assert graph.format == "png"
    assert "rankdir=TB" in graph.source
    with pytest.raises(ValueError, match="rankdir='XY'"):
        draw_dot(lecture_graph(), rankdir="XY")
    with pytest.raises(ValueError, match="cluster='layer'"):
        draw_dot(lecture_graph(), cluster="layer")


@pytest.mark.parametrize("command", RENDERERS)
def test_lecture_graph_renders_to_svg_with_all_its_numbers(command):
    svg = render_source(draw_dot(lecture_graph(), show_local_grads=True).source, "svg", command)
    root = ET.fromstring(svg)
    assert len([g for g in root.iter(SVG + "g") if g.get("class") == "node"]) == 9
    assert len([g for g in root.iter(SVG + "g") if g.get("class") == "edge"]) == 8
    texts = svg_texts(svg)
    for expected in ["data -10.0000", "grad -4.0000", "grad 5.0000", "∂d/∂b = 2.0000", "*2"]:
        assert expected in texts


# ------------------------------------------------------------------ labels
AWKWARD_LABELS = ['a|b', '{x}', '<y>', 'say "hi"', 'back\\slash', 'é∂σ→∑ 日本',
                  'r\\N \\G \\L', 'tab\there', '&amp; not an entity', "it's", '[x]; y=1']


@pytest.mark.parametrize("command", RENDERERS)
def test_any_label_text_renders_exactly_as_written(command):
    leaves = [Value(float(i), label=label) for i, label in enumerate(AWKWARD_LABELS)]
    root = dot(leaves, [1.0] * len(leaves))
    root.label = '"}<|>{\\'
    texts = svg_texts(render_source(draw_dot(root).source, "svg", command))
    for label in AWKWARD_LABELS:
        if label != "tab\there":
            assert label in texts
    assert "tab\\there" in texts  # a control character is shown as its escape
    assert '"}<|>{\\' in texts


@pytest.mark.parametrize("command", RENDERERS)
@settings(max_examples=40)
@given(label=st.text(min_size=1, max_size=20))
@example(label="a  b")  # two spaces: hypothesis found them once, in a full run
def test_every_label_survives_the_renderer(command, label):
    texts = svg_texts(render_source(draw_dot(Value(1.0, label=label), legend=False).source,
                                    "svg", command))
    printable = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in label)
    # graphviz-pure keeps a run of spaces visible in SVG as a space and no-break spaces
    # ("a  b" -> "a \xa0b"); a no-break space in a label itself is shown escaped, as "\xa0".
    assert texts[0].replace("\xa0", " ") == printable


def test_escape_label_makes_xml_entities_and_doubles_backslashes():
    assert escape_label('<a & "b">') == "&lt;a &amp; &quot;b&quot;&gt;"
    assert escape_label("\\N") == "\\\\N"
    assert escape_label("bell\x07") == "bell\\\\x07"


def test_format_number():
    assert format_number(-4.0) == "-4.0000"
    assert format_number(-0.0) == "0.0000"
    assert format_number(1e-9) == "1.000e-09"
    assert format_number(2.5e7, decimals=2) == "2.5e+07"
    assert format_number(0.12345, decimals=2) == "0.12"


# ------------------------------------------------------------------- roles
def box_colours(source: str) -> dict[str, str]:
    """Each box's fill colour, keyed by its first cell: `<b>label</b>` or `data ...`."""
    return dict((cell, colour) for colour, cell in re.findall(
        r'bgcolor="(#\w{6})"><tr><td>(<b>[^<]*</b>|data [-\d.]+)</td>', source))


def test_roles_pick_the_colours_and_the_legend_names_them():
    x = Value(0.5, label="x")  # an input
    w = Value(-1.0, label="neuron.w.0")  # a parameter, named as nn names them
    one = Value(1.0)  # an unlabelled leaf: a constant
    z = w * x + one
    loss = z.tanh()
    loss.label = "loss"
    assert node_role(x, loss) == "input"
    assert node_role(w, loss) == "parameter"
    assert node_role(one, loss) == "constant"
    assert node_role(z, loss) == "intermediate"
    assert node_role(loss, loss) == "output"
    source = draw_dot(loss).source
    colours = box_colours(source)
    assert colours["<b>x</b>"] == ROLE_COLOURS["input"]
    assert colours["<b>neuron.w.0</b>"] == ROLE_COLOURS["parameter"]
    assert colours["data 1.0000"] == ROLE_COLOURS["constant"]
    assert colours["data -0.5000"] == ROLE_COLOURS["intermediate"]  # w * x
    assert colours["<b>loss</b>"] == ROLE_COLOURS["output"]
    for colour in ROLE_COLOURS.values():
        assert f'<td bgcolor="{colour}" border="1">' in source  # its row in the legend
    assert "Legend" not in draw_dot(loss, legend=False).source


def test_explicit_parameters_override_the_label_rule():
    b = Value(0.5, label="b")  # a single neuron's bias: no dot in its name
    x = Value(2.0, label="x")
    out = b + x
    assert node_role(b, out) == "input"
    assert node_role(b, out, {b}) == "parameter"
    assert node_role(x, out, {b}) == "input"
    assert box_colours(draw_dot(out, parameters=[b]).source)["<b>b</b>"] == \
        ROLE_COLOURS["parameter"]


def test_shade_grads_tints_positive_red_negative_blue_zero_white():
    source = draw_dot(lecture_graph(), shade_grads=True).source
    cells = re.findall(r'<td bgcolor="#(\w{6})">grad (-?[\d.]+)</td>', source)
    shade = {grad: tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4)) for colour, grad in cells}
    red, _, blue = shade["5.0000"]
    assert red > blue  # c's grad is +5: red
    red, _, blue = shade["-4.0000"]
    assert blue > red  # b's grad is -4: blue
    # the larger |grad|, the deeper (darker) the tint: -4 is further from white than -2
    assert sum(shade["-4.0000"]) < sum(shade["-2.0000"])
    assert "grad &gt; 0" in source and "grad &lt; 0" in source  # in the legend
    x = Value(1.0, label="x")
    y = x.relu() * 0.0
    y.backward()
    assert '<td bgcolor="#ffffff">grad 0.0000</td>' in draw_dot(y, shade_grads=True).source


# ---------------------------------------------------------------- big graphs
def one_example_mlp(nouts=(3, 1)):
    model = MLP(2, list(nouts), seed=0)
    x = [Value(0.5, label="x0"), Value(-1.5, label="x1")]
    loss = (model(x) - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return model, loss


def handmade_neuron_loss():
    """micrograd's way: a neuron as products and a sum, then a loss on its output."""
    w = [Value(0.5, label="neuron.w.0"), Value(-1.0, label="neuron.w.1")]
    b = Value(0.1, label="neuron.b")
    products = [wi * xi for wi, xi in zip(w, [2.0, 3.0])]
    out = (products[0] + products[1] + b).tanh()
    loss = -(out.log() if out.data > 0 else (1.0 - out).log())
    return products, out, loss


def test_cluster_module_groups_each_neuron_inside_its_layer():
    model, loss = one_example_mlp()
    source = draw_dot(loss, cluster="module").source
    labels = re.findall(r"subgraph cluster_\d+ \{\n\s*label=<([^>]*)>", source)
    assert labels == ["layers.0", "neurons.0", "neurons.1", "neurons.2",
                      "layers.1", "neurons.0"]
    # The default direction for a network is top to bottom: a layer's neurons side by side.
    assert "rankdir=TB" in source
    # Each neuron's parameters are the rows of one table, one port (and arrow) per parameter.
    assert len(re.findall(r"^\s*t\d+ \[", source, flags=re.MULTILINE)) == 4
    for name in dict(model.named_parameters()):
        short = name.split("neurons.")[1].split(".", 1)[1]  # w.0, b, ...
        assert f"<b>{short}</b>" in source
    table_arrows = [edge for edge in edges(source) if edge[0].startswith("t")]
    assert len(table_arrows) == len(model.parameters())


def test_module_paths_put_dot_and_activation_in_the_neuron_and_the_loss_outside():
    model, loss = one_example_mlp()
    order = topological_order(loss)
    roles = {node: node_role(node, loss) for node in order}
    modules = module_paths(order, roles)
    hidden = model.layers[0].neurons[1]
    z = next(node for node in order if node.op == "dot" and hidden.w[0] in node.inputs)
    activation = next(node for node in order if z in node.inputs)
    assert modules[hidden.w[0]] == modules[z] == modules[activation] == "layers.0.neurons.1"
    assert all(node not in modules for node in order if node.label in ("x0", "x1"))
    # The loss ops after the output neuron's w·x + b belong to no neuron.
    z = next(node for node in order if node.op == "dot" and model.layers[1].neurons[0].b
             in node.inputs)
    assert modules[z] == "layers.1.neurons.0"
    assert [node for node in order[order.index(z) + 1:] if node in modules] == []


def test_module_paths_keep_a_handwritten_neuron_together():
    products, out, loss = handmade_neuron_loss()
    order = topological_order(loss)
    modules = module_paths(order, {node: node_role(node, loss) for node in order})
    neuron = [node for node in order if modules.get(node) == "neuron"]
    assert len(neuron) == 3 + 2 + 2 + 1  # w.0, w.1, b; the products; two sums; tanh
    assert out in neuron and all(product in neuron for product in products)
    assert [node for node in order[order.index(out) + 1:] if node in modules] == []


def test_max_nodes_refuses_a_huge_graph_and_says_what_to_do():
    x = Value(1.0, label="x")
    total = x
    for _ in range(30):
        total = total + x
    with pytest.raises(ValueError, match=r"31 Values, more than max_nodes=10.*one example.*"
                                         r"cluster='module'"):
        draw_dot(total, max_nodes=10)
    assert len(boxes(draw_dot(total, max_nodes=None).source)) == 31


def test_default_max_nodes_is_about_two_thousand_and_deep_graphs_need_no_recursion():
    x = Value(0.5, label="x")
    chain = x
    for _ in range(2500):
        chain = chain * 1.0
    with pytest.raises(ValueError, match="max_nodes=2000"):
        draw_dot(chain)
    source = draw_dot(chain, max_nodes=None).source  # 2,501 levels deep: no RecursionError
    assert len(boxes(source)) == 2501


def test_a_list_of_outputs_is_drawn_as_one_graph_with_several_outputs():
    model = MLP(2, [3, 3], seed=0)
    outputs = model([1.0, -1.0])
    source = draw_dot(outputs).source
    assert source.count(ROLE_COLOURS["output"]) == 3 + 1  # three output boxes and the legend
    # What the outputs share (the hidden layer, the inputs) is drawn once.
    every_value = {node for output in outputs for node in topological_order(output)}
    assert len(boxes(source)) == len(every_value) < sum(len(topological_order(output))
                                                        for output in outputs)


def test_anything_but_a_value_or_a_list_of_values_is_refused_by_name():
    with pytest.raises(TypeError, match=r"a Value or a non-empty list of Values.*got float 1.0"):
        draw_dot(1.0)
    with pytest.raises(TypeError, match="got list"):
        draw_dot([])


def test_torchvizs_params_dict_is_an_alias_of_parameters():
    model = MLP(2, [2, 1], seed=0)
    x = Value(0.5, label="x")
    loss = model([x, 1.0])
    named = draw_dot(loss, params=dict(model.named_parameters())).source
    assert named == draw_dot(loss, parameters=model.parameters()).source
    assert named.count(ROLE_COLOURS["parameter"]) > 0
    with pytest.raises(TypeError, match="both parameters= and params="):
        draw_dot(loss, parameters=model.parameters(), params=dict(model.named_parameters()))


def test_the_readme_picture_shows_the_lecture_numbers():
    picture = Path(__file__).resolve().parent.parent / "docs" / "images" / "lecture_graph.svg"
    texts = svg_texts(picture.read_bytes())
    for expected in ["data -10.0000", "grad -4.0000", "∂L/∂e = -2.0000"]:
        assert expected in texts
    assert viz.draw_dot is draw_dot
