"""Reading IDX files, the format MNIST and Fashion-MNIST ship in, gzip-compressed or raw.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in row-major order.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

IDX_TYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


class DataError(ValueError):
    """A data file or folder that cannot be used; the message names it and the problem."""


def read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


def decompress(raw: bytes, path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes."""
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return zlib.decompress(raw, wbits=16 + zlib.MAX_WBITS)
    except zlib.error as exc:
        raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from None


def parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Decode IDX bytes into a native-endian array, checking the header against the size."""
    if len(data) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(data)} bytes)")
    zero, type_code, ndim = data[:2], data[2], data[3]
    if zero != b"\0\0" or type_code not in IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (magic number {data[:4].hex()})")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares zero dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = IDX_TYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(
            f"{path}: {problem}: header says {'x'.join(map(str, shape))} values "
            f"({expected} bytes), file has {len(data)} bytes")
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: Path) -> np.ndarray:
    path = Path(path)
    return parse_idx(decompress(read_bytes(path), path), path)
