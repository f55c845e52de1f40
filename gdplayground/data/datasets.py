"""Datasets by name: what the engine trains on, split into train, validation and test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdplayground.config import DataConfig, TABLE_FILES, TOY_DATASETS
from gdplayground.data import toy
from gdplayground.data.mnist import class_count, load_bundled_mnist, load_image_folder
from gdplayground.data.idx import DataError
from gdplayground.data.table import Preparation, Table, read_table
from gdplayground.resources import resource_path

# The linear system A x = Y, learned as one linear unit whose weights are x.
LINEAR_SYSTEM_A = np.array([[5, 1, -1], [2, -1, 1], [1, 3, -2]], dtype=np.float64)
LINEAR_SYSTEM_Y = np.array([1, 4, 0], dtype=np.float64)


@dataclass(frozen=True)
class Split:
    """Inputs x (n, features), raw as stored, and targets y: int class labels (n,) or floats (n, k)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    validation: Split
    test: Split
    n_classes: int | None  # None for regression targets
    input_scale: float = 1.0  # features = x * input_scale (1/255 turns uint8 pixels into [0, 1])
    image_shape: tuple[int, int] | None = None
    preparation: Preparation | None = None  # a table's: how its raw rows became x and y

    @property
    def n_features(self) -> int:
        return self.train.x.shape[1]

    @property
    def n_targets(self) -> int:
        return self.train.y.shape[1] if self.n_classes is None else self.n_classes

    def loss_in_units(self, mse: float) -> float:
        """The mean squared error in the target's own units squared of a regression whose loss
        (on the standardised target of a table) is `mse`: what summary.json's test_loss holds."""
        spread = self.preparation.target_spread if self.preparation else 1.0
        return mse * spread**2

    @property
    def is_table_regression(self) -> bool:
        """A table with a real-valued label: trained on its standardised label, so its errors
        are told in the label's units."""
        return self.preparation is not None and self.n_classes is None

    def test_summary(self, loss: float, accuracy: float | None) -> dict:
        """summary.json's test figures from the network's test loss and accuracy (none for a
        NaN loss: no test split): a regression table's loss in its label's units squared, its
        root (test_rmse) beside it."""
        if loss != loss:
            return {}
        figures = {"test_loss": self.loss_in_units(loss), "test_accuracy": accuracy}
        if self.is_table_regression:
            figures["test_rmse"] = self.error_in_units(loss)
        return figures

    def error_in_units(self, mse: float) -> float:
        """The root-mean-square error in the target's own units of a regression whose mean
        squared error (the loss, on the standardised target of a table) is `mse`."""
        spread = self.preparation.target_spread if self.preparation else 1.0
        return float(np.sqrt(mse)) * spread


Source = tuple | Table | None  # what a data set's files hold, as read: see read_source


def load_dataset(config: DataConfig, seed: int, preparation: Preparation | None = None,
                 source: Source = None) -> Dataset:
    """Build the dataset a configuration names; raise DataError for unusable files. A table is
    prepared as `preparation` says (a trained network's), or as fitted on its training rows.
    `source` is what `read_source(config)` gave, read once for many seeds (a sweep's workers are
    sent it rather than the files, which a cluster's machines may not have)."""
    if config.name == "linear-system":
        system = Split(LINEAR_SYSTEM_A, LINEAR_SYSTEM_Y[:, None])
        return Dataset("linear-system", system, _empty(system), _empty(system), None)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xDA7A]))
    if config.name in TOY_DATASETS:
        return _toy(config, rng)
    source = source if source is not None else read_source(config, preparation)
    if config.is_table:
        return _table(config, source, rng, preparation)
    x_train, y_train, x_test, y_test = source
    if config.name == "mnist-binary":
        (x_train, y_train), (x_test, y_test) = (_only_digits(x_train, y_train, (0, 1)),
                                                _only_digits(x_test, y_test, (0, 1)))
    image_shape = x_train.shape[1:]
    train, validation = _carve(Split(_flat(x_train), y_train), config.validation_split, rng)
    name = Path(config.path).name if config.name == "idx" else config.name
    return Dataset(name, train, validation, Split(_flat(x_test), y_test), class_count(y_train),
                   1 / 255, image_shape)


def read_source(config: DataConfig, preparation: Preparation | None = None) -> Source:
    """What a configuration's files hold, read and checked, before any seed splits it: a
    table, the four arrays of an image folder (MNIST's, read once a process), or None for the
    data sets drawn from the seed."""
    if config.name in TOY_DATASETS or config.name == "linear-system":
        return None
    if config.is_table:
        target = preparation.target if preparation else config.target
        return read_table(table_path(config), target, config.missing)
    return load_image_folder(Path(config.path)) if config.name == "idx" else load_bundled_mnist()


def _toy(config: DataConfig, rng: np.random.Generator) -> Dataset:
    x, y = toy.MAKERS[config.name](config.samples, config.noise, rng)
    order = rng.permutation(len(x))
    n_test = int(round(len(x) * config.test_fraction))
    test, rest = Split(x[order[:n_test]], y[order[:n_test]]), Split(x[order[n_test:]], y[order[n_test:]])
    train, validation = _carve(rest, config.validation_split, rng)
    return Dataset(config.name, train, validation, test, n_classes=2)


def table_path(config: DataConfig) -> Path:
    """The file a table dataset reads: a shipped table's, or the one the configuration names."""
    return resource_path("tables", TABLE_FILES[config.name]) if config.name in TABLE_FILES \
        else Path(config.path)


def _table(config: DataConfig, table: Table, rng: np.random.Generator,
           preparation: Preparation | None) -> Dataset:
    order = rng.permutation(len(table))
    n_test = int(round(len(table) * config.test_fraction))
    test, rest = table.rows(np.sort(order[:n_test])), table.rows(np.sort(order[n_test:]))
    n_val = int(round(len(rest) * config.validation_split))
    held = rng.permutation(len(rest))
    train, validation = rest.rows(np.sort(held[n_val:])), rest.rows(np.sort(held[:n_val]))
    if not len(test) or len(train) < 2:
        raise DataError(f"{table.source}: {len(table)} row{'s' * (len(table) != 1)} are too few "
                        f"to split into training and test rows (test fraction "
                        f"{config.test_fraction:g}, validation split {config.validation_split:g})")
    preparation = preparation or Preparation.fit(table, train)

    def split(part: Table) -> Split:
        return Split(preparation.features(part), preparation.targets(part))
    n_classes = None if preparation.classes is None else len(preparation.classes)
    return Dataset(table.source, split(train), split(validation), split(test), n_classes,
                   preparation=preparation)


def _carve(split: Split, fraction: float, rng: np.random.Generator) -> tuple[Split, Split]:
    """Hold out a seeded random `fraction` of a split for validation."""
    n_val = int(round(len(split) * fraction))
    order = rng.permutation(len(split))
    keep, held = np.sort(order[n_val:]), np.sort(order[:n_val])
    return Split(split.x[keep], split.y[keep]), Split(split.x[held], split.y[held])


def _only_digits(images: np.ndarray, labels: np.ndarray, digits: tuple[int, ...]):
    keep = np.isin(labels, digits)
    return images[keep], labels[keep]


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1)


def _empty(split: Split) -> Split:
    return Split(split.x[:0], split.y[:0])
