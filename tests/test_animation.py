"""The replay as an animation (store/animation.py): a frame per kept step, read back from the GIF;
the first frame's boundary against one computed independently; the loss curve from metrics.csv;
`gdplayground animate` and File ▸ Export animation…, and their bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gdplayground.cli import main
from gdplayground.engine import Trainer
from gdplayground.labs.replay import StepNetwork
from gdplayground.store import animation as anim
from gdplayground.store.animation import (
    HEIGHT, PICTURE, PICTURE_BOX, WIDTH, Animation, AnimationError, LossCurve, Scene,
    read_metrics, replay_points, write_animation)
from gdplayground.store.weights import save_weights
from test_window import TIMEOUT, open_window, spiral, wait_idle  # noqa: F401  (a fixture)


@pytest.fixture(scope="module")
def spiral_run():
    config = spiral()
    trainer = Trainer(config)
    for _ in range(150):
        trainer.step()
    return trainer


def animation_of(trainer, curve=None) -> Animation:
    state = trainer.snapshot(path=True)
    stepper = StepNetwork(trainer.config, trainer.network.sizes, trainer.dataset.input_scale)
    steps, weights = replay_points(state.path, state.step, stepper.flat_of(state.parameters))
    data = trainer.dataset
    curve = curve or LossCurve(np.arange(1.0, 151.0), np.linspace(0.7, 0.3, 150), "training loss")
    return Animation(stepper, Scene(data.name, data.train.x, data.train.y), steps, weights, curve)


def picture_of(image: Image.Image) -> np.ndarray:
    left, top = PICTURE_BOX
    return np.asarray(image.convert("RGB"))[top:top + PICTURE, left:left + PICTURE]


def test_the_gif_has_a_frame_per_kept_step_and_the_first_is_the_step_0_boundary(spiral_run, tmp_path):
    animation = animation_of(spiral_run)
    kept = spiral_run.path.kept()
    assert kept.steps[-1] == 150 and len(animation) == len(kept)  # the last step was kept
    assert write_animation(tmp_path / "replay.gif", animation)
    with Image.open(tmp_path / "replay.gif") as gif:
        assert gif.n_frames == len(kept) and gif.size == (WIDTH, HEIGHT)
        first = picture_of(gif)
        gif.seek(len(kept) - 1)
        last = picture_of(gif)
    # Step 0's boundary, independently: a fresh run of the same settings is at step 0's weights.
    fresh = Trainer(spiral_run.config)
    axis = np.linspace(-4.0, 4.0, 80)
    xx, yy = np.meshgrid(axis, axis)
    probability = fresh.predict(np.column_stack([xx.ravel(), yy.ravel()]))[:, 0].reshape(80, 80)
    colours = anim.BOUNDARY_COLOURS[np.rint(probability * (anim.LEVELS - 1)).astype(int)]
    expected = np.repeat(np.repeat(colours[::-1], 4, axis=0), 4, axis=1)  # y upwards, 4 px a cell
    no_point = animation._points[..., 3] == 0
    assert no_point.mean() > 0.5
    assert np.array_equal(first[no_point], expected[no_point])
    assert not np.array_equal(last[no_point], expected[no_point])  # the boundary moved


def test_the_runs_last_weights_close_the_animation_when_it_went_on_after_its_last_kept_step():
    trainer = Trainer(spiral())
    for _ in range(7):  # points every step at first: 0 … 7 kept; then a step past the path's
        trainer.step()
    path = trainer.path.kept()
    steps, weights = replay_points(path, 9, np.zeros_like(path.weights[0]))
    assert steps == [*path.steps.tolist(), 9] and weights[-1].sum() == 0
    steps, weights = replay_points(path, int(path.steps[-1]), path.weights[-1])
    assert steps == path.steps.tolist()


def test_cancelling_leaves_no_file(spiral_run, tmp_path):
    done = []
    assert not write_animation(tmp_path / "replay.gif", animation_of(spiral_run),
                               lambda i, n: done.append(i), lambda: len(done) >= 3)
    assert done == [1, 2, 3] and list(tmp_path.iterdir()) == []


def test_the_loss_curve_is_read_from_metrics_csv(tmp_path):
    (tmp_path / "metrics.csv").write_text("step,epoch,loss,accuracy\n1,1,0.5,0.6\n2,1,,0.6\n3,1,0.25,0.7\n")
    curve = read_metrics(tmp_path / "metrics.csv")
    assert curve.steps.tolist() == [1, 2, 3]
    assert curve.loss[0] == 0.5 and np.isnan(curve.loss[1]) and curve.loss[2] == 0.25
    (tmp_path / "metrics.csv").write_text("step,epoch,loss\n1,1,lots\n")
    with pytest.raises(AnimationError, match="numeric step and loss"):
        read_metrics(tmp_path / "metrics.csv")


def test_animate_writes_a_gif_from_a_weight_file(spiral_run, tmp_path, capsys):
    weights = tmp_path / "weights.npz"
    save_weights(weights, spiral_run.config, spiral_run.snapshot(), {"steps": 150})
    assert main(["animate", str(weights), "--out", str(tmp_path / "a.gif")]) == 0
    said = capsys.readouterr().out
    with Image.open(tmp_path / "a.gif") as gif:
        frames = gif.n_frames
    assert f"Wrote {tmp_path / 'a.gif'}: {frames} frames" in said and "training examples" in said
    assert frames >= 2  # step 0 and the file's step 150, whatever path the file carries


@pytest.mark.parametrize("out, words", [
    ("a.png", "an animation is written as .gif or .mp4"),
    ("missing/a.gif", "does not exist"),
])
def test_animate_refuses_bad_input_in_one_line(spiral_run, tmp_path, capsys, out, words):
    weights = tmp_path / "weights.npz"
    save_weights(weights, spiral_run.config, spiral_run.snapshot(), {"steps": 150})
    assert main(["animate", str(weights), "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and err.count("\n") == 0 and not (tmp_path / out).exists()


def test_animate_refuses_a_file_that_is_not_weights(tmp_path, capsys):
    (tmp_path / "bad.npz").write_bytes(b"junk")
    assert main(["animate", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "a.gif")]) == 2
    assert "not a .npz weight file" in capsys.readouterr().err
    assert main(["animate", str(tmp_path / "none.npz"), "--out", str(tmp_path / "a.gif")]) == 2


def test_mp4_without_imageio_is_refused_with_how_to_get_it(monkeypatch, spiral_run, tmp_path):
    monkeypatch.setattr(anim, "mp4_available", lambda: False)
    with pytest.raises(AnimationError, match="imageio-ffmpeg"):
        write_animation(tmp_path / "a.mp4", animation_of(spiral_run))


def test_the_window_exports_the_runs_animation(qtbot, open_window, tmp_path):  # noqa: F811
    window = open_window(spiral())
    window.step(80)
    qtbot.waitUntil(lambda: window.last_step == 80, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    with qtbot.waitSignal(window.files.written, timeout=TIMEOUT) as signal:
        window.files.export_animation(tmp_path / "replay.gif")
    assert signal.args[0], signal.args[1]
    answers = []
    window.session.ask("snapshot", answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT)
    path = answers[0].state.path
    with Image.open(tmp_path / "replay.gif") as gif:
        assert gif.n_frames == len(path) + (path.steps[-1] < 80)


def test_a_two_feature_tables_boundary_spans_its_own_square_and_three_classes_have_none(tmp_path):
    """A table's standardised points can reach past the toy sets' ±4 square (here ±6), so its
    frames span the run's square, as the window does; a picture of one probability cannot show
    three classes, so such a table's frames have none rather than a wrong one."""
    from gdplayground.config import preset
    from gdplayground.labs.diagram import plane_extent

    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 2))
    x[0] = (6.0, -6.5)  # a far point: standardised, past 5
    rows = "\n".join(f"{a:.4f},{b:.4f},{'yes' if a + b > 0 else 'no'}" for a, b in x)
    (tmp_path / "two.csv").write_text("a,b,label\n" + rows + "\n")
    config = preset("table")
    config.data.path = str(tmp_path / "two.csv")
    config.architecture.output, config.architecture.loss = "sigmoid", "bce"
    trainer = Trainer(config)
    data, extent = trainer.dataset, plane_extent(trainer.dataset)
    assert extent > 4 and np.abs(data.train.x).max() < extent
    stepper = StepNetwork(config, trainer.network.sizes, data.input_scale)
    steps, weights = replay_points(trainer.path.kept(), 0, stepper.flat_of(
        trainer.snapshot().parameters))
    curve = LossCurve(np.arange(1.0), np.ones(1), "training loss")
    scene = Scene(data.name, data.train.x, data.train.y, extent=extent, n_classes=2)
    picture = Animation(stepper, scene, steps, weights, curve)._picture(0)
    axis = np.linspace(-extent, extent, 80)
    xx, yy = np.meshgrid(axis, axis)
    probability = trainer.predict(np.column_stack([xx.ravel(), yy.ravel()]))[:, 0].reshape(80, 80)
    colours = anim.BOUNDARY_COLOURS[np.rint(probability * (anim.LEVELS - 1)).astype(int)]
    expected = np.repeat(np.repeat(colours[::-1], 4, axis=0), 4, axis=1)
    no_point = Animation(stepper, scene, steps, weights, curve)._points[..., 3] == 0
    assert np.array_equal(picture[no_point], expected[no_point])
    assert Scene(data.name, data.train.x, data.train.y, n_classes=3).kind == ""


