import os
import stat
from pathlib import Path

import pytest

from gdplayground import files


def test_atomic_write_replaces_whole_and_gives_a_normal_mode(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    files.write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(path).st_mode) == files.FILE_MODE  # not the 0600 of a temp file
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_writer(path) as f:
            f.write(b"half")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_atomic_path_keeps_what_a_name_taking_writer_wrote(tmp_path):
    with files.atomic_path(tmp_path / "plot.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"image")
    assert os.listdir(tmp_path) == ["plot.png"] and (tmp_path / "plot.png").read_bytes() == b"image"


def test_a_write_never_replaces_a_device_or_a_fifo(tmp_path):
    import os

    from gdplayground.files import check_writable, write_atomic

    targets = [Path("/dev/null")]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        targets.append(tmp_path / "fifo")
    for target in targets:
        with pytest.raises(OSError, match="is not a regular file"):
            write_atomic(target, b"x")
        with pytest.raises(OSError, match="is not a regular file"):
            check_writable(target)
    assert Path("/dev/null").is_char_device()
