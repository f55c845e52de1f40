"""How sharp the ground is: the largest eigenvalues of the loss's Hessian, from Hessian-vector
products, against 2/lr, the largest rate at which gradient descent is stable on a quadratic of
that curvature (Cohen et al., 2021: full-batch gradient descent drives λ_max up to about 2/lr).

API CONTRACT (issue 19; the helper implementing this file fills in the bodies, keeps the names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdplayground.engine.path import KeptPath
from gdplayground.engine.probe import Probe
from gdplayground.labs.landscape import Cancel, Progress


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


def hessian_vector_product(probe: Probe, v: np.ndarray) -> np.ndarray:
    raise NotImplementedError


def sharpness(probe: Probe, top: int = 1, smallest: bool = False, tolerance: float = 1e-3,
              max_products: int = 200, seed: int = 0, progress: Progress | None = None,
              cancelled: Cancel | None = None) -> Sharpness:
    raise NotImplementedError


def sharpness_along(probe: Probe, path: KeptPath, progress: Progress | None = None,
                    cancelled: Cancel | None = None) -> tuple[np.ndarray, np.ndarray]:
    """λ_max at every kept point of `path` (on the probe's examples): (steps, λ_max)."""
    raise NotImplementedError
