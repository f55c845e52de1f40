"""Weight files: round trips, every refused file, ONNX, and writes that fail."""

import io
import json
import os
import re
import subprocess
import sys
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from gdplayground import files
from gdplayground.cli import main
from gdplayground.config import Layer, preset
from gdplayground.engine import Trainer
from gdplayground.engine.optimizers import RULES
from gdplayground.engine.schedules import learning_rate_at
from gdplayground.store.weights import WeightFileError, _digest, load_weights, save_weights


def small_mnist(activation="relu"):
    config = preset("mnist")
    config.architecture.hidden = [Layer(32, activation), Layer(16, activation)]
    return config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    trainer = Trainer(small_mnist())
    for _ in range(60):
        trainer.step()
    path = tmp_path_factory.mktemp("w") / "weights.npz"
    save_weights(path, trainer.config, trainer.snapshot(path=True), {"steps": trainer.step_count})
    return trainer, path


def arrays_of(path):
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def rewrite(path, arrays, reseal=True):
    arrays = dict(arrays)
    if reseal:  # a well-formed file with one thing wrong, not merely an altered one
        arrays.pop("integrity", None)
        arrays["integrity"] = np.array(_digest(arrays))
    np.savez(path, **arrays)
    return path


def edited_json(name, edit):
    """A spoil that applies `edit` to the JSON text array `name` (state or summary)."""
    def spoil(arrays):
        value = json.loads(str(arrays[name]))
        edit(value)
        arrays[name] = np.array(json.dumps(value))
    return spoil


def npy_member(shape, body, descr="<f4"):
    """A .npy member: a version 1.0 header declaring `shape` of `descr` (float32), then `body`,
    whatever its size."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue() + body


def write_archive(path, members, compression=zipfile.ZIP_STORED):
    """A zip of (name, bytes) members, duplicates included, as given."""
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression) as archive:
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name, and writes it
        for name, data in members:
            archive.writestr(name, data)
    return path


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


FRESH_PROCESS = """
import sys, numpy as np
from gdplayground.engine import Trainer
from gdplayground.store.weights import load_weights
saved = load_weights(sys.argv[1])
trainer = Trainer(saved.config)
trainer.restore(saved.state)
np.save(sys.argv[2], trainer.predict(trainer.dataset.test.x))
for _ in range(25):
    trainer.step()
