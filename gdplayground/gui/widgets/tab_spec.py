"""What a tab says of itself, for the window to place it: one declaration per tab, from which
the window builds the tab bar, the View menu and its shortcuts (Ctrl+N for the Nth tab), and
decides what the run controls act on and what shows beside the tab."""

from __future__ import annotations

from typing import NamedTuple


class TabSpec(NamedTuple):
    title: str
    tooltip: str
    runs_on_its_own: bool = False  # Play, Step and Reset act on the tab (the race), not the training
    beside_the_experiment: bool = False  # the experiment's panels and the coach show beside it
