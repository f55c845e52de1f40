"""The message line at the top of the window. Each message belongs to what caused it, its kind,
and goes when that is over: a problem of the run (a divergence, settings the worker refused)
when training goes on or a new run starts; a file that could not be opened when one opens, one
that could not be written when a write succeeds; a note (the presets a data set brought) at
the next edit. A message shows where it applies: on one tab, or on every tab. Of the messages
that apply to the tab in view, the newest shows."""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtWidgets import QLabel, QWidget

STYLES = {
    "problem": "background:#fdecea; color:#8a1c12; padding:6px; border:1px solid #f5c2bd;",
    "note": "background:#e8f1fb; color:#0b3d6e; padding:6px; border:1px solid #b9d3ef;",
}


class Message(NamedTuple):
    text: str
    where: QWidget | None  # the tab it applies to; None: every tab


class Banner(QLabel):
    def __init__(self):
        super().__init__()
        self.setWordWrap(True)
        self.kind = ""  # of the message on show
        self._messages: dict[str, Message] = {}  # by kind, oldest first
        self._in_view: QWidget | None = None
        self.hide()

    def say(self, text: str, kind: str, where: QWidget | None = None) -> None:
        """Show `text`, of a `kind` ("note" for a note, any other for a problem), on the tab
        `where` (None: every tab). It replaces the message of its kind."""
        self._messages.pop(kind, None)
        self._messages[kind] = Message(text, where)
        self._show_newest()

    def clear(self, kind: str) -> None:
        """The cause of messages of this kind is over."""
        if self._messages.pop(kind, None) is not None:
            self._show_newest()

    def show_for(self, tab: QWidget | None) -> None:
        """The tab in view changed: show what applies to it."""
        self._in_view = tab
        self._show_newest()

    def _show_newest(self) -> None:
        shown = [(kind, message) for kind, message in self._messages.items()
                 if message.where in (None, self._in_view)]
        if not shown:
            self.kind = ""
            self.hide()
            return
        self.kind, message = shown[-1]
        self.setStyleSheet(STYLES["note" if self.kind == "note" else "problem"])
        self.setText(message.text)
        self.show()
