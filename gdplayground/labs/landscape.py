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

from dataclasses import dataclass, replace

import numpy as np

from gdplayground.engine import Trainer
from gdplayground.engine.activations import ACTIVATIONS
from gdplayground.engine.losses import accuracy, make_loss
from gdplayground.engine.memory import evaluation_rows, feature_floats
from gdplayground.engine.network import Workspace
from gdplayground.engine.path import KeptPath
from gdplayground.engine.probe import Probe
from gdplayground.engine.schedules import learning_rate_at
from gdplayground.labs.progress import Cancel, Cancelled, Meter, Progress  # noqa: F401 (callers')

LANDSCAPE_EXAMPLES = 5000  # training examples a Terrain carries; a computation samples from them
ALPHAS = np.linspace(-0.5, 1.5, 201)  # the line's α: θ₀ + α(θ − θ₀)
CHUNK_BYTES = 64 * 2**20  # the arrays of grid points evaluated together: more thrashes the cache
PATH_MARGIN = 0.2  # the path's surface reaches this fraction of the path's span beyond it
SAMPLES, DIRECTIONS = 0, 1  # the seed's two streams: which examples, which directions
QUADRATIC = ("an exact quadratic bowl: its contours are ellipses (one linear unit with a squared "
             "error is quadratic in its weights)")


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
    """The loss at start + α(end − start) for every α, on `samples` examples from `seed`."""
    start, alphas = np.asarray(start, np.float64), np.asarray(alphas, np.float64)
    direction = np.asarray(end, np.float64) - start
    loss, acc = losses(probe, start, direction[None], alphas[:, None], samples, seed, progress,
                       cancelled)
    return Line(alphas, loss, acc, _sample_count(probe, samples))


def plane(probe: Probe, grid: int = 21, extent: float = 1.0, samples: int = 2000, seed: int = 0,
          bias: bool = False, progress: Progress | None = None,
          cancelled: Cancel | None = None) -> Plane:
    """Around probe.flat(), directions from `seed` (normalised_direction), a and b in
    linspace(-extent, extent, grid)."""
    rng = np.random.default_rng((seed, DIRECTIONS))
    directions = np.stack([normalised_direction(probe, rng, bias) for _ in range(2)])
    axis = np.linspace(-extent, extent, grid)
    a, b = np.meshgrid(axis, axis)  # a[j, i] = axis[i], b[j, i] = axis[j]
    loss, acc = losses(probe, probe.flat(), directions, np.column_stack([a.ravel(), b.ravel()]),
                       samples, seed, progress, cancelled)
    shape = (grid, grid)
    flat = "" if directions.any() else ("the weights are all zero, so directions scaled to "
                                        "them are zero and the plane is flat: train a step first")
    return Plane(axis, axis.copy(), loss.reshape(shape), None if acc is None else acc.reshape(shape),
                 _sample_count(probe, samples), _note(probe, loss, flat))


def path_plane(probe: Probe, path: KeptPath, grid: int = 21, samples: int = 2000, seed: int = 0,
               progress: Progress | None = None, cancelled: Cancel | None = None, *,
               step: int | None = None) -> PathPlane:
    """The kept path with the current weights (probe.flat()) appended as its last point, at
    `step` (Terrain.step; without it, the last kept step when that point is the current weights,
    else -1: not known). ValueError when the path has fewer than three distinct points."""
    centre = probe.flat()
    if not len(path):
        raise ValueError("the run kept no weights along its path: a network this large keeps "
                         "none (engine.path.PATH_BYTES)")
    points, steps = _with_current(path, centre, step)
    distinct = len(np.unique(points, axis=0))
    if distinct < 3:
        raise ValueError(f"the run has kept only {distinct} point{'s' * (distinct != 1)} along "
                         f"its path: train a few steps more")
    d1, d2, explained = principal_directions(points, centre)
    directions = np.stack([d1, d2])
    coords, distance = project(points, centre, d1, d2)
    a, b = _spanning(coords, grid)
    grid_a, grid_b = np.meshgrid(a, b)
    sampled = _sampled(probe, samples, seed)
    meter = Meter(grid * grid + 2 * len(points), progress, cancelled)
    loss, acc = _losses(sampled, centre, directions,
                        np.column_stack([grid_a.ravel(), grid_b.ravel()]), meter)
    plane_loss = _losses(sampled, centre, directions, coords, meter)[0]
    true_loss = np.array([_losses(sampled, point, directions[:0], np.zeros((1, 0)), meter)[0][0]
                          for point in points])
    shape = (len(b), len(a))
    surface = Plane(a, b, loss.reshape(shape), None if acc is None else acc.reshape(shape),
                    len(sampled.x), _note(probe, loss))
    return PathPlane(surface, explained, steps, coords, true_loss, plane_loss, distance)


