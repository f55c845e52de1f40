"""The metric history of a run: one row per step, in growing NumPy columns.

Storage doubles its capacity when full, so appending is amortised O(1) and a million steps stay
cheap; `column(name)` is a view of the filled part, ready to plot.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from gdplayground.engine.trainer import StepReport

BASE_COLUMNS = ("step", "epoch", "loss", "accuracy", "learning_rate", "val_loss", "val_accuracy")
SMOOTHING = 0.95  # the exponential moving average keeps this much of its past each step


class GrowingArray:
    """Rows of a fixed width, appended at amortised O(1); NaN marks a missing value."""

    def __init__(self, width: int, capacity: int = 1024):
        self._data = np.full((capacity, width), np.nan)
        self.length = 0

    def __len__(self) -> int:
        return self.length

    def extend(self, rows) -> None:
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        needed = self.length + len(rows)
        if needed > len(self._data):
            grown = np.full((max(needed, 2 * len(self._data)), self._data.shape[1]), np.nan)
            grown[: self.length] = self._data[: self.length]
            self._data = grown
        self._data[self.length:needed] = rows
        self.length = needed

    @property
    def data(self) -> np.ndarray:
        return self._data[: self.length]


class History:
    """Measured columns (written to CSV) and their smoothed companions (for plots)."""

    def __init__(self, n_layers: int):
        layers = [f"layer{i}_{kind}" for i in range(1, n_layers + 1)
                  for kind in ("grad_norm", "bias_grad_norm", "weight_norm")]
        self.measured = [*BASE_COLUMNS, *layers]
        self.smoothed = ["loss", "accuracy", *(f"layer{i}_grad_norm" for i in range(1, n_layers + 1))]
        self.names = [*self.measured, *(f"smoothed_{name}" for name in self.smoothed)]
        self.n_layers = n_layers
        self._rows = GrowingArray(len(self.names))
        self._index = {name: i for i, name in enumerate(self.names)}
        self._smoothers = [Smoother() for _ in self.smoothed]
        self._smoothed_at = [self._index[name] for name in self.smoothed]

    def __len__(self) -> int:
        return len(self._rows)

    def append(self, report: StepReport) -> None:
        self.extend([report])

    def extend(self, reports) -> None:
        """Add one row per report; a frame's worth at once costs a fraction of one by one."""
        if not reports:
            return
        rows = np.array([_measured(report) for report in reports], dtype=float)  # None: NaN
        smoothed = [smoother.smooth(rows[:, i]) for smoother, i in zip(self._smoothers, self._smoothed_at)]
        self._rows.extend(np.hstack([rows, np.column_stack(smoothed)]))

    def column(self, name: str) -> np.ndarray:
        return self._rows.data[:, self._index[name]]

    def latest(self, until_step: float = np.inf) -> dict[str, float]:
        """The last measured value of each headline metric, up to a step: for summaries."""
        rows = self.column("step") <= until_step
        latest = {}
        for key, column in (("loss", "smoothed_loss"), ("accuracy", "smoothed_accuracy"),
                            ("val_loss", "val_loss"), ("val_accuracy", "val_accuracy")):
            values = self.column(column)[rows]
            values = values[np.isfinite(values)]
            if len(values):
                latest[key] = float(values[-1])
        return latest

    def to_csv(self, until_step: float = np.inf) -> str:
        """One row per step up to `until_step`; an empty cell where a value was not measured."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.measured)
        rows = self._rows.data[self.column("step") <= until_step]
        for row in rows[:, : len(self.measured)]:
            writer.writerow(["" if np.isnan(v) else _format(v) for v in row])
        return out.getvalue()


class Smoother:
    """Bias-corrected exponential moving average that passes over missing or non-finite values.

    Vectorised over a batch of values: with k(t) finite values up to t, the running sums are
    average_t = s^k(t) (average_0 + (1-s) Σ s^-k(j) x_j) and weight_t likewise with x_j = 1, the
    sums over finite j <= t. Blocks of BLOCK values keep s^-k far from overflow.
    """

    BLOCK = 2048  # 0.95^-2048 ~ 1e45

    def __init__(self):
        self._average, self._weight = 0.0, 0.0

    def smooth(self, values: np.ndarray) -> np.ndarray:
        """The smoothed value after each of `values` (NaN until a first finite one)."""
        return np.concatenate([self._smooth_block(values[start:start + self.BLOCK])
                               for start in range(0, len(values), self.BLOCK)] or [np.empty(0)])

    def _smooth_block(self, x: np.ndarray) -> np.ndarray:
        finite = np.isfinite(x)
        seen = np.cumsum(finite)
        growth = SMOOTHING ** -seen.astype(float)  # s^-k(t)
        new = (1 - SMOOTHING) * growth * finite
        average = (self._average + np.cumsum(np.where(finite, x, 0.0) * new)) / growth
        weight = (self._weight + np.cumsum(new)) / growth
        self._average, self._weight = float(average[-1]), float(weight[-1])
        with np.errstate(invalid="ignore"):
            return np.where(weight > 0, average / weight, np.nan)


def _measured(report: StepReport) -> list:
    """A report's values in the order of History.measured."""
    layers = (v for s in report.layers for v in (s.weight_grad_norm, s.bias_grad_norm, s.weight_norm))
    return [report.step, report.epoch, report.loss, report.accuracy, report.learning_rate,
            report.val_loss, report.val_accuracy, *layers]


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(float(value))
