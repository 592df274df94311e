"""Values and gradients of every operation against PyTorch in float64 (skipped without torch)."""

import pytest

from tinygrad_edu import Value, dot, mean
from tinygrad_edu import sum as value_sum

torch = pytest.importorskip("torch")


def both(build, *inputs):
    """Run `build` in both engines on the same inputs; return (ours, torch's) value and grads."""
    ours = [Value(x) for x in inputs]
    out = build(ours, ops=OURS)
    out.backward()
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    reference = build(theirs, ops=TORCH)
    reference.backward()
    return (out.data, [v.grad for v in ours]), (reference.item(), [t.grad.item() for t in theirs])


OURS = {
    "exp": Value.exp, "log": Value.log, "tanh": Value.tanh, "sigmoid": Value.sigmoid,
    "relu": Value.relu, "sum": value_sum, "mean": mean,
    "dot": lambda w, x, b: dot(w, x, b),
}
TORCH = {
    "exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "relu": torch.relu, "sum": lambda xs: torch.stack(list(xs)).sum(),
    "mean": lambda xs: torch.stack(list(xs)).mean(),
    "dot": lambda w, x, b: torch.dot(torch.stack(w), torch.stack(x)) + b,
}

CASES = {
    "lecture": (lambda v, ops: v[2] * (v[0] + 2 * v[1]), (3.0, 1.0, -2.0)),
    "arithmetic": (lambda v, ops: (v[0] - v[1]) / (v[1] * 3 + 1) - 2 / v[0], (1.3, 0.4)),
    "powers": (lambda v, ops: v[0] ** 3 + v[0] ** -0.5 + v[0] ** v[1] + 2 ** v[1], (1.7, 0.6)),
    "neg": (lambda v, ops: -v[0] * v[0] - (1 - v[0]), (0.8,)),
    "unary": (lambda v, ops: ops["exp"](v[0]) * ops["log"](v[1]) + ops["tanh"](v[0] * v[1])
              + ops["sigmoid"](v[1] - v[0]) + ops["relu"](v[0] - 0.5), (0.9, 2.2)),
    "relu at 0": (lambda v, ops: ops["relu"](v[0]) * 3, (0.0,)),
    "n-ary": (lambda v, ops: ops["sum"]([v[0], v[1], v[0] * v[1]])
              * ops["mean"]([v[0], v[1]])
              + ops["dot"]([v[0], v[1]], [v[1], v[0]], v[2]), (0.3, -1.1, 0.5)),
    "mlp unit": (lambda v, ops: ops["sigmoid"](ops["tanh"](v[0] * 0.4 + v[1] * -0.7 + 0.1)
                 * 1.3 - 0.2), (0.5, -1.5)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch_float64(name):
    build, inputs = CASES[name]
    (value, grads), (expected_value, expected_grads) = both(build, *inputs)
    assert value == pytest.approx(expected_value, rel=1e-12, abs=1e-14)
    assert grads == pytest.approx(expected_grads, rel=1e-12, abs=1e-14)
