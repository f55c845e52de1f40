"""Saliency for one digit of the data set: the gradient of a class's logit with respect to each
pixel (or SmoothGrad's average of it over noisy copies), beside the digit or laid over it, on a
blue-white-red scale clipped at a percentile of its magnitudes.

One map is a forward and a backward pass (2 ms for conv8x5,pool,conv16x5,pool,128); SmoothGrad's
are as many as its samples (0.2 s for 200 on that network), so they are computed on a thread of
their own, on a copy of the weights, and shown when done."""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel,
                               QSpinBox, QVBoxLayout, QWidget)

from gdplayground.labs.inside import saliency, smoothgrad, weights_copy
from gdplayground.gui.widgets.fields import guard_field
from gdplayground.gui.inside.pictures import (CLIP_PERCENTILE, DIVERGING, DIVERGING_FADING,
                                              caption, clip_limit, image_box, ink_on_paper)

PREDICTED, TRUE = "predicted", "true"  # the class chooser's first two entries
OVERLAY_OPACITY = 0.75


class MapMaker(QObject):
    """Computes maps on a thread of its own, one at a time: a request made while one is computed
    waits, replacing any request already waiting, and only the latest request's map is brought.
    `made` brings (the request's key, its map or the message of why it failed)."""

    made = Signal(object, object)
    _done = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._request, self._busy, self._waiting = 0, False, None
        self._done.connect(self._arrived, Qt.QueuedConnection)

    def start(self, key, compute: Callable[[], np.ndarray]) -> None:
        """`compute` runs on the thread: give it copies, nothing the GUI goes on using."""
        self._request += 1
        self._waiting = (self._request, key, compute)
        if not self._busy:
            self._next()

    def _next(self) -> None:
        job, self._waiting, self._busy = self._waiting, None, True
        threading.Thread(target=self._work, args=job, daemon=True, name="saliency maps").start()

    def _work(self, request: int, key, compute) -> None:
        try:
            answer = compute()
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the view says it
            answer = f"could not compute it ({type(exc).__name__}: {exc})"
        try:
            self._done.emit(request, key, answer)
        except RuntimeError:  # the view was closed meanwhile: nobody to show it to
            pass

    def _arrived(self, request: int, key, answer) -> None:
        self._busy = False
        if request == self._request:
            self.made.emit(key, answer)
        if self._waiting is not None:
            self._next()


class SaliencyView(QWidget):
    """Pick a digit (`choose`, or the index box) and a class; see where its pixels push that
    class's logit. `map` holds the values drawn."""

    def __init__(self):
        super().__init__()
        self.report, self.reports = None, 0  # the report shown, and how many came
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
        self.maker = MapMaker(self)
        self.maker.made.connect(self._smoothed_map)
        self._smoothed: tuple = (None, None)  # the last SmoothGrad map come: (key, map) …
        self._asked: tuple | None = None  # … and the key of the last one asked for
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
        self.report, self.reports = report, self.reports + 1
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
        """The chosen digit's map: at once, or SmoothGrad's when its thread brings it (until
        then the caption says it is being computed)."""
        if self.report is None:
            return
        i, cls = self.index.value(), self.chosen_class()
        image = self.report.images01[i]
        self.digit.setImage(ink_on_paper(image), levels=(0, 1))
        if not self.smooth.isChecked():
            gradient = saliency(self.report.network, image.reshape(1, -1), np.array([cls]),
                                self.report.input_scale)
            self._show(i, cls, gradient.reshape(image.shape), smoothed=False)
        elif self._smoothed[0] == self._smooth_key():  # computed already (recoloured, say)
            self._show(i, cls, self._smoothed[1], smoothed=True)
        elif self._smooth_key() != self._asked:  # (asked already: it is on its way)
            self._asked = self._smooth_key()
            self.maker.start(self._asked, self._smoothgrad(image, cls))
            self.caption.setText(f"Digit #{i}: averaging the gradient of class {cls}'s logit "
                                 f"over {self.samples.value()} noisy copies …")

    def _smooth_key(self) -> tuple:
        """What a SmoothGrad map is of: the report (its number: reports compare their arrays),
        the digit, the class and the settings."""
        return (self.reports, self.index.value(), self.chosen_class(), self.noise.value(),
                self.samples.value())

    def _smoothgrad(self, image: np.ndarray, cls: int) -> Callable[[], np.ndarray]:
        """SmoothGrad of `image` for its thread, on copies of everything it reads."""
        network, x, scale = weights_copy(self.report.network), image.reshape(1, -1).copy(), \
            self.report.input_scale
        noise, samples = self.noise.value(), self.samples.value()
        return lambda: smoothgrad(network, x, np.array([cls]), scale, noise=noise,
                                  samples=samples).reshape(image.shape)

    def _smoothed_map(self, key: tuple, answer) -> None:
        """A SmoothGrad map from its thread, kept, and shown if it is of what is chosen now."""
        wanted = self.smooth.isChecked() and key == self._smooth_key()
        if isinstance(answer, str):
            self._asked = None  # asked again, it is tried again
            if wanted:
                self.caption.setText(f"SmoothGrad of digit #{key[1]}: {answer}")
            return
        self._smoothed = (key, answer)
        if wanted:
            self._show(key[1], key[2], answer, smoothed=True)

    def _show(self, i: int, cls: int, gradient: np.ndarray, smoothed: bool) -> None:
        self.map = gradient
        limit = clip_limit(self.map, self.percentile.value())
        self.map_image.setImage(self.map, autoLevels=False)
        self.colour_bar.setLevels(values=(-limit, limit))  # also sets the map's levels
        self.over.setImage(self.map, levels=(-limit, limit))
        self.over.setVisible(self.overlay.isChecked())
        self.map_box.title.setText(f"{'SmoothGrad of ' if smoothed else ''}"
                                   f"d(logit of {cls}) / d pixel")
        self._describe(i, cls, limit)

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
