"""`gdplayground bench`."""

from __future__ import annotations

from gdplayground.bench import SECTIONS
from gdplayground.cli.flags import UsageError
from gdplayground.config import shown


# --- bench ---------------------------------------------------------------------------------
def run_bench(args) -> int:
    from gdplayground import bench
    from gdplayground.files import check_writable

    sections = [s.strip() for s in args.only.split(",")] if args.only is not None else list(SECTIONS)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise UsageError(f"--only: {shown(unknown[0])} is not a section; allowed: {', '.join(SECTIONS)}")
    for flag, value, low, high in (("--repeats", args.repeats, 1, 1000),
                                   ("--seconds", args.seconds, 0.01, 3600),
                                   ("--long-seconds", args.long_seconds, 1, 86400)):
        if not low <= value <= high:
            raise UsageError(f"{flag} must be from {low:g} to {high:g} (got {value:g})")
    if args.json:
        try:
            check_writable(args.json)  # before measuring, not after
        except OSError as exc:
            raise UsageError(f"--json: cannot write {args.json}: {exc.strerror or exc}") from None
    bench.run(sections, args.repeats, args.seconds, args.json, long_seconds=args.long_seconds)
    return 0
