"""The side panels: data, architecture, optimizer and learning rate. Each edits its part of the
one experiment configuration: `load(config)` shows it, `store(config)` writes the user's edits
into it, and `changed` fires after every edit. Panels never talk to each other or to training."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QGroupBox, QLabel, QPushButton, QSlider)

from gdplayground.config import (
    OUTPUTS_FOR_LOSS, TOY_DATASETS, DataConfig, ExperimentConfig, field_help, preset)
from gdplayground.data.datasets import table_path
from gdplayground.gui.training.table_view import (
    ColumnList, TableReader, TableSummary, is_table, same_table)
from gdplayground.gui.training.layer_list import LayerList, layer_shapes
from gdplayground.gui.widgets.fields import FieldEditor, guard_field



class ConfigPanel(QGroupBox):
    changed = Signal()

    def __init__(self, title: str):
        super().__init__(title)
        self.form = QFormLayout(self)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.editors: dict[str, FieldEditor] = {}

    def add(self, path: str) -> FieldEditor:
        editor = FieldEditor(path)
        self.form.addRow(editor.label, editor.widget)
        editor.changed.connect(self._edited)
        self.editors[path] = editor
        return editor

    def show_rows(self, visible: dict[str, bool]) -> None:
        for path, shown in visible.items():
            self.form.setRowVisible(self.editors[path].widget, shown)

    def load(self, config: ExperimentConfig) -> None:
        for editor in self.editors.values():
            editor.load(config)
        self.refresh()

    def store(self, config: ExperimentConfig) -> None:
        for editor in self.editors.values():
            editor.store(config)

    def refresh(self) -> None:
        """Show the rows that matter for the current choices."""

    def _edited(self) -> None:
        self.refresh()
        self.changed.emit()


class DataPanel(ConfigPanel):
    """The data set and its splits. A table (a shipped one, or a CSV or TSV file chosen) is read
    before it is offered (`changed`): its columns are listed, its label column can be chosen,
    and a table that cannot be used is `refused` with why, the panel back as it was."""

    refused = Signal(str)

    def __init__(self):
        super().__init__("Data")
        self.dataset = self.add("data.name")
        self.folder, self.file = "", ""  # the IDX folder, the table file chosen
        self.folder_button = guard_field(QPushButton())
        self.folder_button.setToolTip("The folder of MNIST-format IDX files being learnt from; "
                                      "click to choose another (or the same one, re-read)")
        self.folder_button.clicked.connect(self._choose_folder)
        self.form.addRow("Folder", self.folder_button)
        self.file_button = guard_field(QPushButton())
        self.file_button.setToolTip("The CSV or TSV file being learnt from; click to choose "
                                    "another (or the same one, re-read)")
        self.file_button.clicked.connect(self._choose_file)
        self.form.addRow("File", self.file_button)
        self.label_column = guard_field(QComboBox())
        self.label_column.setToolTip(field_help(DataConfig, "target"))
        self.label_column.activated.connect(self._label_chosen)
        self.form.addRow("Label column", self.label_column)
        self.missing = self.add("data.missing")
        self.columns = ColumnList()
        self.form.addRow(self.columns)
        self.add("data.validation_split")
        self.add("data.samples")
        self.add("data.noise")
        self.add("data.test_fraction")
        self.add("batch.mode")
        self.add("batch.size")
        self.target = ""  # the label column chosen ("": the table's last)
        self.table: TableSummary | None = None  # the table last read, as listed
        self._accepted = DataConfig()  # the data settings last loaded: a refused table's undo
        self._reader = TableReader(self)
        self._reader.read.connect(self._table_read)
        self._offering = False  # the table being read is to be offered once read
        self.dataset.changed.disconnect(self._edited)
        self.dataset.changed.connect(self._dataset_chosen)
        self.missing.changed.disconnect(self._edited)
        self.missing.changed.connect(lambda: self._offer(self._wanted()))

    def _dataset_chosen(self) -> None:
        name = self.dataset.value
        if name == "idx" and not self._ask_folder() or name == "table" and not self._ask_file():
            self.dataset.set_value(self._accepted.name)
            return
        if is_table(name):
            fresh = preset(name).data  # the table as its data set comes: its label column
            self._offer(dataclasses.replace(fresh, path=self.file if name == "table" else ""))
            return
        self._edited()

    def _choose_folder(self) -> None:
        if self._ask_folder():
            self._edited()

    def _choose_file(self) -> None:
        if self._ask_file():
            self._offer(dataclasses.replace(self._wanted(), target=""))

    def _label_chosen(self) -> None:
        self._offer(dataclasses.replace(self._wanted(), target=self.label_column.currentText()))

    def _ask_folder(self) -> bool:
        """Ask for a folder of IDX files; True if one was chosen."""
        folder = QFileDialog.getExistingDirectory(
            self, "Folder of MNIST-format IDX files (train-images-idx3-ubyte, …)", self.folder)
        if folder:
            self.folder = folder
        return bool(folder)

    def _ask_file(self) -> bool:
        """Ask for a table file; True if one was chosen."""
        path, _ = QFileDialog.getOpenFileName(
            self, "A table: a header line, then a row per example (CSV or TSV)", self.file,
            "Tables (*.csv *.tsv *.txt);;All files (*)")
        if path:
            self.file = path
        return bool(path)

    def _wanted(self) -> DataConfig:
        """The table settings the panel shows now."""
        return dataclasses.replace(
            self._accepted, name=self.dataset.value, target=self.target, missing=self.missing.value,
            path=self.file if self.dataset.value == "table" else "")

    def _offer(self, data: DataConfig) -> None:
        """Read the table `data` names, and offer it once read (or refuse it)."""
        self._offering = True
        self.columns.say(f"Reading {table_path(data).name} …")
        self._reader.start(data)

    def _list(self, data: DataConfig) -> None:
        """Read the table `data` names to list its columns: it is offered already."""
        if self.table is None or not self.table.describes(data):
            self._offering = False
            self.columns.say(f"Reading {table_path(data).name} …")
            self._reader.start(data)

    def _table_read(self, data: DataConfig, answer) -> None:
        """A table read: offered (the panel shows it, then says it changed) or refused (the
        panel back as it was, and why); or, read to be listed, listed if still on show."""
        offered, self._offering = self._offering, False
        if not offered and not same_table(data, self._accepted):
            return  # read to be listed, and no longer on show
        if isinstance(answer, str):
            self.columns.say(answer)
            if offered:
                self._show_accepted()
                self.refused.emit(answer)
            return
        self.table = answer
        if offered:  # the panel shows the table it offers
            self.dataset.set_value(data.name)
            self.missing.set_value(data.missing)
            self.target = data.target
        self._show_table(answer)
        if offered:
            self._edited()

    def _show_table(self, table: TableSummary) -> None:
        self.columns.show_table(table)
        self.label_column.clear()
        self.label_column.addItems(table.columns)
        self.label_column.setCurrentText(table.preparation.target)

    def _show_accepted(self) -> None:
        """Back to the settings last loaded, and their table's columns."""
        accepted = self._accepted
        self.dataset.set_value(accepted.name)
        self.missing.set_value(accepted.missing)
        self.target = accepted.target
        if accepted.name == "table":
            self.file = accepted.path
        if self.table is not None and self.table.describes(accepted):
            self._show_table(self.table)
        self.refresh()

    def load(self, config):
        super().load(config)
        path, self.target = config.data.path, config.data.target
        if config.data.name == "idx":
            self.folder = path
        elif config.data.name == "table":
            self.file = path
        self._accepted = dataclasses.replace(config.data)
        self._offering = False  # a table being read is not offered over these settings
        if is_table(config.data.name):
            self._list(config.data)
        self.refresh()

    def store(self, config):
        super().store(config)
        name = config.data.name
        config.data.path = {"idx": self.folder, "table": self.file}.get(name, "")
        config.data.target = self.target if is_table(name) else ""

    def refresh(self):
        name = self.dataset.value
        toy, table = name in TOY_DATASETS, is_table(name)
        self.folder_button.setText(Path(self.folder).name or "Choose…")
        self.file_button.setText(Path(self.file).name or "Choose…")
        self.form.setRowVisible(self.folder_button, name == "idx")
        self.form.setRowVisible(self.file_button, name == "table")
        for row in (self.label_column, self.columns):
            self.form.setRowVisible(row, table)
        self.show_rows({"data.samples": toy, "data.noise": toy, "data.test_fraction": toy or table,
                        "data.missing": table,
                        "data.validation_split": name != "linear-system",
                        "batch.size": self.editors["batch.mode"].value == "mini"})


