"""The optimizer race: the engine's own update rules (engine/optimizers.py) moving a point of one
or two coordinates down a surface (labs/surfaces.py), several optimizers from the same start.

A racer's parameter is a 1- or 2-element array; `Optimizer` updates it in place exactly as it
updates a network's weights, so what a learner sees here is what trains the networks. A step
returns a small report per racer, like `Trainer.step`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gdplayground.config import ConfigError, OptimizerConfig, validate_fields
from gdplayground.engine.history import GrowingArray
from gdplayground.engine.optimizers import Optimizer
from gdplayground.labs.surfaces import Surface

CLOSE_ENOUGH = 1e-6  # a racer within this distance of a minimum has converged
FLAT_ENOUGH = 1e-6  # a gradient norm below this, away from every minimum: a stationary point
TOO_FAR = 1e8  # a coordinate beyond this (or not finite): diverged
MAX_LR = 100.0
MAX_RACERS = 8  # in one race: the Optimizers tab's rows, each in a colour of its own
STALL_WORDS = {"saddle": "a saddle point", "maximum": "a maximum",
               "flat": "a plateau too flat to tell which way is down"}


class Racer(NamedTuple):
    """One contestant: an update rule with its hyperparameters and its own learning rate."""

    optimizer: OptimizerConfig
    lr: float

    @property
    def label(self) -> str:
        return f"{self.optimizer.name} {self.lr:.3g}"


class RacerReport(NamedTuple):
    """Where a racer is after a step, and what moved it there."""

    label: str
    step: int
    point: np.ndarray  # the coordinates now
    value: float  # f at the point
    grad: np.ndarray  # the gradient at the point before the step (what the rule was given)
    update: np.ndarray  # the step actually taken: point − previous point
    velocity: np.ndarray | None  # momentum's velocity, or Adam's bias-corrected first moment
    status: str  # "running", "converged", "diverged"


@dataclass(frozen=True)
class BowlTheory:
    """Gradient descent on ½(λ₁u² + λ₂v²), exactly (distill.pub, "Why Momentum Really Works")."""

    kappa: float

    @property
    def eigenvalues(self) -> tuple[float, float]:
        return 1.0, self.kappa

    @property
    def stable_lr(self) -> float:
        """Above 2/λ₂ the step overshoots along the steep axis by more than it corrects."""
        return 2 / self.kappa

    @property
    def best_lr(self) -> float:
        return 2 / (1 + self.kappa)

    @property
    def best_factor(self) -> float:
        """How much the distance to the minimum shrinks per step at the best rate."""
        return (self.kappa - 1) / (self.kappa + 1)

    @property
    def momentum_lr(self) -> float:
        return 4 / (1 + math.sqrt(self.kappa)) ** 2

    @property
    def momentum_mu(self) -> float:
        return self.momentum_factor ** 2

    @property
    def momentum_factor(self) -> float:
        root = math.sqrt(self.kappa)
        return (root - 1) / (root + 1)


def stable_limit(racer: Racer, largest_eigenvalue: float) -> float | None:
    """The largest learning rate at which plain, heavy-ball or Nesterov gradient descent
    converges on a quadratic whose Hessian's largest eigenvalue is given; None for the adaptive
    rules, whose step does not scale with the gradient."""
    if racer.optimizer.name == "sgd":
        return 2 / largest_eigenvalue
    mu = racer.optimizer.momentum
    if racer.optimizer.name == "momentum":
        return 2 * (1 + mu) / largest_eigenvalue
    if racer.optimizer.name == "nesterov":  # z² − (1+μ)(1−k)z + μ(1−k), k = lr·λ: |roots| < 1
        return 2 * (1 + mu) / ((1 + 2 * mu) * largest_eigenvalue)
    return None


def check_racer(racer: Racer) -> Racer:
    """Raise ConfigError naming what is wrong with a racer's settings; return it."""
    validate_fields(racer.optimizer, "optimizer.")
    if not (isinstance(racer.lr, (int, float)) and 0 < racer.lr <= MAX_LR):
        raise ConfigError(f"the learning rate of {racer.optimizer.name} must be above 0 and at "
                          f"most {MAX_LR:g} (got {racer.lr!r})", "lr")
    return racer


