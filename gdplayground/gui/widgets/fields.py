"""Widgets bound to one configuration field each, built from the field's own metadata: its
choices become a combo box, its range the bounds of a spin box, its help the tooltip."""

from __future__ import annotations

import dataclasses
import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox, QToolTip, QWidget

from gdplayground.config import ExperimentConfig, field_at, owner


# Keys that belong to the window's run controls (Play, Step), never to a field: in a number, a
# list, a check box or a button, Space, N or Right would type nothing useful (or press the
# button again), and a learner expects them to run the network.
CONTROL_KEYS = (Qt.Key_Space, Qt.Key_N, Qt.Key_Right)


class FieldGuard(QObject):
    """What a field of the side panel leaves to others. The mouse wheel: a field takes it only
    once it has focus, so that scrolling the panel past a list or a number does not change it
    (Adam silently became RMSprop); the panel scrolls instead. And CONTROL_KEYS: they reach
    the run controls, after the number being typed is committed."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Wheel and not obj.hasFocus():
            event.ignore()  # unaccepted, it travels on to the parent: the scroll area
            return True
        if (event.type() == QEvent.ShortcutOverride and event.key() in CONTROL_KEYS
                and not event.modifiers() & ~Qt.KeypadModifier):
            obj.clearFocus()  # leaving the field commits what was typed in it
            return True  # the field does not claim the key, so the window's shortcut fires
        return False


def guard_field(widget: QWidget) -> QWidget:
    """Give a field the FieldGuard's manners (see there); returns it. The guard sits on the
    field alone: on the whole application it would call into Python for every event."""
    widget.setFocusPolicy(Qt.StrongFocus)
    widget.installEventFilter(FieldGuard(widget))
    return widget


class NumberField(pg.SpinBox):
    """A decimal field that says when it brought a number typed beyond its bounds within them
    (leaving the field with 0 in the learning rate made it 0.000001 without a word)."""

    def editingFinishedEvent(self) -> None:
        try:
            typed = self.interpret()
        except Exception:  # noqa: BLE001 - text pg.SpinBox itself cannot read: it keeps the value
            typed = False
        super().editingFinishedEvent()
        if typed is not False and not self.valueInRange(typed):
            low, high = (float(bound) for bound in self.opts["bounds"])
            QToolTip.showText(self.mapToGlobal(QPoint(0, self.height())),
                              f"{float(typed):g} is out of range ({low:g} to {high:g}): set to "
                              f"{self.value():g}", self)


class FieldEditor(QObject):
    """One widget editing one field; `changed` fires on user edits, never on `load`."""

    changed = Signal()

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        f = field_at(path)
        self.label = f.metadata["label"]
        self.widget = guard_field(self._make_widget(f))
        self.widget.setToolTip(f.metadata.get("help", ""))

    def _make_widget(self, f: dataclasses.Field) -> QWidget:
        if "choices" in f.metadata:
            widget = QComboBox()
            for choice, words in f.metadata["words"].items():
                widget.addItem(words, choice)
            widget.currentIndexChanged.connect(self.changed)
        elif isinstance(f.default, bool):
            widget = QCheckBox()
            widget.toggled.connect(self.changed)
        elif isinstance(f.default, int):
            widget = QSpinBox()
            lo, hi = f.metadata["range"]
            widget.setRange(lo, min(hi, 2**31 - 1))
            widget.setKeyboardTracking(False)  # typed numbers count when Enter is pressed
            widget.valueChanged.connect(self.changed)
        else:
            lo, hi = f.metadata["range"]
            lowest = math.nextafter(lo, math.inf) if f.metadata["lo_open"] else lo  # (0, 1]: no 0
            widget = NumberField(value=f.default, bounds=(lowest, hi), dec=True, step=0.5,
                                 minStep=1e-12, decimals=4, compactHeight=False)
            widget.sigValueChanged.connect(self.changed)
        return widget

    @property
    def value(self):
        w = self.widget
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        return int(w.value()) if isinstance(w, QSpinBox) else float(w.value())

    def set_value(self, value) -> None:
        """Show a value without reporting it as a user edit."""
        w = self.widget
        w.blockSignals(True)
        try:
            if isinstance(w, QComboBox):
                w.setCurrentIndex(max(w.findData(value), 0))
            elif isinstance(w, QCheckBox):
                w.setChecked(value)
            else:
                w.setValue(value)
        finally:
            w.blockSignals(False)

    def load(self, config: ExperimentConfig) -> None:
        section, name = owner(config, self.path)
        self.set_value(getattr(section, name))

    def store(self, config: ExperimentConfig) -> None:
        section, name = owner(config, self.path)
        setattr(section, name, self.value)