class ArchitecturePanel(ConfigPanel):
    def __init__(self):
        super().__init__("Architecture")
        self.layers = LayerList()
        self.layers.changed.connect(self._edited)
        self.form.addRow(QLabel("Hidden layers, input side first"))
        self.form.addRow(self.layers)  # the panel's full width: a row holds four fields
        self.add("architecture.output")
        self.add("architecture.loss")
        self.add("architecture.init")
        self.add("architecture.init_sigma")
        self.add("architecture.bias")
        self.add("architecture.dropout")
        self.parameter_count = QLabel()
        self.parameter_count.setWordWrap(True)
        self.parameter_count.setToolTip("Weights and biases the optimizer adjusts.")
        self.form.addRow("Parameters", self.parameter_count)
        self.data = DataShape(784, (28, 28), 10, "MNIST")  # the current data's, for the shapes

    def set_data(self, data: DataShape) -> None:
        """The data the network reads: its inputs (images or not) and outputs."""
        self.data = data
        self.layers.offer_features(data.image_shape is not None,
                                   f"{data.name} holds no images: convolutions and pools need "
                                   "images (use dense layers)")
        self.refresh()

    def load(self, config):
        self.layers.set_layers(config.architecture.hidden)
        super().load(config)

    def store(self, config):
        super().store(config)
        arch = config.architecture
        arch.hidden = self.layers.layers()
        if arch.output not in OUTPUTS_FOR_LOSS[arch.loss]:  # the loss decides which outputs fit
            arch.output = OUTPUTS_FOR_LOSS[arch.loss][0]
            self.editors["architecture.output"].set_value(arch.output)

    def refresh(self):
        self.show_rows({"architecture.init_sigma": self.editors["architecture.init"].value == "normal"})
        layers, data = self.layers.layers(), self.data
        self.layers.show_order()
        try:
            shapes, output = layer_shapes(layers, data.n_inputs, data.image_shape,
                                          data.n_outputs, self.editors["architecture.bias"].value)
        except ValueError as exc:
            self.layers.show_shapes(None)
            self.parameter_count.setText(f"these layers do not fit the data: {exc}")
            return
        self.layers.show_shapes(shapes)
        total = sum(shape.parameters for shape in shapes) + output
        if any(layer.is_feature for layer in layers):
            flow = f"{data.n_outputs} outputs: {output:,} in the output layer"
        else:
            flow = "-".join(map(str, [data.n_inputs, *(s.shape for s in shapes), data.n_outputs]))
        self.parameter_count.setText(f"{total:,}  ({flow})")


