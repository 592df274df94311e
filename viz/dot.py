"""Drawing a computation graph as Graphviz DOT: one box per Value, one circle per operation.

    a ──┐
        (+)──> e ──> (*)──> L        each box: label | data | grad
    d ──┘            ^               each circle: the op that made the box after it
                 c ──┘               each arrow into a circle: one operand use

Every Value becomes a box showing its label, data and grad; the operation that
made it becomes a small circle in front of it, with one arrow per operand use
(so `x * x` has two arrows from x). With `show_local_grads=True` each of those
arrows carries the local derivative d(result)/d(operand) from the node's
`local_grads`: the chain-rule factors of lecture §5, so a gradient can be
checked by multiplying along a path.

Boxes are coloured by their role in the graph (see ROLE_COLOURS and the
legend drawn under the graph). Node names come from each Value's position in
`topological_order`, never from id(), so the same graph always gives the same
DOT text and two drawings diff cleanly.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Mapping, Optional, Sequence, Union

import graphviz

from tinygrad_edu.checks import require, whole_number
from tinygrad_edu.engine import Value, topological_order
from tinygrad_edu.viz.clusters import cluster_lines, module_paths, parameter_tables
from tinygrad_edu.viz.foreign import ForeignNode, is_foreign_graph, mirror, topological
from tinygrad_edu.viz.labels import escape_label, format_number
from tinygrad_edu.viz.notebook import Digraph

# What can be drawn: one Value, or a model's several outputs (a list of Values); a graph of
# another engine is copied into ForeignNodes first, which read like Values (viz/foreign.py).
Outputs = Union[Value, Sequence[Value], ForeignNode]
# The parameters to colour: Values, or torchviz's dict(model.named_parameters()).
Parameters = Union[Iterable[Value], Mapping[str, Value]]

# Beyond this many Values a drawing is unreadable and slow to lay out (see draw_dot).
MAX_NODES = 2000

RANKDIRS = ("LR", "TB", "RL", "BT")
# The side of a parameter-table row that its arrows leave from, for each rankdir.
EXIT_SIDE = {"LR": "e", "RL": "w", "TB": "e", "BT": "e"}
FONT = "Helvetica"

# Light fills, so black text stays readable on every one of them.
ROLE_COLOURS = {
    "input": "#cfe2ff",  # blue: a leaf you set (x, y, or a, b, c in the lecture)
    "parameter": "#ffe0a3",  # amber: a leaf the network learns (a weight or bias)
    "constant": "#e4e4e4",  # grey: an unlabelled leaf
    "intermediate": "#ffffff",  # white: computed from other Values
    "output": "#c7ecc7",  # green: the root, usually the loss
}
ROLE_MEANINGS = {
    "input": "input: a leaf you set",
    "parameter": "parameter: a leaf the network learns",
    "constant": "constant: an unlabelled leaf",
    "intermediate": "intermediate result",
    "output": "output: the Value the graph is drawn from (the loss)",
}
OP_COLOUR = "#f2f2f2"

# Grad shading: white for 0, growing towards these for the largest |grad| in the graph.
# A node to point at (diagnose's first wrong node): a red box with a note in it.
HIGHLIGHT_COLOUR = "#ffa8a8"

POSITIVE_GRAD_COLOUR = (230, 120, 110)  # red: increasing this Value increases the output
NEGATIVE_GRAD_COLOUR = (110, 160, 230)  # blue: increasing this Value decreases the output

# A parameter's label is a dotted path like `layers.0.neurons.3.w.1` (what nn names them).
_PARAMETER_NAME = re.compile(r"[A-Za-z_]\w*(\.\w+)+")


def draw_dot(
    root: Outputs,
    format: str = "svg",
    rankdir: Optional[str] = None,
    *,
    decimals: int = 4,
    show_local_grads: bool = False,
    shade_grads: bool = False,
    cluster: Optional[str] = None,
    parameters: Optional[Parameters] = None,
    legend: bool = True,
    number_unlabelled: bool = False,
    max_nodes: Optional[int] = MAX_NODES,
    params: Optional[Parameters] = None,
    highlight: Optional[Mapping[object, str]] = None,
) -> Digraph:
    """The graph that computed `root`, as a graphviz Digraph (shown inline by Jupyter).

    `root` is a Value, or a list of Values (a model's outputs: drawn as one
    graph with several outputs). In Jupyter the drawing fits the cell's width, with zoom
    and pan when it is too wide to read there, and a saved notebook keeps it as PNG;
    `.render()` and `.pipe()` use viz.render's renderer.

    Options:
      rankdir           "LR" (left to right, the default), "TB", "RL" or "BT"; with
                        cluster="module" the default is "TB", which sets a layer's
                        neurons side by side
      decimals          digits after the point for data, grad and local grads
      show_local_grads  write d(result)/d(operand) on every arrow into an op
      shade_grads       tint each grad cell: red > 0, blue < 0, darker = larger |grad|
      cluster           "module": box each neuron and layer of an nn network
                        (found from parameter names like layers.0.neurons.3.w.1)
                        and list each neuron's parameters in one table
      parameters        the Values to colour as parameters (e.g. model.parameters(),
                        or a dict of them); by default a leaf is a parameter when
                        its label is a dotted name, as nn gives them
      params            torchviz's name for `parameters`:
                        draw_dot(loss, params=dict(model.named_parameters()))
      legend            draw the colour legend under the graph
      number_unlabelled show `#k` (position in topological order) on unlabelled boxes
      max_nodes         refuse graphs with more Values than this (None: no limit)
      highlight         {node: note}: draw these nodes in red with the note in their box

    `root` may also be a node of a micrograd-like engine (with `data`, `grad`,
    `_prev` or `_children`, and `_op`): its graph is drawn as that engine stores
    it, without local gradients (see viz/foreign.py).
    """
    rankdir = _check_options(rankdir, cluster, decimals)
    if not isinstance(root, (Value, ForeignNode, list, tuple)) and is_foreign_graph(root):
        root, _ = mirror(root, max_nodes=max_nodes)
    outputs = output_values(root)
    order = _graph_order(outputs, max_nodes)
    if show_local_grads and isinstance(outputs[0], ForeignNode):
        raise ValueError("show_local_grads=True: a graph of another engine keeps no local "
                         "gradients to show; leave it out")
    drawing = _Drawing(outputs, order, _parameter_values(parameters, params), decimals,
                       show_local_grads, shade_grads, highlight or {})
    graph = Digraph(
        format=format,
        graph_attr={"rankdir": rankdir, "fontname": FONT, "nodesep": "0.2", "ranksep": "0.4"},
        node_attr={"fontname": FONT, "fontsize": "12"},
        edge_attr={"fontname": FONT, "fontsize": "10", "color": "#555555"},
    )
    modules = module_paths(order, drawing.roles) if cluster == "module" else {}
    bodies, starts = drawing.statements(modules, number_unlabelled, EXIT_SIDE[rankdir])
    graph.body.extend(cluster_lines(bodies))
    graph.body.extend(bodies[""])
    drawing.add_edges(graph, starts)
    if legend:
        # Set last, at the top level, so the clusters above do not inherit the label.
        graph.attr(label=_legend(set(drawing.roles.values()), show_local_grads, shade_grads,
                                 bool(drawing.highlight)),
                   labelloc="b", labeljust="l", fontsize="10")
    return graph


def _check_options(rankdir: Optional[str], cluster: Optional[str], decimals: int) -> str:
    """Raise ValueError for a bad option; return the rankdir to use."""
    if rankdir is None:
        rankdir = "TB" if cluster == "module" else "LR"
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir={rankdir!r}: choose one of {', '.join(RANKDIRS)}")
    if cluster not in (None, "module"):
        raise ValueError(f"cluster={cluster!r}: use cluster='module' or leave it out")
    whole_number(decimals, "decimals", 0)
    require(decimals <= 12, "decimals", decimals, "a whole number from 0 to 12")
    return rankdir


class GraphTooLarge(ValueError):
    """A graph with more Values than max_nodes; `nodes` and `max_nodes` say how many."""

    def __init__(self, nodes: int, max_nodes: int, option: str = "max_nodes={}") -> None:
        super().__init__(
            f"this graph has {nodes} Values, more than {option.format(max_nodes)}; a drawing "
            f"that big is unreadable. Draw the graph of one example (one forward pass, not a "
            f"batch or a training run), with cluster='module' for a network, which groups it "
            f"by layer and neuron; or pass {option.format(nodes)} to draw it anyway"
        )
        self.nodes = nodes
        self.max_nodes = max_nodes


def output_values(root: Outputs) -> list[Value]:
    """The Values a drawing starts from: [root] for one Value, the Values of a list or tuple."""
    outputs = [root] if isinstance(root, (Value, ForeignNode)) else root
    if not isinstance(outputs, (list, tuple)) or not outputs \
            or not all(isinstance(output, (Value, ForeignNode)) for output in outputs):
        raise TypeError(f"draw_dot() draws a Value or a non-empty list of Values (a model's "
                        f"outputs), got {_short_repr(root)}")
    return list(outputs)


def _short_repr(thing: object) -> str:
    text = repr(thing)
    return f"{type(thing).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _parameter_values(parameters: Optional[Parameters],
                      params: Optional[Parameters]) -> Optional[list[Value]]:
    """The parameters given as `parameters=` or torchviz's `params=` (a list, or a dict's values).
    """
    if parameters is not None and params is not None:
        raise TypeError("draw_dot() got both parameters= and params= (the same thing, "
                        "torchviz's spelling); pass one of them")
    chosen = parameters if parameters is not None else params
    if chosen is None:
        return None
    return list(chosen.values()) if isinstance(chosen, Mapping) else list(chosen)


def _graph_order(outputs: list[Value], max_nodes: Optional[int]) -> list[Value]:
    """Every Value of the graph in topological order; ValueError if there are too many to draw.

    With several outputs, each output's order follows the nodes already placed,
    which keeps every node after its inputs.
    """
    walk = topological_order if isinstance(outputs[0], Value) else topological
    order = walk(outputs[0])
    if len(outputs) > 1:
        placed = set(order)
        for output in outputs[1:]:
            for node in walk(output):
                if node not in placed:
                    placed.add(node)
                    order.append(node)
    if max_nodes is not None and len(order) > max_nodes:
        raise GraphTooLarge(len(order), max_nodes)
    return order


class _Drawing:
    """What every box and arrow of one drawing needs to know: names, roles, uses, styles."""

    def __init__(self, outputs: list[Value], order: list[Value],
                 parameters: Optional[Iterable[Value]], decimals: int, show_local_grads: bool,
                 shade_grads: bool, highlight: Mapping[object, str]) -> None:
        self.order = order
        # By id(), so a node of another engine may be named by itself or by its copy,
        # even when that engine's nodes are unhashable.
        self.highlight = {id(node): note for node, note in highlight.items()}
        # Names come from positions in topological order, never id(): the same graph
        # always gives the same DOT text.
        self.names = {node: f"n{position}" for position, node in enumerate(order)}
        parameter_set = set(parameters) if parameters is not None else None
        self.roles = {node: node_role(node, outputs, parameter_set) for node in order}
        self.uses = _uses(order)
        self.decimals = decimals
        self.show_local_grads = show_local_grads
        largest = max((abs(node.grad) for node in order), default=0.0)
        self.shading = (lambda grad: _grad_colour(grad, largest)) if shade_grads else None
        self.in_table: set[Value] = set()

    def statements(self, modules: dict[Value, str], number_unlabelled: bool,
                   exit_side: str) -> tuple[dict[str, list[str]], dict[Value, str]]:
        """DOT node lines grouped by module ('' for none), and where each Value's arrows start."""
        bodies: dict[str, list[str]] = {"": []}
        starts = dict(self.names)
        # Each module's parameters become the rows of one table: 17 rows instead of 17 boxes
        # keeps a layer of 16 neurons readable.
        for index, (module, rows) in enumerate(
                parameter_tables(self.order, self.roles, modules, self.uses).items()):
            table = f"t{index}"
            bodies.setdefault(module, []).append(_node_statement(
                table, _parameter_table(module, rows, self.uses, self.names, self.decimals,
                                        self.show_local_grads, self.shading), shape="plain"))
            for row in rows:
                starts[row] = f"{table}:{self.names[row]}:{exit_side}"
            self.in_table.update(rows)
            # The table sits beside the op that uses it (the neuron's dot), not a rank before
            # it: otherwise each layer's tables share ranks with the layer before, and
            # Graphviz must set the layers side by side instead of one after the other.
            user = self.uses[rows[0]][0][0] if self.uses[rows[0]] else None
            if user is not None and modules.get(user) == module:
                bodies[module].append(f"\t{{rank=same; {table}; {self.names[user]}op}}\n")
        for position, node in enumerate(self.order):
            if node not in self.in_table:
                label = node.label or (f"#{position}" if number_unlabelled else "")
                bodies.setdefault(modules.get(node, ""), []).extend(self._boxes(node, label))
        return bodies, starts

    def _boxes(self, node: Value, label: str) -> list[str]:
        """The box of one Value (label | data | grad) and, for a computed one, its op circle."""
        name = self.names[node]
        shade = self.shading(node.grad) if self.shading else None
        statements = [_node_statement(
            name, _value_label(label, node.data, node.grad, self.decimals, self.roles[node],
                               shade, self._note(node)), shape="plain")]
        if node.inputs:
            statements.append(_node_statement(
                f"{name}op", f"<{escape_label(node.op)}>",
                shape="circle" if len(node.op) <= 2 else "ellipse",
                style="filled", fillcolor=OP_COLOUR, margin="0.04", width="0.3", height="0.3"))
        return statements

    def _note(self, node: Value) -> Optional[str]:
        """The highlight note of a node (of this engine, or a copy of another's), if any."""
        note = self.highlight.get(id(node))
        if note is None and isinstance(node, ForeignNode):
            note = self.highlight.get(id(node.source))
        return note

    def add_edges(self, graph: graphviz.Digraph, starts: dict[Value, str]) -> None:
        """One arrow per operand use into the op circle, then one from the op to its result."""
        for node in self.order:
            if not node.inputs:
                continue
            op_name = f"{self.names[node]}op"
            for operand, local in zip(node.inputs, node.local_grads):
                attributes = {}
                # A parameter table has a column for local grads; other arrows carry them.
                if self.show_local_grads and operand not in self.in_table:
                    text = _edge_text(node, operand, local, self.decimals)
                    attributes["label"] = f"<{escape_label(text)}>"
                graph.edge(starts[operand], op_name, **attributes)
            graph.edge(op_name, self.names[node])


