"""A corpus of bad input for the newer commands (race, sweep, inspect, export-torch, train
--config), each run as a user would: exit code 2, one line on stderr naming what is wrong, no
traceback, and --out untouched: not made if it was missing, byte for byte as it was if it held
an earlier output. Then writes that fail inside --out (a full disk, emulated with RLIMIT_FSIZE
in a subprocess): one line again, and --out as it was."""

import os
import subprocess
import sys

import numpy as np
import pytest

from gdplayground.cli import main

BIG = ",".join(["8192"] * 32)
RACE = "race --surface rosenbrock --steps 5 --start=1,1 --optimizer sgd:0.1"
SWEEP = "sweep --dataset spiral --steps 2 --param lr --values 0.1"
TRAIN = "train --steps 2"

# Experiment files for --config: name -> contents (bytes as they are, text as UTF-8).
TOML = {
    "huge-seed": "seed = " + "9" * 5001,
    "huge-lr": "[learning_rate]\nvalue = 1" + "0" * 400,
    "huge-units": "[architecture]\nhidden = [{units = " + "9" * 4400 + "}]",
    "huge-negative": "[learning_rate]\nmin_value = -1" + "0" * 400,
    "binary": bytes(range(256)),
    "latin-1": "[data]\nname = 'caf\xe9'".encode("latin-1"),
    "utf-16": "seed = 1".encode("utf-16"),
    "nul": b"seed = 1\x00",
    "too-big": "# " + "x" * (1 << 20),
    "deep": "seed = " + "[" * 3000 + "]" * 3000,
    "deep-tables": "x = " + "{a = " * 3000 + "1" + "}" * 3000,
    "unknown": "[optimizer]\nnmae = 'sgd'",
    "unknown-section": "[optimiser]\nname = 'sgd'",
    "section-as-value": "optimizer = 3",
    "value-as-section": "[seed]\nx = 1",
    "string-for-number": "[learning_rate]\nvalue = '0.1'",
    "bool-for-number": "seed = true",
    "float-for-whole": "[batch]\nsize = 1.5",
    "date": "seed = 1979-05-27",
    "nan": "[learning_rate]\nvalue = nan",
    "inf": "[optimizer]\nclip_norm = inf",
    "out-of-range": "[architecture]\ndropout = 0.95",
    "open-bound": "[optimizer]\neps = 0",
    "bad-choice": "[optimizer]\nname = 'lbfgs'",
    "hidden-not-list": "[architecture]\nhidden = 'big'",
    "hidden-not-tables": "[architecture]\nhidden = [1, 2]",
    "hidden-too-many": "[architecture]\nhidden = [" + ", ".join(["{units = 2}"] * 33) + "]",
    "layer-units-zero": "[architecture]\nhidden = [{units = 0}]",
    "layer-unknown-key": "[architecture]\nhidden = [{units = 2, width = 3}]",
    "loss-output": "[architecture]\nloss = 'bce'\noutput = 'softmax'",
    "nul-path": '[data]\nname = "idx"\npath = "a\\u0000b"',
    "idx-no-path": "[data]\nname = 'idx'",
    "not-toml": "seed = [",
    "too-big-network": "[architecture]\nhidden = [" + ", ".join(["{units = 8192}"] * 32) + "]",
}


# Tables for --dataset: name -> contents (bytes as they are, text as UTF-8), each bad but "good".
TABLES = {
    "good": "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n",
    "ragged": "a,b,label\n1,2,x\n3,4\n5,6,x\n",
    "not-a-number": "a,b,label\n1,2,x\n3,4,y\n5,six,x\n7,8,y\n",
    "single-class": "a,b,label\n1,2,x\n3,4,x\n",
    "lonely-class": "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,z\n9,1,y\n",
    "missing": "a,b,label\n1,2,x\n3,NA,y\n5,6,x\n7,8,y\n",
    "empty": "",
    "header-only": "a,b,label\n",
    "binary": bytes(range(256)),
    "too-few": "a,b,label\n1,2,x\n3,4,y\n1,2,x\n3,4,y\n",
}


# Weight files with a damaged kept path: name -> what is done to the spiral run's arrays (three
# steps: its path is 0, 1, 2, 3) before they are resealed, so only the path is wrong.
def _set(name, index, value):
    return lambda arrays: arrays[name].__setitem__(index, value)


def _drop(*names):
    return lambda arrays: [arrays.pop(name) for name in names]


