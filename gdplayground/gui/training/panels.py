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
    QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider,
    QSpinBox, QToolButton, QVBoxLayout, QWidget)

from gdplayground.config import (
    ACTIVATION_WORDS, HIDDEN_ACTIVATIONS, LAYER_KINDS, OUTPUTS_FOR_LOSS, TOY_DATASETS,
    ArchitectureConfig, DataConfig, ExperimentConfig, Layer, field_help, field_range, preset)
from gdplayground.layer_grammar import parse_layer
from gdplayground.engine.conv import conv_fans, feature_shapes
from gdplayground.data.datasets import table_path
from gdplayground.gui.training.table_view import (
    ColumnList, TableReader, TableSummary, is_table, same_table)
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


# What a layer becomes when its kind is chosen: the kind's own defaults, so that a file saved
# afterwards keeps no setting of the kind it was before.
FRESH_LAYERS = {"dense": Layer(16, "relu"), "conv": parse_layer("conv8x5"),
                "maxpool": parse_layer("pool"), "avgpool": parse_layer("avgpool")}
PADDING_WORDS = next(f.metadata["words"] for f in dataclasses.fields(Layer) if f.name == "padding")
SMALL_CNN = "conv8x5,pool,conv16x5,pool,128"  # the network of issue 21: over 99% on MNIST


class LayerShape(NamedTuple):
    """What a hidden layer makes, as the architecture panel shows it."""

    shape: str  # its output: "8×28×28", "128"
    parameters: int  # its weights and biases


def layer_shapes(layers: list[Layer], n_inputs: int, image_shape, n_outputs: int,
                 bias: bool) -> tuple[list[LayerShape], int]:
    """Each hidden layer's output and parameters on inputs of `n_inputs` values (of
    `image_shape` (H, W), or None), and the output layer's parameters. ValueError says why
    the layers do not fit: feature layers without images, or on images too small for them."""
    arch = ArchitectureConfig(hidden=list(layers))
    rows, (c, size) = [], (1, n_inputs)
    if arch.features:
        if image_shape is None:
            raise ValueError("convolutions and pools need images, and these data hold none")
        shapes = feature_shapes(arch.features, (1, *image_shape))
        for spec, (c_out, h, w) in zip(arch.features, shapes):
            weights = c_out * conv_fans(c, c_out, spec.kernel)[0] + bias * c_out \
                if spec.kind == "conv" else 0
            rows.append(LayerShape(f"{c_out}×{h}×{w}", weights))
            c = c_out
        size = c * h * w
    for spec in arch.dense:
        rows.append(LayerShape(str(spec.units), size * spec.units + bias * spec.units))
        size = spec.units
    return rows, size * n_outputs + bias * n_outputs


class LayerRow(NamedTuple):
    """One hidden layer's fields; `shape` says what it makes."""

    row: QWidget
    units: QSpinBox
    activation: QComboBox
    kind: QComboBox
    kernel: QSpinBox
    stride: QSpinBox
    padding: QComboBox
    shape: QLabel

    def layer(self) -> Layer:
        kind = self.kind.currentData()
        if kind in ("maxpool", "avgpool"):
            return Layer(activation=self.activation.currentData(), kind=kind)
        if kind == "dense":
            return Layer(self.units.value(), self.activation.currentData())
        return Layer(self.units.value(), self.activation.currentData(), kind, self.kernel.value(),
                     self.stride.value(), self.padding.currentData())

    def show_kind(self) -> None:
        """Only the fields the layer's kind uses."""
        kind = self.kind.currentData()
        self.units.setVisible(kind in ("dense", "conv"))
        for field in (self.kernel, self.stride, self.padding):
            field.setVisible(kind == "conv")