np.savez(sys.argv[3], **{name: p for name, p, _ in trainer.network.parameters()})
"""


def test_round_trip_in_a_fresh_process_is_bit_identical(trained, tmp_path):
    trainer, path = trained
    predictions, continued = tmp_path / "p.npy", tmp_path / "c.npz"
    subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(path), str(predictions), str(continued)],
                   check=True, capture_output=True)
    assert np.load(predictions).tobytes() == trainer.predict(trainer.dataset.test.x).tobytes()
    for _ in range(25):
        trainer.step()  # the original run goes on in this process
    with np.load(continued) as resumed:
        for name, param, _ in trainer.network.parameters():
            assert resumed[name].tobytes() == param.tobytes(), name


def test_file_is_self_describing_without_pickle(trained):
    _, path = trained
    arrays = arrays_of(path)
    assert arrays["layer1.weight"].shape == (784, 32) and arrays["layer3.bias"].shape == (10,)
    assert "[architecture]" in str(arrays["config"]) and json.loads(str(arrays["summary"]))["steps"] == 60
    assert {"optimizer/all/m", "optimizer/all/v", "data/order"} <= set(arrays)
    assert arrays["path/steps"].tolist() == list(range(61)) and arrays["path/steps"].dtype == np.int64
    assert arrays["path/weights"].shape == (61, 25818) and arrays["path/weights"].dtype == np.float32
    # the rate each kept step was reached with (step 0: the first rate)
    rates = [learning_rate_at(max(step - 1, 0), trained[0].config.learning_rate) for step in range(61)]
    assert arrays["path/rates"].dtype == np.float64 and arrays["path/rates"].tolist() == rates


def assert_same_path(a, b):
    for name in ("steps", "weights", "rates"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name


def test_the_kept_path_round_trips_and_goes_on_at_its_spacing(tmp_path):
    trainer = Trainer(preset("spiral"))
    for _ in range(300):
        trainer.step()  # 0, 4, … 300
    save_weights(tmp_path / "w.npz", trainer.config, trainer.snapshot(path=True), {})
    saved = load_weights(tmp_path / "w.npz")
    assert_same_path(saved.state.path, trainer.path.kept())
    resumed = Trainer(saved.config)
    resumed.restore(saved.state)
    assert_same_path(resumed.path.kept(), trainer.path.kept())
    for _ in range(700):
        trainer.step()
        resumed.step()
    assert_same_path(resumed.path.kept(), trainer.path.kept())  # 0, 8, … 1000
    assert resumed.path.kept().steps[-1] == 1000 and resumed.path.stride == 8


def test_a_file_keeps_at_most_its_share_of_the_path_thinned_evenly(tmp_path, monkeypatch):
    """A file holds at most STORED_PATH_BYTES of the path: here ten points' worth of a path of 61
    (0 … 60), so every seventh step (9 points), and a run reopened from it goes on at that
    spacing."""
    from gdplayground.engine import path
    trainer = Trainer(preset("spiral"))
    for _ in range(60):
        trainer.step()
    kept = trainer.path.kept()
    monkeypatch.setattr(path, "STORED_PATH_BYTES", 10 * kept.weights[0].nbytes)
    save_weights(tmp_path / "w.npz", trainer.config, trainer.snapshot(path=True), {})
    saved = load_weights(tmp_path / "w.npz")
    assert saved.state.path.steps.tolist() == list(range(0, 61, 7))
    assert saved.state.path.weights.tobytes() == kept.weights[::7].tobytes()
    resumed = Trainer(saved.config)
    resumed.restore(saved.state)
    for _ in range(20):
        resumed.step()
    assert resumed.path.kept().steps.tolist() == list(range(0, 81, 7))


@pytest.mark.parametrize("spoil, problem", [
    (lambda a: a.update({"layer2.weight": np.array([object()] * 3)}), "holds Python objects"),
    (lambda a: a.update({"layer2.weight": a["layer2.weight"].astype(np.int64)}), "layer2.weight has dtype int64"),
    (lambda a: a["layer3.weight"].__setitem__((0, 0), np.nan), "layer3.weight holds NaN or infinite values"),
    (lambda a: a.pop("layer2.bias"), "missing array layer2.bias"),
    (lambda a: a.pop("config"), "missing array 'config'"),
    (lambda a: a.update({"layer2.weight": a["layer2.weight"][:, :8]}), r"layer2.weight has shape \(32, 8\)"),
    (lambda a: a.update({"config": np.array("[optimizer]\nname = 'newton'")}), "optimizer.name 'newton' is not one of"),
    (lambda a: a.update({"summary": np.array(5)}), "'summary' should be text"),
    (lambda a: a.update({"state": np.array(["{}", "{}"])}),
     r"'state' should be text \(one string\), not <U2 of shape \(2,\)"),
    (lambda a: a.update({"layer2.weight": np.zeros(3, [("w", "<f4")])}),
     "layer2.weight has the structured dtype"),
])
def test_refused_files_name_the_problem(trained, tmp_path, spoil, problem):
    arrays = arrays_of(trained[1])
    spoil(arrays)
    path = tmp_path / "bad.npz"
    if problem == "holds Python objects":  # numpy writes object arrays only with pickle
        np.savez(path, **arrays, allow_pickle=True)
    else:
        rewrite(path, arrays)
    with pytest.raises(WeightFileError, match=problem) as info:
        load_weights(path)
    assert "bad.npz" in str(info.value)


def refusal(source, tmp_path, spoil):
    """What load_weights says of a copy of `source` that `spoil` changed and that was resealed."""
    arrays = arrays_of(source)
    spoil(arrays)
    path = rewrite(tmp_path / "bad.npz", arrays)
    with pytest.raises(WeightFileError) as info:
        load_weights(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


@pytest.mark.parametrize("spoil, problem", [
    (lambda a: a.update({"layer4.weight": a["layer3.weight"]}),
     "unexpected array 'layer4.weight': not part of a weight file for its configuration"),
    (lambda a: a.update({"optimizer/all/velocity": a["optimizer/all/m"]}),  # a momentum slot
     "unexpected array 'optimizer/all/velocity'"),
    (lambda a: a.update({"optimizer/layer1.weight/m": a["layer1.weight"], "notes": np.array("hi")}),
     r"unexpected array 'notes' \(and 1 more\)"),
    (lambda a: a.pop("data/order"), "missing array data/order"),
    (lambda a: a.pop("optimizer/all/v"), "missing array optimizer/all/v"),
    (lambda a: [a.pop("optimizer/all/m"), a.pop("optimizer/all/v")],
     r"state.optimizer_counters.all.t must be 0 when the file has no adam's m and v \(got 60\)"),
])
def test_the_arrays_are_exactly_those_its_configuration_makes(trained, tmp_path, spoil, problem):
    assert re.search(problem, refusal(trained[1], tmp_path, spoil))


@pytest.mark.parametrize("spoil, problem", [
    (lambda a: a.update({"optimizer/all/m": a["optimizer/all/m"][:5]}),
     r"optimizer/all/m has shape \(5,\), but its configuration makes it \(25818,\)"),
    (lambda a: a.update({"optimizer/all/v": a["optimizer/all/v"].astype(np.float64)}),
     "optimizer/all/v has dtype float64; the configuration says float32"),
    (lambda a: a["optimizer/all/m"].__setitem__(7, np.inf),
     "optimizer/all/m holds NaN or infinite values"),
    (lambda a: a["optimizer/all/v"].__setitem__(7, -1e-9), "optimizer/all/v holds negative values"),
    (lambda a: a["data/order"].__setitem__(0, a["data/order"][1]),
     r"data/order must hold each of 0 to \d+ exactly once"),
    (lambda a: a["data/order"].__setitem__(0, -1),
     r"data/order must hold each of 0 to \d+ exactly once"),
    (lambda a: a.update({"data/order": a["data/order"].astype(np.float64)}),
     "data/order must be a 1-D array of integers, not float64"),
    (lambda a: a.update({"data/order": a["data/order"].reshape(2, -1)}),
     r"data/order must be a 1-D array of integers, not int64 of shape \(2, "),
])
def test_optimizer_memory_and_data_order_hold_what_training_makes(trained, tmp_path, spoil, problem):
    assert re.search(problem, refusal(trained[1], tmp_path, spoil))


@pytest.mark.parametrize("edit, problem", [
    (lambda s: s.update(format="gdplayground-weights/2"),
     "state.format 'gdplayground-weights/2' is not gdplayground-weights/1"),
    (lambda s: s.pop("step"), "state.step is missing"),
    (lambda s: s.update(note="hi"), "unexpected field state.note"),
    (lambda s: s.update(position=-5), r"state.position must be a whole number from 0 to \d+ \(got -5\)"),
    (lambda s: s.update(position=10**6), r"state.position must be .* from 0 to \d+ \(got 1000000\)"),
    (lambda s: s.update(step=60.0), r"state.step must be a whole number from 0 to \d+ \(got 60.0\)"),
    (lambda s: s.update(step=True), r"state.step must be a whole number .* \(got True\)"),
    (lambda s: s.update(epochs=61), r"state.epochs must be a whole number from 0 to 60 \(got 61\)"),
    (lambda s: s.update(samples_seen="lots"), r"state.samples_seen must be a whole .* \(got 'lots'\)"),
    (lambda s: s.update(shuffle_rng="seed 0"), r"state.shuffle_rng must be a JSON object \(got 'seed 0'\)"),
    (lambda s: s["shuffle_rng"].update(bit_generator="MT19937"),
     "state.shuffle_rng.bit_generator must be 'PCG64'"),
    (lambda s: s["dropout_rng"]["state"].update(inc=2**128),
     "state.dropout_rng.state.inc must be a whole number from 0 to"),
    (lambda s: s["dropout_rng"]["state"].pop("state"), "state.dropout_rng.state.state is missing"),
    (lambda s: s["dropout_rng"].update(has_uint32=2),
     r"state.dropout_rng.has_uint32 must be a whole number from 0 to 1 \(got 2\)"),
    (lambda s: s["shuffle_rng"].update(uinteger=-1),
     "state.shuffle_rng.uinteger must be a whole number from 0 to 4294967295"),
    (lambda s: s["optimizer_counters"]["all"].update(t=-1),
     r"state.optimizer_counters.all.t must be a whole number from 0 to 60 \(got -1\)"),
    (lambda s: s["optimizer_counters"]["all"].update(t=0),
     "state.optimizer_counters.all.t must be at least 1 when the file holds adam's m and v"),
    (lambda s: s["optimizer_counters"]["all"].update(lr=0.1),
     "unexpected field state.optimizer_counters.all.lr"),
    (lambda s: s["optimizer_counters"].update({"layer1.weight": {}}),
     r"unexpected field state.optimizer_counters\['layer1.weight'\]"),
])
def test_every_field_of_the_state_is_checked(trained, tmp_path, edit, problem):
    assert re.search(problem, refusal(trained[1], tmp_path, edited_json("state", edit)))


def set_row(name, index, value):
    return lambda a: a[name].__setitem__(index, value)


@pytest.mark.parametrize("spoil, problem", [
    (set_row("path/steps", 1, 0), "path/steps must rise from 0 to at most step 60$"),
    (set_row("path/steps", -1, 61), "path/steps must rise from 0 to at most step 60$"),
    (set_row("path/steps", 0, -1), "path/steps must rise from 0 to at most step 60$"),
    (lambda a: a.update({"path/steps": a["path/steps"] + 1}), "path/steps must rise from 0"),
    (lambda a: a.update({"path/steps": a["path/steps"].astype(np.uint64)[::-1].copy()}),
     "path/steps must rise from 0"),
    (lambda a: a.update({"path/steps": a["path/steps"].astype(np.float64)}),
     r"path/steps must be a 1-D array of at most 128 integers, not float64 of shape \(61,\)"),
    (lambda a: a.update({"path/steps": np.arange(129), "path/rates": np.ones(129),
                         "path/weights": np.zeros((129, 25818), np.float32)}),
     r"path/steps must be a 1-D array of at most 128 integers, not int64 of shape \(129,\)"),
    (lambda a: a.update({"path/rates": a["path/rates"][:3]}), "path/rates has 3 rates for 61 steps"),
    (lambda a: a.update({"path/rates": a["path/rates"].astype("U8")}),
     "path/rates must be a 1-D array of at most 128 numbers, not <U8"),
    (lambda a: a.update({"path/weights": a["path/weights"].astype(np.float64)}),
     "path/weights has dtype float64; the configuration says float32"),
    (lambda a: a.update({"path/weights": a["path/weights"][:, :5]}),
     r"path/weights has shape \(61, 5\), but its configuration makes it \(61, 25818\)"),
    (lambda a: a.update({"path/weights": a["path/weights"][:60]}),
     r"path/weights has shape \(60, 25818\), but its configuration makes it \(61, 25818\)"),
    (set_row("path/weights", (5, 7), np.inf), "path/weights holds NaN or infinite values"),
    (set_row("path/rates", 4, np.nan), "path/rates must hold finite learning rates, none negative"),
    (set_row("path/rates", 4, -0.1), "path/rates must hold finite learning rates, none negative"),
    (lambda a: a.pop("path/rates"), "missing array path/rates$"),
    (lambda a: [a.pop("path/steps"), a.pop("path/weights")], "missing array path/steps$"),
    (lambda a: a.update({"path/notes": np.array("hi")}), "unexpected array 'path/notes'"),
])
def test_a_damaged_path_is_refused_naming_the_file_and_the_array(trained, tmp_path, spoil, problem):
    assert re.search(problem, refusal(trained[1], tmp_path, spoil))


def test_a_file_without_a_path_opens_and_keeps_its_own_from_the_seed(trained, tmp_path):
    """Older files, and networks too large to keep a path, have none: the run keeps its own
    from its initial weights, which its seed gives."""
    trainer, source = trained
    arrays = {k: v for k, v in arrays_of(source).items() if not k.startswith("path/")}
    saved = load_weights(rewrite(tmp_path / "old.npz", arrays))
    assert saved.state.path is None
    resumed = Trainer(saved.config)
    resumed.restore(saved.state)
    assert resumed.path.kept().steps.tolist() == [0]
    assert resumed.path.kept().weights.tobytes() == trainer.path.kept().weights[0].tobytes()
    resumed.step()
    assert resumed.path.kept().steps.tolist() == [0, 61]


def test_an_edited_path_is_refused_as_altered(trained, tmp_path):
    arrays = arrays_of(trained[1])
    arrays["path/weights"][3, 3] += 1
    with pytest.raises(WeightFileError, match="altered after it was written"):
        load_weights(rewrite(tmp_path / "edited.npz", arrays, reseal=False))


@pytest.mark.parametrize("spoil, problem", [
    (lambda a: a.update({"state": np.array("[1, 2]")}),
     r"state must be a JSON object \(got \[1, 2\]\)"),
    (lambda a: a.update({"state": np.array("{'step': 1}")}), "'state' is not valid JSON"),
    (edited_json("summary", lambda s: s.update(model={"layers": 3})),
     r"summary.model must be a number, boolean, string, null or list of numbers "
     r"\(got \{'layers': 3\}\)"),
    (edited_json("summary", lambda s: s.update({"final loss": [1.0, "x"]})),
     r"summary\['final loss'\] must be a number"),
    (lambda a: a.update({"summary": np.array("[60]")}),
     r"summary must be a JSON object \(got \[60\]\)"),
    (edited_json("summary", lambda s: s.update(sweep_settings=[0.1])),  # a sweep's run's
     r"summary.sweep_settings must be a JSON object \(got \[0.1\]\)"),
    (edited_json("summary", lambda s: s.update(sweep_settings={"lr": 0.1, "batch-size": None})),
     r"summary.sweep_settings\['batch-size'\] must be a number or a string \(got None\)"),
])
def test_state_and_summary_are_json_objects_of_plain_values(trained, tmp_path, spoil, problem):
    assert re.search(problem, refusal(trained[1], tmp_path, spoil))


def test_an_integrity_that_is_not_a_sha256_is_refused(trained, tmp_path):
    arrays = arrays_of(trained[1])
    arrays["integrity"] = np.array("not a checksum")
    path = rewrite(tmp_path / "bad.npz", arrays, reseal=False)
    with pytest.raises(WeightFileError, match=r"bad.npz: 'integrity' must be 64 hexadecimal digits "
                                              r"\(got 'not a checksum'\)"):
        load_weights(path)


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_optimizer_resumes_from_before_and_after_its_first_step(tmp_path, name):
    config = preset("xor")
    config.optimizer.name = name
    trainer = Trainer(config)
    for steps in (0, 3):  # no step yet: no optimizer arrays, and no adam counter either
        for _ in range(steps):
            trainer.step()
        path = tmp_path / f"{steps}.npz"
        save_weights(path, trainer.config, trainer.snapshot(path=True),
                     {"steps": steps, "solution": [1.5]})
        resumed = Trainer(config)
        resumed.restore(load_weights(path).state)
        pairs = zip(trainer.network.parameters(), resumed.network.parameters())
        assert all(saved.tobytes() == loaded.tobytes() for (_, saved, _), (_, loaded, _) in pairs)
        memory, original = resumed.optimizer.states[0], trainer.optimizer.states[0]
        assert sorted(memory) == sorted(original)
        assert all(np.array_equal(memory[key], original[key]) for key in memory)


def test_an_edited_configuration_is_refused_as_altered(trained, tmp_path):
    arrays = arrays_of(trained[1])
    arrays["config"] = np.array(str(arrays["config"]).replace("seed = 0", "seed = 1"))
    path = rewrite(tmp_path / "edited.npz", arrays, reseal=False)
    with pytest.raises(WeightFileError, match="altered after it was written"):
        load_weights(path)


NOT_A_ZIP = "not a .npz weight file (it is not a zip archive)"


@pytest.mark.parametrize("write, problem", [
    (lambda p: p.write_bytes(b"hello"), NOT_A_ZIP),
    (lambda p: p.write_text("weights:\n0.5\n0.25\n"), NOT_A_ZIP),  # numpy took it for a pickle
    (lambda p: p.write_bytes(b""), NOT_A_ZIP),
    (lambda p: p.write_bytes(b"PK\x03\x04broken"), NOT_A_ZIP),
    (lambda p: np.save(p, np.zeros(3)), "not a .npz weight file (it is a single .npy array)"),
])
def test_files_that_are_not_weight_files(tmp_path, write, problem):
    path = tmp_path / "x.npz"
    write(path)
    if not path.exists():  # np.save appends .npy
        path = tmp_path / "x.npz.npy"
    with pytest.raises(WeightFileError) as info:
        load_weights(path)
    assert str(info.value) == f"{path}: {problem}"


@pytest.mark.parametrize("name, member, problem", [
    ("layer1.weight", npy_member((10**12,), bytes(16)),
     r"layer1.weight declares shape \(1000000000000,\) of float32 \(4000000000000 bytes\), but "
     r"the file stores 16 bytes for it"),
    # an array whose shape the configuration does not fix: only its header's size stops it
    ("data/order", npy_member((10**7,), bytes(16), descr="<i8"),
     r"data/order declares shape \(10000000,\) of int64 \(80000000 bytes\), but the file "
     r"stores 16 bytes for it"),
    # numpy's own refusal of a long header advises allow_pickle=True
    ("layer1.weight", npy_member((1,) * 4000, bytes(4)), "layer1.weight has no valid .npy header"),
    ("layer1.weight", b"\x93NUMPY\x03\x00" + bytes(8),
     "layer1.weight is in .npy format version 3.0; only 1.0 and 2.0 are read"),
    ("layer1.weight", b"0.5 0.25", "layer1.weight has no valid .npy header"),
], ids=["terabytes declared", "80 MB of order declared", "header too long for numpy",
        "npy version 3", "not npy"])
def test_an_array_is_refused_from_its_header_before_its_data_is_read(trained, tmp_path, name, member,
                                                                     problem):
    members = [(stored, member if stored == f"{name}.npy" else data)
               for stored, data in members_of(trained[1])]
    path = write_archive(tmp_path / "crafted.npz", members)
    tracemalloc.start()
    try:
        with pytest.raises(WeightFileError, match=f"^{re.escape(str(path))}: {problem}$") as info:
            load_weights(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < path.stat().st_size + 2**20  # the file's arrays and a little more, not terabytes
    assert "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("members, compression, problem", [
    (lambda m: m, zipfile.ZIP_DEFLATED, "is stored compressed; only uncompressed arrays"),
    (lambda m: m + [("README.txt", b"hi")], zipfile.ZIP_STORED,
     "member 'README.txt' is not a .npy array"),
    (lambda m: m + m[:1], zipfile.ZIP_STORED, "appears twice in the archive"),
])
def test_archives_unlike_what_np_savez_writes_are_refused(trained, tmp_path, members, compression,
                                                          problem):
    path = write_archive(tmp_path / "odd.npz", members(members_of(trained[1])), compression)
    with pytest.raises(WeightFileError, match=f"odd.npz: .*{problem}"):
        load_weights(path)


def test_cli_refuses_a_bad_weight_file_in_one_line(tmp_path, capsys):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"junk")
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "junk.npz: not a .npz weight file" in err


def test_cli_resume_refuses_a_network_that_does_not_fit(trained, tmp_path, capsys):
    assert main(["train", "--weights", str(trained[1]), "--layers", "32,8", "--steps", "1",
                 "--out", str(tmp_path / "o")]) == 2
    assert "does not fit this network: layer2.weight has shape (32, 16) in the file, (32, 8)" in \
        capsys.readouterr().err


def test_a_failed_write_keeps_the_previous_file_and_leaves_nothing_behind(trained, tmp_path, monkeypatch):
    trainer, source = trained
    path = tmp_path / "weights.npz"
    path.write_bytes(source.read_bytes())
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_weights(path, trainer.config, trainer.snapshot(), {})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["weights.npz"]


def test_cli_reports_an_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", "--dataset", "xor", "--steps", "2", "--out", str(blocker / "run")]) == 2
    assert f"--out: cannot write to {blocker / 'run'}: {blocker} is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("output, loss", [("softmax", "cross_entropy"), ("sigmoid", "mse"),
                                          ("identity", "mse")])
def test_onnx_runtime_agrees_with_the_engine(activation, output, loss):
    ort = pytest.importorskip("onnxruntime")
    from gdplayground.store.onnx_export import to_onnx
    config = small_mnist(activation)
    config.architecture.output, config.architecture.loss = output, loss
    trainer = Trainer(config)
    for _ in range(20):
        trainer.step()
    model = to_onnx(config, trainer.snapshot().parameters, trainer.dataset.input_scale)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    digits = trainer.dataset.test.x[:1000]
    got = session.run(None, {"input": digits.astype(np.float32)})[0]
    np.testing.assert_allclose(got, trainer.predict(digits), atol=1e-5, rtol=0)


def test_onnx_export_without_the_extra_says_what_to_install(monkeypatch):
    import builtins
    from gdplayground.store import onnx_export
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    assert not onnx_export.onnx_available()
    with pytest.raises(onnx_export.OnnxUnavailable, match=r'pip install "gdplayground\[onnx\]"'):
        onnx_export.to_onnx(preset("xor"), {}, 1.0)


def test_a_file_from_before_the_short_batch_fix_reopens_at_its_epoch_end(trained, tmp_path):
    """0.1.0 left the position past the data order when an epoch ended on a short batch."""
    trainer, path = trained
    arrays = arrays_of(path)
    state = json.loads(str(arrays["state"]))
    n = len(arrays["data/order"])
    state["position"] = n + trainer.config.batch.size - 1
    arrays["state"] = np.array(json.dumps(state))
    assert load_weights(rewrite(tmp_path / "old.npz", arrays)).state.position == n
    state["position"] = n + trainer.config.batch.size
    arrays["state"] = np.array(json.dumps(state))
    with pytest.raises(WeightFileError, match="state.position must be a whole number from 0"):
        load_weights(rewrite(tmp_path / "older.npz", arrays))


def test_train_writes_the_path_and_evaluate_reads_a_run_folder(tmp_path, capsys):
    assert main(["train", "--dataset", "spiral", "--steps", "20", "--out", str(tmp_path / "run")]) == 0
    saved = load_weights(tmp_path / "run" / "weights.npz")
    assert saved.state.path.steps.tolist() == list(range(21))
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    assert f"{tmp_path / 'run'}: spiral, network 2-" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path)]) == 2
    assert f"{tmp_path} is a folder without a weights.npz: give a weight file or a run folder" \
        in capsys.readouterr().err


# --- a table's preparation ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """A penguins network trained 3 steps, and its weight file with the preparation."""
    trainer = Trainer(preset("penguins"))
    for _ in range(3):
        trainer.step()
    path = tmp_path_factory.mktemp("w") / "penguins.npz"
    save_weights(path, trainer.config, trainer.snapshot(), {}, trainer.dataset.preparation)
    return trainer, path


def test_a_tables_preparation_round_trips_sealed_by_the_checksum(penguins, tmp_path):
    trainer, path = penguins
    assert load_weights(path).preparation == trainer.dataset.preparation
    arrays = arrays_of(path)
    arrays["preparation"] = np.array(str(arrays["preparation"]).replace("Adelie", "Emperor"))
    with pytest.raises(WeightFileError, match="altered after it was written"):
        load_weights(rewrite(tmp_path / "edited.npz", arrays, reseal=False))


def _prepared(edit):
    def spoil(arrays):
        fields = json.loads(str(arrays["preparation"]))
        edit(fields)
        arrays["preparation"] = np.array(json.dumps(fields))
    return spoil


@pytest.mark.parametrize("spoil, problem", [
    (lambda a: a.pop("preparation"), "missing array preparation: a table's network holds how its "
                                     "rows were prepared"),
    (lambda a: a.update(preparation=np.array("{")), "preparation: not valid JSON"),
    (_prepared(lambda f: f["spread"].__setitem__(0, 0)),
     "preparation: spread must be a list of 5 finite numbers, each above 0"),
    (_prepared(lambda f: f["spread"].__setitem__(0, "1")), "preparation: spread must be a list"),
    (_prepared(lambda f: f["categories"][0][1].append(7)), "preparation: categories[0] must be"),
    (_prepared(lambda f: f["categories"][0][1].append("Anvers")),
     "preparation makes 11 inputs and 3 classes, but the network takes 10 and gives 3"),
    (_prepared(lambda f: f["classes"].pop()),
     "preparation makes 10 inputs and 2 classes, but the network takes 10 and gives 3"),
    (_prepared(lambda f: f.update(target="penguin")),
     "preparation.target 'penguin' is not the configuration's data.target 'species'"),
    (_prepared(lambda f: f.pop("dropped")), "preparation: dropped is missing"),
])
def test_a_damaged_preparation_is_refused_in_one_line_naming_it(penguins, tmp_path, spoil, problem):
    assert problem in refusal(penguins[1], tmp_path, spoil)


def test_a_preparation_is_no_part_of_an_image_networks_file(trained, tmp_path):
    spoil = lambda a: a.update(preparation=arrays_of(trained[1])["config"])  # noqa: E731
    assert "unexpected array 'preparation'" in refusal(trained[1], tmp_path, spoil)


# --- a convolutional network's file ------------------------------------------------------------
CONV_LAYERS = "conv2x3,pool,conv3x3s2valid,avgpool,8"  # weights: 2 convolutions, 2 dense layers


@pytest.fixture(scope="module")
def conv_trained(tmp_path_factory):
    from gdplayground.cli.flags import parse_layers
    config = preset("mnist")
    config.architecture.hidden = parse_layers(CONV_LAYERS, "relu")
    trainer = Trainer(config)
    for _ in range(4):
        trainer.step()
    path = tmp_path_factory.mktemp("w") / "weights.npz"
    save_weights(path, trainer.config, trainer.snapshot(path=True), {"steps": 4})
    return trainer, path


def test_a_convolutional_network_round_trips_and_goes_on_bit_for_bit(conv_trained):
    trainer, path = conv_trained
    saved = load_weights(path)
    assert {name: w.shape for name, w in saved.state.parameters.items()} == {
        "layer1.weight": (2, 1, 3, 3), "layer1.bias": (2,), "layer2.weight": (3, 2, 3, 3),
        "layer2.bias": (3,), "layer3.weight": (3 * 3 * 3, 8), "layer3.bias": (8,),
        "layer4.weight": (8, 10), "layer4.bias": (10,)}
    resumed = Trainer(saved.config)
    resumed.restore(saved.state)
    x = trainer.dataset.test.x[:100]
    assert resumed.predict(x).tobytes() == trainer.predict(x).tobytes()
    for _ in range(2):
        trainer.step()  # the original run goes on
        resumed.step()
    assert resumed.network.flat.tobytes() == trainer.network.flat.tobytes()


def test_a_network_of_pools_without_convolutions_round_trips_and_exports(tmp_path):
    """Its first weights are a dense layer's: 2-D, not a convolution's 4-D; its ONNX model
    takes images all the same."""
    from gdplayground.cli.flags import parse_layers
    config = preset("mnist")
    config.architecture.hidden = parse_layers("pool,avgpool:tanh,8", "relu")
    trainer = Trainer(config)
    trainer.step()
    save_weights(tmp_path / "w.npz", trainer.config, trainer.snapshot(), {})
    saved = load_weights(tmp_path / "w.npz")
    assert saved.state.parameters["layer1.weight"].shape == (7 * 7, 8)
    assert saved.state.parameters["layer2.weight"].tobytes() == trainer.network.layers[1].W.tobytes()
    ort = pytest.importorskip("onnxruntime")
    from gdplayground.store.onnx_export import to_onnx
    model = to_onnx(config, saved.state.parameters, trainer.dataset.input_scale)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    digits = trainer.dataset.test.x[:200]
    got = session.run(None, {"input": digits.reshape(-1, 1, 28, 28).astype(np.float32)})[0]
    np.testing.assert_allclose(got, trainer.predict(digits), atol=1e-5, rtol=0)


def edited_config(old, new):
    def spoil(arrays):
        assert old in str(arrays["config"])
        arrays["config"] = np.array(str(arrays["config"]).replace(old, new, 1))
    return spoil


CONV = '{ units = 3, activation = "relu", kind = "conv", kernel = 3, stride = 2, padding = "valid" }'


@pytest.mark.parametrize("spoil, problem", [
    (lambda a: a.update({"layer2.weight": a["layer2.weight"][:, :, :2, :2]}),
     r"layer2.weight has shape \(3, 2, 2, 2\), but its configuration makes it \(3, 2, 3, 3\)"),
    (lambda a: a.update({"layer2.weight": a["layer2.weight"][:, :1]}),
     r"layer2.weight has shape \(3, 1, 3, 3\), but its configuration makes it \(3, 2, 3, 3\)"),
    (lambda a: a.update({"layer1.weight": a["layer1.weight"].reshape(2, 9)}),
     r"layer1.weight has shape \(2, 9\), but a convolution's weight is 4-D \(filters, channels, "
     r"height, width\)"),
    (lambda a: a.update({"layer3.weight": a["layer3.weight"].reshape(3, 3, 3, 8)}),
     r"layer3.weight has shape \(3, 3, 3, 8\), but a dense layer's weight is 2-D"),
    (lambda a: a.update({"layer3.bias": a["layer3.bias"][:4]}),
     r"layer3.bias has shape \(4,\), but its configuration makes it \(8,\)"),
    (edited_config(CONV, '{ kind = "maxpool", activation = "identity" }'),  # a pool given weights
     r"unexpected array 'layer4.bias' \(and 1 more\): not part of a weight file for its "
     r"configuration, whose network has 3 layers with weights \(a pool has none\)"),
    (edited_config(CONV, CONV.replace("kernel = 3", "kernel = 5")),
     r"layer2.weight has shape \(3, 2, 3, 3\), but its configuration makes it \(3, 2, 5, 5\)"),
    (edited_config('kind = "maxpool"', 'kind = "minpool"'),
     r"architecture.hidden\[1\].kind 'minpool' is not one of: dense, conv, maxpool, avgpool"),
    (edited_config('kind = "conv", kernel = 3, stride = 2', 'kind = "conv", kernel = 3, stride = 3'),
     r"architecture.hidden\[2\].stride must be from 1 to 2 \(got 3\)"),
])
def test_a_convolutional_networks_file_is_checked_layer_by_layer(conv_trained, tmp_path, spoil,
                                                                 problem):
    assert re.search(problem, refusal(conv_trained[1], tmp_path, spoil))


def test_onnx_runtime_agrees_with_the_engine_on_convolutions_and_pools(conv_trained):
    """conv same, max-pool, conv stride 2 valid, average pool, dense: on the test digits as
    images, within 1e-5 (the engine's and ONNX Runtime's sums differ in order only)."""
    ort = pytest.importorskip("onnxruntime")
    from gdplayground.store.onnx_export import to_onnx
    trainer, _ = conv_trained
    model = to_onnx(trainer.config, trainer.snapshot().parameters, trainer.dataset.input_scale)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    digits = trainer.dataset.test.x[:500]
    got = session.run(None, {"input": digits.reshape(-1, 1, 28, 28).astype(np.float32)})[0]
    np.testing.assert_allclose(got, trainer.predict(digits), atol=1e-5, rtol=0)
    assert [node.op_type for node in model.graph.node][:9] == [
        "Mul", "Conv", "Relu", "MaxPool", "Conv", "Relu", "AveragePool", "Flatten", "MatMul"]
