"""The run controls: Play/Pause, Step, Step epoch, Reset and the pace, as actions with keys, on
the toolbar and the Run menu. They act on the tab in view through the callbacks they are given.
Their keys reach them from the side panel's fields too (fields.FieldGuard)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QToolBar, QWidget

from gdplayground.gui.window.actions import make_action
from gdplayground.gui.training.paces import PACES

class RunControls(QObject):
    pace_changed = Signal(object)  # steps a second, or None

    def __init__(self, window: QWidget, play: Callable, step: Callable, reset: Callable):
        super().__init__(window)
        self.play_action = make_action(window, "Play", ["Space"],
                                        "Train continuously; press again to pause", play)
        self.step_action = make_action(window, "Step", ["Right", "N"],
                                        "Pause, then train exactly one iteration", lambda: step(1))
        self.epoch_action = make_action(window, "Step epoch", ["Shift+Right"],
                                         "Pause, then train to the end of the current epoch (at "
                                         "the pace set)", lambda: step(-1))
        self.reset_action = make_action(window, "Reset", ["Ctrl+R"],
                                         "Start the run again from fresh weights and the same "
                                         "seed", reset)
        self.pace = QComboBox()
        for rate, words in PACES.items():
            self.pace.addItem(words, rate)
        self.pace.setToolTip(
            "How fast training runs. At a few steps a second you can watch each update move the "
            "curves and the picture; as fast as possible shows where training ends up. "
            "Faster: ] or +, slower: [ or −")
        self.pace.setFocusPolicy(Qt.NoFocus)  # a click leaves the keys to the run controls
        self.pace.currentIndexChanged.connect(lambda: self.pace_changed.emit(self.steps_per_second))
        self.faster_action = make_action(window, "Faster", ["]", "+", "="],
                                          "Train more steps a second", lambda: self._shift(+1))
        self.slower_action = make_action(window, "Slower", ["[", "-"],
                                          "Train fewer steps a second", lambda: self._shift(-1))
        self.actions = [self.play_action, self.step_action, self.epoch_action, self.reset_action]

    @property
    def steps_per_second(self) -> int | None:
        return self.pace.currentData()

    def show_pace(self, steps_per_second: int | None) -> None:
        """Show a pace without announcing it (the caller sends it where it must go)."""
        self.pace.blockSignals(True)
        self.pace.setCurrentIndex(self.pace.findData(steps_per_second))
        self.pace.blockSignals(False)

    def set_playing(self, playing: bool) -> None:
        self.play_action.setText("Pause" if playing else "Play")

    def add_to(self, toolbar: QToolBar, menu) -> None:
        for action in self.actions:
            toolbar.addAction(action)
            menu.addAction(action)
        toolbar.addWidget(self.pace)
        menu.addSeparator()
        menu.addAction(self.faster_action)
        menu.addAction(self.slower_action)

    def _shift(self, by: int) -> None:
        index = min(max(self.pace.currentIndex() + by, 0), self.pace.count() - 1)
        self.pace.setCurrentIndex(index)
