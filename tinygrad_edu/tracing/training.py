"""A training program's own state: the parameters and the optimizer's numbers, kept by the program.

`trace(fn, optimizer=opt)` gives a program whose every call is a whole training
step: forward, backward and `opt`'s update. Between calls the parameters live
here, in one array (numpy backend) or one flat list (python backend), not in
the Values: copying 5,000 numbers in and out of Values on every step costs more
than the step. `sync()` writes them back into the Values' `.data` (with the
last step's gradients into `.grad`, and the optimizer's state into `opt`).

The update rules are optim's, written once below on plain operators, so they
read the same on a float and on a numpy array, and give the same numbers as
`SGD.step()` and `Adam.step()` do, operation for operation.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from tinygrad_edu.engine import Value
from tinygrad_edu.optim import SGD, Adam, Optimizer


# ------------------------------------------------------------ optim's rules, once
def sgd_rule(p: Any, g: Any, velocity: Any, lr: float, weight_decay: float,
             momentum: float) -> tuple[Any, Any]:
    """SGD.step() for one parameter (or an array of them): the new p and velocity.

    g + weight_decay·p is the gradient with the L2 penalty; with momentum the
    step follows v = momentum·v + g (v = g on the first step: velocity None).
    """
    g = g + weight_decay * p
    if momentum == 0.0:
        return p - lr * g, velocity
    velocity = g if velocity is None else momentum * velocity + g
    return p - lr * velocity, velocity


def adam_rule(sqrt: Any, p: Any, g: Any, m: Any, v: Any, lr: float, beta1: float, beta2: float,
              eps: float, correction1: float, correction2: float) -> tuple[Any, Any, Any]:
    """Adam.step() for one parameter (or an array of them): the new p, m and v."""
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    return p - lr * (m / correction1) / (sqrt(v / correction2) + eps), m, v


# ------------------------------------------------------------ the state
class TrainingState:
    """The parameters and optimizer state of a training program, and one step's update.

    `leaves` are the program's leaves in the order its backend takes their data.
    A parameter that is no leaf of the graph has gradient 0, as after
    zero_grad() in eager training (weight decay and momentum still move it).
    The state is held as one tuple, replaced whole at the end of an update, so a
    Ctrl-C during a step leaves the state of the step before or after, never half.
    """

    def __init__(self, optimizer: Optimizer, leaves: Sequence[Value], arrays: bool) -> None:
        if not isinstance(optimizer, (SGD, Adam)):
            raise TypeError(f"trace: optimizer must be a tinygrad_edu.optim SGD or Adam (their "
                            f"rules are compiled into the program), got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.parameters = list(optimizer.params)
        slot = {leaf: k for k, leaf in enumerate(leaves)}
        self.slots = [slot.get(p, -1) for p in self.parameters]  # leaf index, -1: not in graph
        parameter_set = set(self.parameters)
        self.input_slots = [k for k, leaf in enumerate(leaves) if leaf not in parameter_set]
        self.inputs = [leaves[k] for k in self.input_slots]
        self.arrays = arrays
        self.n_leaves = len(leaves)
        if arrays:
            import numpy as np  # the numpy backend is in use, so numpy is there

            self.np = np
            self.in_graph = np.array([s >= 0 for s in self.slots], dtype=bool)
            self.graph_slots = np.array([s for s in self.slots if s >= 0], dtype=np.intp)
            self.input_index = np.array(self.input_slots, dtype=np.intp)
            self.data = np.zeros(self.n_leaves)
        self.gradients: Any = None  # of the last step, for sync()
        self.load()

    # -- the state, in and out
    def _numbers(self, values: Sequence[float]) -> Any:
        return self.np.array(values, dtype=float) if self.arrays else list(values)

    def load(self) -> None:
        """Read the parameters from their Values and the state from the optimizer."""
        opt = self.optimizer
        p = self._numbers([q.data for q in self.parameters])
        if isinstance(opt, SGD):
            velocity = None if opt.velocities is None else self._numbers(opt.velocities)
            self.state: tuple = (p, velocity)
        else:
            self.state = (p, self._numbers(opt.m), self._numbers(opt.v), opt.steps)
        self.gradients = None

    def sync(self) -> None:
        """Write the parameters into .data, the last gradients into .grad, the state into opt."""
        state, gradients = self.state, self.gradients
        p = state[0].tolist() if self.arrays else state[0]
        for value, number in zip(self.parameters, p):
            value.data = number
        if gradients is not None:
            for value, number in zip(self.parameters,
                                     gradients.tolist() if self.arrays else gradients):
                value.grad = number
        opt = self.optimizer
        listed = (lambda x: x.tolist()) if self.arrays else list
        if isinstance(opt, SGD):
            opt.velocities = None if state[1] is None else listed(state[1])
        else:
            opt.m, opt.v, opt.steps = listed(state[1]), listed(state[2]), state[3]

    # -- one step
    def leaf_data(self) -> Any:
        """The data of every leaf: parameters from the state, inputs from their Values."""
        p = self.state[0]
        inputs = [leaf.data for leaf in self.inputs]
        if self.arrays:
            data = self.data
            data[self.input_index] = inputs
            data[self.graph_slots] = p[self.in_graph]
            return data
        listed = [0.0] * self.n_leaves
        for k, number in zip(self.input_slots, inputs):
            listed[k] = number
        for k, number in zip(self.slots, p):
            if k >= 0:
                listed[k] = number
        return listed

    def first_bad_leaf(self, data: Any) -> Optional[int]:
        """The index of a leaf whose data is not finite, or None."""
        if self.arrays:
            finite = self.np.isfinite(data)
            return None if finite.all() else int(self.np.argmin(finite))
        total = sum(data)
        if total - total == 0.0:
            return None
        return next((k for k, x in enumerate(data) if not -math.inf < x < math.inf), None)

    def parameter_gradients(self, leaf_gradients: Any) -> Any:
        """Each parameter's gradient from the leaves' (0 for one that is no leaf)."""
        if self.arrays:
            g = self.np.zeros(len(self.parameters))
            g[self.in_graph] = leaf_gradients[self.graph_slots]
            return g
        return [leaf_gradients[k] if k >= 0 else 0.0 for k in self.slots]

    def update(self, leaf_gradients: Any) -> None:
        """optim's update of every parameter, with the hyper-parameters opt has now."""
        g = self.parameter_gradients(leaf_gradients)
        opt = self.optimizer
        lr = opt.lr
        if isinstance(opt, SGD):
            p, velocity = self.state
            decay, momentum = opt.weight_decay, opt.momentum
            if self.arrays:
                new = sgd_rule(p, g, velocity, lr, decay, momentum)
            else:
                v_in = velocity if velocity is not None else [None] * len(p)
                pairs = [sgd_rule(a, b, c, lr, decay, momentum) for a, b, c in zip(p, g, v_in)]
                new = ([a for a, _ in pairs],
                       None if momentum == 0.0 and velocity is None else [c for _, c in pairs])
            self.state, self.gradients = new, g  # one store each: Ctrl-C sees before or after
            return
        p, m, v, steps = self.state
        steps += 1
        beta1, beta2, eps = opt.beta1, opt.beta2, opt.eps
        correction1, correction2 = 1.0 - beta1 ** steps, 1.0 - beta2 ** steps
        if self.arrays:
            p, m, v = adam_rule(self.np.sqrt, p, g, m, v, lr, beta1, beta2, eps,
                                correction1, correction2)
        else:
            triples = [adam_rule(math.sqrt, a, b, c, d, lr, beta1, beta2, eps, correction1,
                                 correction2) for a, b, c, d in zip(p, g, m, v)]
            p, m, v = ([t[k] for t in triples] for k in range(3))
        self.state, self.gradients = (p, m, v, steps), g


__all__ = ["TrainingState", "adam_rule", "sgd_rule"]
