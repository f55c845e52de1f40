"""Files: written so that a crash or a full disk never leaves a half-written one behind (a file
through a temporary one beside it, a folder through a staging folder beside it), and read so
that no path (a FIFO, /dev/zero, a huge file) can make a reader wait or fill memory."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, Mapping

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


class StagedFolder:
    """A folder written all or nothing: its files go into a staging folder beside `target`,
    which takes the target's place only if the `with` block ends without an error. After an
    error the target is as it was, and so is everything around it: the staging folder and any
    folder made above the target for it are removed.

        with StagedFolder(out, replaceable, "a race's output") as folder:
            write(folder.file("trajectories.csv"))

    The target may be new, an empty folder, or a folder that `replaceable` accepts (an earlier
    output of the same kind), which is replaced whole; anything else is refused when the
    StagedFolder is made (OSError naming `kind`), so that a bad target fails before any work
    and a folder of other files is never replaced."""

    def __init__(self, target: Path, replaceable: Callable[[Path], bool], kind: str):
        self.target = Path(os.path.abspath(target))  # not resolved: a link is replaced, not followed
        self.replaceable, self.kind = replaceable, kind
        self._check_target()
        self._made = _make_folders(self.target.parent)
        try:
            self.staging = Path(tempfile.mkdtemp(prefix=temporary_prefix(self.target),
                                                 suffix=".partial", dir=self.target.parent))
        except BaseException:
            _remove_empty(self._made)
            raise

    def file(self, name: str) -> Path:
        return self.staging / name

    def __enter__(self) -> "StagedFolder":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            try:
                self._commit()
                return
            except BaseException:
                self._discard()
                raise
        self._discard()

    def _discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        _remove_empty(self._made)

    def _commit(self) -> None:
        os.chmod(self.staging, DIR_MODE)  # as a plain mkdir would make it
        if not os.path.lexists(self.target):
            os.replace(self.staging, self.target)
            return
        self._check_target()  # still replaceable: nothing was put in it meanwhile
        old = self.staging.with_suffix(".old")  # a free name: the staging folder's is unique
        os.replace(self.target, old)
        try:
            os.replace(self.staging, self.target)
        except BaseException:
            os.replace(old, self.target)
            raise
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)

    def _check_target(self) -> None:
        """OSError unless the target is free, an empty folder or one `replaceable` accepts."""
        target, here = self.target, Path.cwd()
        if Path(os.path.realpath(target)) in (here, *here.parents):  # a link to it too
            raise OSError(f"{target} is the current folder or holds it; choose a new folder")
        if target.is_symlink() and not target.exists():
            raise OSError(f"{target} is a link that leads nowhere")
        if target.exists() and not target.is_dir():
            raise OSError(f"{target} exists and is not a folder")
        if target.is_dir() and any(target.iterdir()) and not self.replaceable(target):
            raise OSError(f"{target} holds files that are not {self.kind}; choose a new or "
                          f"empty folder")


def holds_only(folder: Path, files: Iterable[str],
               folders: Mapping[str, Callable[[Path], bool]] = {}) -> bool:
    """Whether `folder` holds nothing but files named in `files` and folders named in
    `folders`, each of which its test accepts: an earlier output that may be replaced whole."""
    files = set(files)
    return all(entry.is_file() if entry.name in files else
               entry.name in folders and entry.is_dir() and folders[entry.name](entry)
               for entry in folder.iterdir())


def _make_folders(folder: Path) -> list[Path]:
    """Make `folder` and any missing above it; returns those made, the deepest first."""
    missing = [p for p in (folder, *folder.parents) if not os.path.lexists(p)]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file where a folder should be
        _remove_empty(missing)
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()),
                       None)
        if blocker is None:
            raise
        raise NotADirectoryError(f"{blocker} is not a folder") from None
    except BaseException:
        _remove_empty(missing)
        raise
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove each folder, the deepest first, while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return
