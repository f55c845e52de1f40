"""How sharp the ground is: the largest eigenvalues of the loss's Hessian, from Hessian-vector
products, against 2/lr, the largest rate at which gradient descent is stable on a quadratic of
that curvature (Cohen et al., 2021: full-batch gradient descent drives λ_max up to about 2/lr).

The Hessian is that of the objective training minimises (engine.gradcheck.objective: the loss
and its L1/L2 penalty, dropout off, as a Probe is), on the probe's fixed batch, in float64. A
product H·v is a central difference of backprop's gradient along v; the eigenvalues come from
Lanczos iteration on those products with full reorthogonalisation. On a 784-256-128-10 network
after 200 Adam steps, on 1,000 digits, Lanczos has λ_max within its tolerance of 1e-3 after 9
products (in fact within 7e-7), where power iteration takes 15 to come within 1e-3; and the same
Krylov space gives the next few and the smallest, which power iteration would deflate one by one.

Long loops call `progress(done, total)` once per product and raise `Cancelled` when
`cancelled()` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdplayground.engine.gradcheck import backprop
from gdplayground.engine.memory import evaluation_rows, feature_floats
from gdplayground.engine.path import KeptPath
from gdplayground.engine.probe import Probe
from gdplayground.labs.gradient_lab import Cancelled, _Meter, _Model
from gdplayground.labs.landscape import Cancel, Progress

__all__ = ["Cancelled", "RunSharpness", "Sharpness", "against_bound", "growth_factor",
           "hessian_vector_product", "sharpness", "sharpness_along", "stability_bound"]

# A central difference's step, relative to the weights' scale (‖θ‖, the step h·v of length
# STEP·‖θ‖ whatever v's length). Not ε^(1/3) (6e-6), where a smooth function's truncation (∝ h²)
# and round-off (∝ ε/h) balance: a step that carries a ReLU's input across 0 changes the
# gradient by a jump, not by h·H·v, and at 6e-6 one product in six on the 784-256-128-10 network
# on 1,000 digits did (u·Hv against v·Hu 30% apart). The chance falls with the step: at 1e-7,
# none in 40 products, while round-off keeps u·Hv and v·Hu within 6e-8 of each other.
STEP = 1e-7
TOLERANCE, MAX_PRODUCTS = 1e-3, 200  # sharpness's defaults
BREAKDOWN = 1e-10  # a Krylov space closes when the next vector is this small against ‖H‖


@dataclass(frozen=True)
class Sharpness:
    largest: float  # λ_max
    top: tuple[float, ...]  # the few largest eigenvalues, largest first
    smallest: float | None  # the most negative (or least) eigenvalue, when asked for
    products: int  # Hessian-vector products it took
    converged: bool  # within the tolerance asked; if not, the figure says it is an estimate


def stability_bound(rate: float) -> float:
    """2/lr: plain gradient descent on a quadratic diverges along curvatures above it."""
    return 2 / rate if rate > 0 else float("inf")


def growth_factor(rate: float, curvature: float) -> float:
    """|1 − lr·λ|: what one step of plain gradient descent multiplies the error by along a
    direction of curvature λ of a quadratic (above 1 it grows: λ > 2/lr)."""
    return abs(1 - rate * curvature)


def against_bound(largest: float, rate: float) -> str:
    """λ_max against 2/lr, in words and numbers, for plain gradient descent at `rate`."""
    bound = stability_bound(rate)
    if rate <= 0:
        return "the learning rate is 0: no step moves the weights"
    factor = growth_factor(rate, largest)
    return (f"{'above' if largest > bound else 'below'} 2/lr = {bound:.4g}: along the sharpest "
            f"direction each step multiplies the error by |1 − lr·λ| = {factor:.2g} "
            f"({'it grows' if factor > 1 else 'it shrinks'})")


class _Curvature:
    """The probe's network, built once in float64 with dropout off: H·v at any weights."""

    def __init__(self, probe: Probe):
        self.model = _Model(probe, np.float64)
        self.weights = probe.flat()
        # Examples per backprop pass: all of them for dense layers; a convolution's buffers
        # hold its columns and maps per example, so its passes go in the trainer's chunks.
        self.rows = (evaluation_rows(sum(feature_floats(probe.features, probe.input_shape)[:2]), 8)
                     if probe.features else len(probe.x))

    def gradient(self, weights: np.ndarray) -> np.ndarray:
        """The objective's gradient: the mean loss's, chunk by chunk, plus the penalty's."""
        model, network = self.model, self.model.network
        network.flat[...] = weights
        n, total = len(model.x), np.zeros_like(network.flat_grad)
        for start in range(0, n, self.rows):
            rows = slice(start, start + self.rows)
            backprop(network, model.loss, model.x[rows], model.targets[rows])
            total += network.flat_grad * (len(model.x[rows]) / n)
        network.flat_grad[...] = total
        network.add_penalty_gradient(model.l1, model.l2)
        return network.flat_grad.copy()

    def product(self, v: np.ndarray) -> np.ndarray:
        """(∇L(θ + hv) − ∇L(θ − hv)) / 2h, the step h·‖v‖ a STEP of ‖θ‖ (of 1 for weights
        smaller than that)."""
        with np.errstate(all="ignore"):  # weights where the loss overflows: _lanczos stops
            norm = float(np.linalg.norm(v))
            if norm == 0:
                return np.zeros_like(self.weights)
            h = STEP * max(float(np.linalg.norm(self.weights)), 1.0) / norm
            ahead = self.gradient(self.weights + h * v)
            return (ahead - self.gradient(self.weights - h * v)) / (2 * h)


