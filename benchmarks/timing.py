"""Timers wrapped around existing functions, and taken off again: the profiles here measure the
real code rather than a copy of it."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager


@contextmanager
def timed(parts: dict[tuple[object, str], str], clock=time.perf_counter):
    """Within the block, every call to `owner.name` adds its duration (by `clock`) and a count
    under its label; yields the (seconds, calls) dictionaries, filled as calls come."""
    seconds, calls = defaultdict(float), defaultdict(int)
    originals = {part: getattr(*part) for part in parts}
    for (owner, name), label in parts.items():
        setattr(owner, name, _wrap(originals[owner, name], label, clock, seconds, calls))
    try:
        yield seconds, calls
    finally:
        for (owner, name), function in originals.items():
            setattr(owner, name, function)


def _wrap(function, label, clock, seconds, calls):
    def wrapped(*args, **kwargs):
        start = clock()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[label] += clock() - start
            calls[label] += 1
    return wrapped
