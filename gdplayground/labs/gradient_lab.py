"""The gradient, made visible: backprop against finite differences on the network being trained,
and the error of a difference quotient against its step h (numpy_gradient.py shows the rest).

Everything works on a `Probe`: float64 copies of a network's weights, a fixed batch and its loss,
so a check runs on another thread while training goes on, and never touches the run itself.

The relative error is CS231n's: |a − n| / max(|a|, |n|) for the analytic gradient a and the
numeric one n, and 0 when both are 0. Above 1e-2 the gradient is probably wrong; 1e-4 to 1e-2 is
uncomfortable; 1e-4 to 1e-7 ok; below 1e-7 excellent. A central difference is off by the
round-off of L divided by h, about ε|L|/h, where |L| counts all that rounding can move the loss
(see `Loss.rounding`) and the penalty; a disagreement within that bound says nothing about
backprop, and a gradient below it "cannot be resolved". Those bands are float64's: float32
keeps about 7 digits, and its backprop rounds too, so above 1e-2 a float32 check is
inconclusive, not a verdict on backprop.

Long loops call `progress(done, total)` and `cancelled()` between two evaluations of the loss;
when `cancelled()` says True they raise `Cancelled`, leaving the probe as it was.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdplayground.engine.gradcheck import backprop, objective
from gdplayground.engine.losses import make_loss
from gdplayground.engine.probe import Probe
from gdplayground.labs.progress import Cancel, Cancelled, Progress  # noqa: F401 (callers')
from gdplayground.labs.progress import Meter as _Meter

EXCELLENT, OK, UNCOMFORTABLE = 1e-7, 1e-4, 1e-2  # CS231n's bands of the relative error
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
METHODS = ("forward", "central")
CHECK_ENTRIES = 10  # entries checked per parameter
SWEEP_ENTRIES = 2  # entries per parameter whose difference quotients the h sweep follows
SWEEP_HS = np.logspace(-1, -12, 45)  # four steps a decade, 1e-1 down to 1e-12
TRUNCATION_FROM = 1e-3  # float64 errors at h this large or larger are all truncation
ROUND_OFF_BELOW = 30  # errors at h this many times below the best are all round-off …
SATURATED = 0.1  # … unless the error is this large: a lost step (w + h == w) gives 1
ROUNDING = 10  # round-off of L in units of ε·Loss.rounding: the hidden layers' share on top

class LayerCheck(NamedTuple):
    """One parameter in one dtype: the largest relative error over the entries checked."""

    parameter: str
    dtype: str
    entries: int
    h: float
    error: float
    verdict: str
    round_off: float  # the relative error round-off alone can make at the worst entry


class SweepRow(NamedTuple):
    """The median relative error of a difference quotient at step h (see `h_sweep`)."""

    dtype: str
    method: str
    h: float
    error: float


class TheoryLine(NamedTuple):
    """error = scale · h^power: truncation (power 1 or 2) or round-off (power −1)."""

    name: str
    scale: float
    power: int

    def at(self, h) -> np.ndarray:
        return self.scale * np.asarray(h, dtype=np.float64) ** self.power


class GradientReport(NamedTuple):
    checks: list[LayerCheck]
    sweep: list[SweepRow]


# --- the pieces ----------------------------------------------------------------------------
def relative_error(analytic: float, numeric: float) -> float:
    """|a − n| / max(|a|, |n|); both zero is a pass (0)."""
    scale = max(abs(analytic), abs(numeric))
    return float(abs(analytic - numeric) / scale) if scale else 0.0


def verdict(error: float, beyond_round_off: float, dtype: str = "float64") -> str:
    """CS231n's word for the largest relative error, judged by how far an error goes beyond
    what round-off alone can make: only that much can be blamed on backprop. Above 1e-2 within
    round-off, "cannot resolve"; beyond it in float32, "inconclusive" (see above)."""
    if beyond_round_off > UNCOMFORTABLE:
        return "wrong" if dtype == "float64" else "inconclusive"
    if error > UNCOMFORTABLE:
        return "cannot resolve"
    if error > OK:
        return "uncomfortable"
    return "ok" if error > EXCELLENT else "excellent"


def suited_h(dtype) -> float:
    """ε^(1/3), where truncation (∝ h²) and round-off (∝ ε/h) of a central difference balance
    for a loss of order 1: 6.1e-6 in float64, 4.9e-3 in float32."""
    return float(np.finfo(dtype).eps) ** (1 / 3)


class _Model:
    """The probe's network built in one dtype, dropout off: the loss at its weights, the loss
    with one entry moved, and backprop's gradient, all computed in that dtype."""

    def __init__(self, probe: Probe, dtype):
        self.network = probe.network(dtype)
        self.params = {name: param for name, param, _ in self.network.parameters()}
        self.loss = make_loss(probe.loss, probe.output)
        self.x = np.ascontiguousarray(probe.x, dtype=dtype)
        floats = probe.targets.dtype.kind == "f"
        self.targets = probe.targets.astype(dtype) if floats else probe.targets
        self.l1, self.l2 = probe.l1, probe.l2

    def value(self) -> float:
        return objective(self.network, self.loss, self.x, self.targets, self.l1, self.l2)

    def round_off(self) -> float:
        """How far rounding can move the loss here (see ROUNDING): the loss, the logits' share,
        the penalty."""
        logits = self.network.forward(self.x).copy()
        scale = self.loss.rounding(logits, self.targets) + self.network.penalty(self.l1, self.l2)
        return ROUNDING * float(np.finfo(self.network.dtype).eps) * scale

    def moved(self, name: str, index: tuple, step: float) -> float:
        """The loss with one entry moved by `step` (rounded to the dtype, as w + h always is)."""
        param = self.params[name]
        saved = param[index]
        param[index] = saved + step
        try:
            return self.value()
        finally:
            param[index] = saved

    def gradient(self) -> dict[str, np.ndarray]:
        backprop(self.network, self.loss, self.x, self.targets, self.l1, self.l2)
        return {name: grad.astype(np.float64) for name, _, grad in self.network.parameters()}