def hessian_vector_product(probe: Probe, v: np.ndarray) -> np.ndarray:
    """H·v of the objective at the probe's weights, v laid out as Probe.flat()."""
    return _Curvature(probe).product(np.asarray(v, dtype=np.float64))


def sharpness(probe: Probe, top: int = 1, smallest: bool = False, tolerance: float = TOLERANCE,
              max_products: int = MAX_PRODUCTS, seed: int = 0, progress: Progress | None = None,
              cancelled: Cancel | None = None) -> Sharpness:
    """The `top` largest eigenvalues of the Hessian at the probe's weights (and the smallest,
    if asked), by Lanczos iteration from a random start drawn from `seed`. It stops when every
    eigenvalue asked for is within `tolerance` of the spectrum's scale (max |Ritz value|: the
    residual bound |β_k·s_k| of its Ritz pair), when the Krylov space closes (exact), or after
    `max_products` products (then converged is False)."""
    meter = _Meter(max_products, progress, cancelled)
    return _lanczos(_Curvature(probe).product, probe.flat().size, top, smallest, tolerance,
                    max_products, np.random.default_rng(seed), meter)


def sharpness_along(probe: Probe, path: KeptPath, progress: Progress | None = None,
                    cancelled: Cancel | None = None) -> tuple[np.ndarray, np.ndarray]:
    """λ_max at every kept point of `path` (on the probe's examples): (steps, λ_max).
    Progress counts products, up to the cap of every point (a point that converges early
    jumps the count on to the next)."""
    limit = MAX_PRODUCTS
    curvature = _Curvature(probe)
    meter = _Meter(len(path) * limit, progress, cancelled)
    values = np.empty(len(path))
    for i, weights in enumerate(path.weights):
        curvature.weights = np.asarray(weights, dtype=np.float64)
        meter.done = i * limit
        values[i] = _lanczos(curvature.product, weights.size, 1, False, TOLERANCE, limit,
                             np.random.default_rng(0), meter).largest
    return path.steps.copy(), values


class RunSharpness:
    """λ_max of a training run every `every` steps, on `samples` training examples fixed for
    the run. It reads copies of the weights: the run trains exactly as it would without it."""

    def __init__(self, trainer, every: int, samples: int):
        self.trainer, self.every = trainer, every
        self.probe = trainer.gradient_probe(samples)
        self.last: tuple[int, float, float] | None = None  # (step, λ_max, that step's rate)

    def measured(self, report):
        """The step's report, with λ_max after it if one is due."""
        if report.status != "ok" or report.step % self.every:
            return report
        largest = sharpness(self.probe.at(self.trainer.network.flat)).largest
        self.last = (report.step, largest, report.learning_rate)
        return report._replace(sharpness=largest)

    def line(self) -> str:
        """The last measurement beside 2/lr, for a metric line ("" before the first)."""
        if self.last is None:
            return ""
        step, largest, rate = self.last
        return f"λ_max {largest:.4g} (2/lr {stability_bound(rate):.4g}, step {step})"


def _lanczos(product, n: int, top: int, smallest: bool, tolerance: float, max_products: int,
             rng: np.random.Generator, meter: _Meter) -> Sharpness:
    """Lanczos iteration with full reorthogonalisation on `product` (v ↦ H·v, n-dimensional)."""
    limit = min(max_products, n)
    basis = np.empty((limit, n))  # the Krylov basis, a row a product: pages come as used
    alphas, betas = [], []
    q = rng.standard_normal(n)
    q /= np.linalg.norm(q)
    values = np.full(1, np.nan)  # what a first product that overflows leaves: no estimate
    converged, products = False, 0
    for k in range(limit):
        basis[k] = q
        w = product(q)
        products += 1
        meter.tick()
        if not np.isfinite(w).all():  # weights where the loss overflows: the last estimate
            break
        alphas.append(float(q @ w))
        # Against every earlier vector, twice ("twice is enough", Kahan–Parlett): in floating
        # point the three-term recurrence alone loses orthogonality as Ritz values converge,
        # and the top eigenvalue comes back as spurious copies.
        kept = basis[:k + 1]
        for _ in range(2):
            w -= np.dot(np.dot(kept, w), kept)  # np.dot: half the time of kept.T @ (kept @ w)
        beta = float(np.linalg.norm(w))
        values, vectors = np.linalg.eigh(_tridiagonal(alphas, betas))
        residuals = np.abs(beta * vectors[-1])
        scale = float(np.abs(values).max())
        wanted = list(range(len(values) - 1, max(len(values) - 1 - top, -1), -1))
        if smallest:
            wanted.append(0)
        if beta <= BREAKDOWN * max(scale, float(np.finfo(float).tiny)):
            converged = True  # an invariant subspace: its Ritz values are exact eigenvalues
            break
        if k + 1 >= min(top + smallest, n) and np.all(residuals[wanted] <= tolerance * scale):
            converged = True
            break
        betas.append(beta)
        q = w / beta
    converged = converged or len(alphas) == n
    descending = values[::-1]
    return Sharpness(float(descending[0]), tuple(float(v) for v in descending[:top]),
                     float(values[0]) if smallest else None, products, converged)


def _tridiagonal(alphas: list[float], betas: list[float]) -> np.ndarray:
    k = len(alphas)
    t = np.diag(alphas)
    t[np.arange(k - 1), np.arange(1, k)] = betas[:k - 1]
    t[np.arange(1, k), np.arange(k - 1)] = betas[:k - 1]
    return t
