"""`gdplayground window` and `gdplayground screenshot`: the window, on screen or offscreen."""

from __future__ import annotations

from gdplayground.cli.flags import UsageError, config_from_args
from gdplayground.cli.train import total_steps
from gdplayground.config import preset, shown


# --- window and screenshot -------------------------------------------------------------------
def run_window(args) -> int:
    config = config_from_args(args) if getattr(args, "command", None) else preset("mnist")
    preflight(window=True)
    from gdplayground.gui.window.app import run_window as open_window

    return open_window(config)


def run_screenshot(args) -> int:
    from gdplayground.engine import Trainer
    from gdplayground.files import check_writable

    config = config_from_args(args)
    steps = total_steps(args, Trainer(config), default_epochs=0)  # the data, the memory: now
    if args.out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file (got {shown(str(args.out))})")
    try:
        check_writable(args.out)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
    preflight(window=False)
    from gdplayground.gui.window.app import WindowTooSmall, save_screenshot

    try:
        trained = save_screenshot(config, steps, args.out, size=args.size, pace=args.pace)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    except WindowTooSmall as exc:
        raise UsageError(f"--size: {exc}") from None
    print(f"wrote {args.out} after {trained} steps")
    return 0


def preflight(window: bool) -> None:
    """Before Qt is imported: without its system libraries it fails with a traceback or aborts."""
    from gdplayground.gui.window import preflight

    problem = preflight.problem(window)
    if problem:
        raise UsageError(problem)


