"""MNIST-format image folders: the bundled MNIST (checksum-verified) and any folder of IDX files."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from gdplayground.data.idx import DataError, decompress, parse_idx, read_bytes
from gdplayground.resources import resource_path

# Each part of the set and the file-name patterns that find it in a folder.
PARTS = {
    "train_images": ("train-images*",),
    "train_labels": ("train-labels*",),
    "test_images": ("t10k-images*", "test-images*"),
    "test_labels": ("t10k-labels*", "test-labels*"),
}
# Labels run from 0 to at most this minus one; more classes than this is likelier a corrupt file.
MAX_CLASSES = 1000


def bundled_mnist_dir() -> Path:
    return resource_path("mnist")


@functools.lru_cache(maxsize=1)
def load_bundled_mnist():
    """The bundled MNIST, checksum-verified, read once per process (the arrays are read-only)."""
    return load_image_folder(bundled_mnist_dir(), verify=True)


def load_image_folder(folder: Path, verify: bool = False):
    """Read (train_images, train_labels, test_images, test_labels) from a folder of IDX files.

    Images come back as uint8 arrays (n, rows, cols), labels as int64 (n,) below
    class_count(train_labels); all read-only, so they can be shared between runs and threads.
    With `verify`, every file is checked against SHA256SUMS.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    checksums = _read_checksums(folder) if verify else {}
    files = {}
    for part, patterns in PARTS.items():
        path = _find(folder, part, patterns)
        raw = read_bytes(path)
        if verify:
            _verify(path, raw, checksums)
        files[part] = path, parse_idx(decompress(raw, path), path)
    return _checked(files, folder)


def class_count(train_labels: np.ndarray) -> int:
    """The classes a training set defines: 0 to its largest label, and at least two (yes and no)."""
    return max(int(train_labels.max()) + 1, 2)


def _find(folder: Path, part: str, patterns: tuple[str, ...]) -> Path:
    matches = sorted(p for pattern in patterns for p in folder.glob(pattern) if p.is_file())
    if not matches:
        raise DataError(
            f"{folder}: no {part.replace('_', ' ')} file (expected a name like {patterns[0]})")
    return matches[0]


def _read_checksums(folder: Path) -> dict[str, str]:
    lines = read_bytes(folder / "SHA256SUMS").decode("ascii", "replace").splitlines()
    return {name.strip(" *"): digest for digest, _, name in (ln.partition(" ") for ln in lines if ln)}


def _verify(path: Path, raw: bytes, checksums: dict[str, str]) -> None:
    expected = checksums.get(path.name)
    if expected is None:
        raise DataError(f"{path}: not listed in SHA256SUMS")
    if hashlib.sha256(raw).hexdigest() != expected:
        raise DataError(f"{path}: SHA-256 checksum mismatch; the file is corrupt or altered")


def _checked(files: dict[str, tuple[Path, np.ndarray]], folder: Path):
    """The four arrays, each checked on its own (naming its file), then against each other."""
    train_images, test_images = _images(*files["train_images"]), _images(*files["test_images"])
    train_labels = _labels(*files["train_labels"], MAX_CLASSES, "the most classes supported")
    test_labels = _labels(*files["test_labels"], class_count(train_labels),
                          "the number of classes the training labels define")
    for split, images, labels in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        if len(images) != len(labels):
            raise DataError(f"{folder}: {split} has {len(images)} images but {len(labels)} labels")
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(f"{folder}: train and test images differ in size")
    return train_images, train_labels, test_images, test_labels


def _images(path: Path, images: np.ndarray) -> np.ndarray:
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{path}: images must be uint8 with 3 dimensions "
                        f"(got {images.dtype}, shape {images.shape})")
    if len(images) == 0:
        raise DataError(f"{path}: holds no examples")
    if 0 in images.shape[1:]:
        raise DataError(f"{path}: images of {images.shape[1]}x{images.shape[2]} pixels")
    return images


def _labels(path: Path, labels: np.ndarray, n_classes: int, why: str) -> np.ndarray:
    """Read-only int64 labels, each a whole number below `n_classes`; the first bad one is named."""
    if labels.ndim != 1:
        raise DataError(f"{path}: labels must have 1 dimension (got {labels.ndim})")
    if len(labels) == 0:
        raise DataError(f"{path}: holds no examples")
    for bad, problem in ((labels != np.trunc(labels), "is not a whole number"),  # NaN too
                         (labels < 0, "is negative"),
                         (labels >= n_classes, f"is not below {n_classes}, {why}")):
        if bad.any():
            index = int(bad.argmax())
            raise DataError(f"{path}: label {labels[index]} at index {index} {problem}")
    labels = labels.astype(np.int64)
    labels.flags.writeable = False
    return labels
