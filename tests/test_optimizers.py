"""Every update rule against values worked out by hand, over two steps, so the state matters."""

import numpy as np
import pytest

from gdplayground.config import OptimizerConfig
from gdplayground.engine.optimizers import Optimizer

W0 = 1.0
GRADS = (0.5, -0.2)  # the gradients of the first and second steps
LR = 0.1


def run(name, **hyper):
    w = np.array([W0])
    opt = Optimizer(OptimizerConfig(name=name, **hyper), [w])
    trace = []
    for g in GRADS:
        opt.step([(w, np.array([g]))], LR)
        trace.append(float(w[0]))
    return trace


def test_sgd():
    # w1 = 1 - 0.1*0.5 = 0.95; w2 = 0.95 + 0.1*0.2 = 0.97
    assert run("sgd") == pytest.approx([0.95, 0.97])


def test_momentum():
    # v1 = 0.5, w1 = 0.95; v2 = 0.9*0.5 - 0.2 = 0.25, w2 = 0.95 - 0.025 = 0.925
    assert run("momentum", momentum=0.9) == pytest.approx([0.95, 0.925])


def test_nesterov():
    # v1 = 0.5, w1 = 1 - 0.1*(0.5 + 0.45) = 0.905
    # v2 = 0.25, w2 = 0.905 - 0.1*(-0.2 + 0.225) = 0.9025
    assert run("nesterov", momentum=0.9) == pytest.approx([0.905, 0.9025])


def test_adagrad():
    # G1 = 0.25, w1 = 1 - 0.1*0.5/0.5 = 0.9
    # G2 = 0.29, w2 = 0.9 + 0.1*0.2/sqrt(0.29) = 0.937139...
    assert run("adagrad", eps=1e-10) == pytest.approx([0.9, 0.9 + 0.02 / np.sqrt(0.29)])


def test_rmsprop():
    # s1 = 0.1*0.25 = 0.025, w1 = 1 - 0.1*0.5/sqrt(0.025) = 0.683772...
    # s2 = 0.9*0.025 + 0.1*0.04 = 0.0265, w2 = w1 + 0.1*0.2/sqrt(0.0265)
    w1 = 1 - 0.05 / np.sqrt(0.025)
    assert run("rmsprop", rho=0.9, eps=1e-10) == pytest.approx([w1, w1 + 0.02 / np.sqrt(0.0265)])


def test_adam_is_bias_corrected():
    # Step 1: m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25: w1 = 1 - 0.1*0.5/0.5 = 0.9.
    # Step 2: m = 0.9*0.05 - 0.02 = 0.025, v = 0.999*0.00025 + 0.001*0.04 = 0.00028975;
    #         m_hat = 0.025/0.19, v_hat = 0.00028975/0.001999
    m_hat, v_hat = 0.025 / (1 - 0.9**2), 0.00028975 / (1 - 0.999**2)
    expected = [0.9, 0.9 - 0.1 * m_hat / np.sqrt(v_hat)]
    assert run("adam", beta1=0.9, beta2=0.999, eps=1e-12) == pytest.approx(expected)


def test_hyperparameters_are_read_at_every_step():
    w = np.array([1.0])
    opt = Optimizer(OptimizerConfig(name="momentum", momentum=0.9), [w])
    opt.step([(w, np.array([1.0]))], 0.1)
    opt.hyper = OptimizerConfig(name="momentum", momentum=0.0)
    opt.step([(w, np.array([1.0]))], 0.1)  # no momentum now: v = 1
    assert w[0] == pytest.approx(0.8)
