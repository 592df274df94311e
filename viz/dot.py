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

import html
import math
import re
from typing import Iterable, Optional

import graphviz
from tinygrad_edu.viz.renderer import render_source

from tinygrad_edu.engine import Value, topological_order

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
POSITIVE_GRAD_COLOUR = (230, 120, 110)  # red: increasing this Value increases the output
NEGATIVE_GRAD_COLOUR = (110, 160, 230)  # blue: increasing this Value decreases the output

# The ops that count as a neuron's activation g in y = g(w·x + b), for cluster='module'.
ACTIVATIONS = ("relu", "tanh", "sigmoid")

# A parameter's label is a dotted path like `layers.0.neurons.3.w.1` (what nn names them).
_PARAMETER_NAME = re.compile(r"[A-Za-z_]\w*(\.\w+)+")


def draw_dot(
    root: Value,
    format: str = "svg",
    rankdir: Optional[str] = None,
    *,
    decimals: int = 4,
    show_local_grads: bool = False,
    shade_grads: bool = False,
    cluster: Optional[str] = None,
    parameters: Optional[Iterable[Value]] = None,
    legend: bool = True,
    number_unlabelled: bool = False,
    max_nodes: Optional[int] = MAX_NODES,
) -> Digraph:
    """The graph that computed `root`, as a graphviz Digraph (shown inline by Jupyter).

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
      parameters        the Values to colour as parameters (e.g. model.parameters());
                        by default a leaf is a parameter when its label is a dotted
                        name, as nn gives them
      legend            draw the colour legend under the graph
      number_unlabelled show `#k` (position in topological order) on unlabelled boxes
      max_nodes         refuse graphs with more Values than this (None: no limit)
    """
    if rankdir is None:
        rankdir = "TB" if cluster == "module" else "LR"
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir={rankdir!r}: choose one of {', '.join(RANKDIRS)}")
    if cluster not in (None, "module"):
        raise ValueError(f"cluster={cluster!r}: use cluster='module' or leave it out")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 12:
        raise ValueError(f"decimals={decimals!r}: give a whole number from 0 to 12")
    order = topological_order(root)
    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(
            f"this graph has {len(order)} Values, more than max_nodes={max_nodes}; a drawing "
            f"that big is unreadable. Draw the graph of one example (one forward pass, not a "
            f"batch or a training run), with cluster='module' for a network, which groups it "
            f"by layer and neuron; or pass max_nodes={len(order)} to draw it anyway"
        )

    names = {node: f"n{position}" for position, node in enumerate(order)}
    parameter_set = set(parameters) if parameters is not None else None
    roles = {node: node_role(node, root, parameter_set) for node in order}
    largest_grad = max((abs(node.grad) for node in order), default=0.0)
    shading = (lambda grad: _grad_colour(grad, largest_grad)) if shade_grads else None
    uses = _uses(order)

    graph = Digraph(
        format=format,
        graph_attr={"rankdir": rankdir, "fontname": FONT, "nodesep": "0.2", "ranksep": "0.4"},
        node_attr={"fontname": FONT, "fontsize": "12"},
        edge_attr={"fontname": FONT, "fontsize": "10", "color": "#555555"},
    )

    # With cluster='module', every node goes into the body of its module's cluster
    # (layers.0.neurons.3 inside layers.0), and each module's parameters become the
    # rows of one table: 17 rows instead of 17 boxes keeps a layer of 16 neurons readable.
    modules = module_paths(order, roles) if cluster == "module" else {}
    tables = _parameter_tables(order, roles, modules, uses)
    bodies: dict[str, list[str]] = {"": []}
    start = {node: names[node] for node in order}  # where the arrows out of a Value begin
    for index, (module, rows) in enumerate(tables.items()):
        table = f"t{index}"
        bodies.setdefault(module, []).append(_node_statement(
            table, _parameter_table(module, rows, uses, names, decimals, show_local_grads,
                                    shading), shape="plain"))
        for row in rows:
            start[row] = f"{table}:{names[row]}:{EXIT_SIDE[rankdir]}"
        # The table sits beside the op that uses it (the neuron's dot), not a rank before
        # it: otherwise each layer's tables share ranks with the layer before, and Graphviz
        # must set the layers side by side instead of one after the other.
        user = uses[rows[0]][0][0] if uses[rows[0]] else None
        if user is not None and modules.get(user) == module:
            bodies[module].append(f"\t{{rank=same; {table}; {names[user]}op}}\n")
    in_table = {row for rows in tables.values() for row in rows}
    for position, node in enumerate(order):
        if node in in_table:
            continue
        name = names[node]
        label = node.label or (f"#{position}" if number_unlabelled else "")
        shade = shading(node.grad) if shading else None
        statements = [_node_statement(
            name, _value_label(label, node.data, node.grad, decimals, roles[node], shade),
            shape="plain")]
        if node.inputs:
            statements.append(_node_statement(
                f"{name}op", f"<{escape_label(node.op)}>",
                shape="circle" if len(node.op) <= 2 else "ellipse",
                style="filled", fillcolor=OP_COLOUR, margin="0.04", width="0.3", height="0.3"))
        bodies.setdefault(modules.get(node, ""), []).extend(statements)
    graph.body.extend(_cluster_lines(bodies))
    graph.body.extend(bodies[""])

    # One arrow per operand use, into the op node; then one from the op to its result.
    for node in order:
        if not node.inputs:
            continue
        op_name = f"{names[node]}op"
        for operand, local in zip(node.inputs, node.local_grads):
            attributes = {}
            if show_local_grads and operand not in in_table:  # tables have a column for it
                text = _edge_text(node, operand, local, decimals)
                attributes["label"] = f"<{escape_label(text)}>"
            graph.edge(start[operand], op_name, **attributes)
        graph.edge(op_name, names[node])

    if legend:
        # Set last, at the top level, so the clusters above do not inherit the label.
        graph.attr(label=_legend(set(roles.values()), show_local_grads, shade_grads),
                   labelloc="b", labeljust="l", fontsize="10")
    return graph