def normalised_direction(probe: Probe, rng: np.random.Generator, bias: bool = False) -> np.ndarray:
    """A random direction, each unit's incoming weights scaled to the norm of that unit's
    weights in the probe (a column of a dense W (n_in, n_out); a convolution's unit is a filter,
    as Li et al. take it: a row of W (C_out, C_in, k, k) reshaped to (C_out, C_in·k·k)); biases
    zero unless `bias`.

    With `bias`, a layer's biases are scaled together, to the norm of the layer's bias vector
    (Li et al.'s code copies the biases themselves into the direction; a per-unit scale of a
    single number would only be ±|b_j|). The biases' random numbers are drawn either way, so the
    weights' part of the direction is the same with and without `bias`."""
    pieces = []
    for param in probe.parameters.values():
        direction = rng.standard_normal(param.shape)
        if param.ndim == 2:
            direction *= _ratio(np.linalg.norm(param, axis=0), np.linalg.norm(direction, axis=0))
        elif param.ndim == 4:
            filters = direction.reshape(len(direction), -1)  # a view: scaled in place
            filters *= _ratio(np.linalg.norm(param.reshape(len(param), -1), axis=1),
                              np.linalg.norm(filters, axis=1))[:, None]
        elif bias:
            direction *= _ratio(np.linalg.norm(param), np.linalg.norm(direction))
        else:
            direction[...] = 0
        pieces.append(direction.ravel())
    return np.concatenate(pieces)


