"""The loss landscape around a run (Li et al., "Visualizing the Loss Landscape of Neural Nets",
2018): the loss along the line from the initial weights to the current ones, on a plane through
the current weights along two random directions normalised per unit, and on the plane of the
path's first two principal components with the path projected onto it.

API CONTRACT (issue 19; the helper implementing this file fills in the bodies, keeps the names):
every function works on float64 copies (an engine `Probe` and a `KeptPath`), never on a live run;
long loops call `progress(done, total)` and raise `Cancelled` when `cancelled()` says so.
Flat weight vectors are laid out as Network.flat / Probe.flat(): layer1.weight, layer1.bias, ….
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gdplayground.engine import Trainer
from gdplayground.engine.path import KeptPath
from gdplayground.engine.probe import Probe
from gdplayground.engine.schedules import learning_rate_at

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]
LANDSCAPE_EXAMPLES = 5000  # training examples a Terrain carries; a computation samples from them
ALPHAS = np.linspace(-0.5, 1.5, 201)  # the line's α: θ₀ + α(θ − θ₀)


@dataclass(frozen=True)
class Terrain:
    """What a landscape is measured on, copied from a run (the training worker's "landscape"
    query answers one; the CLI makes one from a weight file or a run folder)."""

    probe: Probe  # the network at its current weights, up to LANDSCAPE_EXAMPLES training examples
    path: KeptPath  # the weights along the way (can be empty: a network too large to keep it)
    step: int  # the run's step now
    learning_rate: float  # the rate of the next step
    optimizer: str  # the optimizer's name, for the notes beside 2/lr
    dataset: str  # the dataset's name ("linear-system": the landscape is an exact quadratic)

    @classmethod
    def of(cls, trainer: Trainer) -> Terrain:
        """Copies of what a landscape measures of a run: the network, examples, the kept path."""
        rate = learning_rate_at(trainer.step_count, trainer.config.learning_rate)
        return cls(trainer.gradient_probe(LANDSCAPE_EXAMPLES), trainer.path.kept(),
                   trainer.step_count, rate, trainer.config.optimizer.name, trainer.dataset.name)


@dataclass(frozen=True)
class Line:
    """The loss (and accuracy, for classifiers) at start + α(end − start)."""

    alphas: np.ndarray  # (n,)
    loss: np.ndarray  # (n,)
    accuracy: np.ndarray | None  # (n,) or None for regression
    samples: int  # examples the loss is the mean over


@dataclass(frozen=True)
class Plane:
    """The loss over centre + a·d1 + b·d2 on a grid: loss[j, i] at (a[i], b[j])."""

    a: np.ndarray  # (n,)
    b: np.ndarray  # (m,)
    loss: np.ndarray  # (m, n)
    accuracy: np.ndarray | None  # (m, n)
    samples: int
    note: str  # what limits or explains the picture (an exact quadratic bowl, say), or ""


@dataclass(frozen=True)
class PathPlane:
    """The path on the plane of its first two principal components around the current weights,
    with the loss surface of that plane beneath it."""

    surface: Plane
    explained: tuple[float, float]  # fraction of the path's variance along each axis
    steps: np.ndarray  # (k,) the kept steps, the current step last
    coords: np.ndarray  # (k, 2) least-squares coordinates of each point on the plane
    true_loss: np.ndarray  # (k,) the loss at the point itself
    plane_loss: np.ndarray  # (k,) the loss at its projection on the plane
    distance: np.ndarray  # (k,) how far the point lies from the plane (‖θᵢ − its projection‖)


def line(probe: Probe, start: np.ndarray, end: np.ndarray, alphas: np.ndarray = ALPHAS,
         samples: int = 2000, seed: int = 0, progress: Progress | None = None,
         cancelled: Cancel | None = None) -> Line:
    raise NotImplementedError


def plane(probe: Probe, grid: int = 21, extent: float = 1.0, samples: int = 2000, seed: int = 0,
          bias: bool = False, progress: Progress | None = None,
          cancelled: Cancel | None = None) -> Plane:
    """Around probe.flat(), directions from `seed` (normalised_direction), a and b in
    linspace(-extent, extent, grid)."""
    raise NotImplementedError


def path_plane(probe: Probe, path: KeptPath, grid: int = 21, samples: int = 2000, seed: int = 0,
               progress: Progress | None = None, cancelled: Cancel | None = None) -> PathPlane:
    """The kept path with the current weights (probe.flat()) appended as its last point."""
    raise NotImplementedError


def normalised_direction(probe: Probe, rng: np.random.Generator, bias: bool = False) -> np.ndarray:
    """A random direction, each unit's incoming weights scaled to the norm of that unit's
    weights in the probe (a column of W (n_in, n_out)); biases zero unless `bias`."""
    raise NotImplementedError


def principal_directions(points: np.ndarray, centre: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The first two principal directions of the rows points − centre, and the fraction of
    their variance each explains."""
    raise NotImplementedError


def project(points: np.ndarray, centre: np.ndarray, d1: np.ndarray, d2: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coordinates (k, 2) of each row on centre + a·d1 + b·d2, and each row's
    distance from that plane."""
    raise NotImplementedError


def losses(probe: Probe, centre: np.ndarray, directions: np.ndarray, coefficients: np.ndarray,
           samples: int = 2000, seed: int = 0, progress: Progress | None = None,
           cancelled: Cancel | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Loss and accuracy at centre + coefficients @ directions for every row of `coefficients`
    (G, r), directions (r, n_parameters): many points at once, as large matrix products."""
    raise NotImplementedError
