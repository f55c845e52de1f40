"""A run replayed as an animation, for slides: one frame per kept step (and the run's own last
weights when it went on after its last kept point), each the run's picture at that step beside
its loss curve with the step marked, captioned "step N of M". The picture is the decision
boundary of 2-D data with the training points, the change of the first-layer weights since
step 0 for images, or the path of the linear system's x so far. A colour scale is fixed over the
whole animation, so that colours compare from frame to frame.

Frames are drawn with NumPy (the pictures) and Pillow (lines and words) as RGB arrays, and
written as an animated GIF, or an MP4 where imageio with imageio-ffmpeg is installed. No Qt: the
command line writes it headless (`gdplayground animate`), the window on a thread of its own
(File ▸ Export animation…). The GIF's palette holds every colour a frame uses, so its frames
are the rendered ones exactly.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gdplayground.colours import CLASS_COLOURS, LAYER_COLOURS
from gdplayground.engine.path import KeptPath
from gdplayground.files import atomic_path
from gdplayground.labs.diagram import BOUNDARY_EXTENT, plane_outputs
from gdplayground.labs.replay import StepNetwork

FRAME_MS = 100  # each frame's time on screen: a full path of 128 points takes 13 s
LAST_FRAME_MS = 2000  # the last frame stays a while before the loop starts again
WIDTH, HEIGHT = 768, 432  # multiples of 16, as MP4's encoder wants them
PICTURE = 320  # the picture's side, in pixels
PICTURE_BOX = (24, 56)  # its top left corner
PLOT_BOX = (440, 72, 744, 352)  # the loss curve's axes: left, top, right, bottom
LEVELS = 192  # colours of the picture's colour map: the GIF's palette keeps room for the rest
MOSAIC_TILES = 100  # first-layer units shown at most (10 × 10 tiles: more would be specks)
DOT_REACH = 4  # pixels either side of the marked step whose curve the dot on it sits at
CLIP_PERCENTILE = 99.5  # a few extreme weight changes should not wash the colours out
WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (0, 0, 0), (110, 110, 110), (225, 225, 225)
OUTLINE, GAP = (40, 40, 40), (60, 60, 60)
CURVE, MARK = (31, 119, 180), (200, 30, 30)
NEGATIVE_WEIGHT, POSITIVE_WEIGHT = (33, 102, 172), (178, 24, 43)  # blue, red: the mosaic's ends
SUFFIXES = (".gif", ".mp4")
MP4_HINT = "MP4 needs imageio and imageio-ffmpeg (pip install imageio imageio-ffmpeg)"

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


class AnimationError(ValueError):
    """Input an animation cannot be made from, in words for the user."""


class LossCurve(NamedTuple):
    """The loss over the run's steps, drawn beside every frame, and where it comes from."""

    steps: np.ndarray
    loss: np.ndarray
    source: str  # "training loss" or "loss on 1,000 training examples at each kept step"


@dataclass(frozen=True)
class Scene:
    """What a run's frames show besides its weights: its data set's name, and the 2-D training
    points of two classes with their labels (and the half side of their square), the images'
    shape, or the linear system's exact solution."""

    dataset: str
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None
    solution: np.ndarray | None = None
    extent: float = BOUNDARY_EXTENT
    n_classes: int | None = 2  # the boundary's picture is the probability of one of two classes

    @property
    def kind(self) -> str:
        return "mosaic" if self.image_shape is not None else "boundary" \
            if self.points is not None and self.n_classes == 2 else "linear" \
            if self.solution is not None else ""


def mp4_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("imageio", "imageio_ffmpeg"))


def replay_points(path: KeptPath, step: int, current: np.ndarray) -> tuple[list[int], list]:
    """The steps and weights (rows, not copies) an animation shows: the kept points, and the
    run's `current` weights at `step` when it went on after its last kept point."""
    steps, weights = [int(s) for s in path.steps], list(path.weights)
    if not steps or step > steps[-1]:
        steps.append(int(step))
        weights.append(current)
    return steps, weights


