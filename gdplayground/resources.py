"""Where the files that ship with gdplayground (the bundled MNIST) live."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """A path under resources/: inside the installed package, or beside it in a source checkout.

    The wheel carries the checkout's top-level resources/ as gdplayground/resources/.
    """
    installed = _PACKAGE / "resources"
    root = installed if installed.is_dir() else _PACKAGE.parent / "resources"
    return root.joinpath(*parts)
