"""Optimisers: turn each parameter's gradient into a step, as torch.optim does.

The training loop is PyTorch's:

    optimizer.zero_grad()   # leaf grads accumulate, so clear them first
    loss.backward()         # fill p.grad = dL/dp for every parameter p
    optimizer.step()        # move every p against its gradient

Both optimisers follow torch.optim's update rules, so the same settings give
the same trajectory as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

from tinygrad_edu.checks import real_number, require, require_type
from tinygrad_edu.engine import Value


def _check_parameters(params: Iterable[Value]) -> list[Value]:
    """The parameters as a list; raise if it is empty or holds something that is not a Value."""
    params = list(params)
    require(len(params) > 0, "params", params,
            "a non-empty list of Values: pass model.parameters()")
    for i, p in enumerate(params):
        require_type(p, f"params[{i}]", Value, "a Value (pass model.parameters())")
    return params


class Optimizer:
    """What SGD and Adam share: the parameter list and zero_grad()."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = _check_parameters(params)
        self.lr = real_number(lr, "lr (the learning rate)", 0.0, low_open=True)

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 before the next backward(), which adds into it."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its grad."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent: p -= lr * g, optionally with momentum and weight decay.

    As in torch.optim.SGD: g = grad + weight_decay * p (an L2 penalty on the
    weights), and with momentum the step follows a running sum of gradients,
    v = momentum * v + g (v = g on the first step), p -= lr * v.
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = real_number(momentum, "momentum", 0.0, 1.0, high_open=True)
        self.weight_decay = real_number(weight_decay, "weight_decay", 0.0)
        self.velocities: Optional[list[float]] = None  # made on the first step with momentum

    def step(self) -> None:
        """p -= lr * g for every parameter (g with weight decay and momentum applied)."""
        lr, decay, momentum = self.lr, self.weight_decay, self.momentum
        if momentum == 0.0:
            for p in self.params:
                p.data -= lr * (p.grad + decay * p.data)
            return
        velocities = self.velocities
        first_step = velocities is None
        if velocities is None:
            velocities = self.velocities = [0.0] * len(self.params)
        for i, p in enumerate(self.params):
            g = p.grad + decay * p.data
            velocities[i] = g if first_step else momentum * velocities[i] + g
            p.data -= lr * velocities[i]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): a step per parameter scaled by running averages of g and g².

    m = β1 m + (1 - β1) g           the mean of recent gradients (direction)
    v = β2 v + (1 - β2) g²          the mean of recent squared gradients (scale)
    p -= lr * m̂ / (sqrt(v̂) + eps)   with m̂ = m / (1 - β1^t), v̂ = v / (1 - β2^t)
    The corrections m̂, v̂ undo the pull towards 0 of m and v starting at 0, so
    the first step moves each parameter by about lr, whatever its gradient's size.
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.beta1, self.beta2 = (real_number(beta, f"betas[{i}]", 0.0, 1.0, high_open=True)
                                  for i, beta in enumerate(betas))
        self.eps = real_number(eps, "eps", 0.0, low_open=True)
        self.steps = 0
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def step(self) -> None:
        """One Adam update of every parameter."""
        self.steps += 1
        beta1, beta2, eps = self.beta1, self.beta2, self.eps
        correction1 = 1.0 - beta1 ** self.steps
        correction2 = 1.0 - beta2 ** self.steps
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] = beta1 * m[i] + (1.0 - beta1) * g
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
            p.data -= self.lr * (m[i] / correction1) / (math.sqrt(v[i] / correction2) + eps)
