"""Reading IDX files, the format MNIST and Fashion-MNIST ship in, gzip-compressed or raw.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in row-major order.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from gdplayground.files import open_regular

IDX_TYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib reads the gzip wrapper
# The most bytes an IDX file may hold, on disk or inflated: EMNIST's largest is about 550 MB,
# and a header declaring more is far likelier corrupt or hostile than real.
MAX_IDX_BYTES = 2 * 1024**3


class DataError(ValueError):
    """A data file or folder that cannot be used; the message names it and the problem."""


class Header(NamedTuple):
    dtype: np.dtype
    shape: tuple[int, ...]
    length: int  # bytes of the header itself
    size: int  # bytes of the whole file, header included, that the header declares


def read_bytes(path: Path) -> bytes:
    """The file's bytes; anything but a regular file of at most MAX_IDX_BYTES is refused unread."""
    try:
        with open_regular(path, MAX_IDX_BYTES) as file:
            return file.read()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


def decompress(raw: bytes, path: Path) -> bytes:
    """The file's IDX content, gunzipped when it starts with the gzip magic bytes.

    Inflates the header first, then only the values it declares and one byte more to tell
    trailing data, so a small file that would inflate to gigabytes is refused cheaply.
    """
    if not raw.startswith(GZIP_MAGIC):
        return raw
    inflater = zlib.decompressobj(wbits=GZIP_WBITS)
    data, pending = b"", raw
    try:
        while len(data) < (wanted := _bytes_to_inflate(data, path)):
            if inflater.eof:  # another gzip member may follow, as `gzip -d` allows
                if not inflater.unused_data.startswith(GZIP_MAGIC):
                    break
                inflater, pending = zlib.decompressobj(wbits=GZIP_WBITS), inflater.unused_data
            more = inflater.decompress(pending, wanted - len(data))
            if not more and not inflater.eof:
                break
            data, pending = data + more, inflater.unconsumed_tail
    except zlib.error as exc:
        raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    if len(data) < wanted and not inflater.eof:
        raise DataError(f"{path}: corrupt or truncated gzip data (the stream ends early)")
    if inflater.eof and inflater.unused_data:
        raise DataError(f"{path}: has bytes after its gzip data that are not gzip data")
    return data


def _bytes_to_inflate(data: bytes, path: Path) -> int:
    """How far to inflate, given the content so far: magic number, header, then its values and a byte."""
    if len(data) < 4:
        return 4
    if len(data) < 4 + 4 * data[3]:
        return 4 + 4 * data[3]
    return parse_header(data, path).size + 1


def parse_header(data: bytes, path: Path) -> Header:
    """The header at the start of `data`, refusing a malformed one or one that declares too much."""
    if len(data) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(data)} bytes)")
    zero, type_code, ndim = data[:2], data[2], data[3]
    if zero != b"\0\0" or type_code not in IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (magic number {data[:4].hex()})")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares zero dimensions")
    length = 4 + 4 * ndim
    if len(data) < length:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = IDX_TYPES[type_code]
    size = length + math.prod(shape) * dtype.itemsize  # Python ints: no overflow, however absurd
    if size > MAX_IDX_BYTES:
        raise DataError(f"{path}: header says {_dims(shape)} values ({size} bytes), "
                        f"more than the {MAX_IDX_BYTES}-byte limit")
    return Header(dtype, shape, length, size)


def parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Decode IDX bytes into a native-endian array, checking the header against the size."""
    header = parse_header(data, path)
    declared = f"header says {_dims(header.shape)} values ({header.size} bytes)"
    if len(data) < header.size:
        raise DataError(f"{path}: truncated: {declared}, file has {len(data)} bytes")
    if len(data) > header.size:  # gzip content is inflated only one byte past, so no total here
        raise DataError(f"{path}: has trailing bytes: {declared}, file has more")
    array = np.frombuffer(data, header.dtype, offset=header.length).reshape(header.shape)
    return array.astype(header.dtype.newbyteorder("="), copy=False)


def read_idx(path: Path) -> np.ndarray:
    path = Path(path)
    return parse_idx(decompress(read_bytes(path), path), path)


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))
