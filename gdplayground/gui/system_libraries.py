"""The system libraries Qt's xcb platform plugin (the X11 window system) loads, checked before
Qt is started. Without one of them Qt aborts the whole process, and its message names
libxcb-cursor0 whichever is missing; this check names the ones actually missing instead.

No Qt import here: the check must run before Qt can abort.
"""

from __future__ import annotations

import ctypes
import os
import sys

# What the xcb plugin (libqxcb.so and libQt6XcbQpa.so) links against outside Qt's own
# libraries, and the Debian and Ubuntu package that provides each.
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
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
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
INSTALL_COMMAND = "sudo apt-get install " + " ".join(dict.fromkeys(XCB_LIBRARIES.values()))


def uses_xcb(environ=os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will draw through xcb: on Linux, asked for by name, or by default outside a
    Wayland session."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    return not environ.get("WAYLAND_DISPLAY")


def missing_libraries() -> list[str]:
    """The xcb plugin's libraries that the system's loader cannot load."""
    missing = []
    for name in XCB_LIBRARIES:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return missing


def problem() -> str | None:
    """One line naming the missing libraries and the command that installs them all; None if
    nothing is missing."""
    missing = missing_libraries()
    if not missing:
        return None
    return (f"the window needs system libraries that are missing: {', '.join(missing)}; "
            f"install them with: {INSTALL_COMMAND}")
