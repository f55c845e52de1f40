"""The race's settings, beside its plots: the surface (with the bowl's κ and angle, or a typed
formula), the start, and the racers, each an update rule with its own learning rate and its
main hyperparameter. Each racer's row carries its colour: the key to the plots."""

from __future__ import annotations

import copy

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QVBoxLayout, QWidget)

from gdplayground.config import OptimizerConfig, field_at
from gdplayground.labs.expression import ExpressionError
from gdplayground.labs.race import MAX_LR, MAX_RACERS, Racer
from gdplayground.labs.surfaces import SURFACES, Surface, SurfaceError, make_surface
from gdplayground.gui.widgets.fields import guard_field
from gdplayground.gui.optimizers.race_view import colour

SURFACE_WORDS = {"parabola": "Parabola x²", "double-well": "Double well (1-D)",
                 "quadratic": "Quadratic bowl (κ, angle)", "rosenbrock": "Rosenbrock",
                 "beale": "Beale", "saddle": "Saddle x² − y²", "himmelblau": "Himmelblau",
                 "plateau": "Plateau", "expression": "Your formula f(x, y)"}
RULES = OptimizerConfig.__dataclass_fields__["name"].metadata["words"]
# The hyperparameter each rule shows in its row (the others keep their defaults).
MAIN_HYPERPARAMETER = {"momentum": "momentum", "nesterov": "momentum", "rmsprop": "rho",
                       "adam": "beta1"}
# Learning rates a race opens with, per surface: plain gradient descent's, and the adaptive
# rules' (whose steps do not scale with the gradient). Momentum takes a third of the plain rate.
OPENING_RATES = {"parabola": (0.1, 0.1), "double-well": (0.05, 0.05), "quadratic": (0.15, 0.1),
                 "rosenbrock": (0.001, 0.05), "beale": (0.005, 0.05), "saddle": (0.05, 0.05),
                 "himmelblau": (0.01, 0.1), "plateau": (0.3, 0.1), "expression": (0.01, 0.05)}


def opening_racers(surface_name: str) -> list[Racer]:
    """One racer of each rule, at rates that let each show its character on this surface."""
    plain, adaptive = OPENING_RATES[surface_name]
    rates = {"sgd": plain, "momentum": plain / 3, "nesterov": plain / 3, "adagrad": adaptive * 5,
             "rmsprop": adaptive / 3, "adam": adaptive}
    return [Racer(OptimizerConfig(name=name), rate) for name, rate in rates.items()]


