"""A question that comes with a list: every setting a file or a data set would change, all of them,
scrollable, in the panels' words."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QLabel, QListWidget, QVBoxLayout, QWidget)


def ask_with_list(parent: QWidget, title: str, text: str, items: list[str], question: str) -> bool:
    """True if the user answers OK to `question` after `text` and the list of `items`."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    intro = QLabel(text)
    intro.setWordWrap(True)
    layout.addWidget(intro)
    if items:
        listing = QListWidget()
        listing.addItems(items)
        listing.setMinimumWidth(480)
        layout.addWidget(listing)
    layout.addWidget(QLabel(question))
    buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return dialog.exec() == QDialog.Accepted
