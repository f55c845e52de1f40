"""The image-data half of the "Inside" tab: what a digit classifier gets wrong and what it looks
at. A confusion matrix with per-class accuracy (click a cell for its digits), the misclassified
digits with their top predictions, saliency for a chosen digit, a canvas to draw a digit on,
and the predictions on a few fixed digits.

`ImageInside.show_report` takes a report with: `network` (an engine Network the widget may use
alone), `input_scale` (the network sees images01 × input_scale: 1.0 for image sets, as the CLI
passes), `images01` (N×H×W in [0, 1]), `labels` (N,), `probabilities` (N×C) and `step`. It is
called every second or two while training runs, so each view redraws with a few NumPy calls
and a few dozen thumbnails.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from gdplayground.labs.inside import confusion_matrix, per_class_accuracy, top_predictions
from gdplayground.gui.inside.drawing import DrawingView
from gdplayground.gui.inside.pictures import DigitList, caption
from gdplayground.gui.inside.saliency import SaliencyView

CELL_DIGITS = 40  # digits shown for a clicked cell of the confusion matrix
MISCLASSIFIED_SHOWN = 48
FIXED_DIGITS = 8
TEXT_CELLS_UP_TO = 12  # classes: more, and the counts no longer fit in their cells
# A cell's colour is its share of its row (the digits of its true class): white to pale blue
# over the first 10%, where the mistakes of a trained network lie, then to dark blue at all of
# them. One error among 1,135 digits is white; a class half confused with another, mid-blue.
COUNT_COLOURS = pg.ColorMap([0.0, 0.1, 1.0], [(255, 255, 255), (158, 202, 225), (8, 48, 107)])
DARK_FROM = 0.5  # of a row: counts on a cell this dark are written in white
COUNT_POINTS = (9, 6)  # the counts' type size, largest first: the largest that fits a cell


CELL_INVITATION = ("Click a cell to see its digits; click a digit for its saliency. A cell's "
                   "colour is its share of the row: of the digits of that true class.")


def row_shares(counts: np.ndarray) -> np.ndarray:
    """Each count over its row's total (0 in a row without digits)."""
    totals = counts.sum(axis=1, keepdims=True)
    return counts / np.maximum(totals, 1)


def share_in_words(part: int, whole: int) -> str:
    """part/whole as a percentage with the digits it takes not to round a miss to 100% or a hit
    to 0% (2,114 of 2,115: 99.95%, not 100.0%)."""
    share = part / max(whole, 1)
    for decimals in range(1, 6):
        if 0 < round(100 * share, decimals) < 100 or share in (0, 1):
            break
    return f"{share:.{decimals}%}"


class ClickableImage(pg.ImageItem):
    """An image that reports the (row, column) of the pixel clicked."""

    def __init__(self, clicked):
        super().__init__(axisOrder="row-major")
        self.clicked = clicked

    def mouseClickEvent(self, event) -> None:
        event.accept()
        self.clicked(int(event.pos().y()), int(event.pos().x()))


