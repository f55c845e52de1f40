"""Two-dimensional toy sets in the spirit of TensorFlow Playground, inside the square [-3, 3]².

Each maker takes the number of points, the noise (standard deviation of Gaussian jitter, in
units of the shape's radius) and a seeded generator, and returns float points (n, 2) and 0/1
labels (n,). The shapes are drawn in [-1, 1]² and scaled by SCALE: with inputs that small,
tanh units start out almost linear and a spiral takes many times longer to learn.
"""

from __future__ import annotations

import numpy as np

SCALE = 3.0


def spiral(n: int, noise: float, rng: np.random.Generator):
    """Two interleaved arms; telling them apart needs a curved boundary."""
    labels = np.arange(n) % 2
    radius = np.linspace(0.05, 1.0, n)
    angle = 1.75 * 2 * np.pi * radius + np.pi * labels
    points = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return _jitter(points, noise, rng), labels


def xor(n: int, noise: float, rng: np.random.Generator):
    """Four quadrants, opposite ones alike: no single line separates them."""
    points = rng.uniform(-1, 1, (n, 2))
    points += np.sign(points) * 0.05  # a small gap along the axes, as in the Playground
    labels = (points[:, 0] * points[:, 1] > 0).astype(np.int64)
    return _jitter(points, noise, rng), labels


def circles(n: int, noise: float, rng: np.random.Generator):
    """A disc inside a ring."""
    labels = np.arange(n) % 2
    radius = np.where(labels == 1, rng.uniform(0, 0.45, n), rng.uniform(0.65, 1.0, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    points = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return _jitter(points, noise, rng), labels


def gaussians(n: int, noise: float, rng: np.random.Generator):
    """Two blobs; a straight line separates them unless the noise makes them overlap."""
    labels = np.arange(n) % 2
    centres = np.where(labels[:, None] == 1, 0.5, -0.5)
    points = centres + rng.normal(0, 0.15, (n, 2))
    return _jitter(points, noise, rng), labels


def _jitter(points: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return (points + rng.normal(0, noise, points.shape)) * SCALE


MAKERS = {"spiral": spiral, "xor": xor, "circles": circles, "gaussians": gaussians}