def _sample(grad: np.ndarray, n: int, rng: np.random.Generator) -> list[tuple]:
    """`n` entries of a parameter: half among those with a gradient, the rest among all. A
    weight from an always-blank pixel has none, and checks nothing: both sides are exactly 0."""
    flat = grad.ravel()
    flowing = rng.permutation(np.flatnonzero(flat))[:(n + 1) // 2]
    others = rng.permutation(np.setdiff1d(np.arange(flat.size), flowing))[:n - len(flowing)]
    return [_index(i, grad.shape) for i in np.sort(np.concatenate([flowing, others]))]


def _large(grad: np.ndarray, n: int, rng: np.random.Generator) -> list[tuple]:
    """`n` entries among those whose gradient is at least the median of the non-zero ones: a
    relative error against a gradient of nearly 0 measures nothing but that."""
    flat = np.abs(grad.ravel())
    nonzero = np.flatnonzero(flat)
    if not len(nonzero):
        return []
    large = nonzero[flat[nonzero] >= np.median(flat[nonzero])]
    return [_index(i, grad.shape) for i in np.sort(rng.permutation(large)[:n])]


def _index(flat_index, shape) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat_index, shape))


# --- the layer check -----------------------------------------------------------------------
def check_layers(probe: Probe, entries_per_parameter: int = CHECK_ENTRIES,
                 rng: np.random.Generator | None = None, progress: Progress | None = None,
                 cancelled: Cancel | None = None) -> list[LayerCheck]:
    """Backprop against central differences on sampled entries of every parameter, each
    parameter in float64 and float32 (in that order). In each dtype both gradients are computed
    by the network built in that dtype; h is `suited_h(dtype)`."""
    rng = rng or np.random.default_rng(0)
    picks = _check_picks(probe, entries_per_parameter, rng)
    meter = _Meter(2 * sum(map(len, picks.values())), progress, cancelled)
    return _check(probe, picks, meter)


