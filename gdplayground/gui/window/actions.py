"""A window's action: words, keys, a tooltip that says what it does (with its keys), a slot."""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def make_action(window: QWidget, text: str, keys: list[str], tip: str, slot: Callable) -> QAction:
    action = QAction(text, window)
    action.setShortcuts([QKeySequence(key) for key in keys])
    action.setToolTip(f"{tip} ({', '.join(keys)})" if keys else tip)
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    window.addAction(action)  # its keys work wherever the focus is in the window
    return action
