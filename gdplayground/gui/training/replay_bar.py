"""The replay bar under the Training tab's picture: a slider over the run's steps, words saying
where it stands, and a Live button. The slider's positions are steps; a position between two
kept steps shows the kept step at or before it, and the slider's right end is the live run.
The bar only reports: the tab fetches the path and draws (TrainingView)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from gdplayground.gui.widgets.fields import guard_field

LARGEST_STEP = 2**31 - 1  # a QSlider's positions are 32-bit
KEYS_WORDS = ("← → or [ ]: the previous or next kept step; Home: the first; End or Esc: back "
              "to the live run")


class ReplaySlider(QSlider):
    """A slider whose arrow keys go from kept step to kept step, and that says when it is
    reached for (pressed or keyed), before it moves."""

    touched = Signal()
    key_step = Signal(int)  # -1 or +1: to the previous or next kept step
    live = Signal()  # Esc

    MOVES = {Qt.Key_Left: -1, Qt.Key_BracketLeft: -1, Qt.Key_Down: -1,
             Qt.Key_Right: 1, Qt.Key_BracketRight: 1, Qt.Key_Up: 1}
    OWN_KEYS = (*MOVES, Qt.Key_Home, Qt.Key_End, Qt.Key_PageUp, Qt.Key_PageDown, Qt.Key_Escape)

    def __init__(self):
        super().__init__(Qt.Horizontal)
        self.setFocusPolicy(Qt.StrongFocus)

    def event(self, event) -> bool:
        """Claim the replay's keys while focused: Right is otherwise the window's Step."""
        try:
            if event.type() == QEvent.ShortcutOverride and event.key() in self.OWN_KEYS:
                event.accept()
                return True
        except Exception:  # noqa: BLE001 - nothing may escape a Qt override
            pass
        return super().event(event)

    def mousePressEvent(self, event) -> None:
        try:
            self.touched.emit()
        finally:
            super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        try:
            key = event.key()
            self.touched.emit()
            if key in self.MOVES:
                self.key_step.emit(self.MOVES[key])
            elif key == Qt.Key_Escape:
                self.live.emit()
            else:
                super().keyPressEvent(event)  # Home, End, Page Up and Down as any slider
        except Exception:  # noqa: BLE001 - nothing may escape a Qt override
            event.ignore()


class ReplayBar(QWidget):
    touched = Signal()  # the user reached for the slider: the path must be at hand
    moved = Signal(int)  # the step the user moved to (the slider's end: the live run)
    key_step = Signal(int)  # -1 or +1: the previous or next kept step
    live = Signal()  # back to the live run

    def __init__(self):
        super().__init__()
        self.slider = ReplaySlider()
        self.slider.setToolTip(
            "Replay the run: drag through the steps it kept, and the picture, the network "
            "diagram and the marked step on the curves show the weights after that step. "
            f"{KEYS_WORDS}. Training goes on while you look: the curves grow, the picture "
            "holds the step you chose.")
        self.slider.setRange(0, 0)
        self.words = QLabel()
        self.live_button = guard_field(QPushButton("Live"))
        self.live_button.setToolTip("Back to the live run (End or Esc on the slider)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Replay"))
        layout.addWidget(self.slider, stretch=1)
        layout.addWidget(self.words)
        layout.addWidget(self.live_button)
        self.slider.touched.connect(self.touched)
        self.slider.key_step.connect(self.key_step)
        self.slider.live.connect(self.live)
        self.slider.valueChanged.connect(self._slid)
        self.live_button.clicked.connect(self.live)

    def show_live(self, step: int, kept: int | None) -> None:
        """The live run at `step` (its path of `kept` points, None if not fetched yet)."""
        self._place(step, step)
        known = "" if kept is None else f" (kept {kept:,} points)"
        self.words.setText(f"live: step {step:,}{known}")
        self.live_button.setEnabled(False)

    def show_replay(self, shown: int, live: int, kept: int) -> None:
        """Replaying kept step `shown` of a run now at `live`."""
        self._place(shown, live)
        self.words.setText(f"step {shown:,} of {live:,} (kept {kept:,} points)")
        self.live_button.setEnabled(True)

    def show_nothing(self, why: str) -> None:
        """No path to replay, and why."""
        self._place(0, 0)
        self.words.setText(why)
        self.live_button.setEnabled(False)

    def _place(self, value: int, maximum: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, min(maximum, LARGEST_STEP))
        self.slider.setValue(min(value, LARGEST_STEP))
        self.slider.blockSignals(False)

    def _slid(self, value: int) -> None:
        if value >= self.slider.maximum():
            self.live.emit()
        else:
            self.moved.emit(value)
