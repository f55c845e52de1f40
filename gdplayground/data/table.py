"""Tables of your own: a CSV or TSV file read into named columns, and the preparation that turns
its raw rows into what a network learns from.

A table is feature columns and one label column (the last by default). Numeric feature columns
are standardised with the training split's mean and spread, text feature columns become one-hot
columns; integer or text labels are classes (numbered in their sorted order: integers by value),
real-valued labels a regression target, standardised like a feature. The `Preparation` holds all
of it, fitted once and stored in the weight file, so every later reader of raw rows (evaluate,
inspect, the exports) prepares them exactly as training did.

A feature column that holds one value in every row tells nothing and is dropped, and so is a text
column with too many different values to one-hot encode (more than MAX_CATEGORIES, or more
than half the rows: a name or an identifier, most likely); the preparation lists both, and why.

The model's raw inputs are the numeric features as written, then the one-hot columns of the text
features: features = (raw − offset) × scale, with offset and scale 0 and 1 on the one-hot columns.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdplayground.data.idx import DataError
from gdplayground.files import open_regular

MAX_TABLE_BYTES = 32 * 1024**2  # 23 MB (400,000 rows of 7 columns) take 10 s and 400 MB to read
MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})  # compared stripped, lowercased
DELIMITERS = "\t;,"  # the first is preferred among equals: a tab is rarely inside a field
SNIFFED_ROWS, SNIFFED_CHARS = 50, 1 << 16  # the delimiter is chosen on the first rows
MAX_CATEGORIES = 50  # a text feature column with more values is dropped
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NUMBERS, INTEGERS = (re.compile(f"{one}(?:\n{one})*") for one in (NUMBER.pattern, "[+-]?[0-9]+"))
SHOWN = 40  # characters of a cell quoted in a message


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

    @property
    def output_and_loss(self) -> tuple[str, str]:
        """The output activation and loss that suit the label: identity and mean squared error
        for a regression, sigmoid and binary cross-entropy for two classes, else softmax and
        cross-entropy."""
        if self.is_regression:
            return "identity", "mse"
        return ("sigmoid", "bce") if len(_class_names(self.columns[self.target])) == 2 \
            else ("softmax", "cross_entropy")

    def rows(self, keep: np.ndarray) -> "Table":
        """The table of the rows `keep` (indices or a mask) only."""
        columns = {n: Column(c.name, c.values[keep], c.numeric, c.integers)
                   for n, c in self.columns.items()}
        return Table(self.source, columns, self.target, self.lines[keep], self.dropped_missing)

    def where(self, row: int, column: str) -> str:
        """'FILE, line N, column 'NAME'': the place of a cell, for a message."""
        return f"{self.source}, line {self.lines[row]}, column {column!r}"


def read_table(path: Path, target: str = "", missing: str = "drop") -> Table:
    """Read a CSV or TSV file: a header line detected, the delimiter (comma, semicolon or tab)
    the one that splits the first rows alike, UTF-8 with or without a byte-order mark, quoted
    fields; in a semicolon-separated table a decimal comma is read as a decimal point. `target`
    names the label column (the last when empty). Rows with a missing value are dropped
    (`missing="drop"`, and counted) or refused ("error"). Raise DataError naming the line and
    the column of anything unusable."""
    path = Path(path)
    text = _text(path)
    delimiter = _delimiter(text, path)
    header, lines, body = _header(_records(text, delimiter, path), path)
    columns = _columns(header, lines, body, path)
    target = target or header[-1]
    if target not in columns:
        raise DataError(f"{path.name}: no column named {target!r}; its columns are "
                        f"{', '.join(header)}")
    table = _without_missing(Table(path.name, columns, target, lines), missing)
    _check_label(table)
    return table


@dataclass(frozen=True)
class Preparation:
    """How a table's raw rows become features and targets: which columns, the categories and
    classes (from all its rows), the means and spreads (from its training rows)."""

    target: str
    numeric: tuple[str, ...]  # standardised feature columns, in the table's order
    mean: tuple[float, ...]
    spread: tuple[float, ...]
    categories: tuple[tuple[str, tuple[str, ...]], ...]  # each text feature column and its values
    classes: tuple[str, ...] | None  # the label's values in sorted order; None for regression
    target_mean: float = 0.0  # regression: target = (value − target_mean) / target_spread
    target_spread: float = 1.0
    dropped: tuple[str, ...] = ()  # feature columns left out …
    why_dropped: tuple[str, ...] = ()  # … and why, one reason each
    missing_rows: int = 0  # rows of the table left out for a missing value

    @classmethod
    def fit(cls, table: Table, train: Table | None = None) -> "Preparation":
        """The preparation of `table`: its columns, categories and classes from all its rows, its
        means and spreads from `train`, its training rows (all of them when None)."""
        train = table if train is None else train
        numeric, categories, dropped, why = [], [], [], []
        for column in table.features:
            distinct = np.unique(column.values if column.numeric else column.values.astype(str))
            if len(distinct) < 2:
                dropped.append(column.name)
                why.append(f"one value, {_shown(_cell(distinct[0], column))}, in every row")
            elif not column.numeric and len(distinct) > min(MAX_CATEGORIES, len(table) / 2):
                dropped.append(column.name)
                why.append(f"{len(distinct)} different texts in {len(table)} rows, too many "
                           f"categories to one-hot encode (at most {MAX_CATEGORIES}, and at most "
                           "half the rows)")
            elif column.numeric:
                numeric.append(column.name)
            else:
                categories.append((column.name, tuple(distinct.tolist())))
        if not numeric and not categories:
            raise DataError(f"{table.source}: no feature column to learn from; " + "; ".join(
                f"column {name!r} has {reason}" for name, reason in zip(dropped, why)))
        mean, spread = zip(*(_mean_spread(train.columns[name].values) for name in numeric)) \
            if numeric else ((), ())
        label = table.columns[table.target]
        target_mean, target_spread = _mean_spread(train.columns[table.target].values) \
            if table.is_regression else (0.0, 1.0)
        return cls(table.target, tuple(numeric), mean, spread, tuple(categories),
                   None if table.is_regression else _class_names(label), target_mean,
                   target_spread, tuple(dropped), tuple(why), table.dropped_missing)

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
        parts = [self._column(table, name, numeric=True).values[:, None] for name in self.numeric]
        for name, values in self.categories:
            column = self._column(table, name, numeric=False).values
            unknown = ~np.isin(column, values)
            if unknown.any():
                row = int(np.argmax(unknown))
                raise DataError(f"{table.where(row, name)}: {_shown(column[row])} is none of the "
                                f"values it was trained on ({', '.join(values)})")
            parts.append((column[:, None] == np.array(values, dtype=object)).astype(float))
        return np.hstack(parts) if parts else np.zeros((len(table), 0))

    def features(self, table: Table) -> np.ndarray:
        """(rows, inputs) float64: what the network sees."""
        return (self.raw_inputs(table) - self.offset) * self.scale

    def targets(self, table: Table) -> np.ndarray:
        """Class indices (rows,) int64, or the standardised target (rows, 1) float64."""
        label = self._column(table, self.target, numeric=True if self.classes is None else None)
        if self.classes is None:
            return ((label.values - self.target_mean) / self.target_spread)[:, None]
        names = [_cell(v, label) for v in label.values]
        index = {name: i for i, name in enumerate(self.classes)}
        for row, name in enumerate(names):
            if name not in index:
                raise DataError(f"{table.where(row, self.target)}: class {_shown(name)} is not "
                                f"one of {', '.join(self.classes)}")
        return np.array([index[n] for n in names], dtype=np.int64)

    def describe(self, missing_note: str = "") -> list[str]:
        """What the preparation does, a line each: the label, the features, what was left out
        (the rows with a missing value followed by `missing_note`)."""
        if self.classes is None:
            label = (f"label {self.target!r}: a regression (mean {self.target_mean:.6g}, spread "
                     f"{self.target_spread:.6g} in the training rows)")
        else:
            label = (f"label {self.target!r}: {len(self.classes)} classes, numbered in sorted "
                     f"order: " + ", ".join(f"{i} {name}" for i, name in enumerate(self.classes)))
        lines = [label]
        if self.numeric:
            lines.append(f"numeric features (standardised): {', '.join(self.numeric)}")
        lines += [f"text feature {name!r}, one-hot: {', '.join(values)}"
                  for name, values in self.categories]
        lines += [f"dropped column {name!r}: {why}" for name, why in zip(self.dropped, self.why_dropped)]
        if self.missing_rows:
            lines.append(f"dropped {self.missing_rows} row{'s' * (self.missing_rows != 1)} with "
                         f"a missing value{missing_note}")
        return lines

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Preparation":
        """The preparation a to_json text holds; ValueError names the first field that is wrong."""
        try:
            fields = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
        return _checked(cls, fields)

    @staticmethod
    def _column(table: Table, name: str, numeric: bool | None) -> Column:
        """The table's column `name`: numeric or text as the preparation was fitted on (either,
        for None)."""
        column = table.columns.get(name)
        if column is None:
            raise DataError(f"{table.source}: no column named {name!r}, which the network was "
                            "trained on")
        if numeric is not None and column.numeric != numeric:
            raise DataError(f"{table.source}, column {name!r}: "
                            f"{'numbers' if column.numeric else 'text'}, where the network was "
                            f"trained on {'numbers' if numeric else 'text'}")
        return column


# --- reading -----------------------------------------------------------------------------------
def _text(path: Path) -> str:
    try:
        with open_regular(path, MAX_TABLE_BYTES) as file:
            data = file.read()
    except OSError as exc:
        raise DataError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path.name}: UTF-16 text; save the table as UTF-8")
    if b"\0" in data[:8192]:
        raise DataError(f"{path.name}: a binary file, not a CSV or TSV table")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"{path.name}, line {line}: not UTF-8 text") from None
    if not text.strip():
        raise DataError(f"{path.name}: the file is empty")
    return text


def _delimiter(text: str, path: Path) -> str:
    """The delimiter that splits the first rows alike (into the same number of fields, two or
    more), preferably leaving no field with an odd number of quotes (which shows quotes that
    enclose fields of another delimiter), into the most fields; failing that, the one that
    splits the first row most, so that the row that disagrees is named. (csv.Sniffer misjudges
    a headerless semicolon table with decimal commas.)"""
    sample = text[:SNIFFED_CHARS]
    first = {d: _first_rows(sample, d, cut=len(sample) < len(text)) for d in DELIMITERS}

    def score(delimiter: str) -> tuple:
        rows = first[delimiter]
        alike = len({len(row) for row in rows}) == 1 and len(rows[0]) > 1
        even = all(cell.count('"') % 2 == 0 for row in rows for cell in row)
        return alike, alike and even, len(rows[0]) if alike else 0
    best = max(DELIMITERS, key=score)  # the first of DELIMITERS among equals
    if not score(best)[0]:
        best = max(DELIMITERS, key=lambda d: len(first[d][0]))
    if len(first[best][0]) < 2:
        raise DataError(f"{path.name}: one column only; a table needs feature columns and a "
                        "label column, separated by commas, semicolons or tabs")
    return best


def _first_rows(sample: str, delimiter: str, cut: bool) -> list[list[str]]:
    """The first rows of a sample as `delimiter` splits them; the last left out if the sample
    was `cut` (it may be partial)."""
    reader = _reader(sample, delimiter)
    try:
        rows = list(itertools.islice(_filled(reader), SNIFFED_ROWS))
    except csv.Error:
        return [[]]
    return (rows[:-1] if cut and len(rows) > 1 else rows) or [[]]


def _reader(text: str, delimiter: str):
    """csv's reader of the text: quoted fields, a space after a delimiter before a quote too."""
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)