DAMAGED_PATHS = {
    "path-steps-fall": _set("path/steps", 2, 1),
    "path-steps-late": _set("path/steps", -1, 4),
    "path-steps-negative": _set("path/steps", 0, -1),
    "path-steps-float": lambda a: a.update({"path/steps": a["path/steps"].astype(float)}),
    "path-steps-2d": lambda a: a.update({"path/steps": a["path/steps"].reshape(2, 2)}),
    "path-weights-nan": _set("path/weights", (1, 0), float("nan")),
    "path-weights-narrow": lambda a: a.update({"path/weights": a["path/weights"][:, 1:]}),
    "path-weights-float64": lambda a: a.update({"path/weights": a["path/weights"].astype(float)}),
    "path-rates-negative": _set("path/rates", 1, -1.0),
    "path-rates-short": lambda a: a.update({"path/rates": a["path/rates"][:2]}),
    "path-no-rates": _drop("path/rates"),
    "path-only-rates": _drop("path/steps", "path/weights"),
}

# Weight files of a convolutional network (conv2x3,pool,4: weights layer1 to layer3), each
# damaged in one way and resealed: name -> what is done to its arrays.
def _config(old, new):
    def spoil(arrays):
        assert old in str(arrays["config"])
        arrays["config"] = np.array(str(arrays["config"]).replace(old, new, 1))
    return spoil


CONV_LAYER = '{ units = 2, activation = "relu", kind = "conv", kernel = 3, stride = 1, padding = "same" }'
DAMAGED_CONVOLUTIONS = {
    "conv-kernel": lambda a: a.update({"layer1.weight": a["layer1.weight"][:, :, :2, :2]}),
    "conv-flat": lambda a: a.update({"layer1.weight": a["layer1.weight"].reshape(2, 9)}),
    "conv-channels": lambda a: a.update({"layer1.weight": np.repeat(a["layer1.weight"], 3, 1)}),
    "conv-bias": lambda a: a.update({"layer1.bias": a["layer1.bias"][:1]}),
    "conv-as-pool": _config(CONV_LAYER, '{ kind = "maxpool", activation = "identity" }'),
    "conv-kind": _config('kind = "conv"', 'kind = "conv3d"'),
    "conv-padding": _config('padding = "same"', 'padding = "full"'),
    "conv-after-dense": _config("hidden = [\n    " + CONV_LAYER + ",",
                                "hidden = [\n    { units = 5 },\n    " + CONV_LAYER + ","),
}