class DataShape(NamedTuple):
    """What a network reads and makes: the architecture panel's shapes are counted on it."""

    n_inputs: int
    image_shape: tuple[int, int] | None  # (H, W) of image data; None for points and tables
    n_outputs: int
    name: str  # the data set, as the window names it

    @classmethod
    def of(cls, info) -> "DataShape":
        """The data of a run (RunInfo): an image's pixels are its inputs (a network that starts
        with convolutions has the flattened last feature map as its sizes[0])."""
        image = info.image_shape
        n_inputs = image[0] * image[1] if image is not None else info.sizes[0]
        return cls(n_inputs, image, info.sizes[-1], info.config.data.words)


class OptimizerPanel(ConfigPanel):
    USES = {"momentum": ("momentum", "nesterov"), "beta1": ("adam",), "beta2": ("adam",),
            "rho": ("rmsprop",), "eps": ("adam", "rmsprop", "adagrad")}

    def __init__(self):
        super().__init__("Optimizer")
        self.name = self.add("optimizer.name")
        self.add("optimizer.momentum")
        self.add("optimizer.beta1")
        self.add("optimizer.beta2")
        self.add("optimizer.rho")
        self.add("optimizer.eps")
        self.add("optimizer.l1")
        self.add("optimizer.l2")
        self.add("optimizer.clip_norm")

    def refresh(self):
        self.show_rows({f"optimizer.{hyper}": self.name.value in users
                        for hyper, users in self.USES.items()})


class LogSlider(QSlider):
    """A slider over powers of ten: position p stands for 10^(p / STEPS_PER_DECADE)."""

    STEPS_PER_DECADE = 100

    def __init__(self, low: float, high: float):
        super().__init__(Qt.Horizontal)
        self.setRange(round(math.log10(low) * self.STEPS_PER_DECADE),
                      round(math.log10(high) * self.STEPS_PER_DECADE))

    def value_as_number(self) -> float:
        return 10 ** (self.value() / self.STEPS_PER_DECADE)

    def show_number(self, number: float) -> None:
        """Move to `number` (clamped to the slider's range) without announcing it."""
        position = round(math.log10(max(number, 1e-300)) * self.STEPS_PER_DECADE)
        self.blockSignals(True)
        self.setValue(min(max(position, self.minimum()), self.maximum()))
        self.blockSignals(False)


class LearningRatePanel(ConfigPanel):
    LOWEST, HIGHEST = 1e-6, 100.0  # the slider's range, and the field's: the two always agree

    def __init__(self):
        super().__init__("Learning rate")
        self.slider = guard_field(LogSlider(self.LOWEST, self.HIGHEST))
        self.slider.setToolTip("Drag to scale the learning rate by powers of ten, from 0.000001 "
                               "to 100.")
        self.form.addRow(self.slider)
        self.value = self.add("learning_rate.value")
        self.value.widget.setOpts(bounds=(self.LOWEST, self.HIGHEST))  # 0 or less is refused
        self.slider.valueChanged.connect(self._slid)
        self.schedule = self.add("learning_rate.schedule")
        self.add("learning_rate.decay_steps")
        self.add("learning_rate.gamma")
        self.add("learning_rate.min_value")
        self.add("learning_rate.warmup_steps")

    def _slid(self) -> None:
        self.value.set_value(float(f"{self.slider.value_as_number():.3g}"))
        self._edited()

    def refresh(self):
        self.slider.show_number(self.value.value)
        schedule = self.schedule.value
        self.show_rows({"learning_rate.decay_steps": schedule != "constant",
                        "learning_rate.gamma": schedule in ("step", "exponential"),
                        "learning_rate.min_value": schedule == "cosine"})
