"""Before Qt starts, the window checks the system libraries Qt's xcb plugin needs: a missing one
is named with the command that installs them, instead of Qt aborting the process."""

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from gdplayground.gui import system_libraries
from gdplayground.gui.system_libraries import INSTALL_COMMAND, XCB_LIBRARIES

LAUNCH_WITHOUT_ICCCM = """
import ctypes, sys
def load(name, *args, **kwargs):  # every other library loads
    if name == "libxcb-icccm.so.4":
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")
ctypes.CDLL = load
from gdplayground.cli import main
sys.exit(main([]))
"""


def loader_without(missing: str):
    def load(name, *args, **kwargs):
        if name == missing:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
    return load


def test_a_missing_library_is_named_with_the_command_that_installs_them_all(monkeypatch):
    monkeypatch.setattr(ctypes, "CDLL", loader_without("libxcb-keysyms.so.1"))
    message = system_libraries.problem()
    assert message == ("the window needs system libraries that are missing: libxcb-keysyms.so.1; "
                       f"install them with: {INSTALL_COMMAND}")
    assert "libxcb-keysyms1" in INSTALL_COMMAND and "libxcb-icccm4" in INSTALL_COMMAND
    monkeypatch.setattr(ctypes, "CDLL", lambda name: None)
    assert system_libraries.problem() is None


def test_the_check_uses_the_system_loader_for_every_library(monkeypatch):
    asked = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name: asked.append(name))
    assert system_libraries.missing_libraries() == [] and asked == list(XCB_LIBRARIES)


def test_the_app_stops_with_one_line_and_exit_2_before_qt_starts(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DISPLAY": ":99", "QT_QPA_PLATFORM": "xcb",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, "-c", LAUNCH_WITHOUT_ICCCM], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert "missing: libxcb-icccm.so.4; install them with: sudo apt-get install" in result.stderr
    assert INSTALL_COMMAND in result.stderr


@pytest.mark.parametrize("environ, platform, expected", [
    ({"DISPLAY": ":0"}, "linux", True),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"DISPLAY": ":0"}, "darwin", False),
])
def test_the_check_runs_only_where_qt_draws_through_xcb(environ, platform, expected):
    assert system_libraries.uses_xcb(environ, platform) is expected


def test_the_readme_gives_the_same_command():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert INSTALL_COMMAND in readme