def read_metrics(path: Path) -> LossCurve:
    """The training loss by step from a run folder's metrics.csv; AnimationError if unreadable."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AnimationError(f"cannot read {path}: {exc}") from None
    try:
        pairs = [(float(row["step"]), float(row["loss"]) if row["loss"] else math.nan)
                 for row in rows]
    except (KeyError, TypeError, ValueError):
        raise AnimationError(f"{path} is not a metrics file: it needs numeric step and loss "
                             f"columns") from None
    table = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    return LossCurve(table[:, 0], table[:, 1], "training loss")


def evaluated_curve(stepper: StepNetwork, steps: Sequence[int], weights: Sequence[np.ndarray],
                    x: np.ndarray, y: np.ndarray) -> LossCurve:
    """The loss at each of the points on examples (x, y): for a run without its metrics."""
    loss = [stepper.at(w).loss_on(x, y) for w in weights]
    return LossCurve(np.array(steps, np.float64), np.array(loss),
                     f"loss on {len(x):,} training examples at each kept step")


# --- the frames ---------------------------------------------------------------------------------
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: its one bitmap font
        return ImageFont.load_default()


def _ramp(stops: list[tuple[int, int, int]], n: int) -> np.ndarray:
    """(n, 3) uint8 colours running evenly through `stops`."""
    at = np.linspace(0, len(stops) - 1, n)
    stops = np.array(stops, np.float64)
    return np.column_stack([np.interp(at, np.arange(len(stops)), stops[:, c])
                            for c in range(3)]).round().astype(np.uint8)


BOUNDARY_COLOURS = _ramp([CLASS_COLOURS[0], WHITE, CLASS_COLOURS[1]], LEVELS)  # probability 0…1
WEIGHT_COLOURS = _ramp([NEGATIVE_WEIGHT, WHITE, POSITIVE_WEIGHT], LEVELS)  # −scale…+scale


def codes(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Indices into a colour map of LEVELS colours: `low` the first, `high` the last, NaN the
    middle one."""
    scaled = (np.nan_to_num(values, nan=(low + high) / 2) - low) * ((LEVELS - 1) / (high - low))
    return np.clip(np.rint(scaled), 0, LEVELS - 1).astype(np.intp)


def boundary_picture(probability: np.ndarray) -> np.ndarray:
    """(PICTURE, PICTURE, 3) colours of the probability of class 1 over the boundary's grid
    (rows along y from −extent: drawn upside down, so that y grows upwards)."""
    rgb = BOUNDARY_COLOURS[codes(probability[::-1], 0.0, 1.0)]
    factor = PICTURE // probability.shape[0]
    return _fit(np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1))


