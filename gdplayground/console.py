"""The command line's dealings with the terminal: error lines, a standard output that never
stops the work, and stop signals that end training the way Ctrl+C does."""

from __future__ import annotations

import contextlib
import os
import signal

MAX_MESSAGE = 1000  # characters of an error line


def error_line(message: str) -> str:
    """One line, however the message came about: newlines in echoed values are shown as \\n."""
    line = message.replace("\n", "\\n").replace("\r", "\\r")
    return line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 1] + "…"


class ForgivingStream:
    """Standard output that never stops the work: once the reader has gone (`… | head -2`) or
    the stream is closed, what follows goes nowhere; another failure (a full disk) is kept in
    `failure`, for main to report once the work is done."""

    def __init__(self, stream):
        self._stream, self.failure = stream, ""
        self._gone = stream is None  # `>&-`: Python has no standard output at all

    def write(self, text: str) -> int:
        self._attempt(lambda: self._stream.write(text))
        return len(text)

    def flush(self) -> None:
        self._attempt(lambda: self._stream.flush())

    def _attempt(self, action) -> None:
        if self._gone:
            return
        try:
            action()
        except OSError as exc:
            self._gone = True
            if not isinstance(exc, BrokenPipeError):
                self.failure = exc.strerror or str(exc)
            # The interpreter flushes standard output once more at exit: let that go nowhere.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def stops_as_interrupts():
    """While training, a request to stop (SIGTERM, as `timeout` and `kill` send; SIGHUP, as a
    closing terminal sends) ends training as Ctrl+C does: what was trained is saved."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    names = [name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {name: signal.signal(getattr(signal, name), interrupt) for name in names}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)
