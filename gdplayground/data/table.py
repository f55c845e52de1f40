"""Tables of your own: a CSV or TSV file read into named columns, and the preparation that turns
its raw rows into what a network learns from.

A table is feature columns and one label column (the last by default). Numeric feature columns
are standardised with the training split's mean and spread, text feature columns become one-hot
columns; integer or text labels are classes (numbered in their sorted order), real-valued labels
a regression target, standardised like a feature. The `Preparation` holds all of it, fitted once
on the training rows and stored in the weight file, so every later reader of raw rows (evaluate,
inspect, the exports) prepares them exactly as training did.

The model's raw inputs are the numeric features as written, then the one-hot columns of the text
features: features = (raw − offset) × scale, with offset and scale 0 and 1 on the one-hot columns.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdplayground.data.idx import DataError
from gdplayground.files import open_regular

MAX_TABLE_BYTES = 256 * 1024**2  # a table this big is better read by a tool made for it
MISSING = frozenset({"", "na", "nan", "n/a", "null", "none"})  # compared stripped, lowercased
DELIMITERS = ",;\t"


@dataclass(frozen=True)
class Column:
    """One column: floats (NaN where missing) for a numeric column, strings (None where missing)
    for a text one; `integers` says every value of a numeric column is written as an integer."""

    name: str
    values: np.ndarray
    numeric: bool
    integers: bool = False


@dataclass(frozen=True)
class Table:
    """A table's columns, its label column's name, and the line of the file each row came from."""

    source: str
    columns: dict[str, Column]
    target: str
    lines: np.ndarray  # (rows,) the 1-based line number of each row, for messages
    dropped_missing: int = 0  # rows left out because a value was missing

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def features(self) -> list[Column]:
        return [c for name, c in self.columns.items() if name != self.target]

    @property
    def is_regression(self) -> bool:
        label = self.columns[self.target]
        return label.numeric and not label.integers

    def rows(self, keep: np.ndarray) -> "Table":
        """The table of the rows `keep` (indices or a mask) only."""
        columns = {n: Column(c.name, c.values[keep], c.numeric, c.integers)
                   for n, c in self.columns.items()}
        return Table(self.source, columns, self.target, self.lines[keep], self.dropped_missing)


def read_table(path: Path, target: str = "", missing: str = "drop") -> Table:
    """Read a CSV or TSV file: header line detected, delimiter sniffed among `DELIMITERS`, UTF-8
    with or without a byte-order mark, quoted fields. `target` names the label column (the last
    when empty). Rows with a missing value are dropped (`missing="drop"`) or refused ("error").
    Raise DataError naming the row and the column of anything unusable."""
    path = Path(path)
    text = _text(path)
    records = list(csv.reader(io.StringIO(text), _dialect(text, path)))
    header, body = _header(records, path)
    columns = _columns(header, body, path)
    target = target or header[-1]
    if target not in columns:
        raise DataError(f"{path.name}: no column named {target!r}; its columns are "
                        f"{', '.join(header)}")
    table = Table(path.name, columns, target, np.arange(len(body)) + 1 + (len(records) - len(body)))
    return _without_missing(table, missing)


@dataclass(frozen=True)
class Preparation:
    """How a table's raw rows become features and targets, fitted on its training rows."""

    target: str
    numeric: tuple[str, ...]  # standardised feature columns, in the table's order
    mean: tuple[float, ...]
    spread: tuple[float, ...]
    categories: tuple[tuple[str, tuple[str, ...]], ...]  # each text feature column and its values
    classes: tuple[str, ...] | None  # the label's values in sorted order; None for regression
    target_mean: float = 0.0  # regression: target = (value − target_mean) / target_spread
    target_spread: float = 1.0
    dropped: tuple[str, ...] = ()  # constant feature columns, left out

    @classmethod
    def fit(cls, table: Table) -> "Preparation":
        """The preparation of `table` (its training rows): means, spreads, categories, classes."""
        numeric, mean, spread, categories, dropped = [], [], [], [], []
        for column in table.features:
            present = column.values if column.numeric else np.array(column.values, dtype=object)
            distinct = np.unique(present)
            if len(distinct) < 2:
                dropped.append(column.name)
            elif column.numeric:
                numeric.append(column.name)
                mean.append(float(np.mean(present)))
                spread.append(float(np.std(present)))
            else:
                categories.append((column.name, tuple(sorted(map(str, distinct)))))
        label = table.columns[table.target]
        if table.is_regression:
            return cls(table.target, tuple(numeric), tuple(mean), tuple(spread), tuple(categories),
                       None, float(np.mean(label.values)), float(np.std(label.values)) or 1.0,
                       tuple(dropped))
        return cls(table.target, tuple(numeric), tuple(mean), tuple(spread), tuple(categories),
                   _class_names(label), dropped=tuple(dropped))

    @property
    def input_names(self) -> list[str]:
        """The model's raw inputs: each numeric feature, then `column=value` per category."""
        return list(self.numeric) + [f"{name}={value}" for name, values in self.categories
                                     for value in values]

    @property
    def offset(self) -> np.ndarray:
        return np.concatenate([self.mean, np.zeros(self.n_one_hot)])

    @property
    def scale(self) -> np.ndarray:
        return np.concatenate([1 / np.asarray(self.spread, float), np.ones(self.n_one_hot)])

    @property
    def n_one_hot(self) -> int:
        return sum(len(values) for _, values in self.categories)

    def raw_inputs(self, table: Table) -> np.ndarray:
        """(rows, inputs) float64: the numeric features as written, then the one-hot columns."""
        parts = [table.columns[name].values[:, None] for name in self.numeric]
        for name, values in self.categories:
            column = np.asarray(table.columns[name].values, dtype=object)
            unknown = ~np.isin(column, values)
            if unknown.any():
                row = int(np.argmax(unknown))
                raise DataError(f"{table.source}, line {table.lines[row]}, column {name!r}: "
                                f"{column[row]!r} is none of the values it was trained on "
                                f"({', '.join(values)})")
            parts.append((column[:, None] == np.array(values, dtype=object)).astype(float))
        return np.hstack(parts) if parts else np.zeros((len(table), 0))

    def features(self, table: Table) -> np.ndarray:
        """(rows, inputs) float64: what the network sees."""
        return (self.raw_inputs(table) - self.offset) * self.scale

    def targets(self, table: Table) -> np.ndarray:
        """Class indices (rows,) int64, or the standardised target (rows, 1) float64."""
        label = table.columns[table.target]
        if self.classes is None:
            return ((label.values - self.target_mean) / self.target_spread)[:, None]
        names = np.array([_label_text(v, label) for v in label.values], dtype=object)
        index = {name: i for i, name in enumerate(self.classes)}
        for row, name in enumerate(names):
            if name not in index:
                raise DataError(f"{table.source}, line {table.lines[row]}, column "
                                f"{table.target!r}: class {name!r} is not one of "
                                f"{', '.join(self.classes)}")
        return np.array([index[n] for n in names], dtype=np.int64)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Preparation":
        fields = json.loads(text)
        fields["categories"] = tuple((n, tuple(v)) for n, v in fields["categories"])
        for name in ("numeric", "mean", "spread", "dropped"):
            fields[name] = tuple(fields[name])
        if fields["classes"] is not None:
            fields["classes"] = tuple(fields["classes"])
        return cls(**fields)


