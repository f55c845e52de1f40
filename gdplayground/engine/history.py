"""The metric history of a run: one row per step, in growing NumPy columns.

Columns double their capacity when full, so appending is amortised O(1) and a million steps
stay cheap; `column(name)` is a view of the filled part, ready to plot.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from gdplayground.engine.trainer import StepReport

BASE_COLUMNS = ("step", "epoch", "loss", "accuracy", "learning_rate", "val_loss", "val_accuracy")


class History:
    def __init__(self, n_layers: int, capacity: int = 1024):
        self.names = [*BASE_COLUMNS, *(f"layer{i}_{kind}" for i in range(1, n_layers + 1)
                                       for kind in ("grad_norm", "bias_grad_norm", "weight_norm"))]
        self._data = np.full((capacity, len(self.names)), np.nan)
        self._index = {name: i for i, name in enumerate(self.names)}
        self.length = 0

    def __len__(self) -> int:
        return self.length

    def append(self, report: StepReport) -> None:
        if self.length == len(self._data):
            grown = np.full((2 * len(self._data), len(self.names)), np.nan)
            grown[: self.length] = self._data
            self._data = grown
        layers = [v for s in report.layers for v in (s.weight_grad_norm, s.bias_grad_norm, s.weight_norm)]
        row = [report.step, report.epoch, report.loss, report.accuracy, report.learning_rate,
               report.val_loss, report.val_accuracy, *layers]
        self._data[self.length] = [np.nan if v is None else v for v in row]
        self.length += 1

    def column(self, name: str) -> np.ndarray:
        return self._data[: self.length, self._index[name]]

    def to_csv(self) -> str:
        """One row per step; an empty cell where a value was not measured (validation, accuracy)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.names)
        for row in self._data[: self.length]:
            writer.writerow(["" if np.isnan(v) else _format(v) for v in row])
        return out.getvalue()


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(float(value))
