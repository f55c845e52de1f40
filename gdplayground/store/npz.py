"""Reading a .npz archive that may have been crafted: each array's .npy header is checked against
the bytes actually stored for it before its data is read, so no header can make the reader
allocate more than the file holds, and nothing is ever unpickled.

Errors name the array but not the file; the caller adds that.
"""

from __future__ import annotations

import math
import os
import zipfile
from typing import BinaryIO, NamedTuple

import numpy as np
from numpy.lib import format as npy

NPY_SUFFIX = ".npy"
NPY_MAGIC = b"\x93NUMPY"
HEADER_READERS = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}


class NpzError(ValueError):
    """An archive, or one of its arrays, that cannot be read safely."""


class NotAnArchive(NpzError):
    """A file that is no zip archive at all; the message says what it is instead."""


class Header(NamedTuple):
    shape: tuple[int, ...]
    dtype: np.dtype


class NpzArchive:
    """The arrays of a .npz opened from a binary handle, which stays the caller's to close.

    Members must be stored uncompressed, as np.savez writes them, and together claim no more
    bytes than the file has: so whatever a header declares, a read that passes the size check
    allocates no more than the file's size.
    """

    def __init__(self, handle: BinaryIO):
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        if handle.read(len(NPY_MAGIC)) == NPY_MAGIC:
            raise NotAnArchive("it is a single .npy array")
        if not zipfile.is_zipfile(handle):
            raise NotAnArchive("it is not a zip archive")
        try:
            self._zip = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
            raise NpzError(f"its zip archive is damaged ({exc})") from None
        self._members = _checked_members(self._zip.infolist(), size)
        self._headers: dict[str, Header] = {}

    @property
    def names(self) -> list[str]:
        """The arrays' names, as numpy.load gives them (without .npy)."""
        return list(self._members)

    def header(self, name: str) -> Header:
        """The array's shape and dtype, once they are known to match its stored size."""
        if name not in self._headers:
            with self._open(name) as member:
                self._headers[name] = _checked_header(member, name, self._members[name].file_size)
        return self._headers[name]

    def read(self, name: str) -> np.ndarray:
        self.header(name)  # never read data whose header has not been checked
        with self._open(name) as member:
            try:
                return npy.read_array(member, allow_pickle=False)
            except (ValueError, EOFError, zipfile.BadZipFile):
                raise _damaged(name) from None

    def _open(self, name: str) -> BinaryIO:
        try:
            return self._zip.open(self._members[name])
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):  # or encrypted
            raise _damaged(name) from None


def _damaged(name: str) -> NpzError:
    return NpzError(f"{name} is damaged: its stored bytes cannot be read back")


def _checked_members(infos: list[zipfile.ZipInfo], size: int) -> dict[str, zipfile.ZipInfo]:
    members = {}
    for info in infos:
        name = info.filename.removesuffix(NPY_SUFFIX)
        if name == info.filename:
            raise NpzError(f"member {info.filename!r} is not a .npy array")
        if name in members:
            raise NpzError(f"{name!r} appears twice in the archive")
        if info.compress_type != zipfile.ZIP_STORED:
            raise NpzError(f"{name!r} is stored compressed; only uncompressed arrays (as np.savez "
                           "writes them) are read")
        members[name] = info
    claimed = sum(info.file_size for info in members.values())
    if claimed > size:
        raise NpzError(f"its arrays claim {claimed} bytes in all, more than the file's {size}")
    return members


def _checked_header(member: BinaryIO, name: str, stored: int) -> Header:
    """The header of an array whose member holds `stored` bytes, header included."""
    shape, dtype = _read_header(member, name)
    if dtype.hasobject:
        raise NpzError(f"{name} holds Python objects, which would need pickle to read; "
                       "gdplayground never unpickles a file")
    if dtype.fields is not None or dtype.subdtype is not None:
        raise NpzError(f"{name} has the structured dtype {dtype}, not plain numbers or text")
    declared, data = math.prod(shape) * dtype.itemsize, stored - member.tell()
    if min(shape, default=0) < 0 or declared != data:  # two negative sizes make a positive product
        raise NpzError(f"{name} declares shape {shape} of {dtype} ({declared} bytes), but the "
                       f"file stores {data} bytes for it")
    return Header(shape, dtype)


def _read_header(member: BinaryIO, name: str) -> tuple[tuple[int, ...], np.dtype]:
    # numpy's own messages are not passed on: some advise trusting the file with pickle
    try:
        version = npy.read_magic(member)
        if version in HEADER_READERS:
            shape, _, dtype = HEADER_READERS[version](member)
            return shape, dtype
    except (zipfile.BadZipFile, EOFError):  # a bad CRC, a truncated member
        raise _damaged(name) from None
    except ValueError:
        raise NpzError(f"{name} has no valid .npy header") from None
    raise NpzError(f"{name} is in .npy format version {version[0]}.{version[1]}; "
                   "only 1.0 and 2.0 are read")
