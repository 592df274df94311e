"""Loss functions built from engine operations, so backward() finds their gradients (lecture §3).

Each function takes one example's output and target and returns a Value;
`mean_loss` averages a batch of them into one node. The probabilities and
logarithms are computed the numerically stable way: softmax and log-softmax
subtract the largest logit first (which changes nothing mathematically, since
softmax(z) = softmax(z - c) for any constant c), and the logistic loss on a
logit never takes the log of a number that rounded to 0.
"""

from __future__ import annotations

from typing import Sequence, Union

from tinygrad_edu import engine
from tinygrad_edu.checks import class_index, real_number
from tinygrad_edu.engine import Value


def _check_probability_target(y: object, loss: str) -> float:
    """Return the target as a float if it is a number in [0, 1] (1: the positive class)."""
    return real_number(y, f"{loss}: target y", 0.0, 1.0)


def binary_cross_entropy(p: Value, y: float) -> Value:
    """L = -[y log p + (1 - y) log(1 - p)] for a predicted probability p."""
    y = _check_probability_target(y, "binary_cross_entropy")
    if not 0.0 <= p.data <= 1.0:
        raise ValueError(f"binary_cross_entropy: p = {p.data!r} is not a probability in [0, 1]")
    # A term whose weight is 0 is left out, so y = 1 with p = 1.0 gives 0, not 0 * log(0).
    terms = []
    if y != 0.0:
        terms.append(y * _log_probability(p, "log p", y))
    if y != 1.0:
        terms.append((1.0 - y) * _log_probability(1.0 - p, "log(1 - p)", y))
    return -engine.sum(terms)


def _log_probability(q: Value, name: str, y: float) -> Value:
    """log q for a BCE term, with an error that explains a q that rounded to 0."""
    if q.data == 0.0:
        raise ValueError(f"binary_cross_entropy: target y = {y!r} needs {name}, which is log(0): "
                         f"the loss is infinite. For a sigmoid output, use "
                         f"binary_cross_entropy_with_logits(z, y) on the logit z: it stays finite")
    return q.log()


def binary_cross_entropy_with_logits(z: Value, y: Union[float, Value]) -> Value:
    """BCE of σ(z) against y, computed from the logit z; finite for any z, and dL/dz = σ(z) - y.

    The loss equals max(z, 0) - z*y + log(1 + e^(-|z|)). The log's argument is
    between 1 and 2, so it never rounds to log(0) or overflows, however large
    |z| is. For a number y the two branches are the same formula with the sign
    of z known, which draws as a short graph:
    z > 0:  L = z(1 - y) + log(1 + e^(-z)),  dL/dz = (1 - y) - (1 - σ(z)) = σ(z) - y
    z <= 0: L = -z*y     + log(1 + e^z),     dL/dz = -y + σ(z)
    (z = 0 takes the second branch; the gradient there is σ(0) - y = 0.5 - y.)
    A Value y (a label fed into a traced program) gets one graph for every z,
    without a branch: max(z, 0) = relu(z) and -|z| = z - 2 relu(z).
    """
    if type(y) is Value:
        positive = z.relu()
        return positive - z * y + (1.0 + (z - 2.0 * positive).exp()).log()
    y = _check_probability_target(y, "binary_cross_entropy_with_logits")
    if z.data > 0.0:
        return z * (1.0 - y) + (1.0 + (-z).exp()).log()
    return (1.0 + z.exp()).log() - z * y


def softmax(zs: Sequence[Value]) -> list[Value]:
    """softmax(z)_i = e^(z_i) / Σ_j e^(z_j), shifted by max(z) so no exp can overflow."""
    if not zs:
        raise ValueError("softmax() of an empty list: give at least one logit")
    exps = [s.exp() for s in _shifted_by_max(zs)]
    total = engine.sum(exps)  # >= 1, because the largest term is e^0
    return [e / total for e in exps]


def log_softmax(zs: Sequence[Value]) -> list[Value]:
    """log softmax(z)_i = z_i - log Σ_j e^(z_j), computed on z - max(z) so it stays finite."""
    if not zs:
        raise ValueError("log_softmax() of an empty list: give at least one logit")
    shifted = _shifted_by_max(zs)
    log_total = _log_sum_exp(shifted)
    return [s - log_total for s in shifted]


def _shifted_by_max(zs: Sequence[Value]) -> list[Value]:
    """z - max(z) for each logit: the largest becomes 0, so no exp of them can overflow."""
    shift = max(z.data for z in zs)
    return [z - shift for z in zs]


def _log_sum_exp(shifted: Sequence[Value]) -> Value:
    """log Σ_j e^(s_j) as one sum node and one log; the sum is >= 1 for max-shifted logits."""
    return engine.sum([s.exp() for s in shifted]).log()


def cross_entropy(logits: Sequence[Value],
                  target_index: Union[int, Sequence[Union[float, Value]]]) -> Value:
    """L = -log softmax(z)_c = log Σ_j e^(z_j) - z_c for the correct class c.

    Its gradient with respect to the logits is softmax(z) - onehot(c). It is one
    compact subgraph: the logits shifted by their max, their exps, one sum node,
    one log, and one subtraction.

    The target may also be a one-hot list (of Values fed into a traced program,
    or numbers): L = log Σ_j e^(z_j - m) - Σ_j onehot_j (z_j - m), with the max m
    built from relus (m ← m + relu(z_j - m)), so the graph is the same for every
    value of the logits.
    """
    classes = len(logits)
    if classes == 0:
        raise ValueError("cross_entropy() needs at least one logit")
    if isinstance(target_index, (list, tuple)):
        if len(target_index) != classes:
            raise ValueError(f"cross_entropy: a one-hot target needs one entry per logit "
                             f"({classes}), got {len(target_index)}")
        largest = logits[0]
        for z in logits[1:]:
            largest = largest + (z - largest).relu()
        shifted = [z - largest for z in logits]
        return _log_sum_exp(shifted) - engine.dot(target_index, shifted)
    target_index = class_index(target_index, "cross_entropy: target_index", classes)
    shifted = _shifted_by_max(logits)
    log_total = _log_sum_exp(shifted)
    # log Σ e^(z_j - m) - (z_c - m) = log Σ e^(z_j) - z_c: the shift cancels
    return log_total - shifted[target_index]


def mse(pred: Value, target: Union[float, Value]) -> Value:
    """Squared error (pred - target)² of one example; mean_loss over a batch makes it the MSE."""
    return (pred - target) ** 2


def hinge(score: Value, y: Union[int, Value]) -> Value:
    """micrograd's max-margin loss max(0, 1 - y * score) for a label y of -1 or +1."""
    if type(y) is Value:  # a label fed into a traced program: -1 or +1 at every call
        return (1.0 - y * score).relu()
    if isinstance(y, bool) or y not in (-1, 1):
        raise ValueError(f"hinge: label y = {y!r} must be -1 or +1 "
                         f"(turn 0/1 labels into -1/+1 with 2*y - 1)")
    return (1 + -y * score).relu()


def mean_loss(losses: Sequence[Value]) -> Value:
    """The mean of a batch of per-example losses, as one node (local gradient 1/N on each)."""
    losses = list(losses)
    if not losses:
        raise ValueError("mean_loss() of an empty batch: give at least one loss")
    return engine.mean(losses)
