"""`gdplayground landscape`: the loss landscape of a trained network, headless; the twin of the
window's Landscape tab. Writes the loss (and accuracy) on a line or a grid as landscape.csv and
a picture of it as landscape.png, and prints the least loss found and where."""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
from pathlib import Path

import numpy as np

from gdplayground.cli.flags import (
    UsageError, decimal_number, path_given, staged_output, whole_number)
from gdplayground.files import atomic_path, holds_only

CSV_NAME, PNG_NAME, PATH_CSV = "landscape.csv", "landscape.png", "path.csv"
MODES = ("line", "plane", "path")
GRID = {"line": 201, "plane": 21, "path": 21}  # points along each axis by default
RANGE = {"line": 0.5, "plane": 1.0}  # the line: α from −R to 1 + R; the plane: a, b from −R to R
MAX_GRID = 501  # a 501 × 501 plane is 251,001 networks evaluated: beyond it, surely a typo
MAX_RANGE = 1e6
DEFAULT_SAMPLES = 2000


def register(commands) -> None:
    land = commands.add_parser(
        "landscape", help="the loss on a line or plane through a network's weights, as a CSV "
                          "and a PNG",
        description="The loss landscape of a trained network (Li et al., 2018), as the "
                    "Landscape tab shows it: along the line from its initial weights θ₀ to its "
                    "current ones θ (θ₀ + α(θ − θ₀)), on a plane through θ along two random "
                    "directions normalised per unit (per filter in a convolution), or on the plane of its kept path's first "
                    "two principal components with the path drawn on it. The loss is the one "
                    "training minimises (penalties included, dropout off), on training examples.")
    land.add_argument("weights", type=path_given, metavar="WEIGHTS_OR_RUN",
                      help="a .npz weight file written by gdplayground, or a run folder")
    land.add_argument("--mode", choices=MODES, required=True,
                      help="line: θ₀ to θ; plane: random directions around θ; path: the "
                           "training path on its principal plane")
    land.add_argument("--grid", type=grid_size, metavar="N",
                      help=f"points along each axis, 2 to {MAX_GRID} (default: "
                           f"{GRID['line']} along the line, {GRID['plane']} × {GRID['plane']} "
                           "on a plane)")
    land.add_argument("--range", type=extent, metavar="R",
                      help=f"how far to look: the line's α from −R to 1 + R (default "
                           f"{RANGE['line']}), the plane's a and b from −R to R (default "
                           f"{RANGE['plane']}); the path's plane spans the path itself")
    land.add_argument("--samples", type=sample_count, default=DEFAULT_SAMPLES, metavar="S",
                      help=f"training examples the loss is the mean over (default "
                           f"{DEFAULT_SAMPLES}; at most those the landscape draws from, 5000)")
    land.add_argument("--seed", type=seed_number, default=0, metavar="K",
                      help="which examples and which random directions (default 0)")
    land.add_argument("--out", type=path_given, required=True, metavar="DIR",
                      help=f"a new or empty folder (or an earlier landscape's, replaced whole) "
                           f"for {CSV_NAME} (a,b,loss,accuracy; b empty along the line, "
                           f"accuracy empty for regression), {PNG_NAME}, and for the path "
                           f"{PATH_CSV} (each kept point: its step, a, b, its loss, its "
                           f"projection's loss, its distance from the plane)")
    land.set_defaults(run=run_landscape)


def grid_size(text: str) -> int:
    return _within(whole_number(text), 2, MAX_GRID)


def sample_count(text: str) -> int:
    return _within(whole_number(text), 1, 10**9)


def seed_number(text: str) -> int:
    return _within(whole_number(text), 0, 2**63 - 1)


def extent(text: str) -> float:
    value = decimal_number(text)
    if not 0 < value <= MAX_RANGE:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_RANGE:g} "
                                         f"(got {text.strip()})")
    return value


def _within(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,} (got {value:,})")
    return value