class Digraph(graphviz.Digraph):
    """A graphviz.Digraph that Jupyter can show even where Graphviz's `dot` is not installed."""

    def _repr_mimebundle_(self, include=None, exclude=None, **_) -> dict:
        # graphviz's own display runs `dot`; ours runs whichever renderer is installed.
        return {"image/svg+xml": render_source(self.source, "svg").decode("utf-8")}


# ------------------------------------------------------------------ roles
def node_role(node: Value, root: Value, parameters: Optional[set] = None) -> str:
    """The role that picks a box's colour: output, intermediate, parameter, input or constant."""
    if node is root:
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


# ----------------------------------------------------------------- clusters
def module_paths(order: list[Value], roles: dict[Value, str]) -> dict[Value, str]:
    """The module (e.g. `layers.0.neurons.3`) that each node belongs to, for cluster='module'.

    A parameter belongs to the module in its label (`layers.0.neurons.3.w.1` ->
    `layers.0.neurons.3`). An op node joins the module of the parameters it
    uses directly (the neuron's w·x + b). An activation (relu, tanh, sigmoid),
    or an op combining several inputs, joins the module that all of its inputs
    share: that keeps a neuron written out by hand (products, then their sum)
    together. Anything mixing modules or touching plain inputs stays outside, and
    so do the loss ops after the network's output and the output itself.
    """
    modules: dict[Value, str] = {}
    for node in order:  # inputs come first, so their modules are known
        role = roles[node]
        if role == "parameter":
            module = _module_of_parameter(node.label)
            if module:
                modules[node] = module
        if role != "intermediate":
            continue
        from_parameters = {modules[operand] for operand in node.inputs
                           if roles[operand] == "parameter" and operand in modules}
        if len(from_parameters) == 1:
            modules[node] = from_parameters.pop()
            continue
        if from_parameters:
            continue  # parameters of several modules: belongs to none of them
        if node.op in ACTIVATIONS or len(node.inputs) > 1:
            from_inputs = {modules.get(operand) for operand in node.inputs}
            if len(from_inputs) == 1 and None not in from_inputs:
                modules[node] = from_inputs.pop()
    return modules


def _uses(order: list[Value]) -> dict[Value, list[tuple[Value, float]]]:
    """For each Value, the (consumer, local grad) of every operand use of it, in order."""
    uses: dict[Value, list[tuple[Value, float]]] = {node: [] for node in order}
    for node in order:
        for operand, local in zip(node.inputs, node.local_grads):
            uses[operand].append((node, local))
    return uses


def _parameter_tables(order: list[Value], roles: dict[Value, str], modules: dict[Value, str],
                      uses: dict) -> dict[str, list[Value]]:
    """Each module's parameters, in the order their first user takes them (w.0, w.1, ..., b)."""
    position = {node: index for index, node in enumerate(order)}
    tables: dict[str, list[Value]] = {}
    for node in order:
        if roles[node] == "parameter" and node in modules:
            tables.setdefault(modules[node], []).append(node)

    def first_use(parameter: Value) -> tuple[int, int]:
        if not uses[parameter]:
            return (len(order), 0)
        user = uses[parameter][0][0]
        return (position[user], user.inputs.index(parameter))

    return {module: sorted(rows, key=first_use)
            for module, rows in sorted(tables.items(), key=lambda item: _module_sort_key(item[0]))}


def _module_of_parameter(label: str) -> str:
    """`layers.0.neurons.3.w.1` -> `layers.0.neurons.3`; `weight.2.0` -> '' (no module)."""
    parts = label.split(".")
    while parts and parts[-1].isdigit():  # the index inside the parameter (w.1)
        parts.pop()
    return ".".join(parts[:-1])  # drop the parameter's own name (w, b, weight)


