"""`gdplayground inspect`: inside a trained classifier, headless; the twin of the window's
"Inside the network" tab. Prints the test accuracy overall and per class, and writes the
confusion matrix; for images, the misclassified digits with their top predictions, and saliency
maps too (a table's rows are no pictures: its classes are named after its labels instead)."""

from __future__ import annotations

import argparse
import copy
import csv
import io
from pathlib import Path

import numpy as np

from gdplayground.cli.flags import (
    UsageError, dataset_name, path_given, staged_output, text_given, whole_number)
from gdplayground.cli.train import load_weight_file
from gdplayground.cli.window import preflight
from gdplayground.files import holds_only, write_atomic

DEFAULT_SALIENCY = 16
SHOWN_MISCLASSIFIED = 48  # digits in misclassified.png: a readable page
SHOWN_SALIENCY = 64  # maps in saliency.png; saliency.npy holds them all
CHUNK = 4096  # examples per forward pass
TOP_K = 3
IMAGE_DATASETS = ("mnist", "mnist-binary", "idx")
OUTPUTS = ("confusion.csv", "misclassified.png", "saliency.npy", "saliency.png")


def register(commands) -> None:
    inspect = commands.add_parser(
        "inspect", help="accuracy per class, confusion matrix, misclassified digits and "
                        "saliency maps of a classifier's weight file",
        description="Look inside a network trained on images (mnist, mnist-binary, an IDX "
                    "folder): its test accuracy per class, the confusion matrix, the digits it "
                    "gets wrong and what it looks at; or on a table's classes: its accuracy "
                    "per class and the confusion matrix, the classes named.")
    inspect.add_argument("weights", type=path_given, help="a .npz weight file written by gdplayground")
    inspect.add_argument("--dataset", type=text_given,
                         help="inspect on this data set instead of the file's own (mnist, "
                              "mnist-binary or an IDX folder of the same image size; or a table "
                              "with the columns the network was trained on, prepared as it was)")
    inspect.add_argument("--saliency", type=saliency_count, default=DEFAULT_SALIENCY, metavar="N",
                         help="saliency maps of the first N test digits: the gradient of each "
                              "digit's true-class logit with respect to its pixels in [0, 1] "
                              f"(default {DEFAULT_SALIENCY}; 0 writes none)")
    inspect.add_argument("--out", type=path_given, required=True, metavar="DIR",
                         help="a new or empty folder (or an earlier inspection's, replaced "
                              "whole) for confusion.csv (rows: the true class; columns: the "
                              "predicted class), misclassified.png, saliency.npy (N×H×W float32) "
                              "and saliency.png")
    inspect.set_defaults(run=run_inspect)


def saliency_count(text: str) -> int:
    count = whole_number(text)
    if count < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (got {count})")
    return count


def run_inspect(args) -> int:
    from gdplayground.labs.inside import confusion_matrix, per_class_accuracy

    trainer, steps = _trained(args)
    data = trainer.dataset
    preflight(window=False)  # before the work: the pictures are part of what --out promises
    with staged_output(args.out, _earlier_inspection, "an inspection's output") as out:
        probabilities = _probabilities(trainer, data.test.x)
        predicted = probabilities.argmax(axis=1)
        matrix = confusion_matrix(data.test.y, predicted, probabilities.shape[1])
        print(f"{args.weights}: {data.name}, network {trainer.network.describe()}, "
              f"trained {steps:,} steps")
        names = data.preparation.classes if data.preparation else None
        _print_accuracy(matrix, per_class_accuracy(matrix), names)
        write_atomic(out.file("confusion.csv"), confusion_csv(matrix, names).encode())
        written = ["confusion.csv"]
        if names:
            print("misclassified.png and saliency maps are for images: a table has none")
        else:
            written.append(_write_misclassified(out, data, probabilities, predicted))
        if args.saliency and not names:
            written += _write_saliency(out, trainer, args.saliency)
    print(f"wrote {', '.join(written)} in {args.out}")
    return 0


def _earlier_inspection(folder: Path) -> bool:
    return holds_only(folder, OUTPUTS)


