"""The bench command runs and reports its figures (what they are is for the benchmark to say)."""

import json
import re

import pytest

from gdplayground.bench.engine import SETUPS
from gdplayground.cli import main


def test_flops_per_sample_leave_out_the_first_input_gradient():
    # (a): weights 784*256 + 256*128 + 128*10 = 234,752; 6 per weight, less 2 * 784 * 256
    assert SETUPS["a"].flops_per_sample() == 6 * 234_752 - 2 * 200_704


def test_bench_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "engine,gemm", "--repeats", "1", "--seconds", "0.05",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "threads" in printed and "(d) 784-1024-1024-10" in printed and "GFLOP/s" in printed
    assert "(e) conv8x5,pool,conv16x5,pool,10 adam" in printed
    figures = json.loads(out.read_text())
    assert set(figures["engine"]) == {"a", "b", "c", "d", "e"} and figures["engine"]["e"] > 0
    assert set(figures["gemm"]) == {"a", "b", "c", "d"}  # dense products only
    assert 0 < figures["gemm"]["a"]["fraction"] < 1.5


def test_bench_refuses_an_unknown_section(capsys):
    assert main(["bench", "--only", "warp"]) == 2
    assert "'warp' is not a section" in capsys.readouterr().err


def test_step_profile_times_every_part_of_a_step_and_puts_the_engine_back(monkeypatch):
    from pathlib import Path

    from gdplayground.engine import network

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    import step_profile

    forward = network.Network.forward
    per_step = step_profile.profile("c", steps=50, warmup=5)
    assert set(per_step) == {*step_profile.PARTS.values(), "whole step"}
    assert all(seconds > 0 for seconds in per_step.values())
    whole = per_step.pop("whole step")
    assert sum(per_step.values()) < whole
    assert network.Network.forward is forward  # unwrapped again


def test_long_run_section_reports_peak_and_growth(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "long-run", "--long-seconds", "4", "--json", str(out)]) == 0
    assert "over the second half (target: flat)" in capsys.readouterr().out
    figures = json.loads(out.read_text())["long-run"]
    # flat out (3,000 steps or more alone): the spiral's own pace (100 steps a second) gives 400
    assert figures["steps"] > 800 and 50 < figures["peak_mb"] < 1000
    assert figures["resident_mb_at_end"] - figures["resident_mb_at_half"] == \
        figures["growth_second_half_mb"]
    assert 2 <= figures["seconds_at_half"] < figures["seconds_at_end"] <= 4 + 1  # the second half


@pytest.mark.parametrize("flags, message", [
    (["--only", ""], "--only: '' is not a section"),
    (["--seconds", "inf"], "--seconds must be from 0.01 to 3600 (got inf)"),
    (["--repeats", "1000000000000000000000000000000"], "--repeats must be from 1 to 1000"),
    (["--long-seconds", "nan"], "--long-seconds must be from 1 to 86400 (got nan)"),
    (["--json", "/proc/x.json"], "--json: cannot write /proc/x.json"),
])
def test_bench_refuses_absurd_settings_before_measuring(capsys, flags, message):
    assert main(["bench", "--only", "engine", *flags]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_bench_times_the_race_tab_frames(capsys):
    assert main(["bench", "--only", "race", "--repeats", "1", "--seconds", "0.3"]) == 0
    printed = capsys.readouterr().out
    assert "six optimizers on Rosenbrock" in printed and "frames/s" in printed


def test_bench_times_a_sweep_against_train_runs(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "sweep", "--repeats", "1", "--seconds", "0.05",
                 "--json", str(out)]) == 0
    assert "sweep/train" in capsys.readouterr().out
    figures = json.loads(out.read_text())["sweep"]
    assert figures["steps"] == 50 and figures["sweep_s"] > 0 and figures["train_s"] > 0


def test_bench_times_sweeps_with_one_worker_with_two_and_on_a_cluster(tmp_path, capsys):
    # a few seconds: six worker processes and two LocalClusters start
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "sweep-workers", "--repeats", "1", "--seconds", "0.05",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("workers 1 / workers 2: ") == printed.count("workers 1 / cluster") == 2
    figures = json.loads(out.read_text())["sweep-workers"]
    assert list(figures) == ["spiral", "MNIST 784-64-10"]
    for sweep in figures.values():
        assert sweep["runs"] == 8 and sweep["steps"] > 0
        assert list(sweep["seconds"]) == ["workers 1", "workers 2", "cluster of 2"]
        assert min(sweep["seconds"].values()) > 0 and min(sweep["speedup"].values()) > 0


