"""The coach's panel: what the coach (labs/diagnostics.py) has seen in the run, newest first,
each with its evidence, what to try, and a button that shows on the plots where it began.

Laid out for a narrow column (some 300 pixels): every text wraps, and the list scrolls.
"""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from gdplayground.labs.diagnostics import NAMES, Diagnosis

PLACEHOLDER = ("No problems seen so far: the coach names divergence, oscillation, plateaus, "
               "vanishing or exploding gradients, saturated or dead units, overfitting, and a "
               "learning rate brought to zero.")
TITLES = {"rate-zero": "Learning rate at zero"}  # the rest: the name in words ("Dead units")
ENTRY_STYLE = "QFrame#diagnosis { border-left: 3px solid #c0392b; background: palette(base); }"
LINK_STYLE = "QPushButton { border: none; color: palette(link); text-align: left; padding: 0; }"


def title(name: str) -> str:
    """A diagnosis's name as the panel shows it: "vanishing-gradients" → "Vanishing gradients"."""
    return TITLES.get(name, name.replace("-", " ").capitalize())


def sentence(text: str) -> str:
    """The coach's lower-case phrase as a sentence: capitalised, with a full stop."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


class CoachPanel(QWidget):
    """The diagnoses of the run so far, newest first. `show_step` carries the step a diagnosis
    began at, when its button is pressed, for the plots to show."""

    show_step = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: palette(mid);")
        self._list = QVBoxLayout()
        self._list.setContentsMargins(0, 0, 6, 0)  # text clear of the window's right edge
        self._list.addWidget(self.placeholder)
        self._list.addStretch(1)  # entries stay at the top however few they are
        content = QWidget()
        content.setLayout(self._list)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)  # the content takes the view's width, so labels wrap
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self._diagnoses: list[Diagnosis] = []  # newest first, as shown

    @property
    def diagnoses(self) -> list[Diagnosis]:
        """The diagnoses on show, newest first."""
        return list(self._diagnoses)

    def add(self, diagnoses: Iterable[Diagnosis]) -> None:
        """Show new diagnoses above those already there; of those that come together, the
        most urgent (NAMES' order: divergence first) on top."""
        for diagnosis in sorted(diagnoses, key=lambda d: NAMES.index(d.name), reverse=True):
            self._list.insertWidget(0, self._entry(diagnosis))
            self._diagnoses.insert(0, diagnosis)
        self.placeholder.setVisible(not self._diagnoses)

    def clear(self) -> None:
        """Forget every diagnosis: a new run has begun."""
        for _ in self._diagnoses:
            entry = self._list.takeAt(0).widget()
            entry.hide()
            entry.deleteLater()
        self._diagnoses.clear()
        self.placeholder.show()

    def _entry(self, diagnosis: Diagnosis) -> QFrame:
        entry = QFrame()
        entry.setObjectName("diagnosis")
        entry.setStyleSheet(ENTRY_STYLE)
        heading = QLabel(f"<b>{title(diagnosis.name)}</b> &nbsp;from step {diagnosis.step:,}")
        heading.setToolTip(diagnosis.name)
        evidence, suggestion = QLabel(sentence(diagnosis.evidence)), QLabel(sentence(diagnosis.suggestion))
        suggestion.setStyleSheet("font-style: italic;")
        show = QPushButton(f"Show step {diagnosis.step:,} on the plots")
        show.setStyleSheet(LINK_STYLE)
        show.setCursor(Qt.PointingHandCursor)
        show.clicked.connect(lambda: self.show_step.emit(diagnosis.step))
        layout = QVBoxLayout(entry)
        layout.setContentsMargins(8, 4, 4, 4)
        evidence.setTextFormat(Qt.PlainText)
        suggestion.setTextFormat(Qt.PlainText)
        for label in (heading, evidence, suggestion):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)  # to copy the numbers
            layout.addWidget(label)
        layout.addWidget(show)
        return entry
