"""`gdplayground race`: optimizers racing on a surface, headless; the Optimizers tab's twin."""

from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path

import numpy as np

from gdplayground.cli.flags import (
    UsageError, decimal_number, path_given, staged_output, text_given)
from gdplayground.cli.window import preflight
from gdplayground.config import ConfigError, OptimizerConfig, shown
from gdplayground.files import holds_only, write_atomic

CSV_NAME, PNG_NAME = "trajectories.csv", "race.png"
CSV_HEADER = ("optimizer", "step", "x", "y", "f", "grad_x", "grad_y")
HYPERPARAMETERS = ("momentum", "beta1", "beta2", "rho", "eps")
USED_BY = {"sgd": (), "momentum": ("momentum",), "nesterov": ("momentum",), "adagrad": ("eps",),
           "rmsprop": ("rho", "eps"), "adam": ("beta1", "beta2", "eps")}  # the keys each rule reads
RACE_STEPS_LIMIT = 1_000_000


def register(commands) -> None:
    from gdplayground.labs.surfaces import SURFACES

    race = commands.add_parser(
        "race", help="race optimizers on a surface and write their trajectories and a picture",
        description="Race optimizers from one start on a surface. Each --optimizer is "
                    "NAME:LR[:key=value...], e.g. adam:0.1:beta1=0.8 or momentum:0.01:momentum=0.95.")
    race.add_argument("--surface", required=True, choices=SURFACES, help="the surface to descend")
    race.add_argument("--kappa", type=decimal_number,
                      help="quadratic: condition number λ₂/λ₁, from 1 to 1,000 (default 10)")
    race.add_argument("--angle", type=decimal_number,
                      help="quadratic: rotation of the bowl's axes, degrees (default 30)")
    race.add_argument("--expression", type=text_given,
                      help='expression: f in x and y, e.g. "x^2 + 3*sin(y)"')
    race.add_argument("--start", required=True, type=text_given,
                      help="the start, X or X,Y; a negative one as --start=-1.2,1")
    race.add_argument("--optimizer", dest="racers", action="append", required=True,
                      type=racer_spec, metavar="NAME:LR[:key=value...]",
                      help="a racer (repeat for more): sgd, momentum, nesterov, adagrad, "
                           f"rmsprop, adam; keys: {', '.join(HYPERPARAMETERS)}")
    race.add_argument("--steps", type=race_steps, required=True,
                      help=f"iterations per racer, 1 to {RACE_STEPS_LIMIT:,}")
    race.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                      help="the arithmetic of the points and gradients (default float64)")
    race.add_argument("--out", type=path_given, required=True,
                      help="a new or empty folder for trajectories.csv and race.png, or an "
                           "earlier race's, replaced whole once both are written")
    race.set_defaults(run=run_race)


def racer_spec(text: str):
    """NAME:LR[:key=value...] -> Racer, its settings validated."""
    from gdplayground.labs.race import Racer, check_racer

    name, _, rest = text_given(text).strip().partition(":")
    lr_text, *pairs = rest.split(":") if rest else [""]
    optimizer = OptimizerConfig(name=name)
    for i, pair in enumerate(pairs):
        key, equals, value = pair.partition("=")
        if not equals or key not in HYPERPARAMETERS:
            raise UsageError(f"--optimizer {shown(text)}: {shown(pair)} is not key=value with a "
                             f"key among {', '.join(HYPERPARAMETERS)}")
        if any(earlier.partition("=")[0] == key for earlier in pairs[:i]):
            raise UsageError(f"--optimizer {shown(text)}: {key} is given twice")
        if key not in USED_BY.get(name, HYPERPARAMETERS):
            used = ", ".join(USED_BY[name]) or "none"
            raise UsageError(f"--optimizer {shown(text)}: {name} does not use {key} (it reads: "
                             f"{used})")
        setattr(optimizer, key, _number(value, text))
    try:
        return check_racer(Racer(optimizer, _number(lr_text, text)))
    except ConfigError as exc:
        raise UsageError(f"--optimizer {shown(text)}: {exc}") from None


