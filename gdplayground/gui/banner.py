"""The message line at the top of the window. Each message belongs to what caused it, and goes
when that is over: a problem of the run (a divergence, settings the worker refused) when training
goes on or a new run starts; a problem with a file when a file operation succeeds; a note (the
presets a data set brought) at the next edit."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

STYLES = {
    "problem": "background:#fdecea; color:#8a1c12; padding:6px; border:1px solid #f5c2bd;",
    "note": "background:#e8f1fb; color:#0b3d6e; padding:6px; border:1px solid #b9d3ef;",
}


class Banner(QLabel):
    def __init__(self):
        super().__init__()
        self.setWordWrap(True)
        self.kind = ""
        self.hide()

    def say(self, text: str, kind: str) -> None:
        """Show `text`, a problem of the "run" or a "file" (or of its own kind), or a "note"."""
        self.kind = kind
        self.setStyleSheet(STYLES["note" if kind == "note" else "problem"])
        self.setText(text)
        self.show()

    def clear(self, kind: str) -> None:
        """The cause of messages of this kind is over: hide the one on show, if it is one."""
        if self.kind == kind:
            self.kind = ""
            self.hide()
