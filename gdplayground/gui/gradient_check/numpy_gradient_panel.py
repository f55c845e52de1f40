"""`numpy.gradient` shown for what it is: differences of an array already sampled on a grid. A
function sampled at a chosen spacing, its estimate against the exact derivative, the larger
error at the edges, and why `numpy.gradient(loss)` gives no derivative of a loss."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget)

from gdplayground.labs.numpy_gradient import (
    DEMO_FUNCTIONS, DEMO_RANGE, NUMPY_GRADIENT_WORDS, ONE_LOSS_WORDS, GradientDemo,
    gradient_of_one_loss, numpy_gradient_demo)
from gdplayground.gui.widgets.fields import guard_field
from gdplayground.gui.widgets.plots import PlotView, Y_MARGIN

EXACT = pg.mkPen(color=(31, 119, 180), width=1)
ESTIMATE = pg.mkPen(color=(230, 120, 20), width=1)
EDGE = pg.mkPen(color=(214, 39, 40), width=1)
SPACING = (0.05, 2.0, 0.05, 0.4)  # least, most, step of the arrows, at first
FINE_POINTS = 200  # points of the exact derivative's curve


class DemoView(PlotView):
    """The exact derivative as a line, numpy.gradient's estimate at the samples, its two
    one-sided edge values marked."""

    def __init__(self):
        super().__init__(
            "numpy.gradient against the exact f′", "f′(x)",
            "numpy.gradient's estimate (orange) at each sample against the exact derivative "
            "(blue). Inside, central differences: error ∝ Δ². At the two edges there is no "
            "neighbour on one side, so it takes a one-sided difference: error ∝ Δ, larger.")
        self.plot.setLabel("bottom", "x")
        self.exact = self.curve(EXACT, "exact f′")
        self.estimate = self.curve(ESTIMATE, "numpy.gradient", markers=True)
        self.edges = self.curve(EDGE, "edges (one-sided)", markers=True)
        self.edges.setSymbolSize(9)

    def draw(self, demo: GradientDemo) -> None:
        derivative = DEMO_FUNCTIONS[demo.function][1]
        fine = np.linspace(*DEMO_RANGE, FINE_POINTS)
        edge_x, edge_y = demo.x[[0, -1]], demo.estimate[[0, -1]]
        self.exact.setData(fine, derivative(fine))
        self.estimate.setData(demo.x, demo.estimate)
        self.edges.setData(edge_x, edge_y, connect=np.zeros(2, bool))  # two markers, no line
        self._named.update((self.exact, self.estimate, self.edges))
        values = np.concatenate([derivative(fine), demo.estimate])
        low, high = values.min(), values.max()
        span = max(high - low, 1e-6)
        self.plot.setXRange(*DEMO_RANGE, padding=0.03)
        self.plot.setYRange(low - Y_MARGIN * span, high + Y_MARGIN * span, padding=0)
        self._retitle()


class NumpyGradientPanel(QWidget):
    """The demo's plot beside its controls, what it measured, and the words."""

    def __init__(self):
        super().__init__()
        self.view = DemoView()
        self.function = guard_field(QComboBox())
        self.function.addItems(list(DEMO_FUNCTIONS))
        self.function.setToolTip("The function sampled on the grid. numpy.gradient never sees it: "
                                 "only the array of its values.")
        self.spacing = guard_field(QDoubleSpinBox())
        least, most, step, first = SPACING
        self.spacing.setRange(least, most)
        self.spacing.setSingleStep(step)
        self.spacing.setDecimals(2)
        self.spacing.setValue(first)
        self.spacing.setToolTip("Δ, the distance between samples. Halve it, with Δ passed: the "
                                "error inside falls four times (∝ Δ²), at the edges only twice "
                                "(∝ Δ).")
        self.passed = guard_field(QCheckBox("Pass Δ to it"))
        self.passed.setChecked(True)
        self.passed.setToolTip("numpy.gradient(f, Δ). Without Δ it assumes samples 1 apart, and "
                               "every value comes out Δ times what it should be.")
        self.readout = _label()
        self.words = _label()
        self.words.setText(_words())
        self.function.currentIndexChanged.connect(self.redraw)
        self.spacing.valueChanged.connect(self.redraw)
        self.passed.toggled.connect(self.redraw)
        self._lay_out()
        self.redraw()

    def _lay_out(self) -> None:
        controls = QHBoxLayout()
        for label, control in (("Function", self.function), ("Spacing Δ", self.spacing)):
            controls.addWidget(QLabel(label))
            controls.addWidget(control)
        controls.addWidget(self.passed)
        controls.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(controls)
        column.addWidget(self.view, 1)
        column.addWidget(self.readout)
        column.addWidget(self.words)

    def redraw(self, *_) -> None:
        demo = numpy_gradient_demo(self.function.currentText(), self.spacing.value(),
                                   self.passed.isChecked())
        self.demo = demo
        self.view.draw(demo)
        self.readout.setText(_readout(demo))


def _label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.RichText)
    label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
    return label


def _readout(demo: GradientDemo) -> str:
    """The errors, each named by what was computed: without Δ (unless it is 1) the quotients are
    off by the factor Δ, an error that shrinks neither as Δ² nor as Δ."""
    if demo.spacing_passed or demo.spacing == 1:
        edges, inside, note = "one-sided, ∝ Δ", "central, ∝ Δ²", ""
    else:
        edges, inside = "f[1] − f[0] divided by 1, not Δ", "(f[i+1] − f[i−1]) / 2, not / 2Δ"
        note = (f" Without the spacing every value is {demo.spacing:g} times what it should be; "
                f"that factor makes most of each error, which shrinks neither as Δ nor as Δ².")
    return (f"{len(demo.x)} samples. Error at the edges: <b>{demo.edge_error:.2g}</b> ({edges}); "
            f"largest inside: <b>{demo.interior_error:.2g}</b> ({inside}).{note}")


def _words() -> str:
    """What numpy.gradient does, why it gives no derivative of a loss, and NumPy's own answer."""
    outcome = gradient_of_one_loss()
    code = "".join(f"<br><code>{html.escape(line)}</code>" for line in outcome)
    return (f"<p>{html.escape(NUMPY_GRADIENT_WORDS)}</p>"
            f"<p>{html.escape(ONE_LOSS_WORDS)}{code}</p>")