# (command line, a fragment of the one line it must print). {out} is --out; {spiral},
# {mnist} and {auto-mpg} are weight files trained on those, {spiral-run} the run folder of the
# first; {idx} a damaged IDX folder; {toml:NAME} a file of TOML above; {table:NAME} a table of
# TABLES; {path:NAME} a weight file of DAMAGED_PATHS; {nothing} a path where nothing is.
CASES = [
    # race: a formula or start where f is not a number, found before --out is made
    ("race --surface expression --expression 0/0 --start=1,1 --optimizer sgd:0.1 --steps 5",
     "not a number at the start (1, 1)"),
    ("race --surface expression --expression 9**9**9**9 --start=1,1 --optimizer sgd:0.1 "
     "--steps 5", "not a number at the start"),
    ("race --surface expression --expression '9^9^9^9' --start=1,1 --optimizer sgd:0.1 "
     "--steps 5", "not a number at the start"),
    ("race --surface expression --expression 'log(-1 - x^2 - y^2)' --start=1,1 "
     "--optimizer sgd:0.1 --steps 5", "not a number at the start"),
    ("race --surface expression --expression 'x*1e308*10' --start=1,1 --optimizer sgd:0.1 "
     "--steps 5", "not a number at the start"),
    ("race --surface expression --expression 'exp(exp(exp(x)))' --start=10,1 "
     "--optimizer sgd:0.1 --steps 5", "not a number at the start (10, 1)"),
    ("race --surface expression --expression 'sqrt(x)' --start=-1,1 --optimizer sgd:0.1 "
     "--steps 5", "not a number at the start"),
    ("race --surface rosenbrock --start=1e200,1e200 --optimizer sgd:0.1 --steps 5",
     "not a number at the start (1e+200, 1e+200)"),
    ("race --surface parabola --start=1e200 --optimizer sgd:0.1 --steps 5",
     "not a number at the start"),
    ("race --surface expression --expression 'x^' --start=1,1 --optimizer sgd:0.1 --steps 5",
     "the formula is not valid"),
    ("race --surface expression --expression \"__import__('os')\" --start=1,1 "
     "--optimizer sgd:0.1 --steps 5", "is not allowed"),
    ("race --surface expression --expression '' --start=1,1 --optimizer sgd:0.1 --steps 5",
     "argument --expression: the value is empty"),
    ("race --surface expression --expression ' ' --start=1,1 --optimizer sgd:0.1 --steps 5",
     "argument --expression: the value is empty"),
    ("race --surface expression --start=1,1 --optimizer sgd:0.1 --steps 5",
     "the expression surface needs a formula"),
    ("race --surface rosenbrock --expression x --start=1,1 --optimizer sgd:0.1 --steps 5",
     "--expression goes with --surface expression (this race is on rosenbrock)"),
    ("race --surface himmelblau --kappa 5 --start=1,1 --optimizer sgd:0.1 --steps 5",
     "--kappa goes with --surface quadratic"),
    ("race --surface parabola --angle 5 --start=1 --optimizer sgd:0.1 --steps 5",
     "--angle goes with --surface quadratic"),
    ("race --surface quadratic --kappa 0 --start=1,1 --optimizer sgd:0.1 --steps 5",
     "kappa, the bowl's condition number, must be from 1 to 1000 (got 0.0)"),
    ("race --surface quadratic --kappa nan --start=1,1 --optimizer sgd:0.1 --steps 5",
     "must be from 1 to 1000 (got nan)"),
    ("race --surface quadratic --angle inf --start=1,1 --optimizer sgd:0.1 --steps 5",
     "angle must be a finite number"),
    (f"{RACE} --start ''", "argument --start: the value is empty"),
    ("race --surface rosenbrock --steps 5 --optimizer sgd:0.1 --start=nan,1",
     "--start must be a finite point"),
    ("race --surface rosenbrock --steps 5 --optimizer sgd:0.1 --start=1e400,1",
     "--start must be a finite point"),
    ("race --surface rosenbrock --steps 5 --optimizer sgd:0.1 --start=1",
     "--start must give X,Y on this 2-D surface"),
    ("race --surface rosenbrock --steps 5 --optimizer sgd:0.1 --start=1,2,3",
     "--start must give X,Y"),
    ("race --surface rosenbrock --steps 5 --optimizer sgd:0.1 --start=a,b",
     "--start must be numbers"),
    ("race --surface rosenbrock --steps 5 --start=1,1 --optimizer ''",
     "argument --optimizer: the value is empty"),
    ("race --surface rosenbrock --steps 5 --start=1,1 --optimizer ' '",
     "argument --optimizer: the value is empty"),
    (f"{RACE} --optimizer adamw:0.1", "is not one of"),
    (f"{RACE} --optimizer sgd", "is not a number"),
    (f"{RACE} --optimizer sgd:0", "must be above 0 and at most 100"),
    (f"{RACE} --optimizer sgd:1e999", "must be above 0 and at most 100 (got inf)"),
    (f"{RACE} --optimizer sgd:nan", "'nan' is not a number"),
    (f"{RACE} --optimizer adam:0.1:beta1=1e999", "optimizer.beta1 must be a number from 0 "
                                                   "to 0.9999 (got inf)"),
    (f"{RACE} --optimizer adam:0.1:beta1=0.9:beta1=0.8", "beta1 is given twice"),
    (f"{RACE} --optimizer adam:0.1:momentum=0.9", "adam does not use momentum"),
    (f"{RACE} --optimizer sgd:0.1::", "is not key=value"),
    ("race --surface rosenbrock --start=1,1 --optimizer sgd:0.1 --steps 0", "from 1 to 1,000,000"),
    ("race --surface rosenbrock --start=1,1 --optimizer sgd:0.1 --steps " + "9" * 5000,
     "from 1 to 1,000,000"),
    (f"{TRAIN} --steps " + "9" * 5000, "must be a whole number of at least 1 and at most"),
    (f"{TRAIN} --seed " + "9" * 5000, "argument --seed: must be a whole number of at most 4,300 digits"),
    (f"{TRAIN} --seed " + "9" * 50, "--seed: seed must be from 0 to 4,294,967,295 (got 9999"),
    (f"{SWEEP} --repeats " + "9" * 5000, "argument --repeats: must be a whole number of at most"),
    ("inspect {mnist} --saliency " + "9" * 5000, "argument --saliency: must be a whole number of"),
    (f"{RACE} --dtype float16", "invalid choice: 'float16'"),
    (f"{RACE} --bogus", "unrecognized arguments: --bogus"),
    ("race --surface moebius --start=1,1 --optimizer sgd:0.1 --steps 5", "invalid choice"),
    # sweep: every run's data, memory and length checked before --out is made
    ("sweep --dataset spiral --steps 2 --param layers --values 32 --layers 8192",
     "layers 32: A 2-8192×32-1 network needs about"),
    ("sweep --dataset spiral --steps 2 --param layers --values 1,32 --layers 8192",
     "layers 32: A 2-8192×32-1 network needs about"),
    (f"sweep --dataset spiral --steps 2 --param width --values 8,8192 "
     f"--layers {BIG.replace('8192', '8')}", "width 8192: A 2-8192×32-1 network needs about"),
    (f"sweep --dataset spiral --steps 2 --param lr --values 0.1,1 --layers {BIG}",
     "--layers: A 2-8192×32-1 network needs about"),  # the flags' fault, not the sweep's
    ("sweep --dataset {idx} --steps 2 --param lr --values 0.1", "truncated IDX header"),
    ("sweep --dataset {idx} --steps 2 --param width --values 8,16", "truncated IDX header"),
    ("sweep --dataset linear-system --steps 2 --param loss --values mse,bce",
     "loss bce: architecture.output 'identity' does not fit loss 'bce'"),
    ("sweep --dataset linear-system --steps 2 --param output --values identity,sigmoid "
     "--loss mse", "output sigmoid: architecture.output 'sigmoid' reaches only 0 to 1"),
    ("sweep --dataset spiral --steps 2 --param width --values 8 --layers none",
     "width 8: the network has no hidden layer"),
    ("sweep --dataset spiral --epochs 1000000000000 --param lr --values 0.1",
     "--epochs: 1,000,000,000,000 epochs are"),
    ("sweep --dataset spiral --steps 2 --param '' --values 0.1", "argument --param: the value is empty"),
    ("sweep --dataset spiral --steps 2 --param lr --values ''", "argument --values: the value is empty"),
    ("sweep --dataset spiral --steps 2 --param lr --values ' '", "argument --values: the value is empty"),
    ("sweep --dataset spiral --steps 2 --param lr --values 0.1,", "has an empty value"),
    ("sweep --dataset spiral --steps 2 --param lr --range '' --count 3",
     "argument --range: the value is empty"),
    ("sweep --dataset spiral --steps 2 --param lr --range 1:0.1 --count 3", "from a low value"),
    ("sweep --dataset spiral --steps 2 --param lr --range 0.1:1e400 --count 3",
     "lr takes values above 0 and at most 100 (got inf)"),
    ("sweep --dataset spiral --steps 2 --param lr --range 0.1:1 --count " + "9" * 30,
     "a range takes a count from 2 to 1000"),
    ("sweep --dataset spiral --steps 2 --param warp --values 1", "is not a setting a sweep can vary"),
    ("sweep --dataset spiral --steps 2 --param data.name --values mnist", "is not a setting"),
    ("sweep --dataset spiral --steps 2 --param seed --values -1", "seed takes values from 0 to 4,294,967,295"),
    ("sweep --dataset spiral --steps 2 --param lr --values nan", "'nan' is not a number"),
    ("sweep --dataset spiral --steps 2 --param dtype --values float16", "dtype takes one of"),
    ("sweep --dataset spiral --steps 2 --param lr --values 0.1 --repeats 0", "repeats must be from 1"),
    ("sweep --dataset spiral --steps 0 --param lr --values 0.1", "at least 1"),
    ("sweep --dataset '' --steps 2 --param lr --values 0.1", "argument --dataset: the value is empty"),
    # two settings: each --values, --range, --count and --log after the --param it belongs to
    ("sweep --dataset spiral --steps 2 --values 0.1 --param lr",
     "--values belongs to a setting: give --param NAME before it"),
    (f"{SWEEP} --values 0.2", "--values is given twice for --param lr"),
    (f"{SWEEP} --count 3", "--count goes with --range LO:HI (--values lists the values of "
                           "--param lr)"),
    (f"{SWEEP} --param batch-size", "--param batch-size takes --values V1,V2,… or --range"),
    (f"{SWEEP} --param learning_rate.value --values 1", "--param: lr is swept twice"),
    (f"{SWEEP} --param batch-size --values 8 --param seed --values 1",
     "--param: a sweep varies one setting or two (got 3)"),
    (f"{SWEEP},1 --param width --values 8,8192 --layers {BIG.replace('8192', '8')}",
     "lr 0.1, width 8192: A 2-8192×32-1 network needs about"),
    (f"{SWEEP} --param batch-size --range 1:64 --count 3 --log --repeats 101",
     "--repeats: repeats must be from 1 to 100 (got 101)"),
    # where the runs train
    (f"{SWEEP} --workers 0", "argument --workers: must be from 1 to 256 (got 0)"),
    (f"{SWEEP} --workers " + "9" * 5000, "argument --workers: must be a whole number of at most"),
    (f"{SWEEP} --workers 2 --cluster tcp://localhost:8786", "argument --cluster: not allowed "
                                                            "with argument --workers"),
    (f"{SWEEP} --cluster ''", "argument --cluster: the value is empty"),
    (f"{SWEEP} --cluster scheduler", "--cluster: 'scheduler' is not a Dask scheduler's address: "
                                     "write it tcp://HOST:PORT"),
    (f"{SWEEP} --config {{nothing}}", "cannot read configuration"),
    (f"{SWEEP} --weights w.npz", "unrecognized arguments: --weights"),
    # inspect
    ("inspect {nothing} --saliency 2", "cannot read"),
    ("inspect '' --saliency 2", "argument weights: the path is empty"),
    ("inspect {spiral} --saliency 2", "needs an image data set (mnist, mnist-binary or an IDX "
                                      "folder) or a table of classes; {spiral} was trained on "
                                      "spiral"),
    ("inspect {mnist} --dataset spiral --saliency 2", "needs an image data set (mnist, "
                                                      "mnist-binary or an IDX folder) or a table "
                                                      "of classes; --dataset spiral is not one"),
    ("inspect {mnist} --dataset '' --saliency 2", "argument --dataset: the value is empty"),
    ("inspect {mnist} --dataset ' ' --saliency 2", "argument --dataset: the value is empty"),
    ("inspect {mnist} --dataset cifar --saliency 2", "is neither a folder, a table file (CSV, TSV) nor one of"),
    ("inspect {mnist} --dataset {idx} --saliency 2", "truncated IDX header"),
    ("inspect {mnist} --saliency -1", "must be 0 or more"),
    ("inspect {mnist} --saliency x", "must be a whole number"),
    ("inspect {toml:binary} --saliency 2", "{toml:binary}"),  # not a weight file
    # train --weights: a weight file or a run folder, its kept path checked like every array
    ("train --weights {idx} --steps 1", "{idx} is a folder without a weights.npz: give a "
                                        "weight file or a run folder"),
    ("inspect {spiral-run} --saliency 2", "{spiral-run} was trained on spiral"),  # its file read
    # export-torch: a weight file or a run folder, read before --out is made
    ("export-torch {nothing}", "cannot read {nothing}: No such file or directory"),
    ("export-torch {idx}", "{idx} is a folder without a weights.npz"),
    ("export-torch {toml:binary}", "{toml:binary}: not a .npz weight file"),
    ("export-torch {path:path-weights-nan}", "path/weights holds NaN or infinite values"),
    ("export-torch ''", "argument WEIGHTS_OR_RUN: the path is empty"),
    # tables: one line naming the line and the column, before --out is made
    (f"{TRAIN} --dataset {{table:ragged}}", "ragged.csv, line 3: 2 fields where the header has 3"),
    (f"{TRAIN} --dataset {{table:not-a-number}}", "not-a-number.csv, line 4, column 'b': 'six' is "
                                                  "not a number, though 3 of the column's 4"),
    (f"{TRAIN} --dataset {{table:single-class}}", "single-class.csv, line 2, column 'label': a "
                                                  "single class, 'x', in every row"),
    (f"{TRAIN} --dataset {{table:lonely-class}}", "lonely-class.csv, line 5, column 'label': class "
                                                  "'z' has a single row"),
    (f"{TRAIN} --dataset {{table:missing}} --missing error", "missing.csv, line 3, column 'b': a "
                                                             "missing value"),
    (f"{TRAIN} --dataset {{table:good}} --target species", "good.csv: no column named 'species'; "
                                                           "its columns are a, b, label"),
    (f"{TRAIN} --dataset {{table:empty}}", "empty.csv: the file is empty"),
    (f"{TRAIN} --dataset {{table:header-only}}", "header-only.csv: a header line and no rows"),
    (f"{TRAIN} --dataset {{table:binary}}", "binary.csv: a binary file, not a CSV or TSV table"),
    (f"{TRAIN} --dataset {{table:too-few}} --test-fraction 0.05", "too-few.csv: 4 rows are too "
                                                                  "few to split into training and "
                                                                  "test rows (test fraction 0.05"),
    (f"{TRAIN} --dataset auto-mpg --loss cross_entropy", "--loss cross_entropy does not suit "
                                                         "auto-mpg.csv: its label 'mpg' holds real "
                                                         "numbers, a regression; use --loss mse"),
    ("sweep --dataset {table:ragged} --steps 2 --param lr --values 0.1", "ragged.csv, line 3"),
    (f"{TRAIN} --dataset spiral --target label", "--target goes with a table (a CSV or TSV file, "
                                                 "penguins, auto-mpg); spiral is none"),
    ("train --weights {auto-mpg} --target cylinders --steps 1", "--target 'cylinders': the network "
                                                                 "was trained to predict 'mpg'"),
    ("inspect {auto-mpg} --saliency 2", "inspect needs classes, and auto-mpg.csv's label 'mpg' "
                                        "holds real numbers, a regression"),
    ("inspect {mnist} --dataset {table:good}", "does not fit good.csv: layer1.weight has shape "
                                               "(784, 8), this data needs (2, 8)"),
    # convolutions where there are no images
    ("train --dataset spiral --layers conv4x3,8 --steps 1", "--layers: convolution and pooling "
     "layers need images, and spiral holds none: use dense layers only"),
    ("train --weights {conv} --dataset spiral --steps 1", "error: convolution and pooling "
     "layers need images, and spiral holds none"),
    ("inspect {conv} --dataset {table:good}", "convolution and pooling layers need images, and "
                                              "good.csv holds none: use dense layers only"),
]
CONV_CASES = [(f"train --weights {{conv:{name}}} --steps 1", f"{{conv:{name}}}: {message}")
              for name, message in {
    "conv-kernel": "layer1.weight has shape (2, 1, 2, 2), but its configuration makes it (2, 1, 3, 3)",
    "conv-flat": "layer1.weight has shape (2, 9), but a convolution's weight is 4-D (filters, "
                 "channels, height, width)",
    # three channels throughout, as if for colour images: the optimizer's memory does not fit
    "conv-channels": "optimizer/all/m has shape (1642,), but its configuration makes it (1678,)",
    "conv-bias": "layer1.bias has shape (1,), but its configuration makes it (2,)",
    "conv-as-pool": "unexpected array 'layer3.bias' (and 1 more): not part of a weight file for "
                    "its configuration, whose network has 2 layers with weights (a pool has none)",
    "conv-kind": "its configuration: architecture.hidden[0].kind 'conv3d' is not one of: dense, "
                 "conv, maxpool, avgpool",
    "conv-padding": "its configuration: architecture.hidden[0].padding 'full' is not one of: "
                    "same, valid",
    "conv-after-dense": "its configuration: architecture.hidden[2] (max-pool 2×2) comes after "
                        "the dense layer architecture.hidden[0]: convolutions and pools work on "
                        "images, so they come first",
}.items()]
PATH_CASES = [(f"train --weights {{path:{name}}} --steps 1", f"{{path:{name}}}: {message}")
              for name, message in {
    "path-steps-fall": "path/steps must rise from 0 to at most step 3",
    "path-steps-late": "path/steps must rise from 0 to at most step 3",
    "path-steps-negative": "path/steps must rise from 0 to at most step 3",
    "path-steps-float": "path/steps must be a 1-D array of at most 128 integers, not float64 "
                        "of shape (4,)",
    "path-steps-2d": "path/steps must be a 1-D array of at most 128 integers, not int64 of "
                     "shape (2, 2)",
    "path-weights-nan": "path/weights holds NaN or infinite values",
    "path-weights-narrow": "path/weights has shape (4, 32), but its configuration makes it (4, 33)",
    "path-weights-float64": "path/weights has dtype float64; the configuration says float32",
    "path-rates-negative": "path/rates must hold finite learning rates, none negative",
    "path-rates-short": "path/rates has 2 rates for 4 steps",
    "path-no-rates": "missing array path/rates",
    "path-only-rates": "missing array path/steps",
}.items()]
# Every experiment file above, through train --config and sweep --config alike.
CONFIG_CASES = [(f"{command} --config {{toml:{name}}}", message) for name, message in {
    "huge-seed": "seed (line 1) is a number of 5,001 digits",
    "huge-lr": "learning_rate.value must be above 0 and at most 100 (got 1000",
    "huge-units": "units (line 2) is a number of 4,400 digits",
    "huge-negative": "learning_rate.min_value must be from 0 to 100 (got -1000",
    "binary": "codec can't decode byte 0x80",
    "latin-1": "codec can't decode byte 0xe9",
    "utf-16": "codec can't decode byte 0xff",
    "nul": "is not valid TOML",
    "too-big": "more than the 1,048,576 allowed",
    "deep": "is nested too deeply to be a configuration",
    "deep-tables": "is nested too deeply to be a configuration",
    "unknown": "unknown setting optimizer.nmae; allowed: name, momentum",
    "unknown-section": "unknown setting optimiser; allowed: data",
    "section-as-value": "optimizer must be a table",
    "value-as-section": "seed must be a whole number (got {'x': 1})",
    "string-for-number": "learning_rate.value must be a number (got '0.1')",
    "bool-for-number": "seed must be a whole number from 0 to 4,294,967,295 (got True)",
    "float-for-whole": "batch.size must be a whole number (got 1.5)",
    "date": "seed must be a whole number (got datetime.date(1979, 5, 27))",
    "nan": "learning_rate.value must be a number above 0 and at most 100 (got nan)",
    "inf": "optimizer.clip_norm must be a number from 0 to 1,000,000 (got inf)",
    "out-of-range": "architecture.dropout must be from 0 to 0.9 (got 0.95)",
    "open-bound": "optimizer.eps must be above 0 and at most 1 (got 0.0)",
    "bad-choice": "optimizer.name 'lbfgs' is not one of: sgd",
    "hidden-not-list": "architecture.hidden must be a list of at most 32 layers",
    "hidden-not-tables": "architecture.hidden[0] must be a table",
    "hidden-too-many": "architecture.hidden must be a list of at most 32 layers",
    "layer-units-zero": "architecture.hidden[0].units must be from 1 to 8,192 (got 0)",
    "layer-unknown-key": "unknown setting architecture.hidden[0].width",
    "loss-output": "architecture.output 'softmax' does not fit loss 'bce'",
    "nul-path": "data.path must not hold a NUL character",
    "idx-no-path": "data.path must name a folder of IDX files",
    "not-toml": "is not valid TOML",
    "too-big-network": "network needs about",
}.items() for command in ("train --steps 2", "sweep --steps 2 --param lr --values 0.1")]

