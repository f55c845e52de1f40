"""Tables of your own (data/table.py): reading CSV and TSV files as they come, the bad ones
refused in one message naming the line and the column, and the preparation fitted on them."""

import csv
import io
import json

import numpy as np
import pytest

from gdplayground.config import DataConfig
from gdplayground.data import DataError, load_dataset
from gdplayground.data import table as table_module
from gdplayground.data.table import Preparation, read_table
from gdplayground.resources import resource_path

PENGUINS = resource_path("tables", "penguins.csv")
AUTO_MPG = resource_path("tables", "auto-mpg.csv")


def write(tmp_path, text, name="t.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_the_shipped_tables_read_as_their_readme_says():
    penguins = read_table(PENGUINS, "species")
    assert len(penguins) == 333 and penguins.dropped_missing == 11  # 344 rows, 11 with an NA
    assert list(penguins.columns)[:3] == ["species", "island", "bill_length_mm"]
    assert not penguins.is_regression and penguins.output_and_loss == ("softmax", "cross_entropy")
    cars = read_table(AUTO_MPG)
    assert cars.target == "mpg" and len(cars) == 406 - 14  # 6 lack horsepower, 8 mpg
    assert cars.is_regression and cars.output_and_loss == ("identity", "mse")
    # the csv module's reading of the files, independently: the same rows and values
    rows = list(csv.DictReader(PENGUINS.read_text(encoding="utf-8").splitlines()))
    kept = [r for r in rows if "NA" not in r.values()]
    assert penguins.columns["body_mass_g"].values.tolist() == [float(r["body_mass_g"]) for r in kept]
    assert penguins.lines.tolist() == [i + 2 for i, r in enumerate(rows) if "NA" not in r.values()]


TABLE = [["colour", "size", "label"], ["red, dark", "1.5", "a"], ["blue", "2.5", "b"],
         ["green;x", "3", "a"], ["red, dark", "4.5", "b"]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_delimiters_quotes_and_a_byte_order_mark(tmp_path, delimiter, bom):
    """Quoted fields holding the delimiter, or another candidate, do not fool the choice (a
    quoted comma in every row of a semicolon table makes csv.Sniffer guess wrong)."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(TABLE)
    table = read_table(write(tmp_path, bom + out.getvalue()))
    assert list(table.columns) == ["colour", "size", "label"]
    assert table.columns["colour"].values.tolist() == ["red, dark", "blue", "green;x", "red, dark"]
    assert table.columns["size"].values.tolist() == [1.5, 2.5, 3.0, 4.5]


def test_the_sniffer_would_have_misjudged(tmp_path):
    """Why the delimiter is chosen by splitting rows alike, not by csv.Sniffer."""
    text = "1,5;2,5;x\n3,5;4,5;y\n4,5;1,5;x\n2,5;2,5;y\n"  # no header, decimal commas
    assert csv.Sniffer().sniff(text, ",;\t").delimiter == ","  # wrong
    table = read_table(write(tmp_path, text))
    assert table.columns["column 1"].values.tolist() == [1.5, 3.5, 4.5, 2.5]
    assert table.columns["column 3"].values.tolist() == ["x", "y", "x", "y"]


def test_spaces_after_the_delimiter_before_a_quote(tmp_path):
    table = read_table(write(tmp_path, 'a, note, label\n1, "x, y", p\n2, "z", q\n3, "x, y", p\n'
                                       '4, "z", q\n'))
    assert table.columns["note"].values.tolist() == ["x, y", "z", "x, y", "z"]


def test_a_long_table_is_judged_on_its_first_rows(tmp_path):
    """The delimiter is chosen on the first 64 KiB, whose last row may be cut short."""
    rows = "".join(f'{i},"{"a; " * 1000}",{"ab"[i % 2]}\n' for i in range(100))
    table = read_table(write(tmp_path, rows))  # no header to go by
    assert len(table) == 100 and list(table.columns) == ["column 1", "column 2", "column 3"]


def test_a_semicolon_table_may_write_decimal_commas(tmp_path):
    table = read_table(write(tmp_path, "x;y;label\n1,5;2;a\n-0,25;3;b\n2;1,0;a\n1;1;b\n"))
    assert table.columns["x"].values.tolist() == [1.5, -0.25, 2.0, 1.0]
    assert table.columns["y"].values.tolist() == [2.0, 3.0, 1.0, 1.0]


def test_a_table_without_a_header_and_lines_counted_as_in_the_file(tmp_path):
    path = write(tmp_path, '1,2,a\n\n3,"multi\nline",b\n5,6,a\n7,8,b\n')
    with pytest.raises(DataError, match=r"t.csv, line 3, column 'column 2': 'multi\\nline' is not "
                                        r"a number, though 3 of the column's 4 values are"):
        read_table(path)
    table = read_table(write(tmp_path, "1,2,a\n\n3,4,b\n5,6,a\n7,8,b\n"))
    assert list(table.columns) == ["column 1", "column 2", "column 3"]
    assert table.lines.tolist() == [1, 3, 4, 5]


def test_integer_labels_are_classes_in_numeric_order_real_ones_a_regression(tmp_path):
    rows = "".join(f"{i},{label}\n" for i, label in enumerate([10, 2, 1, 10, 2, 1, -3, -3]))
    table = read_table(write(tmp_path, "x,y\n" + rows))
    preparation = Preparation.fit(table)
    assert preparation.classes == ("-3", "1", "2", "10")  # by value: not "10" before "2"
    assert preparation.targets(table).tolist() == [3, 2, 1, 3, 2, 1, 0, 0]
    regression = read_table(write(tmp_path, "x,y\n1,0.5\n2,1\n3,2.5\n"))
    assert regression.is_regression
    prepared = Preparation.fit(regression)
    assert prepared.classes is None and prepared.target_mean == pytest.approx(4 / 3)
    assert prepared.targets(regression)[:, 0] == pytest.approx(
        (np.array([0.5, 1, 2.5]) - 4 / 3) / np.std([0.5, 1, 2.5]))


BAD = {  # name -> (file contents, read_table's keywords, the message)
    "ragged": ("a,b,c\n1,2,x\n3,4\n5,6,y\n", {}, "t.csv, line 3: 2 fields where the header has 3"),
    "not a number": ("a,b\n1,x\n2,y\nthree,x\n4,y\n", {},
                     "t.csv, line 4, column 'a': 'three' is not a number, though 3 of the "
                     "column's 4 values are"),
    "infinite": ("a,b\n1,x\n1e999,y\n4,x\n", {}, "line 3, column 'a': '1e999' is not a number"),
    "single class": ("a,b\n1,x\n2,x\n3,x\n", {}, "t.csv, line 2, column 'b': a single class, "
                                                  "'x', in every row: nothing to tell apart"),
    "constant target": ("a,b\n1,0.5\n2,0.5\n", {}, "column 'b': the label is '0.5' in every row"),
    "no such label": ("a,b\n1,x\n2,y\n", {"target": "species"},
                      "t.csv: no column named 'species'; its columns are a, b"),
    "empty": ("", {}, "t.csv: the file is empty"),
    "blank": ("\n  \n\n", {}, "t.csv: the file is empty"),
    "header only": ("a,b,c\n", {}, "t.csv: a header line and no rows"),
    "binary": (bytes(range(256)) * 4, {}, "t.csv: a binary file, not a CSV or TSV table"),
    "utf-16": ("a,b\n1,x\n".encode("utf-16"), {}, "t.csv: UTF-16 text; save the table as UTF-8"),
    "latin-1": ("a,b\n1,x\n2,caf\xe9\n".encode("latin-1"), {}, "t.csv, line 3: not UTF-8 text"),
    "one column": ("a\n1\n2\n", {}, "t.csv: one column only; a table needs feature columns and "
                                   "a label column"),
    "same names": ("a,b,a\n1,2,x\n3,4,y\n", {}, "t.csv, line 1: two columns named 'a' "
                                               "(columns 1 and 3)"),
    "lonely class": ("a,b\n1,x\n2,y\n3,x\n4,y\n5,z\n", {},
                     "t.csv, line 6, column 'b': class 'z' has a single row, too few to both "
                     "train on and test with"),
    "lonely number": ("a,b\n1,1\n2,2\n3,1\n4,2\n5,7\n", {},
                      "class '7' has a single row, too few to both train on and test with (for a "
                      "quantity, not classes, write the label with a decimal point"),
    "missing refused": ("a,b,c\n1,2,x\n3,NA,y\n5,6,x\n", {"missing": "error"},
                        "t.csv, line 3, column 'b': a missing value (empty, NA, NaN, N/A, null, "
                        "none or ?), which missing values set to error refuse (drop leaves such "
                        "rows out)"),
    "all missing": ("a,b,c\n1,,x\n3,,y\n", {}, "t.csv: every row has a missing value (column 'b' "
                                              "lacks 2 of 2)"),
}


@pytest.mark.parametrize("name", BAD)
def test_a_bad_table_is_one_message_naming_where(tmp_path, name):
    contents, keywords, message = BAD[name]
    with pytest.raises(DataError) as caught:
        read_table(write(tmp_path, contents), **keywords)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "MAX_TABLE_BYTES", 100)
    with pytest.raises(DataError, match=r"t.csv: cannot be read \(it has 101 bytes, more than "
                                        r"the 100 allowed\)"):
        read_table(write(tmp_path, "a,b\n" + "1,x\n" * 24 + "1"))


def test_missing_values_are_dropped_and_counted(tmp_path):
    table = read_table(write(tmp_path, "a,b,c\n1,2,x\n3,NA,y\n5,,x\n,6,y\n7,8,?\n9,10,y\n"
                                       "11,12,x\n13,nan,y\n15,16,y\n"))
    assert table.dropped_missing == 5 and table.lines.tolist() == [2, 7, 8, 10]
    assert Preparation.fit(table).describe()[-1] == "dropped 5 rows with a missing value"


def test_constant_columns_and_identifiers_are_dropped_and_said(tmp_path):
    rows = "".join(f"car {i},{i % 3},{5},{'ab'[i % 2]},{i % 2}\n" for i in range(60))
    preparation = Preparation.fit(read_table(write(tmp_path, "name,n,k,t,label\n" + rows)))
    assert preparation.numeric == ("n",) and preparation.categories == (("t", ("a", "b")),)
    assert preparation.dropped == ("name", "k")
    assert preparation.why_dropped == (
        "60 different texts in 60 rows, too many categories to one-hot encode (at most 50, and "
        "at most half the rows)", "one value, '5', in every row")
    assert "dropped column 'k': one value, '5', in every row" in preparation.describe()
    assert preparation.input_names == ["n", "t=a", "t=b"]


def test_a_table_with_no_feature_left_is_refused(tmp_path):
    table = read_table(write(tmp_path, "k,label\n5,a\n5,b\n5,a\n5,b\n"))
    with pytest.raises(DataError, match="t.csv: no feature column to learn from; column 'k' has "
                                        "one value, '5', in every row"):
        Preparation.fit(table)


def test_the_preparation_standardises_with_the_training_rows_only(tmp_path):
    table = read_table(write(tmp_path, "x,c,y\n1,u,a\n2,v,b\n3,u,a\n2,v,b\n10,w,b\n0,w,a\n"))
    train = table.rows(np.array([0, 1, 2, 3]))
    preparation = Preparation.fit(table, train)
    assert preparation.mean == (2.0,) and preparation.spread == pytest.approx((np.std([1, 2, 3, 2]),))
    assert preparation.categories == (("c", ("u", "v", "w")),)  # w is in the test rows only
    raw = preparation.raw_inputs(table)
    assert raw.tolist() == [[1, 1, 0, 0], [2, 0, 1, 0], [3, 1, 0, 0], [2, 0, 1, 0], [10, 0, 0, 1],
                            [0, 0, 0, 1]]
    assert preparation.features(table)[:, 0] == pytest.approx((raw[:, 0] - 2) / np.std([1, 2, 3, 2]))


def test_a_preparation_applied_to_rows_it_does_not_know(tmp_path):
    preparation = Preparation.fit(read_table(write(tmp_path, "x,c,y\n1,u,a\n2,v,b\n3,u,a\n4,v,b\n")))
    with pytest.raises(DataError, match=r"t.csv, line 3, column 'c': 'w' is none of the values "
                                        r"it was trained on \(u, v\)"):
        preparation.raw_inputs(read_table(write(tmp_path, "x,c,y\n1,u,a\n2,w,b\n3,u,a\n4,v,b\n")))
    with pytest.raises(DataError, match="t.csv: no column named 'c', which the network was trained on"):
        preparation.raw_inputs(read_table(write(tmp_path, "x,d,y\n1,u,a\n2,v,b\n3,u,a\n4,v,b\n")))


def test_a_preparation_round_trips_through_json():
    preparation = Preparation.fit(read_table(PENGUINS, "species"))
    assert Preparation.from_json(preparation.to_json()) == preparation


def _spoiled(field, value):
    fields = json.loads(Preparation.fit(read_table(PENGUINS, "species")).to_json())
    fields[field] = value
    return json.dumps(fields)


@pytest.mark.parametrize("text, message", [
    (_spoiled("spread", [1.0, 0.0, 1.0, 1.0, 1.0]), "spread must be a list of 5 finite numbers, each above 0"),
    (_spoiled("mean", [1.0, 2.0]), "mean must be a list of 5 finite numbers"),
    (_spoiled("categories", [["island", ["Biscoe", 3]]]), "categories[0] must be a list of different strings"),
    (_spoiled("classes", ["Adelie"]), "classes must be a list of different strings, at least 2"),
    (_spoiled("target_spread", float("nan")), "target_spread must be a list of 1 finite numbers"),
    (_spoiled("missing_rows", -1), "missing_rows must be a whole number of 0 or more"),
    (_spoiled("target", "island"), "target and the feature columns must be different names"),
    (_spoiled("colour", 1), "unexpected field 'colour'"),
    ("[1]", "must be a JSON object"),
    ("{", "not valid JSON"),
])
def test_a_damaged_preparation_is_refused_naming_the_field(text, message):
    with pytest.raises(ValueError) as caught:
        Preparation.from_json(text)
    assert message in str(caught.value)


def test_a_table_too_small_to_split(tmp_path):
    path = write(tmp_path, "x,y\n1,a\n2,b\n3,a\n4,b\n")
    config = DataConfig(name="table", path=str(path), test_fraction=0.1, validation_split=0.0)
    with pytest.raises(DataError, match="t.csv: 4 rows are too few to split into training and "
                                        "test rows"):
        load_dataset(config, seed=0)


def test_a_stored_preparation_is_applied_not_refitted(tmp_path):
    """Reordered rows split differently: a refit would scale them differently."""
    lines = PENGUINS.read_text(encoding="utf-8").splitlines()
    reordered = write(tmp_path, "\n".join([lines[0], *lines[:0:-1]]) + "\n", "reordered.csv")
    config = DataConfig(name="table", path=str(PENGUINS), target="species", test_fraction=0.2)
    stored = load_dataset(config, seed=0).preparation
    config.path = str(reordered)
    assert load_dataset(config, seed=0).preparation.mean != stored.mean
    again = load_dataset(config, seed=0, preparation=stored)
    assert again.preparation is stored
    rows = read_table(reordered, "species")
    assert np.sort(np.concatenate([again.train.x, again.validation.x, again.test.x]), axis=0) \
        == pytest.approx(np.sort(stored.features(rows), axis=0))
