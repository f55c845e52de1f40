"""Lessons: a set-up for the playground's tabs and a short text that says what to do, what to look
at and why it happens. A lesson is two files side by side, NAME.toml and NAME.md; the shipped
ones live in resources/lessons/, and a teacher's own open from anywhere (File ▸ Open lesson…).

NAME.toml holds:

    title = "Adam against SGD in a ravine"   # the Lessons menu's words
    order = 4                                # its place in the menu
    tab = "optimizers"                       # the view it opens: one of TABS

    [experiment]   # the Training tab's experiment, as an experiment file writes it; the keys
                   # left out are those of data.name's preset, as the Data panel gives them
    [race]         # the Optimizers tab: surface, kappa, angle, expression, start, racers
    [sweep]        # the Runs tab's sweep: setting, values, count, log, repeats, steps
    [inside]       # page = "pictures" or "distributions"
    [landscape]    # view = "line", "plane", "path" or "sharpness"

Every section is optional. Reading checks all of it, so a lesson that opens sets up every tab it
names; what is wrong is said once, naming the file, and the key and its line where there is one.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import tomli_w

from gdplayground.config import (
    DATASETS, ConfigError, ExperimentConfig, OptimizerConfig, preset, shown, validate_fields)
from gdplayground.data import DataError
from gdplayground.data.datasets import table_path
from gdplayground.data.table import read_table
from gdplayground.files import open_regular
from gdplayground.labs.expression import ExpressionError
from gdplayground.labs.race import MAX_RACERS, Race, Racer, check_racer
from gdplayground.labs.surfaces import SURFACES, Surface, SurfaceError, make_surface
from gdplayground.labs.sweeps.params import SweepError, sweep_param
from gdplayground.labs.sweeps.plan import SweepPlan, axis_from_fields
from gdplayground.resources import resource_path

FILE_DATASETS = ("table", "idx")  # data sets read from data.path
TABS = ("training", "optimizers", "gradient-check", "inside", "runs", "landscape")
INSIDE_PAGES = ("pictures", "distributions")
LANDSCAPE_VIEWS = ("line", "plane", "path", "sharpness")
MAX_LESSON_BYTES = 1 << 20  # a lesson's set-up or text is a few kilobytes
START_LIMIT = 1e3  # a race's start, as far as the Optimizers tab's start fields reach
ANGLE_LIMIT = 90.0  # the bowl's axes turned by at most this many degrees either way
SWEEP_STEPS = (1, 1_000_000)  # as the Runs tab's fields take them
SWEEP_COUNT = (2, 100)
SWEEP_REPEATS = (1, 20)
TOP_KEYS = ("title", "order", "tab", "experiment", "race", "sweep", "inside", "landscape")


class LessonError(ValueError):
    """A lesson that cannot be opened; the message names the file and what is wrong where."""


@dataclass(frozen=True)
class RaceSetup:
    """The Optimizers tab's race: a surface, a start (None: the surface's own) and racers."""

    surface: str
    racers: tuple[Racer, ...]
    start: tuple[float, ...] | None = None
    kappa: float = 10.0
    angle: float = 30.0
    expression: str = ""

    def make_surface(self) -> Surface:
        return make_surface(self.surface, kappa=self.kappa, angle=self.angle,
                            expression=self.expression)

    def race(self) -> Race:
        """The race the tab shows, made by the labs alone (as a lesson's test runs it)."""
        surface = self.make_surface()
        return Race(surface, self.start or surface.start, list(self.racers))


@dataclass(frozen=True)
class SweepSetup:
    """The Runs tab's sweep fields: the setting, its values as typed (a range LO:HI cut into
    `count` values, log-spaced if `log`, or a list V1,V2,…), repeats and steps per run."""

    setting: str
    values: str
    count: int = 7
    log: bool = False
    repeats: int = 1
    steps: int = 300

    def plan(self) -> SweepPlan:
        axis = axis_from_fields(sweep_param(self.setting), self.values, self.count, self.log)
        return SweepPlan((axis,), self.repeats, steps=self.steps)


@dataclass(frozen=True)
class Lesson:
    name: str  # the file's stem
    title: str
    order: int
    tab: str  # one of TABS
    text: str  # Markdown
    experiment: ExperimentConfig | None = None
    race: RaceSetup | None = None
    sweep: SweepSetup | None = None
    inside_page: str | None = None  # one of INSIDE_PAGES
    landscape_view: str | None = None  # one of LANDSCAPE_VIEWS


def lessons_folder() -> Path:
    return resource_path("lessons")


def shipped_lessons() -> list[Lesson]:
    """The lessons that ship, in their order."""
    return sorted((load_lesson(path) for path in lessons_folder().glob("*.toml")),
                  key=lambda lesson: (lesson.order, lesson.name))


def load_lesson(path: str | Path) -> Lesson:
    """The lesson a NAME.toml file and the NAME.md beside it describe, checked whole."""
    path = Path(path)
    setup = _read(path, "its set-up")
    text = _read(path.with_suffix(".md"), f"the text of {path.name}")
    try:
        raw = tomllib.loads(setup.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{path} is not valid TOML: {exc}") from None
    except (RecursionError, ValueError):  # nested too deeply; an integer of 4,300 digits and more
        raise LessonError(f"{path} is not a lesson: it holds a value too large to read") from None
    try:
        return _lesson(path.stem, path.parent, raw, text.removeprefix("\ufeff"))
    except _Problem as problem:
        raise LessonError(f"{path}: {problem.at(setup)}") from None


# --- reading ------------------------------------------------------------------------------------
class _Problem(Exception):
    """What is wrong, and the dotted key it is wrong at ("" for the file as a whole)."""

    def __init__(self, message: str, key: str = ""):
        super().__init__(message)
        self.key = key

    def at(self, setup: str) -> str:
        line = _line_of(setup, self.key) if self.key else None
        return f"{self} (line {line})" if line else str(self)


def _read(path: Path, what: str) -> str:
    try:
        with open_regular(path, MAX_LESSON_BYTES) as file:
            return file.read().decode("utf-8")
    except FileNotFoundError:
        raise LessonError(f"{path} is missing: a lesson is NAME.toml (its set-up) and NAME.md "
                          f"(its text) side by side") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise LessonError(f"cannot read {what}, {path}: {reason}") from None


def _lesson(name: str, folder: Path, raw: dict, text: str) -> Lesson:
    _known(raw, TOP_KEYS, "")
    title = _text(raw, "title", required=True)
    order = _whole(raw, "order", (0, 10_000), required=True)
    tab = _choice(raw, "tab", TABS, required=True)
    if not text.strip():
        raise _Problem("its text (the .md file beside it) is empty")
    experiment = _section(raw, "experiment", lambda table: _experiment(table, folder))
    return Lesson(
        name, title, order, tab, text, experiment,
        race=_section(raw, "race", _race),
        sweep=_section(raw, "sweep", lambda table: _sweep(table, experiment)),
        inside_page=_section(raw, "inside", lambda table: _choice(
            table, "page", INSIDE_PAGES, "inside.", required=True)),
        landscape_view=_section(raw, "landscape", lambda table: _choice(
            table, "view", LANDSCAPE_VIEWS, "landscape.", required=True)))


def _section(raw: dict, key: str, read: Callable[[dict], Any]):
    """What `read` makes of the table [key], or None without one."""
    return read(_table(raw, key)) if key in raw else None


def _experiment(raw: dict, folder: Path) -> ExperimentConfig:
    """The preset of the data set named, with the lesson's settings over it; a table or an IDX
    folder named by a relative path is found beside the lesson, as a teacher ships them."""
    data = raw.get("data", {})
    dataset = data.get("name", "mnist") if isinstance(data, dict) else "mnist"
    if dataset not in DATASETS:
        raise _Problem(f"experiment.data.name {shown(dataset)} is not one of: "
                       f"{', '.join(DATASETS)}", "experiment.data.name")
    merged = _over(dataclasses.asdict(preset(dataset)), raw)
    try:
        config = ExperimentConfig.from_toml(tomli_w.dumps(merged), "[experiment]")
    except ConfigError as exc:
        unknown = re.search(r"unknown setting ([\w.]+)", str(exc))  # names no field
        field = exc.field or (unknown[1] if unknown else "")
        raise _Problem(str(exc), f"experiment.{field}" if field else "") from None
    if config.data.name in FILE_DATASETS:
        found = folder / Path(config.data.path).expanduser()  # an absolute path stays itself
        if not config.data.path.strip() or not found.exists():
            raise _Problem(f"experiment.data.path {shown(config.data.path)} is not there "
                           f"({found})", "experiment.data.path")
        config.data.path = str(found)
    if config.data.is_table:
        _fit_table(config, raw.get("architecture", {}))
    return config


def _fit_table(config: ExperimentConfig, architecture: dict) -> None:
    """Read the lesson's table now, so a bad one is refused with the lesson, not after the tabs
    changed; its label brings its output and loss unless the lesson sets them."""
    try:
        table = read_table(table_path(config.data), config.data.target, config.data.missing)
    except DataError as exc:
        key = "target" if "no column named" in str(exc) else "path"
        raise _Problem(str(exc), f"experiment.data.{key}") from None
    if not {"output", "loss"} & set(architecture if isinstance(architecture, dict) else ()):
        config.architecture.output, config.architecture.loss = table.output_and_loss


def _over(base: dict, given: dict) -> dict:
    """`base` with `given` laid over it, table by table (a list, such as the hidden layers, is
    replaced whole)."""
    merged = dict(base)
    for key, value in given.items():
        inner = merged.get(key)
        merged[key] = _over(inner, value) if isinstance(inner, dict) and isinstance(value, dict) \
            else value
    return merged


def _race(raw: dict) -> RaceSetup:
    _known(raw, ("surface", "kappa", "angle", "expression", "start", "racers"), "race.")
    surface = _choice(raw, "surface", SURFACES, "race.", required=True)
    kappa = _number(raw, "kappa", "race.", 10.0)
    angle = _number(raw, "angle", "race.", 30.0)
    if abs(angle) > ANGLE_LIMIT:
        raise _Problem(f"race.angle must be from -{ANGLE_LIMIT:g} to {ANGLE_LIMIT:g} degrees "
                       f"(got {angle:g})", "race.angle")
    expression = _text(raw, "expression", "race.")
    setup = RaceSetup(surface, _racers(raw), None, kappa, angle, expression)
    try:
        made = setup.make_surface()
    except (SurfaceError, ExpressionError) as exc:
        key = {"quadratic": "race.kappa", "expression": "race.expression"}.get(surface, "race")
        raise _Problem(f"race: {exc}", key) from None
    start = raw.get("start")
    if start is not None:
        if not (isinstance(start, list) and len(start) == made.dims
                and all(_is_number(v) and abs(v) <= START_LIMIT for v in start)):
            raise _Problem(f"race.start must be a list of {made.dims} number"
                           f"{'s' * (made.dims > 1)} from -{START_LIMIT:,.0f} to "
                           f"{START_LIMIT:,.0f}, as [x{', y' * (made.dims > 1)}] "
                           f"(got {shown(start)})", "race.start")
        setup = dataclasses.replace(setup, start=tuple(float(v) for v in start))
    try:
        setup.race()
    except ConfigError as exc:
        raise _Problem(f"race: {exc}", "race.start") from None
    return setup


def _racers(raw: dict) -> tuple[Racer, ...]:
    racers = raw.get("racers")
    if not (isinstance(racers, list) and 1 <= len(racers) <= MAX_RACERS):
        raise _Problem(f"race.racers must be a list of 1 to {MAX_RACERS} racers, each as "
                       f"{{rule = \"sgd\", lr = 0.1}}", "race.racers")
    return tuple(_racer(item, f"race.racers[{i}].") for i, item in enumerate(racers))


def _racer(raw: Any, prefix: str) -> Racer:
    if not isinstance(raw, dict):
        raise _Problem(f"{prefix.rstrip('.')} must be a table, as {{rule = \"sgd\", lr = 0.1}}",
                       "race.racers")
    hyper = [f.name for f in dataclasses.fields(OptimizerConfig) if f.name != "name"]
    _known(raw, ("rule", "lr", *hyper), prefix)
    rule = _choice(raw, "rule", OptimizerConfig.__dataclass_fields__["name"].metadata["choices"],
                   prefix, required=True)
    optimizer = OptimizerConfig(name=rule, **{k: v for k, v in raw.items() if k in hyper})
    try:
        validate_fields(optimizer, prefix)
    except ConfigError as exc:
        raise _Problem(str(exc), exc.field) from None
    try:
        return check_racer(Racer(optimizer, _number(raw, "lr", prefix, None)))
    except ConfigError as exc:
        raise _Problem(f"{prefix}lr: {exc}", f"{prefix}lr") from None


def _sweep(raw: dict, experiment: ExperimentConfig | None) -> SweepSetup:
    _known(raw, ("setting", "values", "count", "log", "repeats", "steps"), "sweep.")
    setup = SweepSetup(
        _text(raw, "setting", "sweep.", required=True),
        _text(raw, "values", "sweep.", required=True),
        _whole(raw, "count", SWEEP_COUNT, "sweep.", 7), _flag(raw, "log", "sweep."),
        _whole(raw, "repeats", SWEEP_REPEATS, "sweep.", 1),
        _whole(raw, "steps", SWEEP_STEPS, "sweep.", 300))
    try:
        plan = setup.plan()
        if experiment is not None:
            plan.tasks(experiment)  # each value's settings checked against the lesson's
    except SweepError as exc:
        raise _Problem(f"sweep: {exc}", "sweep.values") from None
    return setup


# --- values -------------------------------------------------------------------------------------
def _known(raw: dict, allowed: tuple[str, ...], prefix: str) -> None:
    unknown = sorted(set(raw) - set(allowed), key=str)
    if unknown:
        raise _Problem(f"unknown key {prefix}{unknown[0]}; allowed: {', '.join(allowed)}",
                       prefix + unknown[0])


def _table(raw: dict, key: str) -> dict:
    if not isinstance(raw[key], dict):
        raise _Problem(f"{key} must be a table, as [{key}]", key)
    return raw[key]


def _missing(key: str) -> _Problem:
    return _Problem(f"{key} is missing", "")


def _text(raw: dict, key: str, prefix: str = "", required: bool = False) -> str:
    if key not in raw:
        if required:
            raise _missing(prefix + key)
        return ""
    if not isinstance(raw[key], str):
        raise _Problem(f"{prefix}{key} must be text (got {shown(raw[key])})", prefix + key)
    return raw[key]


def _choice(raw: dict, key: str, choices, prefix: str = "", required: bool = False) -> str:
    value = _text(raw, key, prefix, required)
    if value not in choices:
        raise _Problem(f"{prefix}{key} {shown(value)} is not one of: {', '.join(choices)}",
                       prefix + key)
    return value


def _whole(raw: dict, key: str, bounds: tuple[int, int], prefix: str = "", default=None,
           required: bool = False) -> int:
    if key not in raw:
        if required:
            raise _missing(prefix + key)
        return default
    value, (low, high) = raw[key], bounds
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise _Problem(f"{prefix}{key} must be a whole number from {low:,} to {high:,} "
                       f"(got {shown(value)})", prefix + key)
    return value


def _number(raw: dict, key: str, prefix: str, default: float | None) -> float:
    if key not in raw:
        if default is None:
            raise _missing(prefix + key)
        return default
    value = raw[key]
    if not (_is_number(value) and math.isfinite(value)):
        raise _Problem(f"{prefix}{key} must be a number (got {shown(value)})", prefix + key)
    return float(value)


def _flag(raw: dict, key: str, prefix: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise _Problem(f"{prefix}{key} must be true or false (got {shown(value)})", prefix + key)
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _line_of(setup: str, key: str) -> int | None:
    """The line a dotted key is set on, under its table's header or as a dotted key below a
    shorter one ("experiment.architecture.dropout" in [experiment] or [experiment.architecture]);
    for a key inside a list ("race.racers[1].lr"), the list's line. None if not found."""
    key = re.sub(r"\[\d+\].*", "", key)
    table = ""
    for number, line in enumerate(setup.splitlines(), 1):
        header = re.match(r"\s*\[([\w.\- ]+)\]\s*(#.*)?$", line)
        if header:
            table = header[1].replace(" ", "")
            if table == key:
                return number
            continue
        assignment = re.match(r"\s*([\w.\- ]+?)\s*=", line)
        if assignment:
            name = ".".join(part.strip() for part in assignment[1].split("."))
            if (f"{table}.{name}" if table else name) == key:
                return number
    return None
