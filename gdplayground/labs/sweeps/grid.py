"""The result of a two-setting sweep cell by cell: each point of the grid with its runs so far
and their figures, as the heatmaps draw them and their tooltips tell them.

A cell's figures are means over its repeats that trained to the end: a run that diverged has no
final loss or test accuracy, and its least loss (from before it blew up) would flatter the
setting that blew it up; a run that failed (its worker died twice) has no figures at all. A cell
whose runs all diverged is "diverged", never a colour on the loss's scale; one whose runs all
failed is "failed"; one with no run yet is "empty". Runs end in any order when workers train
them side by side, so each is placed by its point, never by when it arrived.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from gdplayground.labs.sweeps.plan import SweepPlan
from gdplayground.labs.sweeps.runs import FailedRun, SweepRun

FIGURES = ("final_loss", "least_loss", "test_accuracy")  # a heatmap each
EMPTY, MEASURED, DIVERGED, FAILED = "empty", "measured", "diverged", "failed"


class Cell(NamedTuple):
    """One point of the grid: its runs so far (by repeat), the mean of each figure over those
    that trained to the end (NaN if none did, or none has the figure), and how many of its runs
    diverged and how many failed."""

    point: tuple
    runs: tuple  # SweepRun | FailedRun
    final_loss: float
    least_loss: float
    test_accuracy: float
    diverged: int
    failed: int

    @property
    def state(self) -> str:
        """EMPTY (no run yet), MEASURED (a run trained to the end), DIVERGED (every run that did
        not fail diverged) or FAILED (every run failed)."""
        if not self.runs:
            return EMPTY
        if self.diverged + self.failed < len(self.runs):
            return MEASURED
        return DIVERGED if self.diverged else FAILED


def measured(run: SweepRun | FailedRun) -> bool:
    """A run that trained to the end: its figures count."""
    return isinstance(run, SweepRun) and not run.diverged


def cell_of(point: tuple, runs: Sequence[SweepRun | FailedRun]) -> Cell:
    runs = tuple(sorted(runs, key=lambda run: (run.repeat, run.index)))
    kept = [run for run in runs if measured(run)]

    def mean(figure: str) -> float:
        values = [getattr(run, figure) for run in kept if getattr(run, figure) is not None]
        return float(np.mean(values)) if values else np.nan
    return Cell(point, runs, *(mean(figure) for figure in FIGURES),
                sum(isinstance(run, SweepRun) and run.diverged for run in runs),
                sum(isinstance(run, FailedRun) for run in runs))


class SweepGrid:
    """The cells of a two-setting plan from the runs so far: `cells[i][j]` is the point of the
    first axis's i-th value and the second's j-th."""

    def __init__(self, plan: SweepPlan, runs: Sequence[SweepRun | FailedRun]):
        if len(plan.axes) != 2:
            raise ValueError(f"a grid has two axes (this plan has {len(plan.axes)})")
        self.plan = plan
        places = [{value: i for i, value in enumerate(axis.values)} for axis in plan.axes]
        by_place: dict[tuple[int, int], list] = {}
        for run in runs:
            place = tuple(where[value] for where, value in zip(places, run.point))
            by_place.setdefault(place, []).append(run)
        self.cells = [[cell_of((first, second), by_place.get((i, j), ()))
                       for j, second in enumerate(plan.axes[1].values)]
                      for i, first in enumerate(plan.axes[0].values)]

    def figure(self, name: str) -> np.ndarray:
        """One figure over the grid, shape plan.shape, NaN where a cell has none."""
        return np.array([[getattr(cell, name) for cell in row] for row in self.cells], dtype=float)

    def states(self) -> np.ndarray:
        return np.array([[cell.state for cell in row] for row in self.cells], dtype=object)
