"""Update rules. Each has one signature, `rule(param, grad, state, lr, hyper, scratch)`, and
changes the parameter in place; its memory (velocity, running means, step count) lives in
`state`, a dict per parameter, and `scratch` is a buffer the size of the parameter that the
rule may overwrite, so a step allocates nothing. The hyperparameters are read at every step,
so changing them needs no reset.

The formulas are PyTorch's (torch.optim), so runs can be compared side by side.
"""

from __future__ import annotations

import math

import numpy as np

from gdplayground.config import OptimizerConfig


def sgd(param, grad, state, lr, hyper, scratch):
    """w ← w − lr·g"""
    np.multiply(grad, lr, out=scratch)
    param -= scratch


def momentum(param, grad, state, lr, hyper, scratch):
    """v ← μv + g;  w ← w − lr·v"""
    velocity = _slot(state, "velocity", param)
    velocity *= hyper.momentum
    velocity += grad
    np.multiply(velocity, lr, out=scratch)
    param -= scratch


def nesterov(param, grad, state, lr, hyper, scratch):
    """v ← μv + g;  w ← w − lr·(g + μv): the step looks ahead along the velocity."""
    velocity = _slot(state, "velocity", param)
    velocity *= hyper.momentum
    velocity += grad
    np.multiply(velocity, hyper.momentum, out=scratch)
    scratch += grad
    scratch *= lr
    param -= scratch


def adagrad(param, grad, state, lr, hyper, scratch):
    """G ← G + g²;  w ← w − lr·g / (√G + ε): each weight's step shrinks as its gradients add up."""
    total = _slot(state, "sum_sq", param)
    np.multiply(grad, grad, out=scratch)
    total += scratch
    _divide_by_root(param, grad, total, lr, hyper.eps, scratch)


def rmsprop(param, grad, state, lr, hyper, scratch):
    """s ← ρs + (1−ρ)g²;  w ← w − lr·g / (√s + ε)"""
    mean_sq = _slot(state, "mean_sq", param)
    mean_sq *= hyper.rho
    np.multiply(grad, grad, out=scratch)
    scratch *= 1 - hyper.rho
    mean_sq += scratch
    _divide_by_root(param, grad, mean_sq, lr, hyper.eps, scratch)


def adam(param, grad, state, lr, hyper, scratch):
    """m ← β1m + (1−β1)g;  v ← β2v + (1−β2)g²;  w ← w − lr·m̂ / (√v̂ + ε), with m̂, v̂ bias-corrected.

    Computed as w ← w − (lr·√c2/c1)·m / (√v + ε·√c2), where c1 = 1−β1ᵗ and c2 = 1−β2ᵗ: the same
    value in two fewer passes over the weights.
    """
    m, v = _slot(state, "m", param), _slot(state, "v", param)
    state["t"] = t = state.get("t", 0) + 1
    m *= hyper.beta1
    np.multiply(grad, 1 - hyper.beta1, out=scratch)
    m += scratch
    v *= hyper.beta2
    np.multiply(grad, grad, out=scratch)
    scratch *= 1 - hyper.beta2
    v += scratch
    root_c2 = math.sqrt(1 - hyper.beta2**t)
    np.sqrt(v, out=scratch)
    scratch += hyper.eps * root_c2
    np.divide(m, scratch, out=scratch)
    scratch *= lr * root_c2 / (1 - hyper.beta1**t)
    param -= scratch


def _slot(state: dict, name: str, param: np.ndarray) -> np.ndarray:
    if name not in state:
        state[name] = np.zeros_like(param)
    return state[name]


def _divide_by_root(param, grad, accumulated, lr, eps, scratch) -> None:
    """w ← w − lr·g / (√accumulated + ε)"""
    np.sqrt(accumulated, out=scratch)
    scratch += eps
    np.divide(grad, scratch, out=scratch)
    scratch *= lr
    param -= scratch


RULES = {rule.__name__: rule for rule in (sgd, momentum, nesterov, adagrad, rmsprop, adam)}


class Optimizer:
    """Applies the configured rule to a fixed list of parameters, keeping one state per parameter."""

    def __init__(self, hyper: OptimizerConfig, params: list[np.ndarray]):
        self.hyper = hyper
        self.rule = RULES[hyper.name]
        self.states: list[dict] = [{} for _ in params]
        self._scratch = [np.empty_like(param) for param in params]

    def step(self, params_and_grads, lr: float) -> None:
        for (param, grad), state, scratch in zip(params_and_grads, self.states, self._scratch):
            self.rule(param, grad, state, lr, self.hyper, scratch)
