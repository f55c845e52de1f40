"""The IDX reader and image folders: good files load, every kind of bad file is refused by name."""

import gzip
import shutil
import tracemalloc
import zlib

import numpy as np
import pytest

from gdplayground.config import DataConfig
from gdplayground.data import DataError, idx, load_dataset, read_idx
from gdplayground.data.mnist import bundled_mnist_dir, load_image_folder

TYPE_CODES = {dtype.newbyteorder("="): code for code, dtype in idx.IDX_TYPES.items()}


def header_bytes(shape: tuple[int, ...], type_code: int = 0x08) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + np.array(shape, ">u4").tobytes()


def idx_bytes(array: np.ndarray) -> bytes:
    header = header_bytes(array.shape, TYPE_CODES[array.dtype])
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
    got = read_idx(write(tmp_path / "f.idx", idx_bytes(values)))
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
@pytest.mark.parametrize("compress", [False, True])
def test_corrupt_files_are_refused_with_file_and_problem(tmp_path, data, problem, compress):
    path = write(tmp_path / "bad-idx3-ubyte", data, compress)
    with pytest.raises(DataError, match=problem) as info:
        read_idx(path)
    assert "bad-idx3-ubyte" in str(info.value)


def test_truncated_gzip_is_refused(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(GOOD * 100)[:-30])
    with pytest.raises(DataError, match=r"cut.gz: corrupt or truncated gzip"):
        read_idx(path)