# --- the network and its data -------------------------------------------------------------------
def _trained(args):
    """A Trainer holding the file's weights, on the file's data set or --dataset; the steps
    they were trained for."""
    from gdplayground.data import load_dataset
    from gdplayground.engine import Trainer

    saved = load_weight_file(args.weights)
    config = copy.deepcopy(saved.config)
    if args.dataset is not None:
        config.data.name, config.data.path = dataset_name(args.dataset)
    table = config.data.is_table
    if config.data.name not in IMAGE_DATASETS and not table:
        chosen = (f"--dataset {config.data.name} is not one" if args.dataset is not None
                  else f"{args.weights} was trained on {config.data.name}")
        raise UsageError(f"inspect needs an image data set (mnist, mnist-binary or an IDX "
                         f"folder) or a table of classes; {chosen}")
    dataset = load_dataset(config.data, config.seed, saved.preparation) if table else None
    if dataset and dataset.n_classes is None:
        raise UsageError(f"inspect needs classes, and {dataset.name}'s label "
                         f"{dataset.preparation.target!r} holds real numbers, a regression: "
                         f"gdplayground evaluate gives its error")
    trainer = Trainer(config, dataset)
    for name, param, _ in trainer.network.parameters():
        weights = saved.state.parameters[name]
        if weights.shape != param.shape:
            raise UsageError(f"{args.weights} does not fit {trainer.dataset.name}: {name} has "
                             f"shape {weights.shape}, this data needs {param.shape}")
        param[...] = weights
    return trainer, saved.state.step


def _probabilities(trainer, x: np.ndarray) -> np.ndarray:
    from gdplayground.labs.inside import class_probabilities

    return class_probabilities(np.concatenate(
        [trainer.predict(x[start:start + CHUNK]) for start in range(0, len(x), CHUNK)]))


def _pixels(data, indices) -> np.ndarray:
    """Images (n, H, W) in [0, 1]: an image data set's input_scale turns its bytes into [0, 1]."""
    return data.test.x[indices].reshape(-1, *data.image_shape) * data.input_scale


# --- what is printed and written -------------------------------------------------------------------
def _print_accuracy(matrix: np.ndarray, per_class: np.ndarray, names=None) -> None:
    total, right = int(matrix.sum()), int(np.trace(matrix))
    print(f"test accuracy {right / total:.2%} ({right:,} of {total:,})")
    for label, (accuracy, count) in enumerate(zip(per_class, matrix.sum(axis=1))):
        shown = "no examples" if count == 0 else f"{accuracy:7.2%} of {count:,}"
        print(f"  class {label}{f' {names[label]}' if names else ''}: {shown}")


def confusion_csv(matrix: np.ndarray, names=None) -> str:
    """A header (true\\predicted, then the predicted classes), then a row per true class; the
    classes are numbers, or `names` (a table's)."""
    names = names or range(len(matrix))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["true\\predicted", *names])
    for name, row in zip(names, matrix):
        writer.writerow([name, *row.tolist()])
    return out.getvalue()


def _write_misclassified(out, data, probabilities: np.ndarray, predicted: np.ndarray) -> str:
    from gdplayground.labs.inside import top_predictions
    from gdplayground.gui.inside.png import save_misclassified_png

    wrong = np.flatnonzero(predicted != data.test.y)
    shown = wrong[:SHOWN_MISCLASSIFIED]
    classes, chances = top_predictions(probabilities[shown], TOP_K)
    save_misclassified_png(_pixels(data, shown), data.test.y[shown], classes, chances,
                           out.file("misclassified.png"))
    return f"misclassified.png ({len(shown)} of {len(wrong):,} misclassified)"


def _write_saliency(out, trainer, count: int) -> list[str]:
    from gdplayground.labs.inside import saliency
    from gdplayground.gui.inside.png import save_saliency_png

    data = trainer.dataset
    picked = np.arange(min(count, len(data.test)))
    pixels = _pixels(data, picked)
    flat = pixels.reshape(len(picked), -1)
    labels = data.test.y[picked]
    # the features are the pixels in [0, 1] themselves: the scale from one to the other is 1
    maps = np.concatenate([saliency(trainer.network, flat[s:s + CHUNK], labels[s:s + CHUNK], 1.0)
                           for s in range(0, len(flat), CHUNK)]).reshape(pixels.shape)
    buffer = io.BytesIO()
    np.save(buffer, maps.astype(np.float32))
    write_atomic(out.file("saliency.npy"), buffer.getvalue())
    shown = slice(0, SHOWN_SALIENCY)
    save_saliency_png(pixels[shown], maps[shown], labels[shown], out.file("saliency.png"))
    return [f"saliency.npy ({len(picked)}×{'×'.join(map(str, data.image_shape))})", "saliency.png"]