def _filled(reader):
    return (record for record in reader if "".join(record).strip())


def _records(text: str, delimiter: str, path: Path) -> list[tuple[int, list[str]]]:
    """(line, fields) of each row that is not blank; `line` is where the row starts."""
    reader = _reader(text, delimiter)
    records, line = [], 1
    try:
        for record in reader:
            if "".join(record).strip():
                records.append((line, [_decimal_point(c) for c in record] if delimiter == ";"
                                else record))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path.name}, line {reader.line_num}: {exc}") from None
    return records


def _header(records: list[tuple[int, list[str]]], path: Path):
    """The column names, each row's line and the data rows: the first row is a header when no
    field of it is a number, or a field of it is text above a number."""
    first = [cell.strip() for cell in records[0][1]]
    below = records[1][1] if len(records) > 1 else []
    is_header = len(records) == 1 or not any(map(_is_number, first)) or any(
        not _is_number(a) and _is_number(b.strip()) for a, b in zip(first, below))
    if not is_header:
        return [f"column {i + 1}" for i in range(len(first))], \
            np.array([line for line, _ in records]), [cells for _, cells in records]
    header = [cell or f"column {i + 1}" for i, cell in enumerate(first)]
    for i, name in enumerate(header):
        if name in header[:i]:
            raise DataError(f"{path.name}, line {records[0][0]}: two columns named {name!r} "
                            f"(columns {header.index(name) + 1} and {i + 1})")
    if len(records) == 1:
        raise DataError(f"{path.name}: a header line and no rows")
    return header, np.array([line for line, _ in records[1:]]), [cells for _, cells in records[1:]]