def _check_picks(probe: Probe, n: int, rng: np.random.Generator) -> dict[str, list[tuple]]:
    """The same entries for both dtypes, chosen by float64's gradient."""
    gradient = _Model(probe, np.float64).gradient()
    return {name: _sample(grad, n, rng) for name, grad in gradient.items()}


def _check(probe: Probe, picks: dict[str, list[tuple]], meter: _Meter) -> list[LayerCheck]:
    models = {dtype: _Model(probe, dtype) for dtype in DTYPES}
    analytic = {dtype: model.gradient() for dtype, model in models.items()}
    noise = {dtype: model.round_off() / suited_h(dtype) for dtype, model in models.items()}
    checks = []
    for name, entries in picks.items():
        for dtype, model in models.items():
            h, errors, round_offs = suited_h(dtype), [0.0], [0.0]
            for index in entries:
                exact = analytic[dtype][name][index]
                numeric = (model.moved(name, index, h) - model.moved(name, index, -h)) / (2 * h)
                errors.append(relative_error(exact, numeric))
                scale = max(abs(exact), abs(numeric))
                round_offs.append(noise[dtype] / scale if scale else 0.0)
                meter.tick()
            worst = int(np.argmax(errors))
            beyond = max(e - r for e, r in zip(errors, round_offs))
            checks.append(LayerCheck(name, dtype.name, len(entries), h, errors[worst],
                                     verdict(errors[worst], beyond, dtype.name),
                                     round_offs[worst]))
    return checks


def conclusion(checks: list[LayerCheck]) -> str:
    """The float64 verdict in a sentence: float64 is the one that can say."""
    float64 = [c for c in checks if c.dtype == "float64"]
    if not float64:
        return "Nothing to check: this network has no parameters."
    wrong = [c for c in float64 if c.verdict == "wrong"]
    if wrong:
        return (f"backprop disagrees with the finite differences in "
                f"{', '.join(c.parameter for c in wrong)}: relative error up to "
                f"{max(c.error for c in wrong):.1e}.")
    judged = [c for c in float64 if c.verdict != "cannot resolve"]
    worst = max(judged, key=lambda c: c.error, default=None)
    measured = worst and (f"the worst float64 relative error is {worst.error:.1e} "
                          f"({worst.parameter}, {worst.verdict})")
    unresolved = ", ".join(c.parameter for c in float64 if c.verdict == "cannot resolve")
    if not unresolved:
        return f"backprop agrees with the finite differences; {measured}."
    cannot = (f"the finite differences cannot resolve the gradient of {unresolved} (its "
              f"round-off, ε|L|/h, is as large)")
    return f"{cannot}; elsewhere backprop agrees with them: {measured}." if worst else f"{cannot}."


# --- the h sweep ---------------------------------------------------------------------------
def h_sweep(probe: Probe, hs=SWEEP_HS, entries_per_parameter: int = SWEEP_ENTRIES,
            rng: np.random.Generator | None = None, progress: Progress | None = None,
            cancelled: Cancel | None = None) -> list[SweepRow]:
    """Forward (L(w+h) − L(w)) / h and central (L(w+h) − L(w−h)) / 2h differences, each in
    float64 and float32, at every h, against float64 backprop at the same (rounded) weights.
    A row's error is the median relative error over a few entries of every parameter with a
    sizeable gradient. The division is by h as written, as a hand-written check does: when
    w + h rounds back to w the difference is 0 and the error 1."""
    rng = rng or np.random.default_rng(0)
    picks = _sweep_picks(probe, entries_per_parameter, rng)
    meter = _Meter(len(DTYPES) * len(hs) * sum(map(len, picks.values())), progress, cancelled)
    return _sweep(probe, np.asarray(hs, dtype=np.float64), picks, meter)


def _sweep_picks(probe: Probe, n: int, rng: np.random.Generator) -> dict[str, list[tuple]]:
    gradient = _Model(probe, np.float64).gradient()
    return {name: _large(grad, n, rng) for name, grad in gradient.items()}