class ConfusionView(QWidget):
    """Counts of (true, predicted) classes, per-class accuracy beside them, and the digits of
    a clicked cell under them. `counts` holds the matrix drawn."""

    digit_chosen = Signal(int)

    def __init__(self):
        super().__init__()
        self.counts = np.zeros((0, 0), np.int64)
        self.cell: tuple[int, int] | None = None
        self.images01 = self.labels = self.predicted = None
        self.texts: list[pg.TextItem] = []  # the counts written in the cells
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self._build_matrix()
        self._build_accuracy()
        self.cell_caption = caption(CELL_INVITATION)
        self.cell_digits = DigitList(caption_lines=1, width=70)
        self.cell_digits.chosen.connect(self.digit_chosen)
        layout = QVBoxLayout(self)
        layout.addWidget(self.graphics, stretch=3)
        layout.addWidget(self.cell_caption)
        layout.addWidget(self.cell_digits, stretch=1)

    def _build_matrix(self) -> None:
        plot = self.matrix_plot = self.graphics.addPlot(title="Confusion matrix")
        plot.invertY(True)
        plot.setAspectLocked(True)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setLabel("left", "true class")
        plot.setLabel("bottom", "predicted class")
        self.image = ClickableImage(self.show_cell)
        plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=COUNT_COLOURS, interactive=False,
                                          label="share of its true class (row)")
        self.colour_bar.axis.setTicks([[(v, f"{v:.0%}") for v in (0, 0.1, 0.25, 0.5, 0.75, 1)]])
        self.colour_bar.setImageItem(self.image, insert_in=plot)
        plot.getViewBox().sigResized.connect(self._fit_counts)

    def _build_accuracy(self) -> None:
        plot = self.accuracy_plot = self.graphics.addPlot(title="accuracy per true class")
        plot.invertY(True)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setYLink(self.matrix_plot)
        plot.setXRange(0, 1.25, padding=0)  # room for the percentages after the bars
        plot.getAxis("bottom").setTicks([[(v, f"{v:.0%}") for v in (0, 0.5, 1)]])
        self.bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.7, brush=(31, 119, 180))
        plot.addItem(self.bars)
        self.accuracy_texts: list[pg.TextItem] = []
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)

    def show_report(self, report, predicted: np.ndarray) -> None:
        self.images01, self.labels, self.predicted = report.images01, report.labels, predicted
        n_classes = report.probabilities.shape[1]
        self.counts = confusion_matrix(report.labels, predicted, n_classes)
        self._draw_counts(report.step)
        self._draw_accuracy(per_class_accuracy(self.counts))
        if self.cell is not None:
            self.show_cell(*self.cell)

    def _draw_counts(self, step: int) -> None:
        n = len(self.counts)
        if len(self.texts) != n * n:
            self._make_texts(n)
        shares = row_shares(self.counts)
        self.image.setImage(shares.astype(np.float32), autoLevels=False, levels=(0, 1))
        for text, count, share in zip(self.texts, self.counts.ravel(), shares.ravel()):
            text.setText(str(count))
            text.setColor("w" if share > DARK_FROM else "k")
        self._fit_counts()
        right, total = int(np.trace(self.counts)), int(self.counts.sum())
        self.matrix_plot.setTitle(f"Confusion matrix at step {step}: {right:,} of {total:,} "
                                  f"right ({share_in_words(right, total)})")

    def _fit_counts(self) -> None:
        """The counts in the largest type that fits their cells ("1123" showed ".123" in a
        1024×640 window), or none where even the smallest would not."""
        if not self.texts:
            return
        room = 0.9 * min(self.matrix_plot.getViewBox().width(),
                         self.matrix_plot.getViewBox().height()) / len(self.counts)
        widest = max((text.toPlainText() for text in self.texts), key=len)
        font = QFont()
        for points in range(COUNT_POINTS[0], COUNT_POINTS[1] - 1, -1):
            font.setPointSize(points)
            if QFontMetricsF(font).horizontalAdvance(widest) <= room:
                break
        fits = QFontMetricsF(font).horizontalAdvance(widest) <= room
        for text in self.texts:
            text.setFont(font)
            text.setVisible(fits)

    def _make_texts(self, n: int) -> None:
        for text in self.texts + self.accuracy_texts:
            text.scene() and text.scene().removeItem(text)
        ticks = [[(k + 0.5, str(k)) for k in range(n)]]
        for side in ("left", "bottom"):
            self.matrix_plot.getAxis(side).setTicks(ticks)
        self.accuracy_plot.getAxis("left").setTicks(ticks)
        self.matrix_plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
        self.texts = [self._text(self.matrix_plot, c + 0.5, r + 0.5, (0.5, 0.5))
                      for r in range(n) for c in range(n)] if n <= TEXT_CELLS_UP_TO else []
        self.accuracy_texts = [self._text(self.accuracy_plot, 0, r + 0.5, (0, 0.5))
                               for r in range(n)]

    @staticmethod
    def _text(plot: pg.PlotItem, x: float, y: float, anchor) -> pg.TextItem:
        text = pg.TextItem(color="k", anchor=anchor)
        text.setPos(x, y)
        plot.addItem(text)
        return text

    def _draw_accuracy(self, accuracy: np.ndarray) -> None:
        rows = np.arange(len(accuracy)) + 0.5
        shown = np.nan_to_num(accuracy)  # a class with no examples: no bar
        self.bars.setOpts(x0=np.zeros(len(rows)), y=rows, width=shown)
        for text, value, row in zip(self.accuracy_texts, accuracy, rows):
            text.setText("—" if np.isnan(value) else f"{value:.1%}")
            text.setPos(0.0 if np.isnan(value) else value, row)

    def show_cell(self, true_class: int, predicted_class: int) -> None:
        """The digits (up to CELL_DIGITS) of true_class that were predicted as predicted_class;
        none, and the caption's invitation, for a cell the matrix does not have (a cell chosen
        on another data set's matrix)."""
        n = len(self.counts)
        if self.labels is None or not (0 <= true_class < n and 0 <= predicted_class < n):
            self.cell = None
            self.cell_digits.clear()
            self.cell_caption.setText(CELL_INVITATION)
            return
        self.cell = (true_class, predicted_class)
        inside = np.flatnonzero((self.labels == true_class) & (self.predicted == predicted_class))
        shown = inside[:CELL_DIGITS]
        self.cell_digits.show_digits(self.images01[shown], [f"#{i}" for i in shown], shown)
        self.cell_caption.setText(
            f"True {true_class}, predicted {predicted_class}: {len(inside):,} digits"
            f"{f', the first {len(shown)} shown' if len(inside) > len(shown) else ''}. "
            f"Click one for its saliency.")


