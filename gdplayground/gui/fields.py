"""Widgets bound to one configuration field each, built from the field's own metadata: its
choices become a combo box, its range the bounds of a spin box, its help the tooltip."""

from __future__ import annotations

import dataclasses

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox, QWidget

from gdplayground.config import ExperimentConfig, field_at, owner


class FieldEditor(QObject):
    """One widget editing one field; `changed` fires on user edits, never on `load`."""

    changed = Signal()

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        f = field_at(path)
        self.label = f.metadata["label"]
        self.widget = self._make_widget(f)
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
            widget = pg.SpinBox(value=f.default, bounds=(lo, hi), dec=True, step=0.5,
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
