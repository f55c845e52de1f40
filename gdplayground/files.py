"""Files: written so that a crash or a full disk never leaves a half-written one behind, and
read so that no path (a FIFO, /dev/zero, a huge file) can make a reader wait or fill memory."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

# Temporary files are created private (0600); finished files get the mode a plain write would
# give them. The umask can only be read by setting it, so read it once, at import.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
DIR_MODE = 0o777 & ~_UMASK


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path (with the same suffix) beside `path` for a writer to fill; it
    replaces `path`, flushed to disk, only if the writer finished. On failure the previous
    file stays and the temporary one is removed."""
    path = Path(path)
    _check_replaceable(path)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _sync(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces `path` only once everything has been written."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        yield f


def _sync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)


def _check_replaceable(path: Path) -> None:
    """A write replaces a regular file or makes a new one, never anything else: renaming over
    /dev/full, say, would put a file where the device was."""
    if os.path.lexists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(f"{path} is not a regular file")


def temporary_prefix(path: Path) -> str:
    """A hidden name for a file being made beside `path`, short enough that a target name near
    the system's 255-byte limit still leaves room for the random part."""
    return f".{path.stem[:40]}."


@contextlib.contextmanager
def open_regular(path: Path, limit: int) -> Iterator[BinaryIO]:
    """Open a regular file of at most `limit` bytes for reading; OSError otherwise. Opening does
    not block (a FIFO would wait for a writer) and the type and size are checked before any
    byte is read (/dev/zero would never end)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        if info.st_size > limit:
            raise OSError(f"it has {info.st_size:,} bytes, more than the {limit:,} allowed")
        yield file


def check_writable(path: Path) -> None:
    """OSError unless a file can be written at `path`: checked before long work, not after."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder")
    _check_replaceable(path)
    if not path.parent.is_dir():
        raise NotADirectoryError(f"{path.parent} is not a folder")
    if len(os.fsencode(path.name)) > _name_max(path.parent):
        raise OSError(f"the name {path.name[:40]}… is longer than the system allows")
    fd, probe = tempfile.mkstemp(prefix=temporary_prefix(path), dir=path.parent)
    os.close(fd)
    os.unlink(probe)


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or it cannot tell
        return 255