def refusal_and_peak(path) -> tuple[str, int]:
    """read_idx's DataError message for `path` and the most memory Python allocated reaching it."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_idx(path)
        return str(info.value), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape, size", [
    ((2**32 - 1,) * 4, (2**32 - 1) ** 4 + 20),
    ((2**16,) * 4, 2**64 + 20),  # 0 bytes in int64 arithmetic
    ((60000, 60000, 60000), 60000**3 + 16),
])
def test_absurd_declared_sizes_are_refused_with_shape_and_size(tmp_path, shape, size):
    path = write(tmp_path / "huge-idx", header_bytes(shape))
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert str(info.value) == (f"{path}: header says {'x'.join(map(str, shape))} values ({size} bytes), "
                               f"more than the {idx.MAX_IDX_BYTES}-byte limit")


def gzip_of_zeros(head: bytes, n_zeros: int) -> bytes:
    """A gzip of `head` then `n_zeros` zero bytes, built a megabyte at a time."""
    packer, megabyte = zlib.compressobj(wbits=16 + zlib.MAX_WBITS), bytes(1 << 20)
    head = packer.compress(head)
    return head + b"".join(packer.compress(megabyte) for _ in range(n_zeros >> 20)) + packer.flush()


@pytest.mark.parametrize("head, problem", [
    (header_bytes((60000, 28, 28, 28), 0x0D),
     f"header says 60000x28x28x28 values (5268480020 bytes), more than the {idx.MAX_IDX_BYTES}-byte limit"),
    (idx_bytes(np.zeros((2, 2, 2), np.uint8)),
     "has trailing bytes: header says 2x2x2 values (24 bytes), file has more"),
], ids=["declares-5-GB", "trails-64-MB"])
def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path, head, problem):
    path = write(tmp_path / "bomb-idx3-ubyte.gz", gzip_of_zeros(head, 64 << 20))
    message, peak = refusal_and_peak(path)
    assert message == f"{path}: {problem}"
    assert peak < 1 << 20  # of the 64 MB of zeros


def test_a_raw_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "MAX_IDX_BYTES", 1 << 20)
    path = tmp_path / "big-idx3-ubyte"
    with open(path, "wb") as file:
        file.truncate(64 << 20)  # sparse: no disk used
    message, peak = refusal_and_peak(path)
    assert message == f"cannot read {path}: it has {64 << 20:,} bytes, more than the {1 << 20:,} allowed"
    assert peak < 1 << 20


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


TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


def u1(*values):
    return np.array(values, np.uint8)


def put(folder, files: dict[str, np.ndarray]):
    """Overwrite files of a folder from make_folder, by name."""
    for name, array in files.items():
        write(folder / name, idx_bytes(array), compress=True)
    return folder


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


@pytest.mark.parametrize("files, problem", [
    ({TRAIN_IMAGES: np.zeros((0, 28, 28), np.uint8), TRAIN_LABELS: u1()}, f"{TRAIN_IMAGES}: holds no examples"),
    ({TEST_IMAGES: np.zeros((0, 28, 28), np.uint8), TEST_LABELS: u1()}, f"{TEST_IMAGES}: holds no examples"),
    ({TRAIN_IMAGES: np.zeros((5, 0, 28), np.uint8), TEST_IMAGES: np.zeros((3, 0, 28), np.uint8)},
     f"{TRAIN_IMAGES}: images of 0x28 pixels"),
])
def test_empty_sets_and_images_are_refused_by_file(tmp_path, files, problem):
    with pytest.raises(DataError, match=f"{problem}$"):
        load_image_folder(put(make_folder(tmp_path), files))


@pytest.mark.parametrize("files, problem", [
    ({TRAIN_LABELS: np.array([0, 1, -1, 2, 3], np.int8)}, f"{TRAIN_LABELS}: label -1 at index 2 is negative"),
    ({TRAIN_LABELS: np.array([0, 1, 2, 2.5, 3], np.float32)},
     f"{TRAIN_LABELS}: label 2.5 at index 3 is not a whole number"),
    ({TRAIN_LABELS: np.array([0, np.nan, 1, 2, 3])}, f"{TRAIN_LABELS}: label nan at index 1 is not a whole number"),
    ({TRAIN_LABELS: np.array([0, 1, 2, 3, 1000], np.int16)},
     f"{TRAIN_LABELS}: label 1000 at index 4 is not below 1000, the most classes supported"),
    ({TRAIN_LABELS: u1(0, 1, 2, 3, 4), TEST_LABELS: u1(0, 4, 5)},
     f"{TEST_LABELS}: label 5 at index 2 is not below 5, the number of classes the training labels define"),
])
def test_labels_that_are_not_classes_are_refused_by_file_value_and_index(tmp_path, files, problem):
    with pytest.raises(DataError, match=f"{problem}$"):
        load_image_folder(put(make_folder(tmp_path), files))


@pytest.mark.parametrize("train_labels, test_labels, n_classes", [
    (np.zeros(5), u1(0, 0, 0), 2),  # one class still needs a yes and a no
    (u1(0, 1, 2, 3, 4), u1(0, 1, 2), 5),
])
def test_the_training_labels_define_the_classes(tmp_path, train_labels, test_labels, n_classes):
    folder = put(make_folder(tmp_path), {TRAIN_LABELS: train_labels, TEST_LABELS: test_labels})
    data = load_dataset(DataConfig(name="idx", path=str(folder)), seed=0)
    assert data.n_classes == n_classes and data.test.y.dtype == np.int64


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


def test_a_gzip_of_several_members_reads_as_gzip_does(tmp_path):
    images = np.arange(60 * 8 * 8, dtype=np.uint8).reshape(60, 8, 8)
    data = idx_bytes(images)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(data[:100]) + gzip.compress(data[100:]))  # `cat a.gz b.gz`
    np.testing.assert_array_equal(read_idx(path), images)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs FIFOs")
def test_special_files_are_refused_without_waiting_or_reading(tmp_path):
    import os

    fifo = tmp_path / "fifo-idx3-ubyte"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    for path in (fifo, "/dev/zero", tmp_path):
        with pytest.raises(DataError, match=r"cannot read .*: (not a regular file|Is a directory)"):
            read_idx(path)


def test_bytes_after_the_gzip_data_are_refused(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(GOOD) + b"garbage")
    with pytest.raises(DataError, match="has bytes after its gzip data"):
        read_idx(path)
