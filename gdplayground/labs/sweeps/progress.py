"""How far a sweep has come, runs training side by side: the runs ended, and each run in
training by its steps. The command line's bar and the window's both read it."""

from __future__ import annotations


class SweepTally:
    def __init__(self, runs: int):
        self.runs, self.ended = runs, 0
        self.training: dict[int, float] = {}  # a run in training's index: the share it has done

    def stepped(self, index: int, step: int, steps: int) -> None:
        self.training[index] = step / steps

    def finished(self, index: int) -> None:
        self.training.pop(index, None)
        self.ended += 1

    @property
    def fraction(self) -> float:
        """Of the whole sweep, counting the runs in training by their steps."""
        return (self.ended + sum(self.training.values())) / self.runs
