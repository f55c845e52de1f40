"""`numpy.gradient` shown for what it is: it differences an array already sampled on a grid
(second-order central differences inside, one-sided first-order ones at the two edges, spacing 1
unless given), not a function; so numpy.gradient of a single loss value gives no derivative."""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

DEMO_FUNCTIONS = {  # name -> (f, f')
    "sin x": (np.sin, np.cos),
    "x²": (np.square, lambda x: 2 * x),
    "x³": (lambda x: x ** 3, lambda x: 3 * x ** 2),
}
DEMO_RANGE = (-2.0, 2.0)  # sin x bends most near the edges: the one-sided error shows

NUMPY_GRADIENT_WORDS = (
    "numpy.gradient differences an array of values already sampled on a grid: "
    "(f[i+1] − f[i−1]) / 2Δ inside (second order, error ∝ Δ²), (f[1] − f[0]) / Δ and "
    "(f[−1] − f[−2]) / Δ at the two edges (one-sided, first order, error ∝ Δ), with Δ = 1 "
    "unless you pass the spacing. It never sees a function, so it cannot evaluate one anywhere "
    "else.")
ONE_LOSS_WORDS = (
    "So numpy.gradient(loss), as some tutorials write it, cannot give dL/dw: a loss is one "
    "number, with no neighbours to difference, and nothing in it says how it would change if "
    "a weight moved. A derivative needs the loss at other weights (finite differences) or the "
    "chain rule (backprop).")


class GradientDemo(NamedTuple):
    """`numpy.gradient` of f sampled every `spacing` on DEMO_RANGE, against f'."""

    function: str
    spacing: float
    spacing_passed: bool  # False: numpy.gradient was called without it, and took 1
    x: np.ndarray
    values: np.ndarray
    estimate: np.ndarray
    exact: np.ndarray

    @property
    def error(self) -> np.ndarray:
        return np.abs(self.estimate - self.exact)

    @property
    def edge_error(self) -> float:
        return float(max(self.error[0], self.error[-1]))

    @property
    def interior_error(self) -> float:
        return float(self.error[1:-1].max()) if len(self.x) > 2 else 0.0


def numpy_gradient_demo(function: str = "sin x", spacing: float = 0.5,
                        spacing_passed: bool = True) -> GradientDemo:
    """Sample f on a grid `spacing` apart, and difference the samples with numpy.gradient."""
    f, derivative = DEMO_FUNCTIONS[function]
    start, stop = DEMO_RANGE
    if not 0 < spacing <= (stop - start) / 2:
        raise ValueError(f"the spacing must be above 0 and at most {(stop - start) / 2:g}")
    x = start + spacing * np.arange(int(np.floor((stop - start) / spacing + 1e-9)) + 1)
    values = f(x)
    estimate = np.gradient(values, spacing) if spacing_passed else np.gradient(values)
    return GradientDemo(function, spacing, spacing_passed, x, values, estimate, derivative(x))


class OneLoss(NamedTuple):
    """What numpy.gradient makes of one loss value, in NumPy's own words."""

    as_value: str  # numpy.gradient(loss)
    in_a_list: str  # numpy.gradient([loss])


def gradient_of_one_loss(loss: float = 2.3026) -> OneLoss:
    """Call numpy.gradient on a single loss, alone (a 0-d value has no axis: NumPy returns an
    empty tuple, one derivative per axis) and in a one-element list (too short to difference:
    NumPy raises ValueError), and say what came back."""
    return OneLoss(_outcome(f"numpy.gradient({loss:g})", lambda: np.gradient(np.float64(loss))),
                   _outcome(f"numpy.gradient([{loss:g}])", lambda: np.gradient(np.array([loss]))))


def _outcome(call: str, run: Callable) -> str:
    try:
        result = run()
    except (ValueError, IndexError, TypeError) as exc:
        return f"{call} raises {type(exc).__name__}: {exc}"
    return f"{call} returns {result!r}: no derivative at all"
