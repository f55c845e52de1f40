"""The Inside tab: what the Training tab's network does inside, on the engine's own numbers,
live while training runs. A 2-D data set shows the network diagram (every unit's output over the
plane, connections by weight); an image data set its errors and explanations (confusion matrix,
misclassified digits, saliency, a digit you draw), a table's classifier its confusion matrix with
the classes' names; every network the distributions of its
layers over the steps. Pictures and distributions are two pages, each with the tab's height
(one above the other, the distributions' plots were 20 pixels tall in a 1280×800 window).

It asks the worker only for the page in view (a report every REPORT_INTERVAL_MS: held-out
predictions, or one batch's distributions), so it costs training nothing when hidden.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from gdplayground.gui.inside.class_confusion import ClassConfusion
from gdplayground.gui.inside.distributions_view import DistributionsView
from gdplayground.gui.inside.network_diagram import NetworkDiagram
from gdplayground.gui.widgets.training_run import Frame, RunInfo
from gdplayground.gui.widgets.tab_spec import TabSpec

REPORT_INTERVAL_MS = 4000  # a report stops training ~0.1 s on MNIST: 2.5% of the time


class InsideTab(QWidget):
    SPEC = TabSpec(
        "Inside",
        "Inside the network: every unit's output, what it gets wrong and why, and how "
        "its layers' values spread")

    def __init__(self, ask: Callable[[str, Callable], None], images: QWidget | None = None):
        """`ask(what, callback)` is TrainingSession.ask; `images` the image-data views."""
        super().__init__()
        self._ask = ask
        self.diagram, self.images, self.classes = NetworkDiagram(), images, ClassConfusion()
        self.placeholder = QLabel("This data set has no picture of its insides: see its "
                                  "distributions per layer.")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.views = QStackedWidget()
        for view in (self.diagram, self.placeholder, self.classes, *([images] if images else [])):
            self.views.addWidget(view)
        self.distributions = DistributionsView(every_s=REPORT_INTERVAL_MS / 1000)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.views, "Pictures")
        self.pages.addTab(self.distributions, "Distributions per layer")
        self.pages.setTabToolTip(1, "Each layer's activations, weights and gradients over the "
                                    "steps, and its dead or saturated units")
        self.pages.currentChanged.connect(self._ask_for_reports)  # at once, not a tick later
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self._waiting = set()  # the questions asked and not yet answered: never two at once
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._ask_for_reports)
        self.timer.start(REPORT_INTERVAL_MS)

    def start(self, info: RunInfo) -> None:
        """A new run: the view its data call for, and no distributions yet."""
        self.distributions.clear()
        if info.points is not None:  # 2-D points (an image set's conv layers may end in 2 values)
            self.diagram.set_network(info.sizes)
            self.views.setCurrentWidget(self.diagram)
            self.pages.setTabText(0, "Network")
        elif info.image_shape is not None and self.images is not None:
            self.views.setCurrentWidget(self.images)
            self.pages.setTabText(0, "Errors and explanations")
        elif info.preparation is not None and info.n_classes is not None:  # a table's classes
            self.views.setCurrentWidget(self.classes)
            self.pages.setTabText(0, "Errors")
        else:
            self.views.setCurrentWidget(self.placeholder)
            self.pages.setTabText(0, "Pictures")
            self.pages.setCurrentWidget(self.distributions)
        if self.isVisible():
            self._ask_for_reports()

    def take(self, frame: Frame) -> None:
        if frame.units is not None:  # drawn even out of view (2 ms): it is current when shown
            self.diagram.draw(*frame.units)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._ask_for_reports()  # at once, not a timer's tick later

    def _ask_for_reports(self) -> None:
        if self.distributions.isVisible():
            self._ask_once("distributions",
                           lambda answer: answer and self.distributions.add(*answer))
        elif self.views.isVisible() and self.views.currentWidget() is self.images:
            self._ask_once("inside", lambda report: report and self.images.show_report(report))
        elif self.views.isVisible() and self.views.currentWidget() is self.classes:
            self._ask_once("classes", lambda report: report and self.classes.show_report(report))

    def _ask_once(self, what: str, use: Callable) -> None:
        if what in self._waiting:
            return
        self._waiting.add(what)

        def answered(answer) -> None:
            self._waiting.discard(what)
            use(answer)
        self._ask(what, answered)
