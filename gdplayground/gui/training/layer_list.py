"""The architecture panel's list of hidden layers: a row per layer (its kind, units or filters,
kernel, stride, padding and activation), each with the shape it outputs and its parameters."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from gdplayground.config import (
    ACTIVATION_WORDS, HIDDEN_ACTIVATIONS, LAYER_KINDS, ArchitectureConfig, Layer, field_help, field_range)
from gdplayground.layer_grammar import parse_layer
from gdplayground.engine.conv import conv_fans, feature_shapes
from gdplayground.gui.widgets.fields import guard_field

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
