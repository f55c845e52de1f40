"""The Inside tab of a table's classifier: the confusion matrix of its held-out rows, with per-class
accuracy, its classes named as the table names them. The image sets' view (images.py) also
shows a cell's digits; a table's rows have no picture, so a cell shows nothing more."""

from __future__ import annotations

import numpy as np

from gdplayground.gui.inside.images import ConfusionView
from gdplayground.gui.widgets.training_run import ClassReport


class ClassConfusion(ConfusionView):
    """ConfusionView with the classes' names on its axes and no pictures of a cell's rows."""

    def __init__(self):
        super().__init__()
        self.names: tuple[str, ...] = ()
        for widget in (self.cell_caption, self.cell_digits):
            widget.hide()
        self.setToolTip("The table's held-out rows by true class (row) and predicted class "
                        "(column); a cell's colour is its share of the row. Beside it, the "
                        "accuracy of each true class.")

    def show_report(self, report: ClassReport, predicted: np.ndarray | None = None) -> None:
        if report.names != self.names:  # laid out again, with these names
            self.names = report.names
            self._make_texts(len(report.names))
        predicted = report.probabilities.argmax(axis=1) if predicted is None else predicted
        super().show_report(report, predicted)

    def _make_texts(self, n: int) -> None:
        super()._make_texts(n)
        ticks = [[(k + 0.5, name) for k, name in enumerate(self.names[:n])]]
        for axis in (self.matrix_plot.getAxis("left"), self.matrix_plot.getAxis("bottom"),
                     self.accuracy_plot.getAxis("left")):
            axis.setTicks(ticks)

    def show_cell(self, true_class: int, predicted_class: int) -> None:
        """A table's rows have no picture: a click shows nothing more."""
