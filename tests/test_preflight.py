"""Before Qt is imported, the app checks what Qt needs from the system: a missing library is
named with the command that installs them all, instead of a traceback or Qt aborting."""

import ctypes
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from gdplayground.gui.window import preflight
from gdplayground.gui.window.preflight import (
    INSTALL_COMMAND, QT_LIBRARIES, WAYLAND_LIBRARIES, XCB_LIBRARIES)

ROOT = Path(__file__).resolve().parents[1]
# The app with one library missing and Qt unimportable: a check that ran after Qt's import would
# end in an ImportError traceback, as it did on a fresh Debian 12 missing libglib.
LAUNCH_WITHOUT = """
import ctypes, sys
sys.modules["PySide6"] = None
def load(name, *args, **kwargs):
    if name == sys.argv[1]:
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")
ctypes.CDLL = load
from gdplayground.cli import main
sys.exit(main(sys.argv[2:]))
"""


def loader_without(*missing: str):
    def load(name, *args, **kwargs):
        if name in missing:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
    return load


@pytest.fixture
def reachable(monkeypatch):
    """Any display can be reached (these tests fake the loader, not the display server)."""
    monkeypatch.setattr(preflight, "unreachable_display", lambda plugin, environ: None)


def test_a_missing_library_is_named_with_the_command_that_installs_them_all(monkeypatch, reachable):
    monkeypatch.setattr(ctypes, "CDLL", loader_without("libxcb-keysyms.so.1", "libglib-2.0.so.0"))
    environ = {"DISPLAY": ":0"}
    assert preflight.problem(True, environ, "linux") == (
        "Qt needs system libraries that are missing: libglib-2.0.so.0, libxcb-keysyms.so.1; "
        f"install them with: {INSTALL_COMMAND}")
    # Offscreen pictures need Qt's own libraries, not the X11 plugin's.
    assert "missing: libglib-2.0.so.0;" in preflight.problem(False, environ, "linux")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: None)
    assert preflight.problem(True, environ, "linux") is None


def test_every_library_is_asked_of_the_system_loader_and_every_package_installed(monkeypatch,
                                                                                reachable):
    asked = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name: asked.append(name))
    assert preflight.problem(True, {"DISPLAY": ":0"}, "linux") is None
    assert asked == [*QT_LIBRARIES, *XCB_LIBRARIES]
    for package in {*QT_LIBRARIES.values(), *XCB_LIBRARIES.values(), *WAYLAND_LIBRARIES.values()}:
        assert f" {package}" in INSTALL_COMMAND


@pytest.mark.parametrize("command, missing", [
    ([], "libxcb-icccm.so.4"),  # the window
    ([], "libglib-2.0.so.0"),  # what QtCore itself loads
    (["screenshot", "--steps", "1", "--out", "shot.png"], "libEGL.so.1"),
])
def test_the_app_stops_with_one_line_and_exit_2_before_importing_qt(tmp_path, command, missing):
    env = {"PATH": "/usr/bin:/bin", "DISPLAY": ":99", "QT_QPA_PLATFORM": "xcb",
           "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", LAUNCH_WITHOUT, missing, *command],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (f"gdplayground: error: Qt needs system libraries that are missing: "
                             f"{missing}; install them with: {INSTALL_COMMAND}\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("environ, expected", [
    ({"DISPLAY": ":0"}, True),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, True),
    ({"QT_QPA_PLATFORM": "offscreen"}, False),
])
def test_the_x11_libraries_are_checked_only_where_qt_draws_through_xcb(environ, expected):
    assert preflight.uses_xcb(environ) is expected


def test_without_a_display_the_window_says_so_and_other_systems_are_not_checked():
    assert preflight.problem(True, {}, "linux") == preflight.NO_DISPLAY
    assert preflight.problem(True, {}, "darwin") is None


def test_the_readme_gives_the_same_command():
    assert INSTALL_COMMAND in (ROOT / "README.md").read_text()


def test_a_platform_that_shows_nothing_or_does_not_exist_is_refused_for_the_window():
    assert "QT_QPA_PLATFORM=offscreen shows no window" in preflight.problem(
        True, {"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert preflight.problem(False, {"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert "QT_QPA_PLATFORM=bogus is not a platform Qt has here: " in preflight.problem(
        True, {"QT_QPA_PLATFORM": "bogus"}, "linux")
    assert {"xcb", "offscreen", "wayland"} <= set(preflight.available_plugins())


def test_a_display_nobody_serves_is_named_instead_of_qt_aborting(tmp_path):
    try:
        ctypes.CDLL("libxcb.so.1")
    except OSError:
        pytest.skip("no libxcb here")
    assert preflight.unreachable_display("xcb", {"DISPLAY": ":9999"}) == (
        "cannot connect to the X display ':9999': is an X server running there, and may this "
        "user use it?")
    assert "no compositor listens at" in preflight.unreachable_display(
        "wayland", {"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": str(tmp_path)})


# --- the lists against what Qt's binaries ask the loader for ---------------------------------
# Libraries every Debian or Ubuntu system has (priority "required"): never missing.
BASE_SYSTEM = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0",
               "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
               "libz.so.1", "libzstd.so.1"}


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED entries of a 64-bit little-endian ELF file: the shared libraries the
    loader must find for it (what `readelf -d` lists as NEEDED)."""
    data = path.read_bytes()
    assert data[:6] == b"\x7fELF\x02\x01", f"{path} is not a 64-bit little-endian ELF file"
    section_table, = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, section_table + i * entry_size)
                for i in range(count)]
    dynamic = next(s for s in sections if s[1] == 6)  # SHT_DYNAMIC
    strings = sections[dynamic[6]][4]  # the offset of the string table it links to
    needed = []
    for offset in range(dynamic[4], dynamic[4] + dynamic[5], 16):
        tag, value = struct.unpack_from("<qQ", data, offset)
        if tag == 0:  # DT_NULL ends the table
            break
        if tag == 1:  # DT_NEEDED
            needed.append(data[strings + value:data.index(b"\0", strings + value)].decode())
    return needed


def system_libraries(*binaries: Path) -> set[str]:
    """What the binaries need from the system, following the libraries PySide6 ships itself."""
    shipped = {p.name: p for folder in (PYSIDE, PYSIDE / "Qt" / "lib", PYSIDE.parent / "shiboken6")
               for p in folder.glob("*.so*")}
    seen, system, todo = set(), set(), list(binaries)
    while todo:
        binary = todo.pop()
        for name in needed_libraries(binary):
            if name in shipped and name not in seen:
                seen.add(name)
                todo.append(shipped[name])
            elif name not in shipped:
                system.add(name)
    return system - BASE_SYSTEM


PYSIDE = Path(__import__("PySide6").__file__).parent
PLATFORMS = PYSIDE / "Qt" / "plugins" / "platforms"
MODULES = [PYSIDE / f"{module}.abi3.so" for module in ("QtCore", "QtGui", "QtWidgets", "QtDBus")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF binaries: Linux only")
@pytest.mark.parametrize("plugin, listed", [
    ("offscreen", QT_LIBRARIES), ("xcb", {**QT_LIBRARIES, **XCB_LIBRARIES}),
    ("wayland", {**QT_LIBRARIES, **WAYLAND_LIBRARIES})])
def test_the_lists_hold_every_system_library_qt_and_its_plugin_load(plugin, listed):
    """Read from the binaries themselves, so a library dropped from the lists, or one a new Qt
    starts to need, fails here rather than as a traceback on a user's machine."""
    needed = system_libraries(*MODULES, PLATFORMS / f"libq{plugin}.so")
    assert sorted(needed - set(listed)) == []
