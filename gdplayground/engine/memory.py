"""The memory a run will need, estimated before anything is built: settings that each lie within
range (32 hidden layers, 8,192 units each) can together need more than the machine has, and
NumPy would then fail halfway, or the system would start swapping, instead of saying so."""

from __future__ import annotations

import numpy as np
import psutil

from gdplayground.config import ConfigError
from gdplayground.engine.conv import conv_padding, feature_shapes
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
EVAL_ROWS = 4096  # examples per evaluation pass of a dense network: buffers hold at least this many
# A network with convolutions keeps its im2col columns for every example of a pass (350 KB an
# MNIST image for conv8x5,pool,conv16x5,pool): its evaluation passes hold at most this much.
FEATURE_EVAL_BYTES = 128_000_000


def training_bytes(sizes: list[int], itemsize: int, batch: int, n_train: int, dropout: float,
                   features=(), input_shape=None) -> dict:
    """Bytes by purpose, for a network of dense `sizes` (input to output), after `features`
    (convolutions and pools on inputs of `input_shape`), trained on `batch` examples at a time
    out of `n_train`."""
    forward, backward, feature_parameters = feature_floats(features, input_shape)
    parameters = feature_parameters + sum(n_in * n_out + n_out
                                          for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    units = sum(sizes[1:])
    rows = max(batch, evaluation_rows(forward, itemsize))
    per_unit = rows + batch * (1 + (2 if dropout else 0))  # outputs; gradients; dropout masks
    n_in = int(np.prod(input_shape)) if features else sizes[0]
    return {
        "parameters": parameters * PARAMETER_COPIES * itemsize,
        "activations": (units * per_unit + n_in * (rows + batch)) * itemsize,
        "feature maps": (forward * rows + backward * batch) * itemsize,
        "full batch": n_train * n_in * itemsize if batch == n_train else 0,
        "kept path": path_bytes(parameters, itemsize) * PATH_COPIES,
        "data order": n_train * 8 * ORDER_COPIES,
    }


def evaluation_rows(feature_floats_per_row: int, itemsize: int) -> int:
    """Examples per evaluation pass: EVAL_ROWS, fewer where feature layers' buffers would
    pass FEATURE_EVAL_BYTES."""
    if not feature_floats_per_row:
        return EVAL_ROWS
    return int(np.clip(FEATURE_EVAL_BYTES // (feature_floats_per_row * itemsize), 1, EVAL_ROWS))


def feature_floats(features, input_shape) -> tuple[int, int, int]:
    """(forward, backward, parameters): values per example the feature layers' buffers hold in
    a forward pass and in a backward pass (engine.conv's workspace arrays), and their weights."""
    forward = backward = parameters = 0
    if not features:
        return 0, 0, 0
    c, h, w = input_shape
    for spec, (c_out, h_out, w_out) in zip(features, feature_shapes(features, input_shape)):
        out = c_out * h_out * w_out
        if spec.kind == "conv":
            pad = conv_padding(spec.kernel, spec.padding)
            padded, cols = c * (h + 2 * pad) * (w + 2 * pad), c * spec.kernel**2 * h_out * w_out
            forward += padded + cols + 3 * out  # product, output, dropped output
            backward += 2 * out + cols + padded + c * h * w  # gradient, mask, columns', input's
            parameters += c_out * c * spec.kernel**2 + c_out
        else:  # pairs, output and their masks; the pairs' and input's gradients
            forward += 4 * out
            backward += 2 * out + c * h * w
        c, h, w = c_out, h_out, w_out
    return forward, backward, parameters


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
