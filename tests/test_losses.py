import decimal

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


@pytest.mark.parametrize("name, output", [("cross_entropy", "softmax"), ("bce", "sigmoid"),
                                           ("mse", "sigmoid"), ("mse", "identity")])
def test_the_gradient_comes_in_the_logits_dtype_whatever_the_targets(name, output):
    # a probe's targets are float64; the network may be float32, and its backward pass writes
    # into float32 arrays ("output array is not acceptable" otherwise)
    loss_fn = make_loss(name, output)
    z = np.array([[0.5, -1.0], [2.0, 0.1]], dtype=np.float32)
    targets = loss_fn.encode(np.array([1, 0]), 2, np.float64)
    _, outputs = loss_fn.forward(z.copy(), targets)
    assert loss_fn.backward(outputs, targets).dtype == np.float32


def test_accuracy_for_one_and_many_outputs():
    assert accuracy(np.array([[0.9], [0.2], [0.6]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert accuracy(np.array([[0.5]]), np.array([[0.5]])) is None  # regression


# --- small losses to full precision, against the same formulas in 80-digit decimals ----------
SMALL_LOSSES = (1e-7, 1e-12, 1e-16, 1e-20, 1e-30)
RTOL = {np.float64: 1e-13, np.float32: 1e-5}
D = decimal.Decimal  # a float converts exactly; arithmetic in 80 digits (see `exact`)


@pytest.fixture(autouse=True)
def exact():
    with decimal.localcontext(prec=80):
        yield


def _bce_exact(z, t) -> D:
    """−t log σ(z) − (1−t) log(1 − σ(z)) = log(1 + e^z) − t·z."""
    z, t = D(float(z)), D(float(t))
    return (1 + z.exp()).ln() - t * z


def _cross_entropy_exact(row, label) -> D:
    """log Σ e^z_j − z_y."""
    z = [D(float(v)) for v in row]
    return sum(v.exp() for v in z).ln() - z[label]


def _mean(values) -> float:
    return float(sum(values) / len(values))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("small", SMALL_LOSSES)
def test_bce_keeps_its_digits_when_the_loss_is_tiny(dtype, small):
    margin = -np.log(small)  # log(1 + e^-m) = small when the prediction is right by m
    z = np.array([[margin], [-margin], [0.5 * margin], [3.0], [-1.0]], dtype=dtype)
    t = np.array([[1.0], [0.0], [1.0], [0.25], [0.75]], dtype=dtype)  # hard and soft targets
    for rows in (slice(0, 3), slice(0, 5)):  # the confident ones alone, then with the others
        loss, _ = make_loss("bce", "sigmoid").forward(z[rows].copy(), t[rows])
        expected = _mean([_bce_exact(a, b) for a, b in zip(z[rows, 0], t[rows, 0])])
        assert loss == pytest.approx(expected, rel=RTOL[dtype], abs=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("small", SMALL_LOSSES)
def test_cross_entropy_keeps_its_digits_when_the_loss_is_tiny(dtype, small):
    margin = -np.log(small / 2)  # two other classes, each e^-m behind
    z = np.array([[margin, 0.0, 0.0], [1.0, margin + 2.0, 2.0], [0.5, 2.0, -1.0]], dtype=dtype)
    labels = np.array([0, 1, 2])
    for rows in (slice(0, 2), slice(0, 3)):
        loss, _ = make_loss("cross_entropy", "softmax").forward(z[rows].copy(), labels[rows])
        expected = _mean([_cross_entropy_exact(r, y) for r, y in zip(z[rows], labels[rows])])
        assert loss == pytest.approx(expected, rel=RTOL[dtype], abs=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_gradient_keeps_its_digits_when_sigma_is_near_0_or_1(dtype):
    z = np.array([[16.0], [-16.0], [40.0], [-40.0], [2.0]], dtype=dtype)
    t = np.array([[1.0], [0.0], [1.0], [0.0], [0.25]], dtype=dtype)
    loss = make_loss("bce", "sigmoid")
    grad = loss.backward(loss.forward(z.copy(), t)[1], t)
    sigma = [1 / (1 + (-D(float(v))).exp()) for v in z[:, 0]]
    expected = [float((s - D(float(b))) / len(z)) for s, b in zip(sigma, t[:, 0])]
    np.testing.assert_allclose(grad[:, 0], expected, rtol=RTOL[dtype], atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_gradient_keeps_its_digits_when_confident(dtype):
    z = np.array([[40.0, 0.0, 1.0], [0.0, 20.0, -3.0], [0.5, 2.0, -1.0]], dtype=dtype)
    labels = np.array([0, 1, 0])
    loss = make_loss("cross_entropy", "softmax")
    grad = loss.backward(loss.forward(z.copy(), labels)[1], labels)
    for row, label, got in zip(z, labels, grad):
        e = [D(float(v)).exp() for v in row]
        expected = [float((p / sum(e) - (j == label)) / len(z)) for j, p in enumerate(e)]
        np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=0)
