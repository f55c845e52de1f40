"""The IDX reader and image folders: good files load, every kind of bad file is refused by name."""

import gzip
import shutil

import numpy as np
import pytest

from gdplayground.data import DataError, read_idx
from gdplayground.data.mnist import bundled_mnist_dir, load_image_folder


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data: bytes, compress=False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_reads_raw_and_gzip(tmp_path, compress):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path / "x-idx3-ubyte", idx_bytes(images), compress)
    np.testing.assert_array_equal(read_idx(path), images)


def test_reads_big_endian_floats_as_native(tmp_path):
    values = np.array([1.5, -2.25], dtype=np.float32)
    got = read_idx(write(tmp_path / "f.idx", idx_bytes(values, 0x0D)))
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, values)


GOOD = idx_bytes(np.zeros((2, 2, 2), np.uint8))


@pytest.mark.parametrize("data, problem", [
    (b"\x00\x00", "too short"),
    (b"\x01\x02" + GOOD[2:], "not an IDX file"),
    (b"\x00\x00\x07\x03" + GOOD[4:], "not an IDX file"),
    (b"\x00\x00\x08\x00", "zero dimensions"),
    (GOOD[:6], "truncated IDX header"),
    (GOOD[:-1], "truncated: header says 2x2x2"),
    (GOOD + b"\x00", "trailing bytes"),
])
def test_corrupt_files_are_refused_with_file_and_problem(tmp_path, data, problem):
    path = write(tmp_path / "bad-idx3-ubyte", data)
    with pytest.raises(DataError, match=problem) as info:
        read_idx(path)
    assert "bad-idx3-ubyte" in str(info.value)


def test_truncated_gzip_is_refused(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(GOOD * 100)[:-30])
    with pytest.raises(DataError, match=r"cut.gz: corrupt or truncated gzip"):
        read_idx(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="cannot read .*nothing-here"):
        read_idx(tmp_path / "nothing-here")


def make_folder(tmp_path, n_train=5, n_train_labels=5):
    rng = np.random.default_rng(0)
    for prefix, n, n_labels in (("train", n_train, n_train_labels), ("t10k", 3, 3)):
        write(tmp_path / f"{prefix}-images-idx3-ubyte.gz",
              idx_bytes(rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)), compress=True)
        write(tmp_path / f"{prefix}-labels-idx1-ubyte.gz",
              idx_bytes(rng.integers(0, 10, n_labels, dtype=np.uint8)), compress=True)
    return tmp_path


def test_image_folder_loads(tmp_path):
    x_train, y_train, x_test, y_test = load_image_folder(make_folder(tmp_path))
    assert x_train.shape == (5, 28, 28) and y_test.shape == (3,)


def test_image_and_label_counts_must_match(tmp_path):
    with pytest.raises(DataError, match="train has 5 images but 4 labels"):
        load_image_folder(make_folder(tmp_path, n_train_labels=4))


def test_folder_without_test_files_is_refused(tmp_path):
    folder = make_folder(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="no test labels file"):
        load_image_folder(folder)


def test_bundled_mnist_is_complete_and_verified():
    x_train, y_train, x_test, y_test = load_image_folder(bundled_mnist_dir(), verify=True)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    # The class counts published with the data (resources/mnist/README.md).
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_altered_mnist_fails_its_checksum(tmp_path):
    folder = tmp_path / "mnist"
    shutil.copytree(bundled_mnist_dir(), folder)
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(labels.read_bytes()))
    data[-1] = (data[-1] + 1) % 10  # one label changed, still a valid IDX file
    labels.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: SHA-256 checksum mismatch"):
        load_image_folder(folder, verify=True)