def test_bench_compares_the_window_with_and_without_overlaid_runs(capsys):
    assert main(["bench", "--only", "overlays", "--repeats", "1", "--seconds", "0.3"]) == 0
    printed = capsys.readouterr().out
    assert "with 10 overlaid: difference" in printed


def test_bench_compares_the_inside_tab_with_the_training_tab(capsys):
    assert main(["bench", "--only", "inside", "--repeats", "1", "--seconds", "0.3"]) == 0
    assert "with the Inside tab: difference" in capsys.readouterr().out


def test_bench_times_lambda_max_against_a_reference_and_the_paths_cost(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "sharpness,path-cost", "--repeats", "1", "--seconds", "0.05",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "relative difference" in printed and "kept/not kept" in printed
    figures = json.loads(out.read_text())
    sharpness = figures["sharpness"]
    assert sharpness["steps"] == 5 and sharpness["relative_difference"] < 1e-2
    assert abs(sharpness["lambda_max"] - sharpness["reference"]) == pytest.approx(
        sharpness["relative_difference"] * sharpness["reference"])
    assert set(figures["path-cost"]) == {"a", "c"}
    for setup in figures["path-cost"].values():
        low, high = setup["quartiles"]
        assert low <= setup["ratio"] <= high and 0 < setup["offer_us"] < setup["step_us"]
        assert f"{setup['offer_us'] / setup['step_us']:.2%}" in printed


def test_bench_times_the_landscapes_plane_and_line(tmp_path, capsys, monkeypatch):
    from gdplayground.bench import landscape

    monkeypatch.setattr(landscape, "PLANE_GRID", 3)  # the rows as printed, not their 10 s
    monkeypatch.setattr(landscape, "LINE_POINTS", 5)
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "landscape", "--repeats", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "landscape: 784-256-128-10 relu, softmax + cross_entropy, on 2,000 training digits" \
        in printed
    assert re.search(r"plane 3×3: \d+\.\d\d s \(target <= 10 s\)   line of 5 points: \d+\.\d\d s "
                     r"\(target <= 2 s\)", printed)
    figures = json.loads(out.read_text())["landscape"]
    assert figures["plane_grid"] == 3 and 0 < figures["line_s"] and 0 < figures["plane_s"]


def test_row_e_races_the_same_network_in_torch_on_as_many_threads(monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    from gdplayground.bench import engine
    from gdplayground.engine.network import Network

    setup = engine.SETUPS["e"]
    model = torch.nn.Sequential(*engine._torch_features(setup, torch), *engine._torch_dense(setup, torch))
    ours = Network(setup.sizes, [], features=setup.feature_layers, input_shape=engine.IMAGE)
    assert ours.describe() == "conv8x5,pool,conv16x5,pool,784-10"
    assert [p.numel() for p in model.parameters()] == [param.size for _, param, _ in ours.parameters()]
    assert model(torch.zeros(2, *engine.IMAGE)).shape == (2, 10)

    # The race itself, with runners that report the threads torch has while they run (real
    # ones import torch._dynamo with the optimizer: seconds, for a figure no test may judge).
    threads = torch.get_num_threads()
    monkeypatch.setattr(engine, "SETUPS", {"e": setup})
    monkeypatch.setattr(engine, "blas_threads", lambda: threads + 1)
    monkeypatch.setattr(engine, "engine_runner", lambda config: lambda seconds: 3.0)
    monkeypatch.setattr(engine, "_torch_runner", lambda s: lambda seconds: torch.get_num_threads())
    rates = engine.torch_section({}, 3, 0.05, print)
    printed = capsys.readouterr().out
    assert f"{threads + 1} thread(s) each side" in printed and "(conv8x5,pool,conv16x5,pool,10" in printed
    assert rates["e"] == {"samples_per_second": threads + 1, "engine_over_torch": 3 / (threads + 1),
                          "threads": threads + 1}
    assert torch.get_num_threads() == threads  # put back for the rest of the bench