# ------------------------------------------------------------------ roles
def node_role(node: Value, root: Union[Value, Sequence[Value]],
              parameters: Optional[set] = None) -> str:
    """The role that picks a box's colour: output, intermediate, parameter, input or constant.

    `root` is the drawing's output, or its list of outputs.
    """
    if node is root or (not isinstance(root, Value) and any(node is out for out in root)):
        return "output"
    if node.inputs:
        return "intermediate"
    if parameters is not None:
        if node in parameters:
            return "parameter"
    elif is_parameter_name(node.label):
        return "parameter"
    return "input" if node.label else "constant"


def is_parameter_name(label: str) -> bool:
    """True for dotted names such as `layers.0.neurons.3.w.1` or `weight.2.0`, as nn labels them."""
    return _PARAMETER_NAME.fullmatch(label) is not None


def _uses(order: list[Value]) -> dict[Value, list[tuple[Value, float]]]:
    """For each Value, the (consumer, local grad) of every operand use of it, in order."""
    uses: dict[Value, list[tuple[Value, float]]] = {node: [] for node in order}
    for node in order:
        for operand, local in zip(node.inputs, node.local_grads):
            uses[operand].append((node, local))
    return uses




# ------------------------------------------------------------------ labels
def _value_label(label: str, data: float, grad: float, decimals: int, role: str,
                 grad_colour: Optional[str], note: Optional[str] = None) -> str:
    """The HTML-like table of one Value box: [label |] data | grad [| note, in red]."""
    cells = []
    if label:
        cells.append(f"<td><b>{escape_label(label)}</b></td>")
    cells.append(f"<td>data {format_number(data, decimals)}</td>")
    shade = f' bgcolor="{grad_colour}"' if grad_colour else ""
    cells.append(f"<td{shade}>grad {format_number(grad, decimals)}</td>")
    frame, colour = 'border="0"', ROLE_COLOURS[role]
    if note is not None:
        cells.append(f"<td><b>{escape_label(note)}</b></td>")
        frame, colour = 'border="2" color="#c92a2a"', HIGHLIGHT_COLOUR
    return (f'<<table {frame} cellborder="1" cellspacing="0" cellpadding="3" '
            f'bgcolor="{colour}"><tr>{"".join(cells)}</tr></table>>')


