"""Qt helpers for any view: the application (made once, with Qt's pointless messages kept
quiet), and running the event loop until a condition holds or for a while."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

# Qt's messages that say nothing a user can act on.
QUIET_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_message)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("gdplayground")
    return app


def _qt_message(kind, context, message: str) -> None:
    if message not in QUIET_QT_MESSAGES:
        print(message, file=sys.stderr)


def wait_for(condition, timeout_s: float) -> None:
    """Run the event loop until `condition()` holds; TimeoutError after `timeout_s`."""
    loop, timer = QEventLoop(), QTimer()
    timer.timeout.connect(lambda: condition() and loop.quit())
    timer.start(20)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if not condition():
        loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the window did not get there in time")


def pause(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
