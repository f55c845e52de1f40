"""landscape.png for `gdplayground landscape`, drawn with Pillow and no Qt (a server without a
display or Qt's system libraries can make it): the loss along the line, or a plane's loss as a
heatmap of log-spaced bands (their edges are the contours) with a colour scale, the current
weights marked and the path drawn on its plane."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gdplayground.files import write_atomic

SIZE = (800, 610)
BOX = (80, 96, 660, 540)  # the plot's left, top, right, bottom
BANDS = 14  # log-spaced bands of the colour scale
# viridis at 0, ¼, ½, ¾, 1: dark for low loss, bright for high
STOPS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
                 np.float64)
UNKNOWN = (150, 150, 150)  # where the loss is not finite
LOSS, ACCURACY, MARK = (31, 119, 180), (255, 127, 14), (220, 30, 30)


def landscape_png(result, terrain, path: Path) -> None:
    """The line, plane or path result of labs.landscape as a PNG at `path`."""
    from gdplayground.labs.landscape import Line, PathPlane

    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    network = terrain.probe.describe().rsplit(",", 1)[0]  # its examples: the result's count
    title = f"{terrain.dataset}: {network}, step {terrain.step:,}"
    if isinstance(result, Line):
        _line(draw, result, f"Loss along w0 + alpha·(w - w0): {title}")
    else:
        surface = result.surface if isinstance(result, PathPlane) else result
        if isinstance(result, PathPlane):
            heading = f"Loss on the plane of the path's principal components: {title}"
            labels = tuple(f"PC{i} ({share:.1%} of the path's variance)"
                           for i, share in enumerate(result.explained, 1))
        else:
            heading = f"Loss on w + a·d1 + b·d2, random directions normalised per unit: {title}"
            labels = ("a (along d1)", "b (along d2)")
        place = _heatmap(image, draw, surface, heading, labels, _path_note(result))
        if isinstance(result, PathPlane):
            _path(draw, place, result)
        else:
            _marker(draw, place(0.0, 0.0), f"w (step {terrain.step:,})")
    encoded = io.BytesIO()  # in memory first: a failing write is then an OSError saying why
    image.save(encoded, "PNG")
    write_atomic(Path(path), encoded.getvalue())


def _font(size: int = 13):
    return ImageFont.load_default(size)


def _title(draw, heading: str, note: str = "") -> None:
    """The heading and the note, wrapped; in ASCII and Latin-1 (Pillow's own font has no Greek
    letters or subscripts)."""
    lines = [(line, 14, "black") for line in textwrap.wrap(heading, 96)]
    lines += [(line, 12, (90, 90, 90)) for line in textwrap.wrap(note, 110)]
    for i, (text, size, colour) in enumerate(lines[:4]):
        draw.text((BOX[0] - 60, 6 + 18 * i), text, fill=colour, font=_font(size))


def _mean(result) -> str:
    return f"the mean loss over {result.samples:,} training examples, penalties included"


def _colours(t: np.ndarray) -> np.ndarray:
    """Colours (…, 3) of values t in [0, 1] on the scale."""
    position = np.clip(t, 0, 1) * (len(STOPS) - 1)
    low = np.minimum(position.astype(int), len(STOPS) - 2)
    frac = (position - low)[..., None]
    return STOPS[low] * (1 - frac) + STOPS[low + 1] * frac


def _heatmap(image, draw, surface, heading: str, labels: tuple[str, str], more: str):
    """The surface's log loss in bands, axes and a colour scale; returns (a, b) → pixel."""
    _title(draw, heading, "; ".join(note for note in (_mean(surface), surface.note, more) if note))
    left, top, right, bottom = BOX
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.where(np.isfinite(surface.loss) & (surface.loss > 0), surface.loss,
                                 np.nan))
    known = np.isfinite(logs)
    low, high = (np.min(logs[known]), np.max(logs[known])) if known.any() else (0.0, 1.0)
    high = high if high > low else low + 1e-12
    # each grid value fills a cell centred on it: the picture spans half a cell beyond the grid
    a_edges, b_edges = _edges(surface.a), _edges(surface.b)
    field = Image.fromarray(np.where(known, logs, high)[::-1].astype(np.float32), "F")
    smooth = np.asarray(field.resize((right - left, bottom - top), Image.BILINEAR))
    bands = np.minimum(np.floor((smooth - low) / (high - low) * BANDS), BANDS - 1) / (BANDS - 1)
    pixels = _colours(bands)
    missing = np.asarray(Image.fromarray(~known[::-1]).resize((right - left, bottom - top)))
    pixels[missing] = UNKNOWN
    image.paste(Image.fromarray(pixels.astype(np.uint8), "RGB"), (left, top))
    draw.rectangle(BOX, outline="black")

    def place(a: float, b: float) -> tuple[float, float]:
        return (left + (a - a_edges[0]) / (a_edges[1] - a_edges[0]) * (right - left),
                bottom - (b - b_edges[0]) / (b_edges[1] - b_edges[0]) * (bottom - top))
    for value in _ticks(surface.a):
        x = place(value, b_edges[0])[0]
        draw.line([(x, bottom), (x, bottom + 5)], fill="black")
        draw.text((x, bottom + 8), f"{value:.3g}", fill="black", font=_font(), anchor="ma")
    for value in _ticks(surface.b):
        y = place(a_edges[0], value)[1]
        draw.line([(left - 5, y), (left, y)], fill="black")
        draw.text((left - 8, y), f"{value:.3g}", fill="black", font=_font(), anchor="rm")
    draw.text(((left + right) / 2, bottom + 30), labels[0], fill="black", font=_font(),
              anchor="ma")
    draw.text((left - 60, top - 6), f"up: {labels[1]}", fill="black", font=_font(), anchor="ld")
    _colour_scale(image, draw, low, high)
    return place