def _parameter_table(module: str, rows: list[Value], uses: dict, names: dict[Value, str],
                     decimals: int, show_local_grads: bool, shading) -> str:
    """The HTML-like table listing one module's parameters: name | data | grad [| local grad]."""
    colour = ROLE_COLOURS["parameter"]
    headers = ["parameter", "data", "grad"] + (["local grad"] if show_local_grads else [])
    lines = ["<tr>" + "".join(f"<td><i>{header}</i></td>" for header in headers) + "</tr>"]
    for row in rows:
        short = row.label[len(module) + 1:] if row.label.startswith(module + ".") else row.label
        cells = [f'<td align="left"><b>{escape_label(short)}</b></td>',
                 f'<td align="right">{format_number(row.data, decimals)}</td>']
        shade = f' bgcolor="{shading(row.grad)}"' if shading else ""
        cells.append(f'<td align="right"{shade}>{format_number(row.grad, decimals)}</td>')
        if show_local_grads:
            locals_ = ", ".join(format_number(local, decimals) for _, local in uses[row])
            cells.append(f'<td align="right">{locals_ or "unused"}</td>')
        cells[-1] = cells[-1].replace("<td", f'<td port="{names[row]}"', 1)  # arrows leave here
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="2" '
            f'bgcolor="{colour}">{"".join(lines)}</table>>')


