"""A tiny image data set for convolutional runs in tests: an IDX folder of 8x8 'digits' of three
classes (MNIST's layout), and a configuration that trains a small convolutional network on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdplayground.cli.flags import parse_layers
from gdplayground.config import ExperimentConfig, preset


def image_folder(folder: Path, n_train: int = 96, n_test: int = 24, seed: int = 0) -> Path:
    """n_train training and n_test test images of 8x8 pixels, labels 0-2, in MNIST's files."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 255, (n, 8, 8), dtype=np.uint8)
        labels = rng.integers(0, 3, n, dtype=np.uint8)
        for kind, array in (("images", images), ("labels", labels)):
            header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
            (folder / f"{prefix}-{kind}-idx{array.ndim}-ubyte").write_bytes(header + array.tobytes())
    return folder


def conv_config(folder: Path, layers: str = "conv3x3,pool,8") -> ExperimentConfig:
    """A small convolutional network on the images of `folder` (image_folder), Adam, batch 16."""
    config = preset("mnist")
    config.data.name, config.data.path, config.data.validation_split = "idx", str(folder), 0.0
    config.architecture.hidden = parse_layers(layers, "relu")
    config.optimizer.name, config.learning_rate.value, config.batch.size = "adam", 0.01, 16
    return config
