"""What a convolutional network sees: its first convolution's filters as tiles, and for one
example every feature layer's output (its feature maps), laid out as grids the Training tab
draws. Pure NumPy: the training worker computes them between steps and sends copies."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class FeatureMaps(NamedTuple):
    """One example's way through the feature layers, at one step."""

    index: int  # the example, in its split
    label: int | None  # its class, for a classifier
    image: np.ndarray  # (H, W): the input image, as the network reads it
    maps: tuple[np.ndarray, ...]  # each feature layer's output (C, H, W), pools included
    titles: tuple[str, ...]  # "conv 1: 8 filters, 28×28", "max-pool 1: 8×14×14", …


def filter_tiles(W: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """A convolution's weights (C_out, C_in, k, k) as the weight mosaic's (pixels, units):
    one tile per filter, its input channels stacked top to bottom; and the tile's shape."""
    c_out, c_in, k, _ = W.shape
    return W.reshape(c_out, c_in * k * k).T, (c_in * k, k)


def stage_titles(features, shapes) -> tuple[str, ...]:
    """A title per feature layer (config.Layer settings) with its output shape (C, H, W)."""
    titles, counts = [], {}
    for spec, (c, h, w) in zip(features, shapes):
        counts[spec.kind] = counts.get(spec.kind, 0) + 1
        number = counts[spec.kind]
        if spec.kind == "conv":
            titles.append(f"conv {number}: {c} filters {spec.kernel}×{spec.kernel}, {h}×{w}")
        else:
            name = {"maxpool": "max-pool", "avgpool": "average pool"}[spec.kind]
            titles.append(f"{name} {number}: {c}×{h}×{w}")
    return tuple(titles)


def feature_maps_of(network, x: np.ndarray, features, index: int, label: int | None) -> FeatureMaps:
    """One forward pass of `x` (a single flat input row, scaled as the network reads it)
    through `network`; copies of every feature layer's output (the network's buffers are
    overwritten by its next pass)."""
    network.forward(np.asarray(x, network.dtype).reshape(1, -1))
    maps = tuple(stage[0].copy() for stage in network.feature_maps())
    image = np.asarray(x, np.float32).reshape(network.input_shape)[0].copy()
    return FeatureMaps(index, label, image, maps,
                       stage_titles(features, [m.shape for m in maps]))


def map_grid(maps: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Maps (C, H, W) as one image: a grid of `columns` (default: about square) maps one NaN
    pixel apart, each value divided by the largest magnitude among them all (so they read on
    one symmetric scale from -1 to 1, and a silent map stays blank); slots without a map NaN."""
    c, h, w = maps.shape
    columns = columns or math.ceil(math.sqrt(c))
    rows = math.ceil(c / columns)
    scale = float(np.max(np.abs(maps))) if maps.size else 0.0
    scaled = maps / scale if scale > 0 and math.isfinite(scale) else np.zeros_like(maps)
    grid = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan, np.float32)
    for i, image in enumerate(scaled):
        top, left = (i // columns) * (h + 1), (i % columns) * (w + 1)
        grid[top:top + h, left:left + w] = image
    return grid