# An earlier output of each command in --out, which it would replace whole if the input were good.
EARLIER = {
    "race": {"trajectories.csv": b"optimizer,step\n", "race.png": b"\x89PNG earlier"},
    "sweep": {"sweep.csv": b"value,repeat\n", "runs/0.1-0/README.md": b"# gdplayground run: x\n",
              "runs/0.1-0/metrics.csv": b"step\n"},
    "inspect": {"confusion.csv": b"true\\predicted\n", "saliency.npy": b"earlier"},
    "train": {"README.md": b"# gdplayground run: earlier\n", "metrics.csv": b"step\n"},
    "export-torch": {"model_torch.py": b"# earlier\n", "test_set.npz": b"earlier"},
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The files the cases name: weight files, a damaged IDX folder, experiment files."""
    folder = tmp_path_factory.mktemp("inputs")
    for dataset in ("spiral", "mnist", "auto-mpg"):
        assert main(["train", "--dataset", dataset, "--steps", "3", "--layers", "8",
                     "--out", str(folder / dataset)]) == 0
    (folder / "idx").mkdir()
    (folder / "idx" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    paths = {"spiral": folder / "spiral" / "weights.npz", "mnist": folder / "mnist" / "weights.npz",
             "auto-mpg": folder / "auto-mpg" / "weights.npz",
             "spiral-run": folder / "spiral", "idx": folder / "idx", "nothing": folder / "nothing"}
    for name, contents in TABLES.items():
        path = folder / f"{name}.csv"
        path.write_bytes(contents if isinstance(contents, bytes) else contents.encode())
        paths[f"table:{name}"] = path
    for name, spoil in DAMAGED_PATHS.items():
        paths[f"path:{name}"] = damaged(paths["spiral"], folder / f"{name}.npz", spoil)
    assert main(["train", "--dataset", "mnist", "--steps", "2", "--layers", "conv2x3,pool,4",
                 "--out", str(folder / "conv")]) == 0
    paths["conv"] = folder / "conv" / "weights.npz"
    for name, spoil in DAMAGED_CONVOLUTIONS.items():
        paths[f"conv:{name}"] = damaged(paths["conv"], folder / f"{name}.npz", spoil)
    for name, contents in TOML.items():
        path = folder / f"{name}.toml"
        path.write_bytes(contents if isinstance(contents, bytes) else contents.encode())
        paths[f"toml:{name}"] = path
    return paths


def damaged(source, path, spoil):
    """A copy of the weight file `source` that `spoil` changed, resealed: well-formed but for
    what was changed."""

    from gdplayground.store.weights import _digest
    with np.load(source, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if name != "integrity"}
    spoil(arrays)
    np.savez(path, **arrays, integrity=np.array(_digest(arrays)))
    return path


def filled(text: str, inputs: dict, quote=str) -> str:
    for name, path in inputs.items():
        text = text.replace("{" + name + "}", quote(str(path)))
    return text


def argv(line: str, inputs: dict, out) -> list[str]:
    import shlex

    return [*shlex.split(filled(line, inputs, shlex.quote)), "--out", str(out)]


def tree(folder) -> dict:
    """Every file and folder under `folder`: path -> its bytes (None for a folder)."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


def place(out, files: dict) -> None:
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)