def _path_note(result) -> str:
    """How far the picture of a path is from the path itself (a plane's own result: "")."""
    from gdplayground.labs.landscape import PathPlane

    return path_gap(result) if isinstance(result, PathPlane) else ""


def path_gap(result) -> str:
    """How far the kept points lie from their plane, and how much their loss differs there:
    the plane is not where the run went."""
    travel = np.hypot(np.linalg.norm(result.coords[0]), result.distance[0])
    differs = np.nanmax(np.abs(result.true_loss - result.plane_loss))
    return (f"the kept points lie up to {result.distance.max():.3g} from this plane (the start "
            f"is {travel:.3g} from now); their loss on it differs from their own by up to "
            f"{differs:.3g}")


def _edges(axis: np.ndarray) -> tuple[float, float]:
    half = (axis[-1] - axis[0]) / (len(axis) - 1) / 2
    return axis[0] - half, axis[-1] + half


def _ticks(axis: np.ndarray) -> np.ndarray:
    return np.linspace(axis[0], axis[-1], 5)


def _colour_scale(image, draw, low: float, high: float) -> None:
    """The bands beside the plot, with the loss at their edges, log-spaced."""
    left, top, bottom = BOX[2] + 30, BOX[1], BOX[3]
    t = np.floor(np.linspace(1, 0, bottom - top) * BANDS).clip(0, BANDS - 1) / (BANDS - 1)
    bar = np.repeat(_colours(t)[:, None, :], 20, axis=1)
    image.paste(Image.fromarray(bar.astype(np.uint8), "RGB"), (left, top))
    draw.rectangle((left, top, left + 20, bottom), outline="black")
    draw.text((left - 4, top - 20), "loss", fill="black", font=_font())
    for edge in range(0, BANDS + 1, 2):
        y = bottom - edge / BANDS * (bottom - top)
        draw.line([(left + 20, y), (left + 25, y)], fill="black")
        draw.text((left + 28, y), f"{10 ** (low + edge / BANDS * (high - low)):.3g}",
                  fill="black", font=_font(11), anchor="lm")


def _marker(draw, xy: tuple[float, float], label: str, colour=MARK) -> None:
    x, y = xy
    draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=colour, outline="white", width=2)
    draw.text((x + 9, y - 9), label, fill="white", font=_font(), stroke_width=2,
              stroke_fill="black")


def _path(draw, place, result) -> None:
    """The kept points joined in order, the start and the current weights marked."""
    points = [place(a, b) for a, b in result.coords]
    draw.line(points, fill="white", width=3, joint="curve")
    draw.line(points, fill="black", width=1)
    for x, y in points:
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill="white", outline="black")
    _marker(draw, points[0], f"start (step {result.steps[0]:,})", (255, 255, 255))
    _marker(draw, points[-1], f"now (step {result.steps[-1]:,})")


def _line(draw, result, heading: str) -> None:
    """Loss (left axis) and accuracy (right axis, 0 to 100%) against α; α = 0 and 1 marked."""
    _title(draw, heading, _mean(result))
    left, top, right, bottom = BOX
    alphas = result.alphas
    finite = np.isfinite(result.loss)
    low, high = ((result.loss[finite].min(), result.loss[finite].max()) if finite.any()
                 else (0.0, 1.0))
    pad = (high - low) * 0.05 or 1.0
    low, high = low - pad, high + pad

    def x_of(alpha):
        return left + (alpha - alphas[0]) / (alphas[-1] - alphas[0]) * (right - left)

    def y_of(fraction):
        return bottom - fraction * (bottom - top)
    draw.rectangle(BOX, outline="black")
    for alpha, label in ((0.0, "alpha = 0: w0"), (1.0, "alpha = 1: w")):
        if alphas[0] <= alpha <= alphas[-1]:
            draw.line([(x_of(alpha), top), (x_of(alpha), bottom)], fill=(160, 160, 160), width=1)
            draw.text((x_of(alpha) + 4, top + 4), label, fill=(90, 90, 90), font=_font())
    if result.accuracy is not None:
        draw.line([(x_of(a), y_of(acc)) for a, acc in zip(alphas, result.accuracy)],
                  fill=ACCURACY, width=2)
        for fraction in np.linspace(0, 1, 5):
            draw.text((right + 8, y_of(fraction)), f"{fraction:.0%}", fill=ACCURACY,
                      font=_font(), anchor="lm")
        draw.text((right + 8, top - 20), "accuracy", fill=ACCURACY, font=_font())
    shown = np.clip(np.where(finite, result.loss, high), low, high)
    draw.line([(x_of(a), y_of((v - low) / (high - low))) for a, v in zip(alphas, shown)],
              fill=LOSS, width=2)
    for value in np.linspace(low + pad, high - pad, 5):
        y = y_of((value - low) / (high - low))
        draw.text((left - 8, y), f"{value:.3g}", fill=LOSS, font=_font(), anchor="rm")
    draw.text((left - 60, top - 20), "loss", fill=LOSS, font=_font())
    for alpha in np.linspace(alphas[0], alphas[-1], 5):
        draw.text((x_of(alpha), bottom + 8), f"{alpha:.3g}", fill="black", font=_font(),
                  anchor="ma")
    draw.text(((left + right) / 2, bottom + 30), "alpha", fill="black", font=_font(), anchor="ma")