def _columns(header: list[str], lines: np.ndarray, body: list[list[str]],
             path: Path) -> dict[str, Column]:
    for line, row in zip(lines, body):
        if len(row) != len(header):
            raise DataError(f"{path.name}, line {line}: {len(row)} fields where the header has "
                            f"{len(header)}")
    return {name: _column(name, [cell.strip() for cell in cells], lines, path)
            for name, cells in zip(header, zip(*body))}


def _column(name: str, cells: list[str], lines: np.ndarray, path: Path) -> Column:
    """A numeric column if every value present is a number; a text column if most are not;
    else a mistake, named at its first value that is not a number."""
    missing = [c.lower() in MISSING for c in cells]
    present = [c for c, m in zip(cells, missing) if not m]
    joined = "\n".join(present)  # one match over the column: far faster than one a value
    if present and NUMBERS.fullmatch(joined):
        values = np.array([math.nan if m else float(c) for c, m in zip(cells, missing)])
        if np.isfinite(values[~np.array(missing)]).all():
            return Column(name, values, True, bool(INTEGERS.fullmatch(joined)))
    numbers = sum(map(_is_number, present))
    if numbers > len(present) / 2:
        row = next(i for i, (c, m) in enumerate(zip(cells, missing)) if not (m or _is_number(c)))
        raise DataError(f"{path.name}, line {lines[row]}, column {name!r}: {_shown(cells[row])} "
                        f"is not a number, though {numbers} of the column's {len(present)} "
                        "values are")
    return Column(name, np.array([None if m else c for c, m in zip(cells, missing)], dtype=object),
                  False)


