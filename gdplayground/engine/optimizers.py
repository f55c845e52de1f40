"""Update rules. Each has one signature, `rule(param, grad, state, lr, hyper)`, and changes the
parameter in place; its memory (velocity, running means, step count) lives in `state`, a dict
per parameter. The hyperparameters are read at every step, so changing them needs no reset.

The formulas are PyTorch's (torch.optim), so runs can be compared side by side.
"""

from __future__ import annotations

import numpy as np

from gdplayground.config import OptimizerConfig


def sgd(param, grad, state, lr, hyper):
    param -= lr * grad


def momentum(param, grad, state, lr, hyper):
    """v ← μv + g;  w ← w − lr·v"""
    velocity = state.setdefault("velocity", np.zeros_like(param))
    velocity *= hyper.momentum
    velocity += grad
    param -= lr * velocity


def nesterov(param, grad, state, lr, hyper):
    """v ← μv + g;  w ← w − lr·(g + μv): the step looks ahead along the velocity."""
    velocity = state.setdefault("velocity", np.zeros_like(param))
    velocity *= hyper.momentum
    velocity += grad
    param -= lr * (grad + hyper.momentum * velocity)


def adagrad(param, grad, state, lr, hyper):
    """G ← G + g²;  w ← w − lr·g / (√G + ε): each weight's step shrinks as its gradients add up."""
    total = state.setdefault("sum_sq", np.zeros_like(param))
    total += grad * grad
    param -= lr * grad / (np.sqrt(total) + hyper.eps)


def rmsprop(param, grad, state, lr, hyper):
    """s ← ρs + (1−ρ)g²;  w ← w − lr·g / (√s + ε)"""
    mean_sq = state.setdefault("mean_sq", np.zeros_like(param))
    mean_sq *= hyper.rho
    mean_sq += (1 - hyper.rho) * grad * grad
    param -= lr * grad / (np.sqrt(mean_sq) + hyper.eps)


def adam(param, grad, state, lr, hyper):
    """m ← β1m + (1−β1)g;  v ← β2v + (1−β2)g²;  w ← w − lr·m̂ / (√v̂ + ε), with m̂, v̂ bias-corrected."""
    m = state.setdefault("m", np.zeros_like(param))
    v = state.setdefault("v", np.zeros_like(param))
    state["t"] = t = state.get("t", 0) + 1
    m *= hyper.beta1
    m += (1 - hyper.beta1) * grad
    v *= hyper.beta2
    v += (1 - hyper.beta2) * grad * grad
    m_hat = m / (1 - hyper.beta1**t)
    v_hat = v / (1 - hyper.beta2**t)
    param -= lr * m_hat / (np.sqrt(v_hat) + hyper.eps)


RULES = {rule.__name__: rule for rule in (sgd, momentum, nesterov, adagrad, rmsprop, adam)}


class Optimizer:
    """Applies the configured rule to a fixed list of parameters, keeping one state per parameter."""

    def __init__(self, hyper: OptimizerConfig, n_params: int):
        self.hyper = hyper
        self.rule = RULES[hyper.name]
        self.states = [{} for _ in range(n_params)]

    def step(self, params_and_grads, lr: float) -> None:
        for (param, grad), state in zip(params_and_grads, self.states):
            self.rule(param, grad, state, lr, self.hyper)