def _edge_text(node: Value, operand: Value, local: float, decimals: int) -> str:
    """`∂e/∂d = 1.0000` when both ends have short labels, else just the number."""
    number = format_number(local, decimals)
    if node.label and operand.label and len(node.label) <= 12 and len(operand.label) <= 12:
        return f"∂{node.label}/∂{operand.label} = {number}"
    return number


def _grad_colour(grad: float, largest: float) -> str:
    """White for 0, then red (> 0) or blue (< 0), deeper as |grad| nears the graph's largest."""
    if grad == 0.0 or largest == 0.0 or math.isnan(grad):
        return "#ffffff"
    strength = 0.15 + 0.85 * min(abs(grad) / largest, 1.0)
    target = POSITIVE_GRAD_COLOUR if grad > 0 else NEGATIVE_GRAD_COLOUR
    red, green, blue = (round(255 + (channel - 255) * strength) for channel in target)
    return f"#{red:02x}{green:02x}{blue:02x}"


def _node_statement(name: str, label: str, **attributes: str) -> str:
    """One DOT node line, e.g. `\\tn3 [label=<...> shape=plain]`."""
    parts = [f"label={label}"] + [f'{key}="{value}"' for key, value in attributes.items()]
    return f"\t{name} [{' '.join(parts)}]\n"


