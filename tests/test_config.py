import pytest

from gdplayground.config import ConfigError, ExperimentConfig, Layer, preset


def test_toml_round_trip_is_exact():
    config = preset("spiral")
    config.architecture.hidden = [Layer(5, "tanh"), Layer(3, "leaky_relu")]
    config.learning_rate.schedule, config.optimizer.l2 = "cosine", 1e-4
    text = config.to_toml()
    assert '{ units = 5, activation = "tanh" }' in text  # readable: one line per layer
    assert ExperimentConfig.from_toml(text) == config


def test_file_round_trip(tmp_path):
    config = preset("mnist-binary")
    config.save(tmp_path / "exp.toml")
    assert ExperimentConfig.load(tmp_path / "exp.toml") == config


@pytest.mark.parametrize("change, message", [
    (lambda c: setattr(c.learning_rate, "value", 0.0), r"^learning_rate.value must be above 0 and at most 100 \(got 0.0\)$"),
    (lambda c: setattr(c.learning_rate, "value", float("nan")), r"learning_rate.value must be a number above 0 and at most 100 \(got nan\)"),
    (lambda c: setattr(c.optimizer, "name", "lbfgs"), "optimizer.name 'lbfgs' is not one of: sgd, momentum"),
    (lambda c: setattr(c.batch, "size", 0), r"batch.size must be from 1 to 100,000 \(got 0\)"),
    (lambda c: setattr(c.batch, "size", 2.5), "batch.size must be a whole number from 1 to 100,000"),
    (lambda c: setattr(c.architecture, "dropout", 0.95), r"architecture.dropout must be from 0 to 0.9 \(got 0.95\)"),
    (lambda c: setattr(c.architecture.hidden[1], "units", 0), r"architecture.hidden\[1\].units must be"),
    (lambda c: setattr(c.architecture, "output", "sigmoid"), "architecture.output 'sigmoid' does not fit loss 'cross_entropy'"),
    (lambda c: setattr(c.data, "name", "idx"), "data.path must name a folder"),
])
def test_validation_names_the_field_and_the_allowed_range(change, message):
    config = ExperimentConfig()
    change(config)
    with pytest.raises(ConfigError, match=message):
        config.validate()


@pytest.mark.parametrize("text, message", [
    ("seed = 1\n[optimizer]\nnmae = 'sgd'", "unknown setting optimizer.nmae; allowed: name, momentum"),
    ("[architecture]\nbias = 'yes'", "architecture.bias must be true or false"),
    ("[learning_rate]\nvalue = -1", "learning_rate.value must be above 0 and at most 100"),
    ("optimizer = 3", "optimizer must be a table"),
    ("seed = [", "is not valid TOML"),
    # integers beyond a float, and beyond what Python reads (tomllib raises ValueError)
    ("[learning_rate]\nvalue = 1" + "0" * 400, r"^configuration: learning_rate.value must be "
     r"above 0 and at most 100 \(got 1000"),
    ("[learning_rate]\nmin_value = -1" + "0" * 400, "learning_rate.min_value must be from 0 to 100"),
    ("[optimizer]\nclip_norm = 9" * 1 + "9" * 4000, "optimizer.clip_norm must be from 0 to 1,000,000"),
    ("seed = " + "9" * 5001, r"^configuration: seed \(line 1\) is a number of 5,001 digits"),
    ("# a note\n[learning_rate]\nvalue = " + "1_0" * 3000, r"learning_rate.value \(line 3\) is a number"),
    ("[architecture]\nhidden = [{units = " + "1" * 4500 + "}]", r"units \(line 2\) is a number of 4,500"),
    ("[architecture]\nhidden = [{units = 1" + "0" * 400 + "}]", "hidden.0..units must be from 1 to 8,192"),
    ('[data]\nname = "idx"\npath = "a\\u0000b"', r"data.path must not hold a NUL character \(got 'a\\x00b'\)"),
    ("seed = " + "{a = " * 200 + "1" + "}" * 200, r"seed must be a whole number \(got \{'a': "),
    ("[optimizer]\nclip_norm = inf", r"optimizer.clip_norm must be a number from 0 to 1,000,000 \(got inf\)"),
    ("seed = 1979-05-27", r"seed must be a whole number \(got datetime.date\(1979, 5, 27\)\)"),
])
def test_bad_files_are_refused_with_the_setting_named(text, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig.from_toml(text)


def test_linear_system_preset_is_one_linear_unit_without_bias():
    arch = preset("linear-system").architecture
    assert (arch.hidden, arch.bias, arch.output, arch.loss, arch.init) == ([], False, "identity", "mse", "zeros")


def test_differences_name_each_changed_setting():
    from gdplayground.config import differences
    here, there = preset("mnist"), preset("mnist")
    there.architecture.hidden[1].units = 16
    there.learning_rate.value = 0.01
    assert differences(here, there) == ["Architecture › Hidden layer 2 units: 128 → 16",
                                        "Learning rate › Value: 0.002 → 0.01"]
    there.optimizer.name, there.architecture.hidden = "sgd", there.architecture.hidden[:1]
    assert differences(here, there) == ["Architecture › Hidden layers: 2 → 1",
                                        "Optimizer › Algorithm: Adam → SGD",
                                        "Learning rate › Value: 0.002 → 0.01"]
    there.architecture.hidden += [Layer(8, "tanh"), Layer(4, "tanh")]
    assert "Architecture › Hidden layers: 2 → 3" in differences(here, there)


def test_a_data_set_is_named_by_its_file_or_folder_where_it_has_one():
    """The Runs tab and the banner tell tables apart by their files' names."""
    from gdplayground.config import DataConfig

    assert DataConfig("table", "/data/birds.csv").words == "birds.csv"
    assert DataConfig("idx", "/data/fashion").words == "fashion"
    assert DataConfig("penguins").words == "Palmer penguins (table)"
    assert DataConfig("table").words == "Table file (CSV, TSV)…"  # none chosen yet