def _sweep(probe: Probe, hs: np.ndarray, picks: dict[str, list[tuple]], meter: _Meter
           ) -> list[SweepRow]:
    rows = []
    entries = [(name, index) for name, indices in picks.items() for index in indices]
    if not entries:  # no gradient anywhere: nothing to measure a quotient against
        return rows
    for dtype in DTYPES:
        rounded = probe.rounded(dtype)
        truth = _Model(rounded, np.float64).gradient()
        model = _Model(rounded, dtype)
        at_w = model.value()
        for h in hs:
            errors = {method: [] for method in METHODS}
            for name, index in entries:
                up, down = model.moved(name, index, h), model.moved(name, index, -h)
                exact = truth[name][index]
                errors["forward"].append(relative_error(exact, (up - at_w) / h))
                errors["central"].append(relative_error(exact, (up - down) / (2 * h)))
                meter.tick()
            rows += [SweepRow(dtype.name, method, float(h), float(np.median(errors[method])))
                     for method in METHODS]
    return rows


def curve(rows: list[SweepRow], dtype: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(h, error) of one dtype and method, in the sweep's order."""
    picked = np.array([(r.h, r.error) for r in rows if r.dtype == dtype and r.method == method],
                      dtype=np.float64).reshape(-1, 2)
    return picked[:, 0], picked[:, 1]


def best_h(rows: list[SweepRow], dtype: str, method: str) -> float:
    """The h with the smallest error."""
    h, error = curve(rows, dtype, method)
    return float(h[np.argmin(error)])


def theory_lines(rows: list[SweepRow]) -> list[TheoryLine]:
    """The two errors the sweep trades off, each a straight line on log–log axes, fitted to the
    sweep where it dominates: truncation ∝ h (forward) and ∝ h² (central), the same in either
    dtype, fitted where float64's h ≥ 1e-3; round-off ∝ ε/h in each dtype, fitted at h far below
    the best h, where the error is not yet saturated."""
    lines = []
    for method, power in (("forward", 1), ("central", 2)):
        h, error = curve(rows, "float64", method)
        scale = _fit(h, error, power, (h >= TRUNCATION_FROM) & (error > 0))
        if scale:
            lines.append(TheoryLine(f"truncation ∝ h{'²' if power == 2 else ''} ({method})",
                                    scale, power))
    for dtype in (d.name for d in DTYPES):
        h, error = curve(rows, dtype, "central")
        if not len(h):
            continue
        below = (h <= best_h(rows, dtype, "central") / ROUND_OFF_BELOW) & (error < SATURATED)
        scale = _fit(h, error, -1, below & (error > 0))
        if scale:
            lines.append(TheoryLine(f"round-off ∝ ε/h ({dtype})", scale, -1))
    return lines


def crossing(truncation: TheoryLine, round_off: TheoryLine) -> float:
    """The h where two lines meet: the best h they predict."""
    return (round_off.scale / truncation.scale) ** (1 / (truncation.power - round_off.power))


def _fit(h: np.ndarray, error: np.ndarray, power: int, where: np.ndarray) -> float | None:
    """The c of c·h^power through the selected points (a geometric mean), or None."""
    if not where.any():
        return None
    return float(np.exp(np.mean(np.log(error[where]) - power * np.log(h[where]))))


def examine(probe: Probe, seed: int = 0, progress: Progress | None = None,
            cancelled: Cancel | None = None) -> GradientReport:
    """The layer check and the h sweep, with one progress count over both."""
    rng = np.random.default_rng(seed)
    check_picks = _check_picks(probe, CHECK_ENTRIES, rng)
    sweep_picks = _sweep_picks(probe, SWEEP_ENTRIES, rng)
    total = (2 * sum(map(len, check_picks.values()))
             + len(DTYPES) * len(SWEEP_HS) * sum(map(len, sweep_picks.values())))
    meter = _Meter(total, progress, cancelled)
    return GradientReport(_check(probe, check_picks, meter),
                          _sweep(probe, SWEEP_HS, sweep_picks, meter))
