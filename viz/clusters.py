"""Boxing a network's graph by module: each neuron and layer of an `nn` model in its own cluster.

With `draw_dot(..., cluster="module")` every Value is placed in the module its
parameters come from (found from names like `layers.0.neurons.3.w.1`, which
`nn` gives every parameter), modules nest (a neuron inside its layer), and a
module's parameters are listed in one table instead of one box each: a layer
of 16 neurons stays readable.
"""

from __future__ import annotations

from tinygrad_edu.engine import Value
from tinygrad_edu.viz.labels import escape_label


def _is_activation(node: Value) -> bool:
    """True for a neuron's activation g in y = g(w·x + b): the engine's table marks them."""
    return node.primitive is not None and node.primitive.activation


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
        if _is_activation(node) or len(node.inputs) > 1:
            from_inputs = {modules.get(operand) for operand in node.inputs}
            if len(from_inputs) == 1:
                (shared,) = from_inputs
                if shared is not None:
                    modules[node] = shared
    return modules


def parameter_tables(order: list[Value], roles: dict[Value, str], modules: dict[Value, str],
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
            for module, rows in sorted(tables.items(), key=lambda item: module_sort_key(item[0]))}


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


def module_sort_key(module: str) -> list:
    """Sort `layers.2` before `layers.10`: numbers as numbers, names as names."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in module.split(".")] if module else []


def cluster_lines(bodies: dict[str, list[str]]) -> list[str]:
    """DOT lines of nested `subgraph cluster_...` blocks holding each module's node statements."""
    tree: dict[str, dict] = {}  # module -> its child modules, e.g. layers.0 -> {layers.0.neurons.3}
    for module in sorted(bodies, key=module_sort_key):
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


__all__ = ["module_paths", "parameter_tables", "cluster_lines", "module_sort_key"]