class MisclassifiedView(QWidget):
    """The most confidently wrong digits, each under its true class and top-3 predictions."""

    digit_chosen = Signal(int)

    def __init__(self):
        super().__init__()
        self.caption = caption()
        self.digits = DigitList(caption_lines=3, width=100)
        self.digits.chosen.connect(self.digit_chosen)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.digits, stretch=1)

    def show_report(self, report, predicted: np.ndarray) -> None:
        wrong = np.flatnonzero(predicted != report.labels)
        confidence = report.probabilities[wrong, predicted[wrong]]
        shown = wrong[np.argsort(-confidence, kind="stable")[:MISCLASSIFIED_SHOWN]]
        classes, probabilities = top_predictions(report.probabilities[shown], 3)
        captions = [f"true {report.labels[i]}\n→ {cs[0]} {ps[0]:.0%}\n"
                    + " · ".join(f"{c} {p:.0%}" for c, p in zip(cs[1:], ps[1:]))
                    for i, cs, ps in zip(shown, classes, probabilities)]
        self.digits.show_digits(report.images01[shown], captions, shown)
        self.caption.setText(
            f"{len(wrong):,} of {len(predicted):,} digits misclassified at step {report.step}; "
            f"the {len(shown)} the network is surest of, with its three likeliest classes. "
            f"Click one for its saliency.")


class FixedDigitsView(QWidget):
    """The first few digits of the set, with the network's current guess at each."""

    digit_chosen = Signal(int)

    def __init__(self):
        super().__init__()
        self.caption = caption("The same digits at every report: watch the guesses firm up.")
        self.digits = DigitList(caption_lines=2, width=120, icon_side=112)
        self.digits.chosen.connect(self.digit_chosen)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.digits, stretch=1)

    def show_report(self, report, predicted: np.ndarray) -> None:
        shown = np.arange(min(FIXED_DIGITS, len(report.labels)))
        top = report.probabilities[shown, predicted[shown]]
        captions = [f"#{i}: true {report.labels[i]}\n{predicted[i]} ({p:.0%})"
                    for i, p in zip(shown, top)]
        self.digits.show_digits(report.images01[shown], captions, shown,
                                wrong=predicted[shown] != report.labels[shown])


class ImageInside(QWidget):
    """The five views in tabs; a digit clicked in one opens it in the saliency view."""

    def __init__(self):
        super().__init__()
        self.confusion, self.misclassified = ConfusionView(), MisclassifiedView()
        self.saliency, self.drawing, self.fixed = SaliencyView(), DrawingView(), FixedDigitsView()
        self.tabs = QTabWidget()
        for view, name in ((self.confusion, "Confusion matrix"),
                           (self.misclassified, "Misclassified"), (self.saliency, "Saliency"),
                           (self.drawing, "Draw a digit"), (self.fixed, "Fixed digits")):
            self.tabs.addTab(view, name)
        for view in (self.confusion, self.misclassified, self.fixed):
            view.digit_chosen.connect(self.choose_digit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def show_report(self, report) -> None:
        predicted = np.argmax(report.probabilities, axis=1)
        for view in (self.confusion, self.misclassified, self.fixed):
            view.show_report(report, predicted)
        self.saliency.show_report(report)
        self.drawing.show_report(report)

    def choose_digit(self, index: int) -> None:
        """Open the digit at `index` of the data set in the saliency view."""
        self.saliency.choose(index)
        self.tabs.setCurrentWidget(self.saliency)