def principal_directions(points: np.ndarray, centre: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The first two principal directions of the rows points − centre, and the fraction of
    their variance each explains.

    As Li et al. do, the rows are taken about `centre` (the final weights), not about their
    mean; the directions are the first two right singular vectors of the (k, n_parameters)
    matrix of rows (no n_parameters² covariance is formed), unit vectors, and the fractions
    their squared singular values over the sum of all."""
    rows = np.asarray(points, np.float64) - centre
    _, singular, vt = np.linalg.svd(rows, full_matrices=False)
    variance = singular ** 2
    if len(variance) < 2 or variance[1] == 0:
        raise ValueError("the points span less than a plane")
    explained = variance[:2] / variance.sum()
    return vt[0], vt[1], (float(explained[0]), float(explained[1]))


def project(points: np.ndarray, centre: np.ndarray, d1: np.ndarray, d2: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coordinates (k, 2) of each row on centre + a·d1 + b·d2, and each row's
    distance from that plane."""
    basis = np.column_stack([d1, d2]).astype(np.float64)
    rows = np.asarray(points, np.float64) - centre
    coords = np.linalg.lstsq(basis, rows.T, rcond=None)[0].T
    return coords, np.linalg.norm(rows - coords @ basis.T, axis=1)


def losses(probe: Probe, centre: np.ndarray, directions: np.ndarray, coefficients: np.ndarray,
           samples: int = 2000, seed: int = 0, progress: Progress | None = None,
           cancelled: Cancel | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Loss and accuracy at centre + coefficients @ directions for every row of `coefficients`
    (G, r), directions (r, n_parameters): many points at once, as large matrix products.

    The loss is the one training minimises, gradcheck.objective's: the mean loss over `samples`
    examples drawn from `seed` (the same seed, the same examples) plus the probe's L1 and L2
    penalties, dropout off. Accuracy as training counts it (engine.losses.accuracy); None for
    regression targets. All in float64."""
    coefficients = np.asarray(coefficients, np.float64).reshape(len(coefficients), -1)
    meter = Meter(len(coefficients), progress, cancelled)
    return _losses(_sampled(probe, samples, seed), centre, directions, coefficients, meter)


# --- the evaluation ------------------------------------------------------------------------
def _losses(probe: Probe, centre: np.ndarray, directions: np.ndarray, coefficients: np.ndarray,
            meter: Meter) -> tuple[np.ndarray, np.ndarray | None]:
    """`losses` on the probe's own examples, counted on `meter` a chunk of points at a time."""
    evaluator = _Points if probe.features else _Grid
    grid = evaluator(probe, np.asarray(centre, np.float64), np.asarray(directions, np.float64))
    labels = _labels(probe.targets)
    loss, acc = np.empty(len(coefficients)), np.empty(len(coefficients))
    chunk = grid.chunk()
    with np.errstate(over="ignore", invalid="ignore"):  # far out, a loss may overflow: inf
        for start in range(0, len(coefficients), chunk):
            picked = coefficients[start:start + chunk]
            for i, (value, outputs) in enumerate(grid.evaluate(picked), start):
                loss[i] = value
                acc[i] = accuracy(outputs, labels) if labels is not None else np.nan
            meter.tick(len(picked))
    return loss, None if labels is None else acc


class _Grid:
    """The network at centre + c @ directions for many c at once.

    Every point is affine in the weights, so the first layer's pre-activations at a point are
    x@W + b of the centre plus Σ c_r·(x@D_r + d_r) of the directions: products made once here,
    after which a point's first layer costs additions alone. The deeper layers, whose inputs
    differ from point to point, run per point, a chunk of points at a time in one np.matmul."""

    def __init__(self, probe: Probe, centre: np.ndarray, directions: np.ndarray):
        self.probe, self.loss = probe, make_loss(probe.loss, probe.output)
        self.buffers = Workspace(np.float64)  # reused from chunk to chunk: no fresh pages each
        basis = np.vstack([centre[None], directions.reshape(-1, len(centre))])  # (r+1, P)
        layers = list(_layers(probe))
        first, bias = layers[0]
        weights = basis[:, first].reshape(len(basis), *probe.parameters["layer1.weight"].shape)
        pre = np.matmul(probe.x, weights)  # (r+1, n, h1)
        if bias is not None:
            pre += basis[:, bias][:, None, :]
        self.first = pre.reshape(len(basis), -1)
        self.deeper = [(basis[:, w], basis[:, b] if b is not None else None)
                       for w, b in layers[1:]]
        self.shapes = [probe.parameters[f"layer{i}.weight"].shape
                       for i in range(2, len(layers) + 1)]
        penalised = np.concatenate([np.arange(w.start, w.stop) for w, _ in layers])
        self.penalised = basis[:, penalised] if probe.l1 or probe.l2 else None

    def chunk(self) -> int:
        """Points per chunk: each takes its activations (two arrays of the widest layer) and
        its weights beyond the first layer."""
        n, widest = len(self.probe.x), max(self.probe.sizes[1:])
        weights = sum(w.shape[1] for w, _ in self.deeper)
        penalty = 0 if self.penalised is None else self.penalised.shape[1]
        return max(1, CHUNK_BYTES // (8 * (2 * n * widest + weights + penalty)))

    def evaluate(self, coefficients: np.ndarray):
        """(objective, outputs) at each point, in order."""
        c = np.column_stack([np.ones(len(coefficients)), coefficients])  # the centre's 1 first
        n = len(self.probe.x)
        z = np.matmul(c, self.first, out=self.buffers.get(0, len(c), self.first.shape[1]))
        z = z.reshape(len(c), n, -1)
        for layer, (name, (w, b), shape) in enumerate(
                zip(self.probe.activations, self.deeper, self.shapes), 1):
            a = ACTIVATIONS[name].forward(z)
            out = self.buffers.get(layer, len(c), n * shape[1]).reshape(len(c), n, shape[1])
            z = np.matmul(a, (c @ w).reshape(len(c), *shape), out=out)
            if b is not None:
                z += (c @ b)[:, None, :]
        penalties = self._penalties(c)
        for logits, penalty in zip(z, penalties):
            value, outputs = self.loss.forward(logits, self.probe.targets)
            yield value + penalty, outputs

    def _penalties(self, c: np.ndarray) -> np.ndarray:
        """Network.penalty at each point: l1·Σ|w| + l2/2·Σw² over the weights, not the biases."""
        if self.penalised is None:
            return np.zeros(len(c))
        weights = c @ self.penalised
        return (self.probe.l1 * np.abs(weights).sum(axis=1)
                + 0.5 * self.probe.l2 * np.einsum("ij,ij->i", weights, weights))


class _Points:
    """The network at centre + c @ directions, a point at a time: _Grid's products of the first
    layer for every direction would hold a convolution's feature maps (r+1) times over. Each
    point runs the examples through the probe's network in the trainer's chunks of rows."""

    def __init__(self, probe: Probe, centre: np.ndarray, directions: np.ndarray):
        self.probe, self.loss = probe, make_loss(probe.loss, probe.output)
        self.network = probe.network(np.float64)
        self.basis = np.vstack([centre[None], directions.reshape(-1, len(centre))])  # (r+1, P)
        self.rows = evaluation_rows(feature_floats(probe.features, probe.input_shape)[0], 8)

    def chunk(self) -> int:
        return 1  # a point's pass is long enough to count and to cancel between

    def evaluate(self, coefficients: np.ndarray):
        """(objective, outputs) at each point, in order."""
        probe, network = self.probe, self.network
        for c in coefficients:
            np.dot(np.append(1.0, c), self.basis, out=network.flat)
            logits = np.concatenate([network.forward(probe.x[start:start + self.rows]).copy()
                                     for start in range(0, len(probe.x), self.rows)])
            value, outputs = self.loss.forward(logits, probe.targets)
            yield value + network.penalty(probe.l1, probe.l2), outputs


def _layers(probe: Probe):
    """(weight slice, bias slice or None) of each layer in a flat weight vector."""
    offset, spans = 0, {}
    for name, param in probe.parameters.items():
        spans[name] = slice(offset, offset + param.size)
        offset += param.size
    for i in range(1, len(probe.sizes)):
        yield spans[f"layer{i}.weight"], spans.get(f"layer{i}.bias")


def _labels(targets: np.ndarray) -> np.ndarray | None:
    """Class labels as engine.losses.accuracy takes them, from a probe's encoded targets
    (Loss.encode): labels themselves for cross-entropy; else a 0/1 column or one-hot rows. Any
    other float targets are regression's: None."""
    if targets.dtype.kind != "f":
        return targets
    if not np.isin(targets, (0, 1)).all():
        return None
    if targets.shape[1] == 1:
        return targets[:, 0].astype(np.int64)
    return targets.argmax(axis=1) if (targets.sum(axis=1) == 1).all() else None


def _sampled(probe: Probe, samples: int, seed: int) -> Probe:
    """The probe on `samples` of its examples (all when it has fewer), drawn from `seed`."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1 (got {samples})")
    rng = np.random.default_rng((seed, SAMPLES))
    picked = np.sort(rng.permutation(len(probe.x))[:samples])
    return replace(probe, x=probe.x[picked], targets=probe.targets[picked])


def _sample_count(probe: Probe, samples: int) -> int:
    return min(samples, len(probe.x))


def _ratio(norms: np.ndarray, random_norms: np.ndarray) -> np.ndarray:
    """norms / random_norms, 0 where the random norm is 0 (a unit of no weights)."""
    return np.divide(norms, random_norms, out=np.zeros_like(random_norms, dtype=np.float64),
                     where=random_norms > 0)


def _with_current(path: KeptPath, centre: np.ndarray, step: int | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The kept weights (k, P) in float64 with the current ones last, and their steps."""
    points = np.asarray(path.weights, np.float64).reshape(len(path), len(centre))
    steps = np.asarray(path.steps, np.int64)
    if len(points) and np.array_equal(points[-1], centre):  # kept at this very step
        return points, steps if step is None else np.append(steps[:-1], step)
    return np.vstack([points, centre[None]]), np.append(steps, -1 if step is None else step)


def _spanning(coords: np.ndarray, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Axes of `grid` values each spanning the coordinates, PATH_MARGIN of the larger span
    beyond them on every side."""
    low, high = coords.min(axis=0), coords.max(axis=0)
    margin = PATH_MARGIN * (high - low).max()
    return tuple(np.linspace(lo - margin, hi + margin, grid) for lo, hi in zip(low, high))


def _note(probe: Probe, loss: np.ndarray, *more: str) -> str:
    """What explains or limits a surface: the linear system's exact bowl; points where the loss
    overflowed."""
    quadratic = (len(probe.sizes) == 2 and not probe.features and probe.output == "identity" and probe.loss == "mse"
                 and not probe.l1)
    overflowed = int(np.count_nonzero(~np.isfinite(loss)))
    notes = [QUADRATIC if quadratic else "", *more,
             f"the loss is not finite at {overflowed} of {loss.size} points" if overflowed else ""]
    return "; ".join(note for note in notes if note)
