import numpy as np
import pytest

from gdplayground.engine.losses import accuracy, make_loss


def test_softmax_cross_entropy_matches_the_textbook_formula():
    z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = np.array([1, 0])
    loss, probs = make_loss("cross_entropy", "softmax").forward(z.copy(), labels)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[[0, 1], labels])))
    np.testing.assert_allclose(probs, p)


def test_bce_matches_the_textbook_formula():
    z = np.array([[0.3], [-2.0], [1.5]])
    t = np.array([[1.0], [0.0], [0.0]])
    loss, _ = make_loss("bce", "sigmoid").forward(z.copy(), t)
    s = 1 / (1 + np.exp(-z))
    assert loss == pytest.approx(-np.mean(t * np.log(s) + (1 - t) * np.log(1 - s)))


@pytest.mark.parametrize("name, output", [("cross_entropy", "softmax"), ("bce", "sigmoid"),
                                           ("mse", "sigmoid"), ("mse", "tanh")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_stay_finite_at_logits_of_plus_minus_1000(name, output, dtype):
    loss_fn = make_loss(name, output)
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=dtype)
    labels = np.array([1, 1])
    targets = loss_fn.encode(labels, 2, dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, outputs = loss_fn.forward(z.copy(), targets)
        grad = loss_fn.backward(outputs, targets)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    if name == "cross_entropy":  # the first example is wrong by a margin of 2000
        assert loss == pytest.approx(1000.0)


def test_accuracy_for_one_and_many_outputs():
    assert accuracy(np.array([[0.9], [0.2], [0.6]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert accuracy(np.array([[0.5]]), np.array([[0.5]])) is None  # regression
