"""Saliency for one digit of the data set: the gradient of a class's logit with respect to each
pixel (or SmoothGrad's average of it over noisy copies), beside the digit or laid over it, on a
blue-white-red scale clipped at a percentile of its magnitudes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel,
                               QSpinBox, QVBoxLayout, QWidget)

from gdplayground.labs.inside import saliency, smoothgrad
from gdplayground.gui.widgets.fields import guard_field
from gdplayground.gui.inside.pictures import (CLIP_PERCENTILE, DIVERGING, DIVERGING_FADING,
                                              caption, clip_limit, image_box, ink_on_paper)

PREDICTED, TRUE = "predicted", "true"  # the class chooser's first two entries
OVERLAY_OPACITY = 0.75


class SaliencyView(QWidget):
    """Pick a digit (`choose`, or the index box) and a class; see where its pixels push that
    class's logit. `map` holds the values drawn."""

    def __init__(self):
        super().__init__()
        self.report = None
        self.map: np.ndarray | None = None
        self.index = guard_field(QSpinBox())
        self.index.setToolTip("The digit's index in the data set (or click one in another view).")
        self.classes = guard_field(QComboBox())
        self.classes.setToolTip("Whose logit to differentiate: the class the network predicts, "
                                "the digit's true class, or any class.")
        self.smooth = QCheckBox("SmoothGrad")
        self.smooth.setToolTip("Average the gradient over noisy copies of the digit: the map "
                               "speckles less and shows the strokes that matter.")
        self.noise = guard_field(_number(0.0, 1.0, 0.15, 0.05, "Noise: standard deviation as a "
                                         "fraction of the digit's range of grey levels."))
        self.samples = guard_field(QSpinBox())
        self.samples.setRange(1, 200)
        self.samples.setValue(25)
        self.samples.setToolTip("Noisy copies averaged by SmoothGrad.")
        self.percentile = guard_field(_number(50.0, 100.0, CLIP_PERCENTILE, 0.5,
                                              "Colours saturate at this percentile of |gradient|: "
                                              "a few extreme pixels would wash the rest out."))
        self.overlay = QCheckBox("Over the digit")
        self.overlay.setToolTip("Lay the map over the digit, translucent where it is near zero.")
        self.caption = caption("Choose a digit: click one in another view, or type its index.")
        self._build_graphics()
        self._lay_out()
        for box in (self.index, self.samples):
            box.valueChanged.connect(self.redraw)
        self.classes.currentIndexChanged.connect(self.redraw)
        for changed in (self.noise.valueChanged, self.percentile.valueChanged,
                        self.smooth.toggled, self.overlay.toggled):
            changed.connect(self.redraw)

    def _build_graphics(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout = self.graphics.ci
        self.digit_box, self.digit = image_box(layout, "digit", row=0, col=0)
        self.map_box, self.map_image = image_box(layout, "gradient of the logit", row=0, col=1)
        self.over = pg.ImageItem(axisOrder="row-major", opacity=OVERLAY_OPACITY)
        self.over.setLookupTable(DIVERGING_FADING.getLookupTable(nPts=256, alpha=True))
        self.digit_box.addItem(self.over)
        self.colour_bar = pg.ColorBarItem(values=(-1, 1), colorMap=DIVERGING, interactive=False,
                                          label="d logit / d brightness")
        self.colour_bar.setImageItem(self.map_image)
        layout.addItem(self.colour_bar, row=0, col=2)

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        for fields in ((("Digit #", self.index), ("Class", self.classes), (None, self.overlay),
                        ("clip at percentile", self.percentile)),  # two rows: fits 1024 wide
                       ((None, self.smooth), ("noise", self.noise), ("samples", self.samples))):
            controls = QHBoxLayout()
            for label, widget in fields:
                if label:
                    controls.addWidget(QLabel(label))
                controls.addWidget(widget)
            controls.addStretch(1)
            layout.addLayout(controls)
        layout.addWidget(self.graphics, stretch=1)
        layout.addWidget(self.caption)

    def show_report(self, report) -> None:
        self.report = report
        n, n_classes = report.probabilities.shape
        self.index.blockSignals(True)
        self.index.setRange(0, max(0, n - 1))
        self.index.blockSignals(False)
        if self.classes.count() != n_classes + 2:
            self.classes.blockSignals(True)
            self.classes.clear()
            self.classes.addItems([f"{PREDICTED} class", f"{TRUE} class"]
                                  + [f"class {c}" for c in range(n_classes)])
            self.classes.blockSignals(False)
        self.redraw()

    def choose(self, index: int) -> None:
        """Show the digit at `index` of the data set."""
        self.index.setValue(index)  # redraws, unless it was shown already …
        self.redraw()  # … which after a new report may be stale

    def chosen_class(self) -> int:
        choice, i = self.classes.currentIndex(), self.index.value()
        if choice <= 0:
            return int(np.argmax(self.report.probabilities[i]))
        return int(self.report.labels[i]) if choice == 1 else choice - 2

    def redraw(self) -> None:
        if self.report is None:
            return
        i, cls = self.index.value(), self.chosen_class()
        image = self.report.images01[i]
        self.map = self._gradient(image.reshape(1, -1), cls).reshape(image.shape)
        limit = clip_limit(self.map, self.percentile.value())
        self.digit.setImage(ink_on_paper(image), levels=(0, 1))
        self.map_image.setImage(self.map, autoLevels=False)
        self.colour_bar.setLevels(values=(-limit, limit))  # also sets the map's levels
        self.over.setImage(self.map, levels=(-limit, limit))
        self.over.setVisible(self.overlay.isChecked())
        self.map_box.title.setText(f"{'SmoothGrad of ' if self.smooth.isChecked() else ''}"
                                   f"d(logit of {cls}) / d pixel")
        self._describe(i, cls, limit)

    def _gradient(self, x: np.ndarray, cls: int) -> np.ndarray:
        report = self.report
        if self.smooth.isChecked():
            return smoothgrad(report.network, x, np.array([cls]), report.input_scale,
                              noise=self.noise.value(), samples=self.samples.value())
        return saliency(report.network, x, np.array([cls]), report.input_scale)

    def _describe(self, i: int, cls: int, limit: float) -> None:
        probabilities = self.report.probabilities[i]
        predicted = int(np.argmax(probabilities))
        self.caption.setText(
            f"Digit #{i} (step {self.report.step}): true class {self.report.labels[i]}, predicted "
            f"{predicted} ({probabilities[predicted]:.0%}); class {cls} has {probabilities[cls]:.1%}. "
            f"Red pixels raise class {cls}'s logit when brighter, blue ones lower it; colours "
            f"saturate at ±{limit:.3g} (the {self.percentile.value():g}th percentile of |gradient|).")


def _number(low: float, high: float, value: float, step: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    box.setKeyboardTracking(False)  # a typed number counts when complete
    box.setToolTip(tip)
    return box
