"""`gdplayground bench` and `gdplayground gradcheck`."""

from __future__ import annotations

import csv
from pathlib import Path

from gdplayground.bench import SECTIONS
from gdplayground.cli.flags import UsageError, output_folder
from gdplayground.config import DATASETS, preset, shown
from gdplayground.files import atomic_path
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
SWEEP_CSV, SWEEP_PNG = "h_sweep.csv", "h_sweep.png"
SWEEP_DEFAULT = "spiral"  # a small smooth network: truncation falls cleanly as h or h²
SWEEP_DATASETS = tuple(name for name in DATASETS if name != "idx")  # presets need no folder


def run_gradcheck(args) -> int:
    for flag, value in (("--out", args.out), ("--dataset", args.dataset)):
        if value is not None and not args.h_sweep:
            raise UsageError(f"{flag} goes with --h-sweep (the plain check runs its own networks)")
    if args.h_sweep:
        return run_h_sweep(args)
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


def run_h_sweep(args) -> int:
    """The error of forward and central differences against h, in float64 and float32, for
    the preset network of --dataset at its seeded initial weights: a CSV, a PNG, the best h."""
    if args.out is None:
        raise UsageError("--h-sweep needs --out DIR: the folder for h_sweep.csv and h_sweep.png")
    from gdplayground.cli.window import preflight
    from gdplayground.engine import Trainer
    from gdplayground.engine.gradient_lab import METHODS, best_h, curve, h_sweep

    output_folder(args.out, SWEEP_CSV)
    preflight(window=False)  # before the work: the PNG needs Qt's system libraries
    dataset = args.dataset or SWEEP_DEFAULT
    probe = Trainer(preset(dataset)).gradient_probe()
    rows = h_sweep(probe)
    _write_sweep_csv(rows, args.out / SWEEP_CSV)
    from gdplayground.gui.sweep_view import save_sweep_png

    save_sweep_png(rows, args.out / SWEEP_PNG, f"{dataset}, {probe.describe()}")
    print(f"h sweep of {probe.describe()} ({dataset} preset, initial weights)")
    print("best h (smallest median relative error against float64 backprop):")
    for dtype in ("float64", "float32"):
        for method in reversed(METHODS):
            h = best_h(rows, dtype, method)
            error = curve(rows, dtype, method)[1].min()
            print(f"  {dtype}  {method:<8} h = {h:.1e}   error {error:.1e}")
    print(f"wrote {args.out / SWEEP_CSV} ({len(rows)} rows) and {args.out / SWEEP_PNG}")
    return 0




def _write_sweep_csv(rows, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["dtype", "method", "h", "error"])
        writer.writerows((r.dtype, r.method, f"{r.h:.6e}", f"{r.error:.6e}") for r in rows)