def _without_missing(table: Table, missing: str) -> Table:
    gaps = {name: np.isnan(c.values) if c.numeric else np.equal(c.values, None)
            for name, c in table.columns.items()}
    any_gap = np.logical_or.reduce(list(gaps.values()))
    if any_gap.any() and missing == "error":
        row = int(np.argmax(any_gap))
        name = next(name for name, gap in gaps.items() if gap[row])
        raise DataError(f"{table.where(row, name)}: a missing value (empty, NA, NaN, N/A, null, "
                        "none or ?), which missing values set to error refuse (drop leaves such "
                        "rows out)")
    if any_gap.all():
        name = max(gaps, key=lambda n: gaps[n].sum())
        raise DataError(f"{table.source}: every row has a missing value (column {name!r} lacks "
                        f"{gaps[name].sum()} of {len(table)})")
    kept = table.rows(~any_gap)
    return dataclasses.replace(kept, dropped_missing=int(any_gap.sum()))


def _check_label(table: Table) -> None:
    """A label of at least two values; for classes, each on at least two rows (one to train
    on, one to test with)."""
    label = table.columns[table.target]
    if table.is_regression:
        if np.ptp(label.values) == 0:
            raise DataError(f"{table.where(0, table.target)}: the label is "
                            f"{_shown(_cell(label.values[0], label))} in every row: nothing to learn")
        return
    names = [_cell(v, label) for v in label.values]
    classes, counts = np.unique(np.array(names, dtype=object), return_counts=True)
    if len(classes) < 2:
        raise DataError(f"{table.where(0, table.target)}: a single class, {_shown(classes[0])}, "
                        "in every row: nothing to tell apart (a label needs two classes or more)")
    if counts.min() < 2:
        lonely = classes[np.argmin(counts)]
        hint = (" (for a quantity, not classes, write the label with a decimal point: 3.0, not 3)"
                if label.numeric else "")
        raise DataError(f"{table.where(names.index(lonely), table.target)}: class "
                        f"{_shown(lonely)} has a single row, too few to both train on and test "
                        f"with{hint}")


