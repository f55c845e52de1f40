"""`gdplayground animate RUN --out FILE.gif`: File ▸ Export animation…, headless. A run folder or
a weight file, replayed at every step it kept: its picture beside its loss curve, a frame a step.

The loss curve is the run folder's metrics.csv, the training loss at every step, when it has
one; a weight file has no history, so its curve is the loss at each kept step on a fixed sample
of the training set (EVALUATED_EXAMPLES, drawn from the run's seed), and the plot says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdplayground.cli.flags import UsageError, path_given

EVALUATED_EXAMPLES = 1000  # examples each kept step's loss is measured on, without metrics.csv


def register(commands) -> None:
    animate = commands.add_parser(
        "animate", help="replay a run's kept steps as an animated GIF (or MP4)",
        description="Write a run's replay as an animation: a frame per step the run kept, its "
                    "picture (the decision boundary of 2-D data, the first-layer weights of "
                    "images, the path of the linear system's x) beside its loss curve with the "
                    "step marked.")
    animate.add_argument("source", type=path_given, metavar="RUN",
                         help="a run folder (File ▸ Export run…, gdplayground train --out) or a "
                              ".npz weight file")
    animate.add_argument("--out", type=path_given, required=True, metavar="FILE",
                         help="the animation: FILE.gif, or FILE.mp4 where imageio and "
                              "imageio-ffmpeg are installed")
    animate.set_defaults(run=run_animate)


def run_animate(args) -> int:
    from gdplayground.cli.train import trained_from
    from gdplayground.labs.diagram import plane_extent
    from gdplayground.labs.replay import StepNetwork, exact_solution
    from gdplayground.store.animation import (
        MP4_HINT, SUFFIXES, Animation, AnimationError, Scene, evaluated_curve, mp4_available,
        read_metrics, replay_points, write_animation)

    out: Path = args.out
    if out.suffix.lower() not in SUFFIXES:
        raise UsageError(f"--out {out}: an animation is written as .gif or .mp4")
    if out.suffix.lower() == ".mp4" and not mp4_available():
        raise UsageError(f"--out {out}: {MP4_HINT}")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
    trainer = trained_from(args.source)
    state = trainer.snapshot(path=True)
    data = trainer.dataset
    stepper = StepNetwork(trainer.config, trainer.network.sizes, data.input_scale,
                          data.image_shape)
    steps, weights = replay_points(state.path, state.step, stepper.flat_of(state.parameters))
    metrics = Path(args.source) / "metrics.csv"
    try:
        if metrics.is_file():
            curve = read_metrics(metrics)
        else:
            rng = np.random.default_rng(trainer.config.seed)
            picked = np.sort(rng.permutation(len(data.train))[:EVALUATED_EXAMPLES])
            curve = evaluated_curve(stepper, steps, weights, data.train.x[picked],
                                    data.train.y[picked])
        two_d = data.n_features == 2
        scene = Scene(data.name, data.train.x if two_d else None, data.train.y if two_d else None,
                      data.image_shape, exact_solution(data), plane_extent(data), data.n_classes)
        animation = Animation(stepper, scene, steps, weights, curve)
        write_animation(out, animation)
    except AnimationError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"Wrote {out}: {len(animation)} frames, steps {steps[0]:,} to {steps[-1]:,} "
          f"({len(state.path)} kept, loss curve: {curve.source})")
    return 0
