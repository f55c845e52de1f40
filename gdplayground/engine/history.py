"""The metric history of a run, in memory that stays bounded however long the run goes on.

A `Timeline` keeps the most recent steps in full and folds older ones into blocks that keep each
column's least, greatest, mean and last value: all a plot of a million steps can show. Blocks
merge in pairs when there are too many, so a run of any length costs the same few megabytes.
`History` fills a timeline from the engine's step reports, with exponentially smoothed
companions of the noisy columns, and takes a divergence's rollback back out of it.
"""

from __future__ import annotations

import csv
from typing import TextIO

import numpy as np

from gdplayground.engine.trainer import StepReport

BASE_COLUMNS = ("step", "epoch", "loss", "accuracy", "learning_rate", "val_loss", "val_accuracy",
                "test_loss", "test_accuracy")
SHARPNESS = "sharpness"  # λ_max, a column of runs that measure it (gdplayground train)
SMOOTHING = 0.95  # the exponential moving average keeps this much of its past each step
LARGEST = 1e200  # values are smoothed as if no larger than this (see Smoother)
RECENT_ROWS = 8192  # steps kept in full (the last RECENT_ROWS to 2 * RECENT_ROWS of them)
FIRST_BLOCK = 8  # steps per block when older steps are first folded
MAX_BLOCKS = 2048  # blocks kept; beyond 2 * MAX_BLOCKS, neighbours merge and blocks double
LOW, HIGH, SUM, COUNT, LAST = range(5)  # a block's statistics of each column, over finite values


class GrowingArray:
    """Rows of a fixed width, appended at amortised O(1); NaN marks a missing value."""

    def __init__(self, width: int, capacity: int = 1024):
        self._data = np.full((capacity, width), np.nan)
        self.length = 0

    def __len__(self) -> int:
        return self.length

    def __getstate__(self) -> dict:
        """Pickled without its spare room: a sweep's runs cross from worker processes."""
        return {"_data": self.data.copy(), "length": self.length}

    def extend(self, rows) -> None:
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        needed = self.length + len(rows)
        if needed > len(self._data):
            grown = np.full((max(needed, 2 * len(self._data)), self._data.shape[1]), np.nan)
            grown[: self.length] = self._data[: self.length]
            self._data = grown
        self._data[self.length:needed] = rows
        self.length = needed

    def truncate(self, length: int) -> None:
        self.length = min(self.length, length)

    @property
    def data(self) -> np.ndarray:
        return self._data[: self.length]