def hessian(surface: Surface, point: np.ndarray) -> np.ndarray:
    """Second derivatives at a point, by central differences of the gradient (symmetrised)."""
    h = 1e-4 * max(1.0, float(np.max(np.abs(point))))
    columns = [(surface.grad(point + h * e) - surface.grad(point - h * e)) / (2 * h)
               for e in np.eye(surface.dims)]
    matrix = np.column_stack(columns)
    return (matrix + matrix.T) / 2


def unique_labels(racers: list[Racer]) -> list[str]:
    """Each racer's label, numbered where two would read the same ("sgd 0.1", "sgd 0.1 #2")."""
    labels, seen = [], {}
    for racer in racers:
        seen[racer.label] = seen.get(racer.label, 0) + 1
        labels.append(racer.label + (f" #{seen[racer.label]}" if seen[racer.label] > 1 else ""))
    return labels


class Race:
    """Racers from one start on one surface, stepped together; each stops when it has converged
    to a minimum or diverged."""

    def __init__(self, surface: Surface, start, racers: list[Racer], dtype=np.float64):
        if not racers:
            raise ConfigError("no racer is in the race: tick at least one", "racers")
        self.surface, self.racers, self.dtype = surface, [check_racer(r) for r in racers], dtype
        self.start = np.asarray(start, dtype=dtype).reshape(surface.dims)
        if not np.all(np.isfinite(self.start)):
            raise ConfigError("the start must be a finite point", "start")
        with np.errstate(all="ignore"):
            value, grad = surface.f(self.start), surface.grad(self.start)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            raise ConfigError(f"f or its gradient is not a number at the start "
                              f"({', '.join(f'{v:g}' for v in self.start)}): choose another start "
                              "or formula", "start")
        self.labels = unique_labels(self.racers)
        self.step_count = 0
        self.points = [self.start.copy() for _ in racers]
        self._optimizers = [Optimizer(r.optimizer, [p]) for r, p in zip(racers, self.points)]
        self.status = ["running"] * len(racers)
        self.finished_at: list[int | None] = [None] * len(racers)
        self.trajectories = [GrowingArray(surface.dims) for _ in racers]  # float64 rows
        for trajectory in self.trajectories:
            trajectory.extend(self.start)

    @property
    def finished(self) -> bool:
        return all(s != "running" for s in self.status)

    def step(self) -> list[RacerReport]:
        """One iteration of every racer still running (the others report where they stopped)."""
        self.step_count += 1
        return [self._step_one(i) for i in range(len(self.racers))]

    def _step_one(self, i: int) -> RacerReport:
        racer, point = self.racers[i], self.points[i]
        with np.errstate(all="ignore"):  # a diverging racer overflows: that is its result
            grad = self.surface.grad(point).astype(self.dtype)  # (Beale's y³ at y = 1e103)
        if self.status[i] != "running":
            return self._report(i, grad, np.zeros_like(point))
        before = point.copy()
        with np.errstate(all="ignore"):
            self._optimizers[i].step([(point, grad)], racer.lr)
        self.trajectories[i].extend(point)
        self.status[i] = self._judge(point)
        if self.status[i] != "running":
            self.finished_at[i] = self.step_count
        return self._report(i, grad, point - before)

    def _judge(self, point: np.ndarray) -> str:
        if not np.all(np.isfinite(point)) or np.max(np.abs(point)) > TOO_FAR:
            return "diverged"
        if self.distance_to_minimum(point) <= CLOSE_ENOUGH:
            return "converged"
        if self.surface.analytic is False and self.stationary_kind(point) == "minimum":
            return "converged"  # a typed formula's minima are not known: the Hessian tells
        return "running"

    def distance_to_minimum(self, point: np.ndarray) -> float:
        if not self.surface.minima:
            return math.inf
        return float(np.min(np.linalg.norm(np.array(self.surface.minima) - point, axis=1)))

    def local_minimum_words(self, i: int) -> str | None:
        """For a racer converged to a minimum the surface knows to be beaten by another (the
        double well's shallower valley): that it is stuck there, and where the global minimum
        is. None otherwise, and for minima of one depth (Himmelblau's four)."""
        minima = np.array(self.surface.minima)
        if self.status[i] != "converged" or len(minima) < 2:
            return None
        depths = np.array([float(self.surface.f(m)) for m in minima])
        here = int(np.argmin(np.linalg.norm(minima - self.points[i], axis=1)))
        best = int(np.argmin(depths))
        if depths[here] - depths[best] <= 1e-9 * max(1.0, abs(depths[best])):
            return None
        where = ", ".join(f"{v:.4g}" for v in minima[best])
        return (f"stuck in a local minimum, f = {depths[here]:.4g}; the global minimum is "
                f"f = {depths[best]:.4g} at ({where})")

    def stationary_kind(self, point: np.ndarray) -> str | None:
        """None where the gradient does not vanish; else what the Hessian's eigenvalues make of
        the point: "minimum", "maximum", "saddle", or "flat" (a plateau, no curvature to tell)."""
        norm = float(np.linalg.norm(self.surface.grad(point)))
        if not norm < FLAT_ENOUGH:  # NaN too: a gradient that is not a number does not vanish
            return None
        curvatures = np.linalg.eigvalsh(hessian(self.surface, point.astype(np.float64)))
        if np.all(np.abs(curvatures) < FLAT_ENOUGH):
            return "flat"
        if np.all(curvatures > 0):
            return "minimum"
        return "maximum" if np.all(curvatures < 0) else "saddle"

    def stalled(self, i: int) -> str | None:
        """What a racer still running has stalled at, where the gradient vanishes short of a
        minimum ("saddle", "maximum", "flat"), or None."""
        kind = self.stationary_kind(self.points[i]) if self.status[i] == "running" else None
        return kind if kind != "minimum" else None

    def _report(self, i: int, grad: np.ndarray, update: np.ndarray) -> RacerReport:
        point = self.points[i]
        with np.errstate(all="ignore"):
            value = float(self.surface.f(point))
        return RacerReport(self.labels[i], self.step_count, point.copy(), value, grad,
                           update, self.velocity(i), self.status[i])

    def velocity(self, i: int) -> np.ndarray | None:
        """Momentum's velocity, or Adam's bias-corrected first moment; None for the others."""
        state, hyper = self._optimizers[i].states[0], self.racers[i].optimizer
        if "velocity" in state:
            return state["velocity"].copy()
        if "m" in state:
            return state["m"] / (1 - hyper.beta1 ** state["t"])
        return None

    def trajectory(self, i: int) -> np.ndarray:
        """Every point racer `i` has visited, the start first: shape (steps + 1, dims). A view:
        read it, do not keep it past the next step."""
        return self.trajectories[i].data

    def rows(self):
        """(label, step, x, y, f, grad_x, grad_y) for every point of every trajectory, step 0 the
        start; y and grad_y are None on a 1-D surface."""
        for i in range(len(self.racers)):
            yield from self._rows_of(i)

    def _rows_of(self, i: int):
        points = self.trajectory(i)
        with np.errstate(all="ignore"):
            values, grads = self.surface.f(points.T), self.surface.grad(points.T)
        label = self.labels[i]
        for step, (point, value, grad) in enumerate(zip(points, values, grads.T)):
            two_d = self.surface.dims == 2
            yield (label, step, float(point[0]), float(point[1]) if two_d else None, float(value),
                   float(grad[0]), float(grad[1]) if two_d else None)
