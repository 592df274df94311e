"""tinygrad_edu.optim: SGD and Adam follow torch.optim's update rules, step by step."""

from __future__ import annotations

import math

import pytest

from tinygrad_edu import Value
from tinygrad_edu.optim import SGD, Adam


def with_grad(data: float, grad: float) -> Value:
    p = Value(data)
    p.grad = grad
    return p


def test_sgd_steps_against_the_gradient():
    p = with_grad(1.0, 0.5)
    SGD([p], lr=0.1).step()
    assert p.data == 1.0 - 0.1 * 0.5


def test_sgd_weight_decay_adds_decay_times_p_to_the_gradient():
    p = with_grad(2.0, 0.5)
    SGD([p], lr=0.1, weight_decay=0.01).step()
    assert p.data == pytest.approx(2.0 - 0.1 * (0.5 + 0.01 * 2.0))


def test_sgd_momentum_follows_a_running_sum_of_gradients():
    p = with_grad(1.0, 1.0)
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.step()  # v = g = 1
    assert p.data == pytest.approx(0.9)
    p.grad = 2.0
    optimizer.step()  # v = 0.9 * 1 + 2 = 2.9
    assert p.data == pytest.approx(0.9 - 0.1 * 2.9)


def test_adam_first_steps_by_hand():
    p = with_grad(1.0, 0.2)
    optimizer = Adam([p], lr=0.01)
    optimizer.step()
    # m = 0.1 * 0.2, v = 0.001 * 0.04; corrected: m̂ = 0.2, v̂ = 0.04, so the step is lr
    assert p.data == pytest.approx(1.0 - 0.01 * 0.2 / (0.2 + 1e-8), rel=1e-14)
    p.grad = -0.4
    optimizer.step()
    m = 0.9 * (0.1 * 0.2) + 0.1 * -0.4
    v = 0.999 * (0.001 * 0.04) + 0.001 * 0.16
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = 1.0 - 0.01 * 0.2 / (0.2 + 1e-8) - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert p.data == pytest.approx(expected, rel=1e-14)


def test_adams_first_step_has_size_lr_whatever_the_gradients_scale():
    small, large = with_grad(0.0, 1e-3), with_grad(0.0, 1e3)
    Adam([small, large], lr=0.05).step()
    assert small.data == pytest.approx(-0.05, rel=1e-4)
    assert large.data == pytest.approx(-0.05, rel=1e-9)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.5),
                                  lambda ps: Adam(ps, lr=0.1)])
def test_both_optimisers_minimise_a_quadratic(make):
    x = Value(0.0)
    optimizer = make([x])
    for _ in range(300):
        optimizer.zero_grad()
        loss = (x - 3.0) ** 2
        loss.backward()
        optimizer.step()
    assert x.data == pytest.approx(3.0, abs=1e-3)


def test_zero_grad_clears_the_grads_that_backward_accumulates():
    p = with_grad(1.0, 4.0)
    optimizer = SGD([p], lr=0.1)
    optimizer.zero_grad()
    assert p.grad == 0.0


@pytest.mark.parametrize("lr", [0, -0.1])
def test_a_learning_rate_that_is_not_positive_is_refused(lr):
    with pytest.raises(ValueError, match=f"lr .* must be a number > 0, got {lr}"):
        SGD([Value(1.0)], lr=lr)
    with pytest.raises(ValueError, match="lr"):
        Adam([Value(1.0)], lr=lr)


def test_bad_settings_are_refused_with_their_values():
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\), got 1.0"):
        SGD([Value(1.0)], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="betas\\[1\\] must be .*, got 1.5"):
        Adam([Value(1.0)], betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="params must be a non-empty list of Values"):
        Adam([])
    with pytest.raises(TypeError, match="float"):
        SGD([1.0], lr=0.1)