def run_landscape(args) -> int:
    from gdplayground.cli.train import trained_from
    from gdplayground.labs.landscape import Terrain

    if args.mode == "path" and args.range is not None:
        raise UsageError("--range goes with --mode line or plane: the path's plane spans the "
                         "path itself")
    trainer = trained_from(args.weights)
    terrain = Terrain.of(trainer)
    grid = args.grid or GRID[args.mode]
    reach = args.range if args.range is not None else RANGE.get(args.mode)
    print(f"{args.weights}: {terrain.dataset}, trained {terrain.step:,} steps; "
          f"{terrain.probe.describe().rsplit(',', 1)[0]}")  # the examples: the result's count
    with staged_output(args.out, lambda folder: holds_only(folder, (CSV_NAME, PNG_NAME, PATH_CSV)),
                       "a landscape's output") as out:  # an --out it cannot use: before the work
        with _progress_bar() as progress:
            result = _compute(args.mode, terrain, grid, reach, args.samples, args.seed, progress)
        rows = _rows(result)
        _write_csv(out.file(CSV_NAME), ["a", "b", "loss", "accuracy"], rows)
        written = [CSV_NAME, PNG_NAME]
        if args.mode == "path":
            _write_csv(out.file(PATH_CSV), ["step", "a", "b", "loss", "plane_loss", "distance"],
                       _path_rows(result))
            written.append(PATH_CSV)
        from gdplayground.cli.landscape_png import landscape_png

        landscape_png(result, terrain, out.file(PNG_NAME))
    _print_summary(result, rows)
    print(f"wrote {', '.join(written)} in {args.out}")
    return 0


@contextlib.contextmanager
def _progress_bar():
    """progress(done, total) for the lab, drawn as a bar of the points evaluated (on a
    terminal)."""
    from tqdm import tqdm

    with tqdm(total=1, unit="point", disable=None, leave=False, dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        yield progress


def _compute(mode: str, terrain, grid: int, reach: float | None, samples: int, seed: int,
             progress):
    from gdplayground.labs.landscape import line, path_plane, plane

    probe = terrain.probe
    if mode == "line":
        start = terrain.path.weights[0].astype(np.float64)
        print(f"along the line from the weights at step {terrain.path.steps[0]:,} (α = 0) to "
              f"those at step {terrain.step:,} (α = 1)")
        return line(probe, start, probe.flat(), np.linspace(-reach, 1 + reach, grid),
                    samples, seed, progress)
    if mode == "plane":
        print(f"on the plane through the weights at step {terrain.step:,} along two random "
              f"directions (seed {seed}) normalised per unit")
        return plane(probe, grid, reach, samples, seed, progress=progress)
    try:
        result = path_plane(probe, terrain.path, grid, samples, seed, progress,
                            step=terrain.step)
    except ValueError as exc:
        raise UsageError(f"--mode path: {exc}") from None
    from gdplayground.cli.landscape_png import path_gap

    first, second = result.explained
    print(f"on the plane of the path's first two principal components ({len(result.steps)} "
          f"points), which explain {first:.1%} and {second:.1%} of its variance; {path_gap(result)}")
    return result


def _rows(result) -> list[tuple]:
    """(a, b, loss, accuracy) of each point: b None along the line, accuracy None for
    regression."""
    from gdplayground.labs.landscape import Line

    if isinstance(result, Line):
        accuracy = result.accuracy if result.accuracy is not None else [None] * len(result.loss)
        return [(a, None, loss, acc) for a, loss, acc in zip(result.alphas, result.loss, accuracy)]
    surface = getattr(result, "surface", result)
    accuracy = surface.accuracy if surface.accuracy is not None else np.full(surface.loss.shape,
                                                                             None)
    return [(a, b, surface.loss[j, i], accuracy[j, i])
            for j, b in enumerate(surface.b) for i, a in enumerate(surface.a)]


def _path_rows(result) -> list[tuple]:
    return [(int(step), a, b, loss, plane_loss, distance)
            for step, (a, b), loss, plane_loss, distance in
            zip(result.steps, result.coords, result.true_loss, result.plane_loss, result.distance)]


def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    """Numbers as Python writes them back (repr: every digit), None as an empty cell."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(["" if v is None else repr(v if isinstance(v, int) else float(v))
                          for v in row] for row in rows)


def _print_summary(result, rows: list[tuple]) -> None:
    note = getattr(getattr(result, "surface", result), "note", "")
    if note:
        print(f"note: {note}")
    finite = [row for row in rows if math.isfinite(row[2])]
    if not finite:
        print("the loss is not finite anywhere here")
        return
    a, b, loss, accuracy = min(finite, key=lambda row: row[2])
    where = f"α = {a:.6g}" if b is None else f"(a, b) = ({a:.6g}, {b:.6g})"
    shown = "" if accuracy is None else f", accuracy {accuracy:.2%}"
    samples = getattr(result, "surface", result).samples
    print(f"least loss {loss:.6g} at {where}{shown}, on {samples:,} examples")
