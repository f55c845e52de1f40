"""A table in the Data panel: read off the GUI thread (a 256 MB file takes a while), its columns
listed (name, number or text with its categories, which is the label), and the output and loss
its label calls for. The worker reads the file again to train on it: the panel's reading only
describes it, and refuses a bad table before a run is touched."""

from __future__ import annotations

import dataclasses
import html
import textwrap
import threading
from typing import NamedTuple

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel

from gdplayground.config import TABLE_FILES, DataConfig, ExperimentConfig
from gdplayground.data import DataError
from gdplayground.data.datasets import table_path
from gdplayground.data.table import Preparation, read_table

SHOWN_CATEGORIES = 6  # of a text column, listed before "…"
WRAP_CHARS = 40  # a line of the column list: the panel's width


def is_table(dataset: str) -> bool:
    return dataset in TABLE_FILES or dataset == "table"


def same_table(a: DataConfig, b: DataConfig) -> bool:
    """Whether two data settings read the same table (the splits do not change it)."""
    return (a.name, a.path, a.target, a.missing) == (b.name, b.path, b.target, b.missing)


class TableSummary(NamedTuple):
    """What the panel lists of a table read with `data`'s settings."""

    data: DataConfig  # the settings it was read with (name, path, label column, missing)
    columns: tuple[str, ...]  # in the file's order
    rows: int
    dropped_missing: int
    preparation: Preparation  # fitted on every row: the kinds, categories and classes
    output_and_loss: tuple[str, str]  # what its label calls for (Table.output_and_loss)

    def describes(self, data: DataConfig) -> bool:
        """Whether this is the table `data` reads (the test fraction does not change it)."""
        return same_table(self.data, data)

    @property
    def words(self) -> str:
        """The columns as rich text, one a line (wrapped by hand: a word-wrapped label in the
        panel's form was given too little height, and lost its last lines), the label's last."""
        prep = self.preparation
        categories = dict(prep.categories)
        lines = []
        for name in self.columns:
            if name in prep.dropped:
                lines += _lines(name, "one constant value: left out")
            elif name in categories:
                values = categories[name]
                more = " …" if len(values) > SHOWN_CATEGORIES else ""
                listed = ", ".join(values[:SHOWN_CATEGORIES]) + more
                lines += _lines(name, f"text, {len(values)} categories: {listed}")
            elif name != prep.target:
                lines += _lines(name, "number")
        label = ("a number: regression" if prep.classes is None else
                 f"{len(prep.classes)} classes: {', '.join(prep.classes)}")
        lines += _lines(prep.target, label, " (label)")
        dropped = (f", {self.dropped_missing:,} with a missing value left out"
                   if self.dropped_missing else "")
        lines.append(f"<i>{self.rows:,} rows{html.escape(dropped)}</i>")
        return "<br>".join(lines)


def follow_table(old: ExperimentConfig, new: ExperimentConfig, table: TableSummary | None) -> None:
    """A new table, or a new label column, brings the output and loss its label calls for
    (Table.output_and_loss); the panel read it before offering it (`table`)."""
    if table is not None and table.describes(new.data) and not table.describes(old.data):
        new.architecture.output, new.architecture.loss = table.output_and_loss


def summarise(data: DataConfig) -> TableSummary:
    """Read the table `data` names; DataError if it cannot be used."""
    table = read_table(table_path(data), data.target, data.missing)
    return TableSummary(dataclasses.replace(data), tuple(table.columns), len(table),
                        table.dropped_missing, Preparation.fit(table), table.output_and_loss)


class TableReader(QObject):
    """Reads tables on a thread of its own, one request at a time: a request made while one is
    read supersedes it (the earlier answer is dropped). `read` brings (the request's DataConfig,
    a TableSummary or the message of why it cannot be used)."""

    read = Signal(object, object)
    _done = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._request = 0
        self._done.connect(self._arrived, Qt.QueuedConnection)

    def start(self, data: DataConfig) -> None:
        self._request += 1
        request, data = self._request, dataclasses.replace(data)
        threading.Thread(target=self._work, args=(request, data), daemon=True,
                         name="table reader").start()

    def _work(self, request: int, data: DataConfig) -> None:
        try:
            answer = summarise(data)
        except DataError as exc:
            answer = str(exc)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the panel says it
            answer = f"{table_path(data).name}: cannot be read ({type(exc).__name__}: {exc})"
        self._done.emit(request, data, answer)

    def _arrived(self, request: int, data: DataConfig, answer) -> None:
        if request == self._request:
            self.read.emit(data, answer)


class ColumnList(QLabel):
    """The columns of the table read, or what is happening to it."""

    def __init__(self):
        super().__init__()
        self.setTextFormat(Qt.RichText)
        self.setToolTip("The table's columns: numbers are standardised with the training rows' "
                        "mean and spread, text columns become one input per category (one-hot), "
                        "and the label's integers or words are the classes to learn (a real "
                        "number: a regression).")

    def show_table(self, table: TableSummary) -> None:
        self.setText(table.words)

    def say(self, words: str) -> None:
        self.setText(f"<i>{html.escape(words)}</i>")


def _lines(name: str, words: str, role: str = "") -> list[str]:
    """A column's name in bold and its words, wrapped at WRAP_CHARS, the rest indented."""
    head = f"{name}{role}: "
    first, *rest = textwrap.wrap(words, WRAP_CHARS, initial_indent=" " * len(head))
    return ([f"<b>{html.escape(name)}</b>{html.escape(role)}: {html.escape(first.lstrip())}"]
            + [f"&nbsp;&nbsp;&nbsp;{html.escape(line)}" for line in rest])
