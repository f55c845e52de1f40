"""The paces training can run at, in steps a second, and the one each data set opens at. No Qt
here: the command line offers the same paces to `gdplayground screenshot`."""

from __future__ import annotations

from gdplayground.config import TABLE_FILES, TOY_DATASETS

# Steps a second, slowest first; None: as fast as the machine can.
PACES = {1: "1 step/s", 3: "3 steps/s", 10: "10 steps/s", 30: "30 steps/s", 100: "100 steps/s",
         None: "As fast as possible"}


def default_pace(dataset: str) -> int | None:
    """The pace a data set opens at: slow enough to watch the small ones (toys and tables) learn,
    flat out for images (MNIST needs thousands of steps to show anything)."""
    return 100 if dataset in (*TOY_DATASETS, *TABLE_FILES, "table", "linear-system") else None
