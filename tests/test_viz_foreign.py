"""viz reads another engine's graph (micrograd's `_prev`/`_op`) and can point at a node in red."""

from __future__ import annotations

import pytest
from planted_engine import engine

from tinygrad_edu import Value, viz
from tinygrad_edu.viz.dot import HIGHLIGHT_COLOUR
from tinygrad_edu.viz.foreign import ForeignNode, is_foreign_graph, mirror, topological


def test_a_micrograd_graph_is_drawn_as_that_engine_stores_it():
    micrograd = pytest.importorskip("micrograd.engine")
    a = micrograd.Value(2.0)
    b = a * a + 3
    b.backward()
    source = viz.draw_dot(b).source
    # a, the wrapped constant 3, a * a and the sum: four boxes; micrograd's set _prev keeps
    # one arrow from a into a * a.
    assert source.count("<td>data ") == 4
    assert "grad 4.0000" in source and "data 7.0000" in source
    assert source.count("-> n") == 3 + 2 + 1 - 1  # arrows into ops, and from ops to results


def test_mirror_copies_data_grad_op_and_inputs_without_recursion():
    Student = engine(None)
    x = Student(0.5)
    node = x
    for _ in range(5000):  # far deeper than Python's recursion limit
        node = node + 1.0
    root, order = mirror(node, labels={id(x): "x"})
    assert isinstance(root, ForeignNode) and root.source is node
    assert len(order) == 2 * 5000 + 1 and order[-1] is root
    (copy,) = [node for node in order if node.source is x]
    assert copy.label == "x" and copy.data == 0.5 and copy.inputs == () and root.op == "+"
    assert all(order.index(operand) < order.index(node) for node in order[-50:]
               for operand in node.inputs)  # inputs first
    assert topological(root) == order


def test_highlight_draws_a_node_in_red_with_its_note():
    x = Value(1.5, label="x")
    y = (x * x).tanh()
    y.label = "y"
    source = viz.draw_dot(y, highlight={x: "expected grad 1, got 2"}).source
    assert source.count(HIGHLIGHT_COLOUR) == 2  # the box and its legend swatch
    assert "<b>expected grad 1, got 2</b>" in source
    assert HIGHLIGHT_COLOUR not in viz.draw_dot(y).source


def test_notes_and_ops_from_another_engine_are_escaped():
    Student = engine(None)
    v = Student(1.0)
    w = v * 2
    w._op = "<script>"
    source = viz.draw_dot(w, highlight={w: "a & b"}).source
    assert "&lt;script&gt;" in source and "a &amp; b" in source and "<script>" not in source


def test_what_counts_as_another_engines_node():
    assert is_foreign_graph(engine(None)(1.0))
    assert not is_foreign_graph(3.0)
    with pytest.raises(ValueError, match="keeps no local gradients"):
        viz.draw_dot(engine(None)(1.0) * 2, show_local_grads=True)
    with pytest.raises(TypeError, match="draws a Value"):
        viz.draw_dot("x")