def mosaic_picture(change: np.ndarray, tile_shape: tuple[int, int], scale: float) -> np.ndarray:
    """(PICTURE, PICTURE, 3) colours of the first MOSAIC_TILES units' (pixels, units) weight
    changes, one tile each, between ±scale."""
    h, w = tile_shape
    n = min(change.shape[1], MOSAIC_TILES)
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.empty((rows * (h + 1) + 1, columns * (w + 1) + 1, 3), np.uint8)
    canvas[...] = GAP
    tiles = WEIGHT_COLOURS[codes(change[:, :n].T.reshape(n, h, w), -scale, scale)]
    for unit, tile in enumerate(tiles):
        row, column = divmod(unit, columns)
        canvas[1 + row * (h + 1):(row + 1) * (h + 1), 1 + column * (w + 1):(column + 1) * (w + 1)] = tile
    factor = max(1, PICTURE // max(canvas.shape[:2]))
    return _fit(np.repeat(np.repeat(canvas, factor, axis=0), factor, axis=1))


def _fit(picture: np.ndarray) -> np.ndarray:
    """The picture centred on a white PICTURE × PICTURE square (cut to it if larger)."""
    square = np.full((PICTURE, PICTURE, 3), 255, np.uint8)
    part = picture[:PICTURE, :PICTURE]
    top, left = (PICTURE - part.shape[0]) // 2, (PICTURE - part.shape[1]) // 2
    square[top:top + part.shape[0], left:left + part.shape[1]] = part
    return square


class Animation:
    """The frames of a run's replay: `frame(i)` draws the i-th as an (HEIGHT, WIDTH, 3) array."""

    def __init__(self, stepper: StepNetwork, scene: Scene, steps: Sequence[int],
                 weights: Sequence[np.ndarray], curve: LossCurve):
        if not len(steps):
            raise AnimationError("the run kept no steps to animate (its network is too large "
                                 "to keep its path)")
        self.stepper, self.scene, self.steps, self.weights = stepper, scene, list(steps), weights
        self.curve = curve
        self.last_step = max(self.steps[-1], int(np.nanmax(curve.steps, initial=0)))
        self.big, self.small = _font(20), _font(13)
        self._points = self._points_layer() if scene.kind == "boundary" else None
        if scene.kind == "mosaic":  # one scale for every frame: the largest change's
            change = self._first_layer(weights[-1]) - self._first_layer(weights[0])
            self.scale = float(np.percentile(np.abs(change), CLIP_PERCENTILE)) or 1.0
        if scene.kind == "linear":
            self.path_x = np.array([stepper.at(w).unknowns() for w in weights])
        self._plot = _LossPlot(curve, self.last_step, self.small)

    def __len__(self) -> int:
        return len(self.steps)

    def palette(self) -> np.ndarray:
        """Every colour a frame is drawn in (a GIF's palette): the picture's colour map, the
        fixed colours, and greys for the edges of the words."""
        greys = np.repeat(np.linspace(0, 255, 24).round().astype(np.uint8)[:, None], 3, axis=1)
        fixed = np.array([WHITE, BLACK, GREY, LIGHT, OUTLINE, GAP, CURVE, MARK, *CLASS_COLOURS,
                          *LAYER_COLOURS], np.uint8)
        colour_map = {"boundary": BOUNDARY_COLOURS, "mosaic": WEIGHT_COLOURS}.get(
            self.scene.kind, np.empty((0, 3), np.uint8))
        return np.unique(np.concatenate([colour_map, fixed, greys]), axis=0)

    def frame(self, i: int) -> np.ndarray:
        step = self.steps[i]
        image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
        image.paste(Image.fromarray(self._picture(i)), PICTURE_BOX)
        draw = ImageDraw.Draw(image)
        draw.text((24, 14), f"step {step:,} of {self.last_step:,}", fill=BLACK, font=self.big)
        left, top = PICTURE_BOX
        draw.text((left, top + PICTURE + 8), self._picture_words(), fill=GREY, font=self.small)
        self._plot.draw(draw, step)
        return np.asarray(image)

    def _picture(self, i: int) -> np.ndarray:
        kind, stepper = self.scene.kind, self.stepper.at(self.weights[i])
        if kind == "boundary":
            outputs = plane_outputs(stepper.predict, self.scene.extent)
            picture = boundary_picture(outputs[..., -1])  # a sigmoid's, or class 1 of two
            picture[self._points[..., 3] > 0] = self._points[self._points[..., 3] > 0, :3]
            return picture
        if kind == "mosaic":
            change = self._first_layer(self.weights[i]) - self._first_layer(self.weights[0])
            return mosaic_picture(change, self._tile_shape(), self.scale)
        if kind == "linear":
            return self._linear_picture(i)
        square = Image.new("RGB", (PICTURE, PICTURE), LIGHT)
        ImageDraw.Draw(square).text((20, PICTURE // 2), "no picture for this data set",
                                    fill=BLACK, font=self.small)
        return np.asarray(square)

    def _picture_words(self) -> str:
        kind = self.scene.kind
        if kind == "boundary":
            return f"{self.scene.dataset}: probability of blue (orange 0, white 0.5, blue 1)"
        if kind == "mosaic":  # "-", not "−": Pillow's own font has no minus sign
            units = self._first_layer(self.weights[0]).shape[1]
            what = "filters" if self._convolution() else "units"
            shown = f"first {MOSAIC_TILES} of {units} {what}" if units > MOSAIC_TILES else \
                f"{units} {what}"
            return (f"first-layer weights of {shown}, change since step 0 "
                    f"(blue -{self.scale:.2g}, red +{self.scale:.2g})")
        if kind == "linear":
            return "x on its way to the exact solution (dashed)"
        return self.scene.dataset

    def _first_layer(self, weights: np.ndarray) -> np.ndarray:
        """The first layer's weights (pixels, units): a convolution's filters (C_out, 1, k, k)
        as columns of k·k pixels."""
        first = self.stepper.at(weights).first_layer()
        return first.reshape(len(first), -1).T if first.ndim == 4 else first

    def _convolution(self) -> bool:
        return self.stepper.network.layers[0].W.ndim == 4

    def _tile_shape(self) -> tuple[int, int]:
        """A tile's pixels: a filter's k × k, or a dense unit's image."""
        return self.stepper.network.layers[0].W.shape[2:] if self._convolution() else \
            self.scene.image_shape

    def _points_layer(self) -> np.ndarray:
        """The training points, drawn once: (PICTURE, PICTURE, 4), alpha 255 where a point is."""
        layer = Image.new("RGBA", (PICTURE, PICTURE), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        extent = self.scene.extent
        pixels = (np.asarray(self.scene.points, np.float64) + extent) * (PICTURE / (2 * extent))
        for (x, y), label in zip(pixels, self.scene.labels):
            draw.ellipse((x - 3, PICTURE - y - 3, x + 3, PICTURE - y + 3),
                         fill=(*CLASS_COLOURS[int(label) % 2], 255), outline=(*OUTLINE, 255))
        return np.asarray(layer)

    def _linear_picture(self, i: int) -> np.ndarray:
        """Each unknown of x over the kept steps so far, its exact value dashed."""
        square = Image.new("RGB", (PICTURE, PICTURE), WHITE)
        draw = ImageDraw.Draw(square)
        solution, path = self.scene.solution, self.path_x
        low, high = float(min(path.min(), solution.min())), float(max(path.max(), solution.max()))
        margin = 0.08 * (high - low or 1.0)
        axes = _Axes((8, 8, PICTURE - 8, PICTURE - 8), (0, max(self.last_step, 1)),
                     (low - margin, high + margin))
        draw.rectangle(axes.box, outline=GREY)
        for j, value in enumerate(solution):
            colour = LAYER_COLOURS[j % len(LAYER_COLOURS)]
            y = axes.y(value)
            for x in range(axes.box[0], axes.box[2], 8):
                draw.line((x, y, min(x + 4, axes.box[2]), y), fill=colour)
            xy = [(axes.x(s), axes.y(v)) for s, v in zip(self.steps[:i + 1], path[:i + 1, j])]
            draw.line(xy, fill=colour, width=2) if len(xy) > 1 else draw.point(xy, fill=colour)
        return np.asarray(square)


class _Axes(NamedTuple):
    """Pixel coordinates of data in a box: x linear, y linear or (log_y) logarithmic."""

    box: tuple[int, int, int, int]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    log_y: bool = False

    def x(self, value: float) -> float:
        (left, _, right, _), (low, high) = self.box, self.x_range
        return left + (value - low) / ((high - low) or 1.0) * (right - left)

    def y(self, value: float) -> float:
        (_, top, _, bottom), (low, high) = self.box, self.y_range
        value = math.log10(value) if self.log_y else value
        return bottom - (value - low) / ((high - low) or 1.0) * (bottom - top)


class _LossPlot:
    """The loss curve, drawn once (a mean per pixel column) and marked at each frame's step."""

    def __init__(self, curve: LossCurve, last_step: int, font):
        self.font = font
        finite = np.isfinite(curve.loss)
        steps, loss = curve.steps[finite], curve.loss[finite]
        log_y = bool(len(loss)) and bool(np.all(loss > 0))
        self.axes = _Axes(PLOT_BOX, (0, max(last_step, 1)), (0.0, 1.0), log_y)
        self.columns, self.means = self._binned(steps, loss)
        values = np.log10(self.means) if log_y else self.means  # the y axis fits what is drawn
        low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
        span = high - low or 1.0
        self.axes = self.axes._replace(y_range=(low - 0.05 * span, high + 0.05 * span))
        self.labels = (f"{10 ** high if log_y else high:.3g}", f"{10 ** low if log_y else low:.3g}")
        self.title = f"loss{' (log scale)' if log_y else ''}"
        self.source = curve.source

    def _binned(self, steps: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean loss in each pixel column that has steps in it: a noisy curve, as read."""
        if not len(steps):
            return np.empty(0, np.intp), np.empty(0)
        columns = np.rint([self.axes.x(s) for s in steps]).astype(np.intp)
        values = np.log10(loss) if self.axes.log_y else loss
        used, inverse = np.unique(columns, return_inverse=True)
        means = np.bincount(inverse, values) / np.bincount(inverse)
        return used, 10 ** means if self.axes.log_y else means

    def draw(self, draw: ImageDraw.ImageDraw, step: int) -> None:
        left, top, right, bottom = self.axes.box
        draw.text((left - 40, 30), self.title, fill=BLACK, font=self.font)
        draw.text((left - 40, 48), self.source, fill=GREY, font=self.font)
        draw.rectangle(self.axes.box, outline=GREY)
        draw.text((left - 6, top), self.labels[0], fill=GREY, font=self.font, anchor="rm")
        draw.text((left - 6, bottom), self.labels[1], fill=GREY, font=self.font, anchor="rm")
        draw.text((left, bottom + 6), "0", fill=GREY, font=self.font, anchor="mt")
        draw.text((right, bottom + 6), f"{self.axes.x_range[1]:,}", fill=GREY, font=self.font,
                  anchor="rt")
        draw.text(((left + right) / 2, bottom + 6), "step", fill=GREY, font=self.font, anchor="mt")
        if len(self.columns) > 1:
            draw.line([(x, self.axes.y(v)) for x, v in zip(self.columns, self.means)], fill=CURVE,
                      width=1)
        x = self.axes.x(step)
        draw.line((x, top, x, bottom), fill=MARK, width=1)
        if len(self.columns):
            near = np.abs(self.columns - x) <= DOT_REACH  # the curve's level there, not one column's noise
            y = self.axes.y(float(np.median(self.means[near]))) if near.any() else None
            if y is not None:
                draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=MARK)


# --- writing ------------------------------------------------------------------------------------
def write_animation(path: Path, animation: Animation, progress: Progress = lambda *_: None,
                    cancelled: Cancel = lambda: False) -> bool:
    """Write the animation as a GIF, or an MP4 (by the path's suffix); True once written, False
    if cancelled (then no file is left; an earlier one of the same name stays as it was)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise AnimationError(f"{path.name}: an animation is written as .gif or .mp4")
    if suffix == ".mp4" and not mp4_available():
        raise AnimationError(MP4_HINT)
    try:
        with atomic_path(path) as tmp:
            (_write_gif if suffix == ".gif" else _write_mp4)(tmp, _frames(animation, progress, cancelled),
                                                              animation)
    except _Stopped:
        return False
    return True


class _Stopped(Exception):
    pass


def _frames(animation: Animation, progress: Progress, cancelled: Cancel):
    for i in range(len(animation)):
        if cancelled():
            raise _Stopped
        yield animation.frame(i)
        progress(i + 1, len(animation))


def _write_gif(path: Path, frames, animation: Animation) -> None:
    palette = animation.palette()
    flat_palette = np.zeros((256, 3), np.uint8)
    flat_palette[:len(palette)] = palette

    def indexed(frame: np.ndarray) -> Image.Image:
        image = Image.fromarray(nearest_colours(frame, palette), "P")
        image.putpalette(flat_palette.ravel().tolist())
        return image
    images = (indexed(frame) for frame in frames)
    first = next(images)
    durations = [FRAME_MS] * (len(animation) - 1) + [LAST_FRAME_MS]
    first.save(path, format="GIF", save_all=True, append_images=images, duration=durations,
               loop=0, optimize=False)


def nearest_colours(frame: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """(h, w) uint8 index of the palette colour nearest each pixel of an RGB frame: the
    palette's own colours exactly."""
    packed = (frame[..., 0].astype(np.int32) << 16) | (frame[..., 1].astype(np.int32) << 8) | frame[..., 2]
    colours, inverse = np.unique(packed.ravel(), return_inverse=True)
    rgb = np.column_stack([colours >> 16, (colours >> 8) & 255, colours & 255])
    distance = ((rgb[:, None, :] - palette[None, :, :].astype(np.int32)) ** 2).sum(axis=2)
    return distance.argmin(axis=1).astype(np.uint8)[inverse].reshape(frame.shape[:2])


def _write_mp4(path: Path, frames, animation: Animation) -> None:
    import imageio.v2 as imageio  # optional: mp4_available() said it is there

    with imageio.get_writer(path, format="FFMPEG", fps=1000 / FRAME_MS, codec="libx264",
                            macro_block_size=16) as writer:
        for frame in frames:
            writer.append_data(frame)
        for _ in range(LAST_FRAME_MS // FRAME_MS - 1):  # the last frame stays, as in the GIF
            writer.append_data(frame)
