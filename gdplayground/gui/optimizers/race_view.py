"""The race drawn: the surface (contours over a 2-D one, the curve of a 1-D one) with every
racer's path and point, and f against steps per racer. One step at a time, it also draws what
moved a racer: the gradient, the velocity of momentum or Adam, the step actually taken, and on a
1-D surface the tangent whose slope gave the step.

The racers' colours are the key: the list of racers beside the plots shows them.
"""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from gdplayground.labs.race import Race
from gdplayground.labs.surfaces import Surface
from gdplayground.gui.widgets.plots import LAYER_COLOURS, title_within, use_plot_style

RACER_COLOURS = LAYER_COLOURS
IMAGE_PIXELS = 500  # a side of the surface's image: its contours stay thin when shown large
CONTOUR_INK = (110, 130, 160)
NOT_A_NUMBER = (190, 190, 190)  # where f is not a number
CONTOUR_LEVELS = 16  # log-spaced: as many contours near the minimum as far from it
KEY_PER_LINE = 3  # racers named a line under the title: it fits a plot 450 pixels wide
MAX_DRAWN_POINTS = 4000  # of a path: longer ones are drawn through every k-th point
ARROW_SHARE = 0.12  # of the view's width, the length of a gradient or velocity arrow
# Colours no racer wears (they take RACER_COLOURS' first eight).
GRADIENT_PEN = pg.mkPen((200, 150, 0), width=3)
VELOCITY_PEN = pg.mkPen((0, 130, 130), width=3)
STEP_PEN = pg.mkPen((20, 20, 20), width=2, style=Qt.DashLine)
TANGENT_PEN = pg.mkPen((200, 30, 30), width=1, style=Qt.DashLine)
SURFACE_COLOURS = pg.ColorMap([0, 1], [(255, 255, 255), (150, 180, 215)])  # pale: paths stand out


def colour(i: int) -> tuple[int, int, int]:
    return RACER_COLOURS[i % len(RACER_COLOURS)]