class RaceSettings(QWidget):
    surface_changed = Signal()
    start_changed = Signal()
    racers_changed = Signal()

    def __init__(self):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._surface_box())
        self.theory = QLabel()  # what theory says of the bowl, filled in by the tab
        self.theory.setWordWrap(True)
        self.theory.setTextFormat(Qt.RichText)
        layout.addWidget(self.theory)
        layout.addWidget(self._racer_box())
        self.set_racers(opening_racers(self.surface_name))

    # --- the surface -------------------------------------------------------------------------
    def _surface_box(self) -> QGroupBox:
        box = QGroupBox("Surface")
        form = QFormLayout(box)
        self.surface_choice = guard_field(QComboBox())
        for name in SURFACES:
            self.surface_choice.addItem(SURFACE_WORDS[name], name)
        self.surface_choice.setCurrentIndex(SURFACES.index("rosenbrock"))
        self.surface_choice.setToolTip("The function the optimizers descend. Each teaches "
                                       "something: a ravine, a saddle, several minima, a plateau.")
        self.surface_choice.currentIndexChanged.connect(self._surface_chosen)
        form.addRow("Surface", self.surface_choice)
        self.kappa = self._number(10.0, (1.0, 1000.0), "κ = λ₂/λ₁, the condition number: how much "
                                  "steeper the bowl is across than along. Above about 10, plain "
                                  "gradient descent zig-zags.")
        self.angle = self._number(30.0, (-90.0, 90.0), "How far the bowl's axes are turned from x "
                                  "and y, in degrees: adaptive rules scale each coordinate, so "
                                  "they do best when the axes line up.", dec=False)
        # A text field of its own manners: Space, N and Right type, they run nothing here.
        self.expression = QLineEdit("x^2/4 + y^2/4 + sin(3*x)*cos(2*y)")
        self.expression.setToolTip("f in x and y: + − * / ^ (or × · ÷ and x², as the titles "
                                   "write them; 2x and xy are products), pi, e, and sin cos tan "
                                   "arcsin arccos arctan sinh cosh tanh exp log log10 sqrt abs "
                                   "minimum maximum. Its gradient is taken by central "
                                   "differences. Enter applies.")
        self.expression.returnPressed.connect(self.surface_changed)
        self.expression_error = QLabel()
        self.expression_error.setStyleSheet("color: #b00020")
        self.expression_error.setWordWrap(True)
        self.rows = {"κ": self.kappa, "Angle °": self.angle, "f(x, y) =": self.expression}
        for label, widget in self.rows.items():
            form.addRow(label, widget)
        form.addRow(self.expression_error)
        self.start_x = self._number(0.0, (-1e3, 1e3), "Where every racer starts; or click, or drag "
                                    "the start marker, on the plot.", dec=False, on=self.start_changed)
        self.start_y = self._number(0.0, (-1e3, 1e3), self.start_x.toolTip(), dec=False,
                                    on=self.start_changed)
        starts = QWidget()
        row = QHBoxLayout(starts)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.start_x)
        row.addWidget(self.start_y)
        form.addRow("Start x, y", starts)
        self._starts = starts
        self._form = form
        self._show_surface_rows()
        return box

    def _number(self, value, bounds, tip, dec=True, on=None) -> pg.SpinBox:
        spin = pg.SpinBox(value=value, bounds=bounds, dec=dec, step=0.5 if dec else 0.1,
                          decimals=4, compactHeight=False)
        spin.setToolTip(tip)
        spin.sigValueChanged.connect(on or self.surface_changed)
        return guard_field(spin)

    @property
    def surface_name(self) -> str:
        return self.surface_choice.currentData()

    def surface(self) -> Surface:
        """The surface as set; SurfaceError or ExpressionError (said under the formula) if it
        cannot be made."""
        try:
            surface = make_surface(self.surface_name, kappa=self.kappa.value(),
                                   angle=self.angle.value(), expression=self.expression.text())
        except (SurfaceError, ExpressionError) as exc:
            self.expression_error.setText(str(exc))
            raise
        self.expression_error.setText("")
        return surface

    def _surface_chosen(self) -> None:
        self._show_surface_rows()
        self.set_racers(opening_racers(self.surface_name))
        self.surface_changed.emit()

    def _show_surface_rows(self) -> None:
        name = self.surface_name
        visible = {"κ": name == "quadratic", "Angle °": name == "quadratic",
                   "f(x, y) =": name == "expression"}
        for label, widget in self.rows.items():
            self._form.setRowVisible(widget, visible[label])
        self.expression_error.setVisible(name == "expression")

    def start(self, dims: int) -> np.ndarray:
        return np.array([self.start_x.value(), self.start_y.value()][:dims])

    def show_start(self, start: np.ndarray) -> None:
        for spin, value in zip((self.start_x, self.start_y), start):
            spin.blockSignals(True)
            spin.setValue(float(value))
            spin.blockSignals(False)
        self.start_y.setVisible(len(start) == 2)
        self._form.labelForField(self._starts).setText("Start x, y" if len(start) == 2 else "Start x")

    # --- the racers ----------------------------------------------------------------------------
    def _racer_box(self) -> QGroupBox:
        box = QGroupBox("Racers")
        box.setToolTip("Each racer is one of the engine's update rules, with its own learning "
                       "rate: the same code that trains the networks, moving one point.")
        layout = QVBoxLayout(box)
        self.racer_grid = QGridLayout()
        for column, words in enumerate(("", "Update rule", "Learning rate", "μ, ρ or β1")):
            self.racer_grid.addWidget(QLabel(words), 0, column)
        layout.addLayout(self.racer_grid)
        self.add_button = QPushButton("Add racer")
        self.add_button.setToolTip(f"Another racer (up to {MAX_RACERS}): e.g. the same rule at "
                                   "another rate")
        self.add_button.clicked.connect(self._add_clicked)
        layout.addWidget(self.add_button)
        self._rows: list[RacerRow] = []
        return box

    def set_racers(self, racers: list[Racer]) -> None:
        for row in self._rows:
            row.remove()
        self._rows = []
        for racer in racers:
            self._add_row(racer)
        self.add_button.setEnabled(len(self._rows) < MAX_RACERS)

    def racers(self) -> list[Racer]:
        """The racers switched on, each with its row's index (its colour)."""
        return [row.racer() for row in self._rows if row.enabled.isChecked()]

    def colours(self) -> list[int]:
        return [i for i, row in enumerate(self._rows) if row.enabled.isChecked()]

    def _add_clicked(self) -> None:
        last = self._rows[-1].racer() if self._rows else opening_racers(self.surface_name)[0]
        self._add_row(Racer(copy.deepcopy(last.optimizer), last.lr / 2))
        self.add_button.setEnabled(len(self._rows) < MAX_RACERS)
        self.racers_changed.emit()

    def _add_row(self, racer: Racer) -> None:
        row = RacerRow(racer, len(self._rows), self.racer_grid)
        row.changed.connect(self.racers_changed)
        self._rows.append(row)


