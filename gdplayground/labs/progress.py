"""Progress and Cancel for the labs' long computations, one convention for all of them: a long
loop calls `progress(done, total)` as it goes and asks `cancelled()` between two pieces of work;
when it says True the loop raises `Cancelled`, leaving its inputs as they were."""

from __future__ import annotations

from typing import Callable

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


class Cancelled(Exception):
    """A computation stopped because its `cancelled()` callback said so."""


class Meter:
    """Counts pieces of work for `progress` and asks `cancelled` before each next one."""

    def __init__(self, total: int, progress: Progress | None, cancelled: Cancel | None):
        self.total, self.done, self.progress, self.cancelled = total, 0, progress, cancelled

    def tick(self, pieces: int = 1) -> None:
        self.done += pieces
        if self.progress:
            self.progress(self.done, self.total)
        if self.cancelled and self.cancelled():
            raise Cancelled