@pytest.mark.parametrize("earlier", [False, True], ids=["out-missing", "out-earlier"])
@pytest.mark.parametrize("line, message", CASES + PATH_CASES + CONV_CASES + CONFIG_CASES)
def test_bad_input_is_one_line_and_leaves_out_untouched(tmp_path, capsys, inputs, line, message,
                                                        earlier):
    out = tmp_path / "nested" / "out"  # the folder above --out is missing too
    if earlier:
        place(out, EARLIER[line.split()[0]])
    before = tree(tmp_path)
    assert main(argv(line, inputs, out)) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("gdplayground: error: ") and captured.err.count("\n") == 1
    assert filled(message, inputs) in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert tree(tmp_path) == before  # nothing made, nothing changed, nothing left beside


@pytest.mark.parametrize("command", ["race", "sweep", "inspect", "train"])
def test_an_out_holding_other_files_is_refused_before_the_work(tmp_path, capsys, inputs, command):
    """A folder of other files, or one whose output name is taken by a folder, is never
    replaced: refused in one line before any work."""
    lines = {"race": RACE, "sweep": SWEEP, "inspect": "inspect {mnist} --saliency 2",
             "train": "train --dataset xor --steps 2"}
    for files in ({"thesis.txt": b"mine"},
                  {next(iter(EARLIER[command])) + "/mine.txt": b"mine"}):  # an output name taken
        out = tmp_path / "out"
        place(out, files)
        before = tree(tmp_path)
        assert main(argv(lines[command], inputs, out)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "holds files that are not" in err
        assert tree(tmp_path) == before
        for path in out.iterdir():
            __import__("shutil").rmtree(path) if path.is_dir() else path.unlink()


SLOW_RACE = "race --surface rosenbrock --start=-1.5,1.5 --optimizer sgd:0.0001"
FULL_DISK = [  # (command line, the limit on a file's size: what fails to be written)
    (f"{SLOW_RACE} --steps 300", 8_000),  # trajectories.csv
    (f"{SLOW_RACE} --steps 30", 20_000),  # race.png, a picture Qt drew
    ("inspect {mnist} --saliency 2", 20_000),  # misclassified.png, through Qt
    ("inspect {mnist} --saliency 300", 300_000),  # saliency.npy
    (SWEEP.replace("--values 0.1", "--values 0.1,0.2 --steps 50"), 3_000),  # a run's metrics
    ("train --dataset xor --steps 300", 3_000),  # metrics.csv
]


@pytest.mark.parametrize("earlier", [False, True], ids=["out-missing", "out-earlier"])
@pytest.mark.parametrize("line, limit", FULL_DISK)
def test_a_full_disk_is_one_line_and_leaves_out_as_it_was(tmp_path, inputs, line, limit, earlier):
    """Files may grow to `limit` bytes only (RLIMIT_FSIZE, as a nearly full disk): the write
    that goes past it fails with EFBIG, inside --out's staging folder."""
    import resource

    out = tmp_path / "out"
    if earlier:
        place(out, EARLIER[line.split()[0]])
    before = tree(tmp_path)

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-m", "gdplayground", *argv(line, inputs, out)],
                          preexec_fn=limited, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"gdplayground: error: cannot write the results to {out}: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.endswith(": File too large\n")  # why, not just that Qt failed
    assert tree(tmp_path) == before