class Timeline:
    """Rows of per-step columns, the first of them "step", in bounded memory: the recent rows in
    full, older ones as block summaries. `hidden` extra columns at the end of each row are kept
    with the recent rows only (a smoother's state, say) and never summarised.

    Rows are counted from the start of the run: `total` of them so far, of which `folded` are
    only in blocks now. `generation` changes whenever rows are taken back (a rollback), so a
    reader that follows the rows incrementally knows to start again.
    """

    def __init__(self, columns: list[str], hidden: int = 0, recent: int = RECENT_ROWS,
                 max_blocks: int = MAX_BLOCKS):
        self.columns, self.width = list(columns), len(columns)
        self._index = {name: i for i, name in enumerate(self.columns)}
        self._recent = GrowingArray(self.width + hidden, capacity=2 * recent)
        self._keep, self._max_blocks = recent, max_blocks
        self._blocks = np.empty((0, 5, self.width))  # (block, statistic, column)
        self._block_length = FIRST_BLOCK
        self.folded, self.generation = 0, 0

    def __len__(self) -> int:
        return self.total

    @property
    def total(self) -> int:
        return self.folded + len(self._recent)

    @property
    def summarised_until(self) -> int:
        """The last step held only as block summaries (0 if none is)."""
        return int(self._blocks[-1, HIGH, 0]) if len(self._blocks) else 0

    # --- writing --------------------------------------------------------------------------
    def extend(self, rows: np.ndarray) -> None:
        """Append rows (n, columns + hidden), in step order."""
        self._recent.extend(rows)
        if len(self._recent) >= 2 * self._keep:
            self._fold(len(self._recent) - self._keep)

    def truncate(self, step: float) -> None:
        """Take back every row after `step`."""
        recent = self._recent.data
        self._recent.truncate(int(np.searchsorted(recent[:, 0], step, side="right")))
        if not len(self._recent) and len(self._blocks) and self._blocks[-1, LOW, 0] > step:
            kept = int(np.searchsorted(self._blocks[:, LOW, 0], step, side="right"))
            self.folded -= int(self._blocks[kept:, COUNT, 0].sum())
            self._blocks = self._blocks[:kept]
        self.generation += 1

    def _fold(self, n: int) -> None:
        """Summarise the oldest `n` recent rows into blocks, and merge blocks while too many."""
        rows, rest = self._recent.data[:n, :self.width], self._recent.data[n:].copy()
        starts = np.arange(0, n, min(self._block_length, n))
        self._blocks = np.concatenate([self._blocks, _summaries(rows, starts)])
        while len(self._blocks) > 2 * self._max_blocks:
            self._blocks = _merge_pairs(self._blocks)
            self._block_length *= 2
        self._recent.truncate(0)
        self._recent.extend(rest)
        self.folded += n

    # --- reading --------------------------------------------------------------------------
    def column(self, name: str) -> np.ndarray:
        """A column over the recent rows, in full (the whole run while it is short)."""
        return self._recent.data[:, self._index[name]]

    def since(self, name: str, start: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(steps, values) of the rows from row number `start` on; None if some of them are
        only in blocks by now."""
        if start < self.folded:
            return None
        rows = self._recent.data[start - self.folded:]
        return rows[:, 0], rows[:, self._index[name]]

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of the whole run for drawing: each block as its least and its
        greatest value at its first step, then the recent rows."""
        i, blocks = self._index[name], self._blocks
        steps = np.concatenate([np.repeat(blocks[:, LOW, 0], 2), self.column("step")])
        values = np.concatenate([blocks[:, [LOW, HIGH], i].ravel(), self.column(name)])
        return steps, values

    def last(self, name: str, until_step: float = np.inf) -> float | None:
        """The last finite value of a column up to a step."""
        recent = self._recent.data
        values = recent[recent[:, 0] <= until_step, self._index[name]]
        blocks = self._blocks[self._blocks[:, HIGH, 0] <= until_step, LAST, self._index[name]]
        finite = np.concatenate([blocks, values])
        finite = finite[np.isfinite(finite)]
        return float(finite[-1]) if len(finite) else None

    def rows(self, until_step: float = np.inf) -> np.ndarray:
        """One row per step up to `until_step`, and before the recent rows one per block: the
        block's mean of each column, at the block's last step."""
        blocks = self._blocks[self._blocks[:, HIGH, 0] <= until_step]
        with np.errstate(invalid="ignore", divide="ignore"):
            means = blocks[:, SUM] / blocks[:, COUNT]
        means[:, 0] = blocks[:, HIGH, 0]
        recent = self._recent.data[:, :self.width]
        return np.concatenate([means, recent[recent[:, 0] <= until_step]])


def _summaries(rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The statistics of each run of rows from one start to the next: (blocks, 5, columns)."""
    finite = np.isfinite(rows)
    row_number = np.where(finite, np.arange(len(rows))[:, None], -1)
    last_row = np.maximum.reduceat(row_number, starts, axis=0)
    last = np.where(last_row >= starts[:, None],
                    np.take_along_axis(rows, np.maximum(last_row, 0), axis=0), np.nan)
    return np.stack([np.fmin.reduceat(rows, starts, axis=0), np.fmax.reduceat(rows, starts, axis=0),
                     np.add.reduceat(np.where(finite, rows, 0.0), starts, axis=0),
                     np.add.reduceat(finite.astype(float), starts, axis=0), last], axis=1)


def _merge_pairs(blocks: np.ndarray) -> np.ndarray:
    """Neighbouring blocks merged in pairs (an odd last block stays as it is)."""
    even = len(blocks) // 2 * 2
    a, b = blocks[:even:2], blocks[1:even:2]
    merged = np.stack([np.fmin(a[:, LOW], b[:, LOW]), np.fmax(a[:, HIGH], b[:, HIGH]),
                       a[:, SUM] + b[:, SUM], a[:, COUNT] + b[:, COUNT],
                       np.where(np.isfinite(b[:, LAST]), b[:, LAST], a[:, LAST])], axis=1)
    return np.concatenate([merged, blocks[even:]])


class History(Timeline):
    """Measured columns (written to CSV) and their smoothed companions (for plots)."""

    def __init__(self, n_layers: int, sharpness: bool = False, **bounds):
        """`sharpness`: a last measured column of λ_max (StepReport.sharpness)."""
        layers = [f"layer{i}_{kind}" for i in range(1, n_layers + 1)
                  for kind in ("grad_norm", "bias_grad_norm", "weight_norm")]
        self.measured = [*BASE_COLUMNS, *layers, *([SHARPNESS] if sharpness else [])]
        self.sharpness = sharpness
        self.smoothed = ["loss", "accuracy", *(f"layer{i}_grad_norm" for i in range(1, n_layers + 1))]
        # Each smoother's state after every recent row rides along unseen, so that a rollback
        # can put the smoothers back exactly where they were at the step it returns to.
        super().__init__([*self.measured, *(f"smoothed_{name}" for name in self.smoothed)],
                         hidden=2 * len(self.smoothed), **bounds)
        self.n_layers = n_layers
        self._smoothers = [Smoother() for _ in self.smoothed]
        self._smoothed_at = [self._index[name] for name in self.smoothed]

    def add(self, reports, rows: np.ndarray | None = None) -> None:
        """Record a frame's reports at once (far cheaper than one by one). A diverged report
        takes back the steps its rollback undid; a refused one did nothing and adds nothing.
        `rows`: measured_rows(reports), if the caller built them already (the training worker
        does, so that the window's thread only smooths and stores)."""
        rows = measured_rows(reports, self.sharpness) if rows is None else rows
        done = 0  # rows recorded so far
        problems = [(i, report) for i, report in enumerate(reports) if report.status != "ok"]
        for already, (i, report) in enumerate(problems):
            self._add_rows(rows[done:i - already])
            done = i - already
            if report.status == "diverged":
                self._roll_back(report.step)
        self._add_rows(rows[done:])

    def _add_rows(self, rows: np.ndarray) -> None:
        if not len(rows):
            return
        smoothed = [smoother.smooth(rows[:, i]) for smoother, i in zip(self._smoothers, self._smoothed_at)]
        values = [s[0] for s in smoothed]
        states = [state for s in smoothed for state in s[1:]]
        self.extend(np.column_stack([rows, *values, *states]))

    def _roll_back(self, step: int) -> None:
        self.truncate(step)
        recent = self._recent.data
        states = recent[-1, self.width:] if len(recent) else np.zeros(2 * len(self._smoothers))
        for smoother, (average, weight) in zip(self._smoothers, states.reshape(-1, 2)):
            smoother.average, smoother.weight = float(average), float(weight)

    def latest(self, until_step: float = np.inf) -> dict[str, float]:
        """The last measured value of each headline metric, up to a step: for summaries."""
        latest = {key: self.last(column, until_step)
                  for key, column in (("loss", "smoothed_loss"), ("accuracy", "smoothed_accuracy"),
                                      ("val_loss", "val_loss"), ("val_accuracy", "val_accuracy"))}
        return {key: value for key, value in latest.items() if value is not None}

    def write_csv(self, out: TextIO, until_step: float = np.inf, header: bool = True,
                  after_step: float = -np.inf, every: int = 1) -> None:
        """The measured columns, one row per step from `after_step` (exclusive) to `until_step`
        (or every `every` steps, and the run's last; a block's row where steps are summarised:
        rows); an empty cell where a value was not measured."""
        writer = csv.writer(out, lineterminator="\n")
        if header:
            writer.writerow(self.measured)
        rows = self.rows(until_step)[:, : len(self.measured)]
        rows = rows[rows[:, 0] > after_step]
        if every > 1:
            last_step = self.column("step")[-1:]
            rows = rows[(rows[:, 0] % every == 0) | np.isin(rows[:, 0], last_step)]
        # as Python floats: NumPy's scalars made formatting three times slower
        writer.writerows(["" if v != v else _format(v) for v in row] for row in rows.tolist())


class Smoother:
    """Bias-corrected exponential moving average that passes over missing or non-finite values.

    Vectorised over a batch of values: with k(t) finite values up to t, the running sums are
    average_t = s^k(t) (average_0 + (1-s) Σ s^-k(j) x_j) and weight_t likewise with x_j = 1, the
    sums over finite j <= t. Blocks of BLOCK values keep s^-k far from overflow.
    """

    BLOCK = 2048  # 0.95^-2048 ~ 1e45

    def __init__(self):
        self.average, self.weight = 0.0, 0.0

    def smooth(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The smoothed value after each of `values` (NaN until a first finite one), and the
        running average and weight behind it, which are the smoother's state at that point."""
        parts = [self._smooth_block(values[start:start + self.BLOCK])
                 for start in range(0, len(values), self.BLOCK)]
        if not parts:
            return np.empty(0), np.empty(0), np.empty(0)
        return tuple(np.concatenate(columns) for columns in zip(*parts))

    def _smooth_block(self, x: np.ndarray):
        # The sums scale values by up to 1e45: beyond ±LARGEST they would overflow, and a value
        # that large is off any plot anyway (the first steps of a divergence, say).
        finite = np.isfinite(x)
        x = np.clip(x, -LARGEST, LARGEST)
        seen = np.cumsum(finite)
        growth = SMOOTHING ** -seen.astype(float)  # s^-k(t)
        new = (1 - SMOOTHING) * growth * finite
        average = (self.average + np.cumsum(np.where(finite, x, 0.0) * new)) / growth
        weight = (self.weight + np.cumsum(new)) / growth
        self.average, self.weight = float(average[-1]), float(weight[-1])
        with np.errstate(invalid="ignore"):
            return np.where(weight > 0, average / weight, np.nan), average, weight


def measured_rows(reports, sharpness: bool = False) -> np.ndarray:
    """The row of History.measured values of each "ok" report, as floats (None: NaN); with
    `sharpness`, for a History that has that column."""
    rows = [_measured(report, sharpness) for report in reports if report.status == "ok"]
    return np.array(rows, dtype=float) if rows else np.empty((0, 0))


def _measured(report: StepReport, sharpness: bool) -> list:
    """A report's values in the order of History.measured."""
    layers = (v for s in report.layers for v in (s.weight_grad_norm, s.bias_grad_norm, s.weight_norm))
    return [report.step, report.epoch, report.loss, report.accuracy, report.learning_rate,
            report.val_loss, report.val_accuracy, report.test_loss, report.test_accuracy, *layers,
            *([report.sharpness] if sharpness else [])]


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