def _cluster_levels(module: str) -> list[str]:
    """Nested clusters of a module: `layers.0.neurons.3` -> [`layers.0`, `layers.0.neurons.3`]."""
    parts = module.split(".")
    levels = [".".join(parts[:i + 1]) for i, part in enumerate(parts) if part.isdigit()]
    if not levels or levels[-1] != module:
        levels.append(module)
    return levels


def _module_sort_key(module: str) -> list:
    """Sort `layers.2` before `layers.10`: numbers as numbers, names as names."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in module.split(".")] if module else []


def _cluster_lines(bodies: dict[str, list[str]]) -> list[str]:
    """DOT lines of nested `subgraph cluster_...` blocks holding each module's node statements."""
    tree: dict[str, dict] = {}  # module -> its child modules, e.g. layers.0 -> {layers.0.neurons.3}
    for module in sorted(bodies, key=_module_sort_key):
        if module:
            branch = tree
            for level in _cluster_levels(module):
                branch = branch.setdefault(level, {})
    lines: list[str] = []
    clusters_opened = 0
    # Depth-first with an explicit stack; a plain string entry is the line closing a cluster.
    stack: list = [(module, children, "", 1) for module, children in reversed(tree.items())]
    while stack:
        entry = stack.pop()
        if isinstance(entry, str):
            lines.append(entry)
            continue
        module, children, parent, depth = entry
        indent = "\t" * depth
        title = module[len(parent) + 1:] if parent else module
        clusters_opened += 1  # numbered, so any module name gives a valid, unique id
        lines.append(f"{indent}subgraph cluster_{clusters_opened} {{\n")
        lines.append(f'{indent}\tlabel=<{escape_label(title)}> labeljust=l fontsize=11 '
                     f'style="rounded,filled" fillcolor="{_cluster_fill(module)}" '
                     f'color="#999999"\n')
        lines += [indent + statement for statement in bodies.get(module, [])]
        stack.append(f"{indent}}}\n")
        stack += [(child, grandchildren, module, depth + 1)
                  for child, grandchildren in reversed(children.items())]
    return lines


def _cluster_fill(module: str) -> str:
    """Layers a pale grey, neurons inside them a paler one, so the nesting is visible."""
    return "#f3f3f3" if module.count(".") <= 1 else "#fbfbfb"


# ------------------------------------------------------------------ labels
def escape_label(text: str) -> str:
    """Text made safe inside a Graphviz HTML-like label: shown exactly as written."""
    text = "".join(ch if ch.isprintable() else _escape_unprintable(ch) for ch in text)
    # XML entities for & < > " ', then backslashes doubled: Graphviz reads `\N`, `\G`,
    # `\\` in labels as escapes even inside HTML-like labels.
    return html.escape(text, quote=True).replace("\\", "\\\\")


def _escape_unprintable(ch: str) -> str:
    """A control character or lone surrogate written as `\\x07`, `\\n`, `\\ud800`."""
    return ch.encode("unicode_escape", "backslashreplace").decode("ascii")


def format_number(number: float, decimals: int = 4) -> str:
    """`-4.0000` for decimals=4; very large or tiny non-zero numbers in e-notation."""
    if number == 0.0:
        return f"{0.0:.{decimals}f}"  # no '-0.0000'
    if abs(number) >= 1e6 or abs(number) < 0.5 * 10.0 ** -decimals:
        return f"{number:.{max(decimals - 1, 1)}e}"
    return f"{number:.{decimals}f}"


def _value_label(label: str, data: float, grad: float, decimals: int, role: str,
                 grad_colour: Optional[str]) -> str:
    """The HTML-like table of one Value box: [label |] data | grad."""
    cells = []
    if label:
        cells.append(f"<td><b>{escape_label(label)}</b></td>")
    cells.append(f"<td>data {format_number(data, decimals)}</td>")
    shade = f' bgcolor="{grad_colour}"' if grad_colour else ""
    cells.append(f"<td{shade}>grad {format_number(grad, decimals)}</td>")
    return (f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="3" '
            f'bgcolor="{ROLE_COLOURS[role]}"><tr>{"".join(cells)}</tr></table>>')


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


def _legend(roles: set[str], show_local_grads: bool, shade_grads: bool) -> str:
    """The HTML-like table drawn under the graph: a swatch and its meaning, three to a row."""
    entries = [(f'<td bgcolor="{colour}" border="1">   </td>', ROLE_MEANINGS[role])
               for role, colour in ROLE_COLOURS.items() if role in roles]
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


__all__ = ["draw_dot", "Digraph", "node_role", "is_parameter_name", "module_paths",
           "escape_label", "format_number", "MAX_NODES", "ROLE_COLOURS"]
