"""The memory a run will need, estimated before anything is built: settings that each lie within
range (32 hidden layers, 8,192 units each) can together need more than the machine has, and
NumPy would then fail halfway, or the system would start swapping, instead of saying so."""

from __future__ import annotations

import psutil

from gdplayground.config import ConfigError
from gdplayground.engine.path import path_bytes

# Copies of the parameter array a run can hold at once: weights and gradients; the optimizer's
# memory (up to two arrays, as Adam keeps; the optimizer can change without a reset) and its
# scratch; the divergence checkpoint (weights and optimizer memory) and one more snapshot of the
# same size while exporting.
PARAMETER_COPIES = 2 + 3 + 3 + 3
PATH_COPIES = 2  # the kept path, and a snapshot's copy of it while exporting or keeping the run
# The data order (an int64 index per training example): the run's, its checkpoint's and an
# export's snapshot's. 1.4 MB for MNIST: an estimate that left it out fell short of a run.
ORDER_COPIES = 3
EVAL_ROWS = 4096  # examples per evaluation pass (trainer.EVAL_CHUNK): buffers hold at least this many


def training_bytes(sizes: list[int], itemsize: int, batch: int, n_train: int, dropout: float) -> dict:
    """Bytes by purpose, for a network of `sizes` (input to output) trained on `batch`
    examples at a time out of `n_train`."""
    parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    units = sum(sizes[1:])
    rows = max(batch, EVAL_ROWS)
    per_unit = rows + batch * (1 + (2 if dropout else 0))  # outputs; gradients; dropout masks
    return {
        "parameters": parameters * PARAMETER_COPIES * itemsize,
        "activations": (units * per_unit + sizes[0] * (rows + batch)) * itemsize,
        "full batch": n_train * sizes[0] * itemsize if batch == n_train else 0,
        "kept path": path_bytes(parameters, itemsize) * PATH_COPIES,
        "data order": n_train * 8 * ORDER_COPIES,
    }


def check_fits(needed: dict, what: str, field: str, available: int | None = None) -> None:
    """Raise ConfigError, with the estimate and the memory available, if `needed` exceeds it."""
    available = psutil.virtual_memory().available if available is None else available
    total = sum(needed.values())
    if total <= available:
        return
    parts = ", ".join(f"{name} {_size(n)}" for name, n in needed.items() if n)
    raise ConfigError(f"{what} needs about {_size(total)} of memory ({parts}), but only "
                      f"{_size(available)} is available: use fewer or narrower layers, or a "
                      f"smaller batch", field)


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} bytes"
