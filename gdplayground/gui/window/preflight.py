"""What Qt needs from the system, checked before Qt is imported: a display for a window, and the
shared libraries Qt loads. Without one of those libraries Qt's import fails with a traceback,
or its xcb plugin aborts the whole process blaming libxcb-cursor0 whichever is missing; this
check names the ones actually missing, with the one command that installs them all.

No Qt import here, nor in anything this imports: the check must run before Qt can fail.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

# The system libraries Qt loads outside its own, and the Debian and Ubuntu package of each.
# QtCore and QtGui load these on any platform, offscreen included:
QT_LIBRARIES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libX11.so.6": "libx11-6",
}
# and the xcb platform plugin (libqxcb.so, libQt6XcbQpa.so), which draws on X11, adds these:
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}
# and the Wayland plugin this one:
WAYLAND_LIBRARIES = {"libwayland-client.so.0": "libwayland-client0",
                     "libwayland-cursor.so.0": "libwayland-cursor0"}
INSTALL_COMMAND = "sudo apt-get install " + " ".join(dict.fromkeys(
    [*QT_LIBRARIES.values(), *XCB_LIBRARIES.values(), *WAYLAND_LIBRARIES.values()]))
NO_DISPLAY = ("no display to open the window on (DISPLAY is not set); run it in a desktop "
              "session, or use 'gdplayground train' or 'gdplayground screenshot' headless")
INVISIBLE = ("offscreen", "minimal", "minimalegl")  # platforms that draw nothing on a screen


def problem(window: bool = True, environ=os.environ, platform: str = sys.platform) -> str | None:
    """Why Qt cannot start here, in one line; None if it can. `window`: a window on a screen,
    rather than pictures drawn offscreen."""
    if not platform.startswith("linux"):
        return None
    chosen = platform_plugin(environ)
    if window and chosen in INVISIBLE:
        return (f"QT_QPA_PLATFORM={chosen} shows no window; unset it to open the playground, "
                "or use 'gdplayground screenshot' for a picture")
    available = available_plugins()
    if chosen and available and chosen not in available:
        return f"QT_QPA_PLATFORM={chosen} is not a platform Qt has here: {', '.join(available)}"
    if window and not has_display(environ):
        return NO_DISPLAY
    plugin = chosen or ("wayland" if environ.get("WAYLAND_DISPLAY") else "xcb")
    needed = {**QT_LIBRARIES, **(PLUGIN_LIBRARIES.get(plugin, {}) if window else {})}
    missing = missing_libraries(needed)
    if missing:
        return (f"Qt needs system libraries that are missing: {', '.join(missing)}; "
                f"install them with: {INSTALL_COMMAND}")
    return unreachable_display(plugin, environ) if window else None


PLUGIN_LIBRARIES = {"xcb": XCB_LIBRARIES, "wayland": WAYLAND_LIBRARIES}


def platform_plugin(environ=os.environ) -> str:
    """The platform plugin asked for by QT_QPA_PLATFORM ('xcb', 'offscreen', …), or ''."""
    return environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()


def available_plugins() -> list[str]:
    """The platform plugins PySide6 ships, found without importing it."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(spec.submodule_search_locations[0]) / "Qt" / "plugins" / "platforms"
    return sorted(p.name[len("libq"):].split(".")[0] for p in folder.glob("libq*.so*"))


def has_display(environ=os.environ) -> bool:
    return bool(environ.get("QT_QPA_PLATFORM") or environ.get("DISPLAY")
                or environ.get("WAYLAND_DISPLAY"))


def uses_xcb(environ=os.environ) -> bool:
    """Whether Qt will draw through xcb: asked for by name, or by default outside a Wayland
    session."""
    chosen = platform_plugin(environ)
    return chosen == "xcb" if chosen else not environ.get("WAYLAND_DISPLAY")


def unreachable_display(plugin: str, environ=os.environ) -> str | None:
    """Why the display server cannot be reached (Qt would abort the process), or None."""
    if plugin == "xcb":
        if not environ.get("DISPLAY"):
            return NO_DISPLAY
        xcb = ctypes.CDLL("libxcb.so.1")
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connection_has_error.argtypes = xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
        connection = xcb.xcb_connect(None, None)
        failed = xcb.xcb_connection_has_error(connection)
        xcb.xcb_disconnect(connection)
        if failed:
            return (f"cannot connect to the X display {environ['DISPLAY']!r}: is an X server "
                    "running there, and may this user use it?")
    elif plugin == "wayland":
        name = environ.get("WAYLAND_DISPLAY", "wayland-0")
        if not (environ.get("XDG_RUNTIME_DIR") or Path(name).is_absolute()):
            return "cannot connect to the Wayland display: XDG_RUNTIME_DIR is not set"
        socket = Path(environ.get("XDG_RUNTIME_DIR", "/"), name)  # an absolute name stays itself
        if not socket.is_socket():
            return (f"cannot connect to the Wayland display {name!r}: no compositor listens at "
                    f"{socket}")
    return None


def missing_libraries(libraries) -> list[str]:
    """Those of the named libraries that the system's loader cannot load."""
    missing = []
    for name in libraries:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return missing