class RacerRow(QObject):
    """One racer's widgets, in a row of the racers' grid."""

    changed = Signal()

    def __init__(self, racer: Racer, index: int, grid: QGridLayout):
        super().__init__()
        self.enabled = guard_field(QCheckBox())
        self.enabled.setChecked(True)
        self.enabled.setToolTip("In the race, or left out of it")
        self.enabled.setStyleSheet(f"QCheckBox {{ background: rgb{colour(index)}; padding: 2px; }}")
        self.rule = guard_field(QComboBox())
        for name, words in RULES.items():
            self.rule.addItem(words, name)
        self.rule.setCurrentIndex(self.rule.findData(racer.optimizer.name))
        self.rule.setToolTip("The update rule: the engine's own (engine/optimizers.py)")
        self.lr = guard_field(pg.SpinBox(value=racer.lr, bounds=(1e-6, MAX_LR), dec=True, step=0.5,
                                         decimals=3, compactHeight=False))
        self.lr.setToolTip("This racer's learning rate")
        self.hyper = guard_field(pg.SpinBox(value=0.9, bounds=(0.0, 0.9999), step=0.05,
                                            decimals=4, compactHeight=False))
        self.optimizer = copy.deepcopy(racer.optimizer)
        self._show_hyperparameter()
        self.widgets = [self.enabled, self.rule, self.lr, self.hyper]
        for column, widget in enumerate(self.widgets):
            grid.addWidget(widget, index + 1, column)  # under the headings
        self.enabled.toggled.connect(self.changed)
        self.rule.currentIndexChanged.connect(self._rule_chosen)
        self.lr.sigValueChanged.connect(self.changed)
        self.hyper.sigValueChanged.connect(self._hyper_edited)

    def racer(self) -> Racer:
        return Racer(copy.deepcopy(self.optimizer), float(self.lr.value()))

    def _rule_chosen(self) -> None:
        self.optimizer = OptimizerConfig(name=self.rule.currentData())
        self._show_hyperparameter()
        self.changed.emit()

    def _show_hyperparameter(self) -> None:
        name = MAIN_HYPERPARAMETER.get(self.optimizer.name)
        self.hyper.setVisible(name is not None)
        if name is not None:
            f = field_at(f"optimizer.{name}")
            self.hyper.blockSignals(True)
            self.hyper.setValue(getattr(self.optimizer, name))
            self.hyper.blockSignals(False)
            self.hyper.setToolTip(f"{f.metadata['label']}: {f.metadata['help']}")

    def _hyper_edited(self) -> None:
        setattr(self.optimizer, MAIN_HYPERPARAMETER[self.optimizer.name], float(self.hyper.value()))
        self.changed.emit()

    def remove(self) -> None:
        for widget in self.widgets:
            widget.setParent(None)
            widget.deleteLater()