def _legend(roles: set[str], show_local_grads: bool, shade_grads: bool,
            highlight: bool = False) -> str:
    """The HTML-like table drawn under the graph: a swatch and its meaning, three to a row."""
    entries = [(f'<td bgcolor="{colour}" border="1">   </td>', ROLE_MEANINGS[role])
               for role, colour in ROLE_COLOURS.items() if role in roles]
    if highlight:
        entries.append((f'<td bgcolor="{HIGHLIGHT_COLOUR}" border="1">   </td>',
                        "the node pointed at, with a note"))
    entries.append((f'<td bgcolor="{OP_COLOUR}" border="1">op</td>',
                    "the operation that made the box it points to"))
    if show_local_grads:
        entries.append(("<td>1.5</td>", "on an arrow: local gradient ∂(result)/∂(operand)"))
    if shade_grads:
        for sign, colour, words in (("grad &gt; 0", POSITIVE_GRAD_COLOUR, "raising it raises"),
                                    ("grad &lt; 0", NEGATIVE_GRAD_COLOUR, "raising it lowers")):
            hex_colour = "#{:02x}{:02x}{:02x}".format(*colour)
            entries.append((f'<td bgcolor="{hex_colour}" border="1">{sign}</td>',
                            f"{words} the output (deeper: larger |grad|)"))
    # Three non-breaking spaces after each meaning keep it apart from the next swatch.
    cells = [swatch + f'<td align="left">{escape_label(words)}&#160;&#160;&#160;</td>'
             for swatch, words in entries]
    rows = ["<tr>" + "".join(cells[i:i + 3]) + "</tr>" for i in range(0, len(cells), 3)]
    return ('<<table border="0" cellspacing="3" cellpadding="2">'
            '<tr><td colspan="6" align="left"><b>Legend</b></td></tr>'
            f'{"".join(rows)}</table>>')


__all__ = ["draw_dot", "Digraph", "output_values", "node_role", "is_parameter_name",
           "module_paths", "escape_label", "format_number", "GraphTooLarge", "MAX_NODES",
           "ROLE_COLOURS"]
