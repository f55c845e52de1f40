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


def bundled_mnist_dir() -> Path:
    return resource_path("mnist")


@functools.lru_cache(maxsize=1)
def load_bundled_mnist():
    """The bundled MNIST, checksum-verified, read once per process (the arrays are read-only)."""
    return load_image_folder(bundled_mnist_dir(), verify=True)


def load_image_folder(folder: Path, verify: bool = False):
    """Read (train_images, train_labels, test_images, test_labels) from a folder of IDX files.

    Images come back as uint8 arrays (n, rows, cols), labels as int64 (n,); all read-only, so
    they can be shared between runs and threads. With `verify`, every file is checked against SHA256SUMS.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    checksums = _read_checksums(folder) if verify else {}
    arrays = {}
    for part, patterns in PARTS.items():
        path = _find(folder, part, patterns)
        raw = read_bytes(path)
        if verify:
            _verify(path, raw, checksums)
        arrays[part] = parse_idx(decompress(raw, path), path)
    return _checked_pairs(arrays, folder)


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


def _checked_pairs(arrays: dict[str, np.ndarray], folder: Path):
    result = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(
                f"{folder}: {split} images must be uint8 with 3 dimensions "
                f"(got {images.dtype}, shape {images.shape})")
        if labels.ndim != 1:
            raise DataError(f"{folder}: {split} labels must have 1 dimension (got {labels.ndim})")
        if len(images) != len(labels):
            raise DataError(
                f"{folder}: {split} has {len(images)} images but {len(labels)} labels")
        labels = labels.astype(np.int64)
        labels.flags.writeable = False
        result += [images, labels]
    if result[0].shape[1:] != result[2].shape[1:]:
        raise DataError(f"{folder}: train and test images differ in size")
    return tuple(result)
