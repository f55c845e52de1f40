"""`gdplayground bench` and `gdplayground gradcheck`."""

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


# --- gradcheck -----------------------------------------------------------------------------
def run_gradcheck(args) -> int:
    from gdplayground.engine.gradcheck import TOLERANCE, VARIANTS, check_all

    results = check_all()
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for r in results:
        rows.setdefault((r.activation, f"{r.output}+{r.loss}"), {})[r.variant] = r.worst
    print(f"Worst relative error per parameter, float64 (tolerance {TOLERANCE:g})")
    print(f"{'hidden':<11}{'output+loss':<24}" + "".join(f"{v:>11}" for v in VARIANTS))
    for (activation, pair), errors in rows.items():
        print(f"{activation:<11}{pair:<24}" + "".join(f"{errors[v]:>11.1e}" for v in VARIANTS))
    failed = [r for r in results if r.worst > TOLERANCE]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed")
    for r in failed:
        print(f"FAILED {r.activation} {r.output}+{r.loss} {r.variant}: {r.errors}")
    return 1 if failed else 0