class RaceView(QWidget):
    start_chosen = Signal(object)  # an np.ndarray: the point clicked or dragged to on the surface

    def __init__(self):
        super().__init__()
        self.surface_plot = pg.PlotWidget()
        self.surface_plot.setMenuEnabled(False)
        self.loss_plot = pg.PlotWidget()
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setToolTip("How far above the lowest minimum each racer is, step by "
                                  "step. A straight falling line on this log scale is linear "
                                  "convergence: the same factor every step.")
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.surface_plot)
        splitter.addWidget(self.loss_plot)
        splitter.setSizes([640, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.surface: Surface | None = None
        self._log_losses = False  # f − f* on a log scale (the surface knows its minimum)
        self._keyed = None  # what the key under the title shows
        self._paths: list[pg.PlotDataItem] = []
        self._losses: list[pg.PlotDataItem] = []
        self._points = pg.ScatterPlotItem(size=11, pen=pg.mkPen("k", width=1))
        self._detail: list[pg.GraphicsObject] = []
        self._start = pg.TargetItem(movable=True, size=14, pen=pg.mkPen("k", width=2),
                                    label="start", labelOpts={"offset": (8, -8)})
        self._start.sigPositionChangeFinished.connect(self._dragged)
        self.surface_plot.scene().sigMouseClicked.connect(self._clicked)

    # --- the surface -------------------------------------------------------------------------
    def show_surface(self, surface: Surface) -> None:
        self.surface = surface
        plot = self.surface_plot
        plot.clear()
        plot.setTitle(surface.title)
        (x0, x1) = surface.extent[0]
        if surface.dims == 2:
            self._draw_contours(surface)
            (y0, y1) = surface.extent[1]
            plot.setAspectLocked(True)
            plot.setLabel("left", "y")
        else:
            xs = np.linspace(x0, x1, 400)
            ys = surface.f(xs[None])
            plot.setAspectLocked(False)
            plot.plot(xs, ys, pen=pg.mkPen((90, 90, 90), width=2))
            plot.setLabel("left", "f(x)")
        plot.setLabel("bottom", "x")
        self.fit_surface()
        plot.addItem(self._start)
        plot.addItem(self._points)
        self._points.setZValue(10)
        self._start.setZValue(11)
        known = bool(surface.minima)  # f − f* on a log scale; without a minimum, f itself
        self.loss_plot.clear()
        self.loss_plot.setLogMode(y=known)
        self._log_losses = known
        self.loss_plot.setTitle("f − f* per racer (log scale)" if known else "f per racer")
        self._paths, self._losses, self._keyed = [], [], None
        self._fit_losses(0, [])

    def fit_surface(self) -> None:
        """Show the whole of the surface's extent (again after a resize: a locked aspect ratio
        otherwise keeps one edge and cuts the other)."""
        surface = self.surface
        if surface is None:
            return
        (x0, x1) = surface.extent[0]
        if surface.dims == 2:
            (y0, y1) = surface.extent[1]
        else:
            ys = surface.f(np.linspace(x0, x1, 400)[None])
            y0, y1 = float(ys.min()), float(ys.max())
        self.surface_plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.03)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_surface()

    def _draw_contours(self, surface: Surface) -> None:
        """The surface as one image with its contours drawn into it: painted in one go each
        frame, where a contour item apiece cost more than all the racers."""
        (x0, x1), (y0, y1) = surface.extent
        image = pg.ImageItem(axisOrder="row-major")
        image.setImage(contour_image(surface), autoLevels=False, levels=(0, 255))  # as coloured
        image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        image.setZValue(-10)
        self.surface_plot.addItem(image)
        for minimum in surface.minima:
            self.surface_plot.plot([minimum[0]], [minimum[1]], pen=None, symbol="+", symbolSize=12,
                                   symbolPen=pg.mkPen((60, 60, 60), width=2))

    def show_start(self, start: np.ndarray) -> None:
        y = float(start[1]) if len(start) == 2 else float(self.surface.f(start))
        self._start.setPos(float(start[0]), y)

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or self.surface is None:
            return
        box = self.surface_plot.getPlotItem().vb
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = box.mapSceneToView(event.scenePos())
        self.start_chosen.emit(self._to_start(point.x(), point.y()))

    def _dragged(self) -> None:
        position = self._start.pos()
        self.start_chosen.emit(self._to_start(position.x(), position.y()))

    def _to_start(self, x: float, y: float) -> np.ndarray:
        return np.array([x, y] if self.surface.dims == 2 else [x])

    # --- the race ------------------------------------------------------------------------------
    def draw(self, race: Race, detail: int | None = None, colours: list[int] | None = None) -> None:
        """Every racer's path, point and f − f*; with `detail`, the forces on that racer.
        `colours`: each racer's colour, as an index into RACER_COLOURS (default: its own)."""
        colours = list(range(len(race.racers))) if colours is None else colours
        self._ensure_curves(len(race.racers))
        self._key(race, colours)
        floor = lowest_minimum(race.surface)
        spots, shown_losses = [], []
        for i in range(len(race.racers)):
            path = race.trajectory(i)
            shown = thinned(path)
            with np.errstate(all="ignore"):
                values = race.surface.f(shown.T)
            y = shown[:, 1] if race.surface.dims == 2 else values
            finite = np.isfinite(shown).all(axis=1) & np.isfinite(y)
            self._paths[i].setData(shown[finite, 0], y[finite])
            shown_losses.append(self._draw_loss(i, path, values, floor))
            if finite.any():
                spots.append({"pos": (shown[finite, 0][-1], y[finite][-1]),
                              "brush": pg.mkBrush(colour(colours[i]))})
        self._points.setData(spots)
        self._fit_losses(race.step_count, shown_losses)
        self._clear_detail()
        if detail is not None and race.step_count:
            self._draw_detail(race, detail)

    def clear_race(self) -> None:
        """No race on the surface: no paths, points, forces or key."""
        self._ensure_curves(0)
        self._fit_losses(0, [])
        self._points.setData([])
        self._clear_detail()
        self._keyed = None
        if self.surface is not None:
            title_within(self.surface_plot.getPlotItem(), self.surface.title, [],
                         self.surface_plot.width())

    def _key(self, race: Race, colours: list[int]) -> None:
        """The racers' names in their colours under the title; each curve in its colour."""
        key = (race.surface.title, tuple(race.labels), tuple(colours))
        if key == self._keyed:
            return
        self._keyed = key
        entries = [f"<span style='color:rgb{colour(c)}'>━━</span>&nbsp;{label}"
                   for label, c in zip(race.labels, colours)]
        lines = [" &nbsp; ".join(entries[i:i + KEY_PER_LINE])
                 for i in range(0, len(entries), KEY_PER_LINE)]
        title_within(self.surface_plot.getPlotItem(), race.surface.title, lines,
                     self.surface_plot.width())
        for i, c in enumerate(colours):
            self._paths[i].setPen(pg.mkPen(colour(c), width=2))
            self._losses[i].setPen(pg.mkPen(colour(c), width=1))

    def _ensure_curves(self, n: int) -> None:
        while len(self._paths) < n:
            i = len(self._paths)
            self._paths.append(self.surface_plot.plot(pen=pg.mkPen(colour(i), width=2)))
            self._losses.append(self.loss_plot.plot(pen=pg.mkPen(colour(i), width=1),
                                                    antialias=False))
        for extra in self._paths[n:] + self._losses[n:]:
            extra.setData([], [])

    def _draw_loss(self, i: int, path: np.ndarray, values: np.ndarray,
                   floor: float | None) -> np.ndarray:
        """Racer i's f − f* (f without a known minimum) per step; returns the values drawn."""
        steps = thinned_steps(len(path))
        shown = values - floor if floor is not None else values
        keep = np.isfinite(shown) & ((shown > 0) if floor is not None else True)
        curve, lone = self._losses[i], np.count_nonzero(keep) == 1  # a line of one point is
        if (curve.opts["symbol"] is not None) != lone:  # not drawn: the start is a dot
            curve.setSymbol("o" if lone else None)
            curve.setSymbolSize(5)
            curve.setSymbolBrush(curve.opts["pen"].color())
        curve.setData(steps[keep], shown[keep])
        return shown[keep]

    def _fit_losses(self, steps: int, shown: list[np.ndarray]) -> None:
        """Steps from 0 to at least 10, and values over at least two decades on the log scale,
        labelled at decades only (one unit on f's own scale): pyqtgraph's range for the few
        points of a race's start ran from −100 to 100 steps, an empty plot from −400 to 400
        "step (×0.001)", and a log axis over less than a decade crowded its labels (3, 4, … 9)."""
        values = np.concatenate([np.zeros(0), *shown])
        if self._log_losses:
            values = np.log10(values)
        empty = (-1.0, 1.0) if self._log_losses else (0.0, 1.0)  # 0.1 to 10 on the log scale
        low, high = (values.min(), values.max()) if values.size else empty
        middle, half = (low + high) / 2, max((high - low) / 2, 1.0 if self._log_losses else 0.5)
        low, high = middle - half, middle + half
        self.loss_plot.setRange(xRange=(0, max(steps, 10)), yRange=(low, high), padding=0.04)
        self.loss_plot.getAxis("left").setTicks(decade_ticks(low, high) if self._log_losses else None)

    def _clear_detail(self) -> None:
        for item in self._detail:
            self.surface_plot.removeItem(item)
        self._detail = []

    def _draw_detail(self, race: Race, i: int) -> None:
        """At the point the last step left from: the gradient (uphill), the velocity, the step."""
        path = race.trajectory(i)
        if len(path) < 2 or not np.isfinite(path[-2:]).all():
            return
        before, after = path[-2], path[-1]
        grad = race.surface.grad(before)
        velocity = race.velocity(i)
        if race.surface.dims == 1:
            self._tangent(race.surface, before, grad)
            height = float(race.surface.f(before))
            self._arrow((before[0], height), (after[0], height), STEP_PEN)
            words = pg.TextItem(f"step {after[0] - before[0]:+.3g}", color=(20, 20, 20),
                                anchor=(0.5, 1.2))
            words.setPos((before[0] + after[0]) / 2, height)
            self._add_detail(words)
            return
        scale = ARROW_SHARE * (race.surface.extent[0][1] - race.surface.extent[0][0])
        self._arrow(before, before + scale * unit(grad), GRADIENT_PEN)
        if velocity is not None:
            self._arrow(before, before - scale * unit(velocity), VELOCITY_PEN)  # where it pushes
        self._arrow(before, after, STEP_PEN)

    def _tangent(self, surface: Surface, at: np.ndarray, slope: np.ndarray) -> None:
        x0 = float(at[0])
        half = 0.25 * (surface.extent[0][1] - surface.extent[0][0])
        xs = np.array([x0 - half, x0 + half])
        line = pg.PlotDataItem(xs, float(surface.f(at)) + float(slope[0]) * (xs - x0),
                               pen=TANGENT_PEN)
        self._add_detail(line)

    def _arrow(self, tail, head, pen) -> None:
        tail, head = np.asarray(tail, float), np.asarray(head, float)
        if not np.isfinite([*tail, *head]).all() or np.allclose(tail, head):
            return
        self._add_detail(pg.PlotDataItem([tail[0], head[0]], [tail[1], head[1]], pen=pen))
        direction = head - tail
        angle = np.degrees(np.arctan2(-direction[1], direction[0]))  # the scene's y points down
        tip = pg.ArrowItem(pos=tuple(head), angle=180 + angle, headLen=12, tailLen=0,
                           pen=pen, brush=pen.color())
        self._add_detail(tip)

    def _add_detail(self, item) -> None:
        item.setZValue(12)
        self.surface_plot.addItem(item)
        self._detail.append(item)


def contour_image(surface: Surface) -> np.ndarray:
    """RGBA pixels of a 2-D surface over its extent, rows along y: pale where low, deeper where
    high, contours drawn in: log-spaced above a minimum (as many near it as far from it), evenly
    spaced on a surface without one (the saddle). Where f is not a number: grey."""
    (x0, x1), (y0, y1) = surface.extent
    xx, yy = np.meshgrid(np.linspace(x0, x1, IMAGE_PIXELS), np.linspace(y0, y1, IMAGE_PIXELS))
    with np.errstate(all="ignore"):
        z = surface.f(np.stack([xx, yy]))
        finite = np.isfinite(z)
        rise = np.where(finite, z - (z[finite].min() if finite.any() else 0), 0.0)
        if surface.minima:
            rise = np.log10(rise + max(rise.max(), 1e-12) * 1e-5)
        scaled = (rise - rise.min()) / max(np.ptp(rise), 1e-12)
    pixels = SURFACE_COLOURS.map(scaled.ravel(), mode="byte").reshape(*scaled.shape, -1)
    band = np.minimum((scaled * (CONTOUR_LEVELS + 1)).astype(int), CONTOUR_LEVELS)
    edge = np.zeros_like(band, dtype=bool)
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    pixels[edge, :3] = CONTOUR_INK
    pixels[~finite, :3] = NOT_A_NUMBER
    return pixels


def decade_ticks(low: float, high: float, most: int = 5) -> list[list]:
    """Ticks of a log axis from 10^low to 10^high at whole decades, at most `most` labelled."""
    stride = max(1, int(np.ceil((high - low) / most)))
    first = int(np.ceil(low / stride)) * stride
    return [[(k, decade(k)) for k in range(first, int(np.floor(high)) + 1, stride)]]


def decade(k: int) -> str:
    """10^k as a label: 0.01, 0.1, 1, 10, 100, then 10³ and 10⁻³ beyond."""
    if -2 <= k <= 2:
        return f"{10.0 ** k:g}"
    return "10" + str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def lowest_minimum(surface: Surface) -> float | None:
    if not surface.minima:
        return None
    return float(min(surface.f(np.array(m)) for m in surface.minima))


def thinned(path: np.ndarray) -> np.ndarray:
    """At most MAX_DRAWN_POINTS of a path, the last one always among them."""
    return path[thinned_steps(len(path))]


def thinned_steps(n: int) -> np.ndarray:
    stride = max(1, -(-n // MAX_DRAWN_POINTS))
    steps = np.arange(0, n, stride)
    return steps if steps[-1] == n - 1 else np.append(steps, n - 1)


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 and np.isfinite(norm) else np.zeros_like(vector)


def save_race_png(race: Race, path, size=(1200, 900)) -> None:
    """The race, drawn offscreen as the tab draws it, to a PNG (gdplayground race)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdplayground.gui.widgets.qt import application
    from gdplayground.gui.widgets.plot_export import save_png

    application()
    use_plot_style()
    view = RaceView()
    view.show_surface(race.surface)
    view.show_start(race.start)
    view.draw(race)
    view.resize(*size)
    view.show()
    application().processEvents()
    save_png(view.grab(), path)
    view.close()
