"""`gdplayground gradcheck`: backprop against finite differences, headless. Given a weight file,
the Gradient check tab's twin: its network at its weights, checked as the tab checks it.
Without one, the built-in checks of every activation and loss; with --h-sweep, the error of a
difference quotient against its step h."""

from __future__ import annotations

import csv
from pathlib import Path

from gdplayground.cli.flags import UsageError, path_given, staged_output
from gdplayground.config import DATASETS, preset
from gdplayground.files import atomic_path, holds_only

SWEEP_CSV, SWEEP_PNG = "h_sweep.csv", "h_sweep.png"
SWEEP_DEFAULT = "spiral"  # a small smooth network: truncation falls cleanly as h or h²
SWEEP_DATASETS = tuple(name for name in DATASETS if name != "idx")  # presets need no folder


def register(commands) -> None:
    check = commands.add_parser(
        "gradcheck", help="check backprop against finite differences",
        description="Check backprop against central finite differences. Given a weight file, "
                    "its network at its weights, as the Gradient check tab checks it: a row "
                    "per parameter and dtype; the exit code is 1 only when a float64 row is "
                    "wrong. Without one, every hidden activation and output/loss pair on small "
                    "networks of its own.")
    check.add_argument("weights", type=path_given, nargs="?",
                       help="a .npz weight file written by gdplayground")
    check.add_argument("--h-sweep", action="store_true",
                       help="instead, measure the error of forward and central differences "
                            "against their step h (1e-1 to 1e-12) in float64 and float32, and "
                            "write h_sweep.csv (dtype,method,h,error) and h_sweep.png into --out")
    check.add_argument("--out", type=path_given, metavar="DIR",
                       help="the folder for --h-sweep's files (made if missing)")
    check.add_argument("--dataset", choices=SWEEP_DATASETS,
                       help="whose preset network --h-sweep measures, at its seeded initial "
                            "weights on 32 of its training examples (default spiral: 2-8-8-1 "
                            "tanh, smooth, so the truncation error falls cleanly as h or h²)")
    check.set_defaults(run=run_gradcheck)


def run_gradcheck(args) -> int:
    for flag, value in (("--out", args.out), ("--dataset", args.dataset)):
        if value is not None and not args.h_sweep:
            raise UsageError(f"{flag} goes with --h-sweep (the plain check runs its own networks)")
    if args.h_sweep and args.weights:
        raise UsageError("--h-sweep measures a preset's network: it takes no weight file")
    if args.h_sweep:
        return run_h_sweep(args)
    if args.weights:
        return check_weight_file(args.weights)
    from gdplayground.engine.gradcheck import TOLERANCE, VARIANT_WORDS, VARIANTS, check_all

    results = check_all()
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for r in results:
        rows.setdefault((r.activation, f"{r.output}+{r.loss}"), {})[r.variant] = r.worst
    print(f"Worst relative error per parameter, float64 (tolerance {TOLERANCE:g})")
    print(f"{'hidden':<11}{'output+loss':<24}" + "".join(f"{v:>11}" for v in VARIANTS))
    for (activation, pair), errors in rows.items():
        print(f"{activation:<11}{pair:<24}" + "".join(f"{errors[v]:>11.1e}" for v in VARIANTS))
    print("The convolution variants, on 1x7x7 images, check the convolution's parameters (their "
          "gradient comes back through every layer after it):")
    for variant, words in VARIANT_WORDS.items():
        print(f"  {variant}: {words}")
    failed = [r for r in results if r.worst > TOLERANCE]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed")
    for r in failed:
        print(f"FAILED {r.activation} {r.output}+{r.loss} {r.variant}: {r.errors}")
    return 1 if failed else 0


def check_weight_file(path: Path) -> int:
    """The tab's check of the file's network at its weights: a row per parameter and dtype."""
    from gdplayground.cli.train import trained_from
    from gdplayground.labs.gradient_lab import ROUNDING, check_layers, conclusion

    trainer = trained_from(path)
    probe = trainer.gradient_probe()
    print(f"{path}: {trainer.dataset.name}, trained {trainer.step_count:,} steps")
    print(f"{probe.describe()}; dropout off")
    checks = check_layers(probe)
    print(f"{'parameter':<16}{'dtype':<9}{'entries':>7}{'h':>10}{'rel. error':>12}"
          f"{'round-off':>11}  verdict")
    for c in checks:
        print(f"{c.parameter:<16}{c.dtype:<9}{c.entries:>7}{c.h:>10.1e}{c.error:>12.1e}"
              f"{c.round_off:>11.1e}  {c.verdict}")
    print(conclusion(checks))
    print(f"(round-off: the relative error that rounding alone, {ROUNDING}·ε·|L|/h, can make at "
          f"the worst entry; errors within it cannot be resolved)")
    return 1 if any(c.dtype == "float64" and c.verdict == "wrong" for c in checks) else 0


def run_h_sweep(args) -> int:
    """The error of forward and central differences against h, in float64 and float32, for
    the preset network of --dataset at its seeded initial weights: a CSV, a PNG, the best h."""
    if args.out is None:
        raise UsageError("--h-sweep needs --out DIR: the folder for h_sweep.csv and h_sweep.png")
    from gdplayground.cli.window import preflight
    from gdplayground.engine import Trainer
    from gdplayground.labs.gradient_lab import METHODS, best_h, curve, h_sweep

    dataset = args.dataset or SWEEP_DEFAULT
    preflight(window=False)  # before the work: the PNG needs Qt's system libraries
    with staged_output(args.out, lambda folder: holds_only(folder, (SWEEP_CSV, SWEEP_PNG)),
                       "an h sweep's output") as out:
        probe = Trainer(preset(dataset)).gradient_probe()
        rows = h_sweep(probe)
        _write_sweep_csv(rows, out.file(SWEEP_CSV))
        from gdplayground.gui.gradient_check.h_sweep_view import save_sweep_png

        save_sweep_png(rows, out.file(SWEEP_PNG), f"{dataset}, {probe.describe()}")
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