class LayerList(QWidget):
    """The hidden layers as rows of (kind, units or filters, activation, remove; a convolution's
    kernel, stride and padding; what the layer makes), with buttons to add one and to lay out
    a small convolutional network."""

    changed = Signal()

    def __init__(self):
        super().__init__()
        self.rows_box = QVBoxLayout()
        self.rows_box.setContentsMargins(0, 0, 0, 0)
        add = guard_field(QPushButton("Add layer"))
        add.setToolTip("Append a hidden layer. More layers can draw more complex boundaries, "
                       "and make gradients travel further.")
        add.clicked.connect(lambda: self._add_row(FRESH_LAYERS["dense"], announce=True))
        self.small_cnn = guard_field(QPushButton("Small CNN"))
        self.small_cnn.clicked.connect(self._lay_out_small_cnn)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.small_cnn)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.rows_box)
        layout.addLayout(buttons)
        self.rows: list[LayerRow] = []
        self.images = True  # the data hold images: convolutions and pools are offered
        self.refusal = ""  # why they are not

    def set_layers(self, layers: list[Layer]) -> None:
        while self.rows:  # out of the layout at once: a deleteLater alone waits for the event
            row = self.rows.pop()[0]  # loop, and the old rows showed beside the new till then
            row.hide()
            self.rows_box.removeWidget(row)
            row.deleteLater()
        for layer in layers:
            self._add_row(layer, announce=False)

    def layers(self) -> list[Layer]:
        return [row.layer() for row in self.rows]

    def offer_features(self, images: bool, why: str) -> None:
        """Offer convolutions and pools only on images; `why` they are refused otherwise."""
        self.images, self.refusal = images, why
        self.small_cnn.setEnabled(images)
        self.small_cnn.setToolTip(
            f"Replace the hidden layers with {SMALL_CNN}: two 5×5 convolutions (8 then 16 "
            "filters), each halved by 2×2 max-pooling, then 128 dense units. It passes 99% on "
            "MNIST." if images else why)
        self.show_order()

    def show_order(self) -> None:
        """Convolutions and pools come before every dense layer, on images only: a kind that
        would break that is greyed in each row's list, its tooltip saying why."""
        kinds = [row.kind.currentData() for row in self.rows]
        for i, row in enumerate(self.rows):
            dense_before = "dense" in kinds[:i]
            features_after = any(kind != "dense" for kind in kinds[i + 1:])
            for index in range(row.kind.count()):
                kind = row.kind.itemData(index)
                why = "" if kind == kinds[i] else \
                    (self.refusal if kind != "dense" and not self.images else
                     "convolutions and pools come before every dense layer: a dense layer is "
                     "above this one" if kind != "dense" and dense_before else
                     "a dense layer cannot come before convolutions and pools: one is below "
                     "this one" if kind == "dense" and features_after else "")
                row.kind.model().item(index).setEnabled(not why)
                row.kind.setItemData(index, why or field_help(Layer, "kind"), Qt.ToolTipRole)

    def show_shapes(self, shapes: list[LayerShape] | None) -> None:
        """Each row's output shape and parameters (None: the layers do not fit)."""
        for row, shape in zip(self.rows, shapes or [None] * len(self.rows)):
            row.shape.setText("" if shape is None else
                              f"→ {shape.shape}, {shape.parameters:,} parameters")

    def _lay_out_small_cnn(self) -> None:
        self.set_layers([parse_layer(word) for word in SMALL_CNN.split(",")])
        self.changed.emit()

    def _add_row(self, layer: Layer, announce: bool) -> None:
        row = QWidget()
        units, activation = guard_field(QSpinBox()), guard_field(QComboBox())
        kind, remove = guard_field(QComboBox()), guard_field(QToolButton())
        kernel, stride, padding = guard_field(QSpinBox()), guard_field(QSpinBox()), guard_field(QComboBox())
        fields = LayerRow(row, units, activation, kind, kernel, stride, padding, QLabel())
        for name, words in LAYER_KINDS.items():
            kind.addItem(words, name)
        kind.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        kind.setMinimumContentsLength(7)  # the dock stays narrow: "Convolution" shows, a pool's is elided
        kind.setCurrentIndex(kind.findData(layer.kind))
        for spin, name, value in ((units, "units", layer.units), (kernel, "kernel", layer.kernel),
                                  (stride, "stride", layer.stride)):
            low, high = field_range(Layer, name)
            spin.setRange(low, high)
            spin.setValue(value)
            spin.setKeyboardTracking(False)
            spin.setToolTip(field_help(Layer, name))
            spin.valueChanged.connect(self.changed)
        kernel.setPrefix("kernel ")
        stride.setPrefix("stride ")
        for name in HIDDEN_ACTIVATIONS:
            activation.addItem(ACTIVATION_WORDS[name], name)
        activation.setCurrentIndex(activation.findData(layer.activation))
        activation.setToolTip(field_help(Layer, "activation"))
        activation.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        activation.setMinimumContentsLength(6)
        for name, words in PADDING_WORDS.items():  # "Same", its words in its tooltip
            padding.addItem(words.split(" (")[0], name)
            padding.setItemData(padding.count() - 1, words, Qt.ToolTipRole)
        padding.setCurrentIndex(padding.findData(layer.padding))
        padding.setToolTip(field_help(Layer, "padding"))
        fields.shape.setToolTip("What this layer makes: its output (channels × height × width "
                                "for a convolution or pool, units for a dense layer), and the "
                                "weights and biases it learns.")
        remove.setText("−")
        remove.setToolTip("Remove this layer")
        activation.currentIndexChanged.connect(self.changed)
        padding.currentIndexChanged.connect(self.changed)
        kind.currentIndexChanged.connect(lambda: self._kind_chosen(fields))
        remove.clicked.connect(lambda: self._remove_row(row))
        grid = QGridLayout(row)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel(f"{len(self.rows) + 1}."), 0, 0)
        for column, widget in enumerate((kind, units, activation), start=1):
            grid.addWidget(widget, 0, column)
        settings = QHBoxLayout()
        for widget in (kernel, stride, padding):
            settings.addWidget(widget)
        grid.addLayout(settings, 1, 1, 1, 3)
        below = QHBoxLayout()  # the remove button under the fields: the dock stays narrow
        below.addWidget(fields.shape, stretch=1)
        below.addWidget(remove)
        grid.addLayout(below, 2, 1, 1, 3)
        grid.setColumnStretch(1, 1)  # the kind's list takes the room a pool's hidden fields leave
        fields.show_kind()
        self.rows_box.addWidget(row)
        self.rows.append(fields)
        self.show_order()
        if announce:
            self.changed.emit()

    def _kind_chosen(self, fields: LayerRow) -> None:
        """A new kind starts from its defaults (FRESH_LAYERS)."""
        fresh = FRESH_LAYERS[fields.kind.currentData()]
        self.set_layers([fresh if row is fields else row.layer() for row in self.rows])
        self.changed.emit()

    def _remove_row(self, row: QWidget) -> None:
        self.set_layers([layer for (w, *_), layer in zip(self.rows, self.layers()) if w is not row])
        self.changed.emit()


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