def test_a_convolutional_runs_frames_show_its_first_filters_change(tmp_path):
    from tiny_images import conv_config, image_folder
    trainer = Trainer(conv_config(image_folder(tmp_path / "images"), "conv3x3,pool,8"))
    for _ in range(6):
        trainer.step()
    state, data = trainer.snapshot(path=True), trainer.dataset
    stepper = StepNetwork(trainer.config, trainer.network.sizes, data.input_scale, data.image_shape)
    steps, weights = replay_points(state.path, state.step, stepper.flat_of(state.parameters))
    curve = LossCurve(np.arange(1.0, 7.0), np.linspace(1.1, 1.0, 6), "training loss")
    animation = Animation(stepper, Scene(data.name, image_shape=data.image_shape), steps, weights,
                          curve)
    # the filters (3, 1, 3, 3) lead the flat weights: each a tile of its 3 × 3 change
    change = (weights[-1][:27] - weights[0][:27]).reshape(3, 9).T
    assert animation.scale == pytest.approx(np.percentile(np.abs(change), 99.5))
    expected = anim.mosaic_picture(change, (3, 3), animation.scale)
    np.testing.assert_array_equal(picture_of(Image.fromarray(animation.frame(len(steps) - 1))),
                                  expected)
    assert animation._picture_words().startswith("first-layer weights of 3 filters")
