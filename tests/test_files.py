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


# --- a folder written all or nothing ------------------------------------------------------------
def earlier(folder):
    return files.holds_only(folder, {"a.csv", "b.png"})


def tree(folder):
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


def test_a_staged_folder_appears_whole_and_replaces_an_earlier_one_whole(tmp_path):
    target = tmp_path / "new" / "out"
    with files.StagedFolder(target, earlier, "an output") as folder:
        folder.file("a.csv").write_bytes(b"1")
        assert not target.exists()  # nothing shows before the block ends
    assert tree(tmp_path) == {"new": None, "new/out": None, "new/out/a.csv": b"1"}
    assert stat.S_IMODE(os.stat(target).st_mode) == files.DIR_MODE
    with files.StagedFolder(target, earlier, "an output") as folder:
        folder.file("b.png").write_bytes(b"2")
    assert tree(tmp_path) == {"new": None, "new/out": None, "new/out/b.png": b"2"}  # a.csv gone


@pytest.mark.parametrize("exists", [False, True])
def test_a_failed_staged_folder_leaves_everything_as_it_was(tmp_path, exists):
    target = tmp_path / "a" / "b" / "out"
    if exists:
        target.mkdir(parents=True)
        (target / "a.csv").write_bytes(b"earlier")
    before = tree(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        with files.StagedFolder(target, earlier, "an output") as folder:
            folder.file("a.csv").write_bytes(b"half")
            raise OSError("disk full")
    assert tree(tmp_path) == before  # no staging folder, and no a/b made for it


def test_a_failed_move_into_place_puts_the_earlier_folder_back(tmp_path, monkeypatch):
    target = tmp_path / "out"
    target.mkdir()
    (target / "a.csv").write_bytes(b"earlier")
    real_replace = os.replace

    def failing(source, destination):
        if Path(source).name.endswith(".partial"):  # the new folder into the target's place
            raise OSError("the system refused")
        real_replace(source, destination)
    monkeypatch.setattr(files.os, "replace", failing)
    with pytest.raises(OSError, match="refused"):
        with files.StagedFolder(target, earlier, "an output") as folder:
            folder.file("a.csv").write_bytes(b"new")
    assert tree(tmp_path) == {"out": None, "out/a.csv": b"earlier"}


@pytest.mark.parametrize("contents, message", [
    ({"thesis.txt": b"mine"}, "holds files that are not an output; choose a new or empty folder"),
    ({"a.csv/mine.txt": b"mine"}, "holds files that are not an output"),  # a name taken by a folder
    ({"b.png": b"", "notes": b"mine"}, "holds files that are not an output"),
])
def test_a_folder_of_other_files_is_refused_before_anything_is_written(tmp_path, contents, message):
    target = tmp_path / "out"
    for name, data in contents.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)
    before = tree(tmp_path)
    with pytest.raises(OSError, match=message):
        files.StagedFolder(target, earlier, "an output")
    assert tree(tmp_path) == before


def test_a_file_in_the_path_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(NotADirectoryError, match="notes.txt is not a folder"):
        files.StagedFolder(tmp_path / "notes.txt" / "deeper" / "out", earlier, "an output")
    assert tree(tmp_path) == {"notes.txt": b"mine"}