def _text(path: Path) -> str:
    try:
        with open_regular(path, MAX_TABLE_BYTES) as file:
            data = file.read()
    except OSError as exc:
        raise DataError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    if b"\0" in data[:8192]:
        raise DataError(f"{path.name}: a binary file, not a CSV or TSV table")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"{path.name}, line {line}: not UTF-8 text") from None


def _dialect(text: str, path: Path):
    if not text.strip():
        raise DataError(f"{path.name}: the file is empty")
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, DELIMITERS)
    except csv.Error:
        return csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel


def _header(records: list[list[str]], path: Path) -> tuple[list[str], list[list[str]]]:
    """The column names and the data rows: the first row is a header unless it looks like data
    (a number where the second row has one too)."""
    records = [r for r in records if any(cell.strip() for cell in r)]
    first = records[0]
    is_header = len(records) == 1 or any(
        not _is_number(a) and _is_number(b) for a, b in zip(first, records[1]))
    header = [cell.strip() or f"column {i + 1}" for i, cell in enumerate(first)] if is_header \
        else [f"column {i + 1}" for i in range(len(first))]
    body = records[1:] if is_header else records
    if not body:
        raise DataError(f"{path.name}: a header line and no rows")
    return header, body


def _columns(header: list[str], body: list[list[str]], path: Path) -> dict[str, Column]:
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{path.name}, line {line}: {len(row)} fields where the header has "
                            f"{len(header)}")
    return {name: _column(name, [row[i].strip() for row in body], path)
            for i, name in enumerate(header)}


def _column(name: str, cells: list[str], path: Path) -> Column:
    present = [c for c in cells if c.lower() not in MISSING]
    numbers = [c for c in present if _is_number(c)]
    if present and len(numbers) == len(present):
        values = np.array([float(c) if c.lower() not in MISSING else math.nan for c in cells])
        return Column(name, values, True, all(_is_integer(c) for c in numbers))
    if len(numbers) > len(present) / 2:
        row = next(i for i, c in enumerate(cells) if c.lower() not in MISSING and not _is_number(c))
        raise DataError(f"{path.name}, line {row + 2}, column {name!r}: {cells[row]!r} is not a "
                        "number, though most of the column is")
    return Column(name, np.array([c if c.lower() not in MISSING else None for c in cells],
                                 dtype=object), False)


def _without_missing(table: Table, missing: str) -> Table:
    gaps = np.zeros(len(table), bool)
    for column in table.columns.values():
        gaps |= np.isnan(column.values) if column.numeric else np.equal(column.values, None)
    if gaps.any() and missing == "error":
        row = int(np.argmax(gaps))
        raise DataError(f"{table.source}, line {table.lines[row]}: a missing value "
                        "(--missing drop leaves such rows out)")
    kept = table.rows(~gaps)
    return Table(kept.source, kept.columns, kept.target, kept.lines, int(gaps.sum()))


def _class_names(label: Column) -> tuple[str, ...]:
    if label.numeric:
        return tuple(str(int(v)) for v in np.unique(label.values))
    return tuple(sorted(set(label.values)))


def _label_text(value, label: Column) -> str:
    return str(int(value)) if label.numeric else value


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _is_integer(cell: str) -> bool:
    return cell.lstrip("+-").isdigit()
