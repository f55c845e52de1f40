"""File ▸ Export plots…: the folder typed is the folder written (`~` and relative names
resolved, never the working directory by mistake), and plots already there are replaced only
if the user agrees."""

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from gdplayground.config import preset
from gdplayground.gui.widgets import plot_export
from gdplayground.gui.window.main_window import MainWindow
from gdplayground.gui.widgets.plot_export import plots_folder

TIMEOUT = 20_000


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder of its own, and a working directory elsewhere holding plots of its own."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "loss.svg").write_bytes(b"the working directory's own plot")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home


def test_a_typed_answer_names_the_folder_it_says(home, tmp_path):
    dialog_folder = tmp_path / "shown"
    assert plots_folder("~/plots1", dialog_folder) == home / "plots1"
    assert plots_folder("~", dialog_folder) == home
    assert plots_folder("plots1", dialog_folder) == dialog_folder / "plots1"
    assert plots_folder("../plots1", dialog_folder) == dialog_folder / ".." / "plots1"
    assert plots_folder(str(tmp_path / "abs"), dialog_folder) == tmp_path / "abs"


def answer(monkeypatch, format_words: str, typed: str, replace: bool | None = None) -> list[str]:
    """The three dialogs answered as a user would; returns the questions asked."""
    asked = []
    monkeypatch.setattr(QInputDialog, "getItem", lambda *args: (format_words, True))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (typed, ""))
    # What Qt's folder dialog answered when "~/plots1" was typed with its completer open:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(Path.cwd()))

    def question(parent, title, text, *rest):
        asked.append(text)
        return QMessageBox.StandardButton.Yes if replace else QMessageBox.StandardButton.No
    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_plots_go_into_a_new_folder_under_home_not_the_working_directory(
        qtbot, home, monkeypatch):
    window = MainWindow(preset("xor"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
    asked = answer(monkeypatch, "SVG (vector)", "~/plots1")
    with qtbot.waitSignal(window.files.written, timeout=TIMEOUT) as signal:
        window.files._choose_plots_folder()
    assert signal.args[0], signal.args[1]
    names = sorted(f"{name}.svg" for name in window.training.plots())
    assert sorted(p.name for p in (home / "plots1").iterdir()) == names
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["loss.svg"]  # untouched
    assert (Path.cwd() / "loss.svg").read_bytes() == b"the working directory's own plot"
    assert asked == []  # a new folder: nothing to replace


@pytest.mark.parametrize("replace", [False, True])
def test_plots_already_there_are_replaced_only_if_the_user_agrees(home, monkeypatch, replace):
    folder = home / "plots1"
    folder.mkdir()
    (folder / "loss.png").write_bytes(b"mine")
    (folder / "notes.txt").write_bytes(b"mine too")
    asked = answer(monkeypatch, "PNG, 800 pixels wide", "~/plots1", replace)
    target = plot_export.choose_plots_target(None, ["loss", "accuracy"])
    assert len(asked) == 1 and "already holds 1 of these plots (loss.png)" in asked[0]
    assert target == ((folder, "png", 800) if replace else None)
    assert (folder / "loss.png").read_bytes() == b"mine"  # nothing written by the asking


def test_cancelling_either_dialog_exports_nothing(home, monkeypatch):
    monkeypatch.setattr(QInputDialog, "getItem", lambda *args: ("SVG (vector)", False))
    assert plot_export.choose_plots_target(None, ["loss"]) is None
    answer(monkeypatch, "SVG (vector)", "")
    assert plot_export.choose_plots_target(None, ["loss"]) is None