# --- values ------------------------------------------------------------------------------------
def _mean_spread(values: np.ndarray) -> tuple[float, float]:
    """The mean and the spread (standard deviation; 1 where the values do not vary)."""
    return float(np.mean(values)), float(np.std(values)) or 1.0


def _class_names(label: Column) -> tuple[str, ...]:
    """The label's values in sorted order: integers by value, texts alphabetically."""
    values = np.unique(label.values if label.numeric else label.values.astype(str))
    return tuple(_cell(v, label) for v in values)


def _cell(value, column: Column) -> str:
    """A value as text: integers without a decimal point."""
    if not column.numeric:
        return str(value)
    return str(int(value)) if column.integers else f"{value:g}"


def _decimal_point(cell: str) -> str:
    """A number written with a decimal comma (1,5) with a point instead; anything else as it is."""
    pointed = cell.replace(",", ".", 1)
    return pointed if "," in cell and _is_number(pointed.strip()) else cell


def _is_number(cell: str) -> bool:
    return bool(NUMBER.fullmatch(cell)) and math.isfinite(float(cell))


def _shown(text) -> str:
    text = str(text)
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "…")


# --- a stored preparation, checked field by field -------------------------------------------------
def _checked(cls, fields) -> Preparation:
    if not isinstance(fields, dict):
        raise ValueError(f"must be a JSON object (got {_shown(fields)})")
    names = [f.name for f in dataclasses.fields(cls)]
    for name in names:
        if name not in fields:
            raise ValueError(f"{name} is missing")
    unknown = sorted(set(fields) - set(names))
    if unknown:
        raise ValueError(f"unexpected field {_shown(unknown[0])}")
    numeric = _strings("numeric", fields["numeric"])
    mean = _numbers("mean", fields["mean"], len(numeric))
    spread = _numbers("spread", fields["spread"], len(numeric), positive=True)
    if not isinstance(fields["categories"], list):
        raise ValueError("categories must be a list of [column, [values]]")
    categories = []
    for i, item in enumerate(fields["categories"]):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise ValueError(f"categories[{i}] must be [column, [values]]")
        categories.append((item[0], _strings(f"categories[{i}]", item[1], least=1)))
    classes = None if fields["classes"] is None else _strings("classes", fields["classes"], least=2)
    dropped = _strings("dropped", fields["dropped"])
    why = _strings("why_dropped", fields["why_dropped"], unique=False)
    if len(why) != len(dropped):
        raise ValueError(f"why_dropped has {len(why)} reasons for {len(dropped)} dropped columns")
    target = fields["target"]
    columns = [*numeric, *(name for name, _ in categories), *dropped]
    if not isinstance(target, str) or not target or len(set(columns)) != len(columns) \
            or target in columns:
        raise ValueError("target and the feature columns must be different names")
    missing = fields["missing_rows"]
    if isinstance(missing, bool) or not isinstance(missing, int) or missing < 0:
        raise ValueError(f"missing_rows must be a whole number of 0 or more (got {_shown(missing)})")
    (target_mean,), (target_spread,) = (_numbers("target_mean", [fields["target_mean"]], 1),
                                        _numbers("target_spread", [fields["target_spread"]], 1,
                                                 positive=True))
    return cls(target, numeric, mean, spread, tuple(categories), classes, target_mean,
               target_spread, dropped, why, missing)


def _strings(field: str, value, least: int = 0, unique: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) < least or \
            not all(isinstance(v, str) for v in value) or unique and len(set(value)) != len(value):
        raise ValueError(f"{field} must be a list of {'different ' if unique else ''}strings"
                         f"{f', at least {least}' if least else ''} (got {_shown(value)})")
    return tuple(value)


def _numbers(field: str, value, length: int, positive: bool = False) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != length or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and (v > 0 or not positive) for v in value):
        raise ValueError(f"{field} must be a list of {length} finite numbers"
                         f"{', each above 0' if positive else ''} (got {_shown(value)})")
    return tuple(float(v) for v in value)
