import numpy as np

from gdplayground.engine import activations
from gdplayground.engine.gradcheck import TOLERANCE, check_all, relative_errors
from gdplayground.engine.losses import make_loss
from gdplayground.engine.network import Network


def test_every_activation_loss_and_variant_passes_in_float64():
    results = check_all()
    # 5 hidden activations x 7 output/loss pairs x 5 variants (plain, no bias, L1, L2, dropout)
    assert len(results) == 175
    worst = max(results, key=lambda r: r.worst)
    assert worst.worst < TOLERANCE, worst


def test_a_wrong_derivative_is_caught(monkeypatch):
    monkeypatch.setattr(activations.Tanh, "backward", lambda self, a, grad: grad * (1 - a))
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], ["tanh"], dtype=np.float64)
    net.initialise("xavier", 0, rng)
    loss = make_loss("cross_entropy", "softmax")
    errors = relative_errors(net, loss, rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1]))
    assert errors["layer1.weight"] > 1e-2
    assert errors["layer2.weight"] < TOLERANCE  # the output layer does not use the derivative