def race_steps(text: str) -> int:
    if not re.fullmatch(r"\s*[0-9]{1,7}\s*", text) or not 1 <= int(text) <= RACE_STEPS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {RACE_STEPS_LIMIT:,} (got {shown(text)})")
    return int(text)


def _number(text: str, spec: str) -> float:
    if not re.fullmatch(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", text):
        raise UsageError(f"--optimizer {shown(spec)}: {shown(text)} is not a number; write "
                         "NAME:LR[:key=value...], e.g. adam:0.1:beta1=0.8")
    return float(text)


def run_race(args) -> int:
    from gdplayground.labs.race import Race

    surface = _surface(args)
    start = _start(args.start, surface.dims)
    race = Race(surface, start, args.racers, dtype=np.dtype(args.dtype))  # f checked at the start
    preflight(window=False)  # before the work: the picture is part of what --out promises
    with staged_output(args.out, _earlier_race, "a race's output") as out:
        for _ in range(args.steps):
            if race.finished:
                break
            race.step()
        _print_results(race, args)
        write_atomic(out.file(CSV_NAME), trajectories_csv(race).encode())
        from gdplayground.gui.optimizers.race_view import save_race_png

        save_race_png(race, out.file(PNG_NAME))
    print(f"wrote {args.out / CSV_NAME} and {args.out / PNG_NAME}")
    return 0


def _earlier_race(folder: Path) -> bool:
    return holds_only(folder, (CSV_NAME, PNG_NAME))


def _surface(args):
    from gdplayground.labs.surfaces import make_surface

    shape = {"kappa": args.kappa, "angle": args.angle, "expression": args.expression}
    for key, value in shape.items():
        surface = "expression" if key == "expression" else "quadratic"
        if value is not None and args.surface != surface:  # a typo would go unnoticed
            raise UsageError(f"--{key} goes with --surface {surface} (this race is on "
                             f"{args.surface})")
    try:
        return make_surface(args.surface, **{key: v for key, v in shape.items() if v is not None})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _start(text: str, dims: int) -> np.ndarray:
    parts = text.split(",")
    if len(parts) != dims:
        raise UsageError(f"--start must give {'X' if dims == 1 else 'X,Y'} on this "
                         f"{dims}-D surface (got {shown(text)})")
    try:
        start = np.array([float(decimal_number(p)) for p in parts])
    except Exception:
        raise UsageError(f"--start must be numbers like 2.0 or -1.5,1.5 (got {shown(text)})") from None
    if not np.all(np.isfinite(start)):
        raise UsageError(f"--start must be a finite point (got {shown(text)})")
    return start




def _print_results(race, args) -> None:
    surface = race.surface
    start = ", ".join(f"{v:g}" for v in race.start)
    steps = f"{race.step_count:,} step" + ("" if race.step_count == 1 else "s")
    print(f"{surface.title}, from ({start}), {steps}, {args.dtype}")
    width = max(len(label) for label in race.labels)
    for i, label in enumerate(race.labels):
        point = race.points[i]
        where = ", ".join(f"{v:.6g}" for v in point)
        value = float(surface.f(point)) if np.all(np.isfinite(point)) else float("nan")
        print(f"  {label:<{width}}  ends at ({where})  f {value:.6g}  {_outcome(race, i)}")


def _outcome(race, i: int) -> str:
    from gdplayground.labs.race import STALL_WORDS

    status, step = race.status[i], race.finished_at[i]
    if status == "converged" and not race.surface.minima:  # a typed formula's
        return f"at a minimum (gradient below 1e-6, curving up every way) at step {step:,}"
    if status == "converged":
        local = race.local_minimum_words(i)
        return f"within 1e-6 of a minimum at step {step:,}" + (f": {local}" if local else "")
    if status == "diverged":
        return f"diverged at step {step:,}"
    stalled = race.stalled(i)
    if stalled:
        return f"stalled where the gradient vanishes, at {STALL_WORDS[stalled]}"
    return f"not within 1e-6 of a minimum after {race.step_count:,} steps"


def trajectories_csv(race) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for label, step, x, y, f, gx, gy in race.rows():
        writer.writerow([label, step, repr(x), "" if y is None else repr(y), repr(f), repr(gx),
                         "" if gy is None else repr(gy)])
    return out.getvalue()
