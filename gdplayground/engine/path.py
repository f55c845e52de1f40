"""The path a run took: its initial weights and a bounded set of weights along the way, for the
views that look back (the landscape's line and path, the replay, the sharpness over the run).

Points are kept evenly spaced in steps: every `stride` steps from the first. When the path is
full, every other point is dropped and the stride doubles, so a run of any length keeps between
half and all of its capacity, spread over the whole run. The capacity is PATH_POINTS, or fewer
for a network so large that PATH_BYTES would not hold that many copies of its weights: none at
all for one whose weights alone take more (its path is empty, and the views say why).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PATH_POINTS = 128  # points a path keeps at most, the initial weights among them
PATH_BYTES = 96 * 2**20  # memory a path may take: 102 copies of a 784-256-128-10 network's weights
# What a path kept beyond its run may take (a weight file, a sweep's run): up to 50 kept runs
# of MNIST at 96 MB each would fill 5 GB; at this, 17 points of its default network.
STORED_PATH_BYTES = 16 * 2**20
# A copy of a large network's weights costs a few percent of one of its steps (0.94 MB: 0.3 ms,
# its pages touched for the first time, against a 4.7 ms step of 128 digits), so its path
# starts sparser: every 2**k-th step, for points of 2**k times this many bytes.
FIRST_STRIDE_BYTES = 2**18


def path_capacity(n_parameters: int, itemsize: int) -> int:
    """How many points a path of a network with `n_parameters` weights of `itemsize` bytes keeps."""
    return int(min(PATH_BYTES // max(n_parameters * itemsize, 1), PATH_POINTS))


def path_bytes(n_parameters: int, itemsize: int) -> int:
    """The most memory such a path takes."""
    return path_capacity(n_parameters, itemsize) * n_parameters * itemsize


def first_stride(point_bytes: int) -> int:
    """The spacing a path starts at: 1, or the power of two FIRST_STRIDE_BYTES calls for."""
    return 1 << max(0, math.ceil(math.log2(max(point_bytes, 1) / FIRST_STRIDE_BYTES)))


@dataclass(frozen=True)
class KeptPath:
    """A copy of a path: `steps` (k,) increasing, evenly spaced after the first; `weights`
    (k, n_parameters), row i the network's flat parameter array (Network.flat: layer1.weight,
    layer1.bias, layer2.weight, …) after step steps[i]; `rates` (k,) the learning rate that
    step was taken with (the first point's: the rate of the step after it)."""

    steps: np.ndarray
    weights: np.ndarray
    rates: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)

    def until(self, step: int) -> KeptPath:
        """The points at or before `step`."""
        k = int(np.searchsorted(self.steps, step, side="right"))
        return KeptPath(self.steps[:k], self.weights[:k], self.rates[:k])

    def thinned(self, most: int) -> KeptPath:
        """At most `most` points, still evenly spaced after the first: every m-th from the
        first, m the least that leaves no more (none at all for `most` 0)."""
        if len(self) <= most:
            return self
        keep = np.arange(0, len(self), -(-len(self) // most)) if most > 0 else []
        return KeptPath(self.steps[keep], self.weights[keep], self.rates[keep])

    def stored(self, most_bytes: int | None = None) -> KeptPath:
        """Thinned to `most_bytes` (STORED_PATH_BYTES if None), to outlive its run: empty if not
        even one point fits."""
        point = self.weights.shape[1] * self.weights.itemsize if self.weights.ndim == 2 else 0
        return self.thinned((most_bytes or STORED_PATH_BYTES) // max(point, 1))


class WeightPath:
    """The path being kept while a run trains: `offer` after every step, cheap when nothing is
    due (one subtraction); a copy of the weights when a point is."""

    def __init__(self, step: int, weights: np.ndarray, rate: float,
                 capacity: int | None = None):
        capacity = path_capacity(weights.size, weights.itemsize) if capacity is None else capacity
        self.capacity, self.stride, self.count = capacity, first_stride(weights.nbytes), 0
        self._steps = np.zeros(capacity, np.int64)
        self._rates = np.zeros(capacity, np.float64)
        self._weights = np.empty((capacity, weights.size), weights.dtype)  # pages come as used
        self._last = step
        if capacity:
            self._append(step, weights, rate)

    @classmethod
    def resumed(cls, kept: KeptPath, capacity: int | None = None) -> WeightPath:
        """A path going on from a kept one (from a weight file, say): its points as they are
        (thinned if more than `capacity`), then more at the spacing of its last two, which is
        the stride it was kept at (the first point may lie further back: a run restored
        without its path keeps its own initial weights). An empty one goes on keeping nothing."""
        n, dtype = kept.weights.shape[1], kept.weights.dtype
        capacity = path_capacity(n, dtype.itemsize) if capacity is None else capacity
        kept = kept.thinned(capacity)
        if not len(kept):
            return cls(0, np.zeros(n, dtype), 0.0, capacity=0)
        path = cls(int(kept.steps[0]), kept.weights[0], float(kept.rates[0]), capacity)
        k = path.count = len(kept)
        path._steps[:k], path._weights[:k], path._rates[:k] = kept.steps, kept.weights, kept.rates
        path._last = int(kept.steps[-1])
        path.stride = int(kept.steps[-1] - kept.steps[-2]) if k > 1 else path.stride
        return path

    def offer(self, step: int, weights: np.ndarray, rate: float) -> None:
        """Keep the weights after `step`, taken at learning rate `rate`, if a point is due."""
        if step - self._last < self.stride or self.capacity < 2:
            return
        if self.count == self.capacity:
            self._thin()
            if step - self._last < self.stride:
                return
        self._append(step, weights, rate)

    def truncate(self, step: int) -> None:
        """Forget the points after `step` (a run rolled back to it); the first always stays."""
        if self.count:
            self.count = max(1, int(np.searchsorted(self._steps[:self.count], step, side="right")))
            self._last = int(self._steps[self.count - 1])

    def kept(self) -> KeptPath:
        """A copy of the points kept so far."""
        k = self.count
        return KeptPath(self._steps[:k].copy(), self._weights[:k].copy(), self._rates[:k].copy())

    def _append(self, step: int, weights: np.ndarray, rate: float) -> None:
        self._steps[self.count], self._rates[self.count] = step, rate
        self._weights[self.count] = weights.reshape(-1)
        self.count += 1
        self._last = step

    def _thin(self) -> None:
        """Drop every other point after the first, and double the spacing."""
        keep = np.arange(0, self.count, 2)
        self._steps[:len(keep)] = self._steps[keep]
        self._rates[:len(keep)] = self._rates[keep]
        self._weights[:len(keep)] = self._weights[keep]
        self.count, self.stride = len(keep), self.stride * 2
        self._last = int(self._steps[self.count - 1])
