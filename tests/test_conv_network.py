"""A network with convolutions and pools before its dense layers (engine/network.py): the
--layers grammar, its logits and gradients against PyTorch's and against central differences,
the trainer's refusals, the memory estimate, and reproducibility."""

import importlib.util

import numpy as np
import pytest

from gdplayground.cli.flags import parse_layers
from gdplayground.config import ConfigError, Layer, preset, validate_fields
from gdplayground.layer_grammar import layer_words
from gdplayground.engine.gradcheck import TOLERANCE, VARIANTS, _check_one
from gdplayground.engine.memory import training_bytes
from gdplayground.engine.network import Network
from gdplayground.engine.trainer import Trainer

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="torch is not installed (pip install torch==2.13.0)")
STACK = "conv4x3,pool,conv6x3s2valid,avgpool:tanh,16"


def small_network(dtype=np.float64, dropout=0.0, seed=0) -> Network:
    """STACK on 1x12x11 images (odd sides, so a pool drops a column), three classes."""
    layers = parse_layers(STACK, "relu")
    features = layers[:4]  # the dense layer of 16 is built from sizes
    network = Network([6 * 1 * 1, 16, 3], ["relu"], dtype=dtype, dropout=dropout,
                      features=features, input_shape=(1, 12, 11))
    rng = np.random.default_rng(seed)
    network.initialise("he", 0.0, rng)
    for layer in network.layers:
        layer.b[...] = rng.normal(0, 0.1, layer.b.shape)
    return network


def test_the_layers_grammar_reads_and_writes_every_kind():
    layers = parse_layers("conv8x5,pool,conv16x3s2valid:tanh,avgpool,128:sigmoid", "relu")
    assert [(l.kind, l.units, l.kernel, l.stride, l.padding, l.activation) for l in layers] == [
        ("conv", 8, 5, 1, "same", "relu"), ("maxpool", 64, 5, 1, "same", "identity"),
        ("conv", 16, 3, 2, "valid", "tanh"), ("avgpool", 64, 5, 1, "same", "identity"),
        ("dense", 128, 5, 1, "same", "sigmoid")]
    assert ",".join(map(layer_words, layers)) == "conv8x5,pool,conv16x3s2valid,avgpool,128"
    config = preset("mnist")
    config.architecture.hidden = layers
    assert type(config).from_toml(config.to_toml()) == config
    assert '{ kind = "maxpool", activation = "identity" }' in config.to_toml()


def test_a_pool_or_convolution_after_a_dense_layer_is_refused():
    config = preset("mnist")
    config.architecture.hidden = [Layer(32), Layer(8, "relu", "conv")]
    with pytest.raises(ConfigError, match=r"hidden\[1\] \(convolution\) comes after the dense"):
        validate_fields(config, "")


def test_shapes_and_parameters_follow_the_layers():
    network = small_network()
    # 12x11 -> conv same 4x12x11 -> pool 4x6x5 -> conv 3x3 s2 valid 6x2x2 -> avgpool 6x1x1
    assert network.feature_shapes == [(4, 12, 11), (4, 6, 5), (6, 2, 2), (6, 1, 1)]
    assert [layer.W.shape for layer in network.layers] == [(4, 1, 3, 3), (6, 4, 3, 3), (6, 16), (16, 3)]
    assert network.n_parameters == 4 * 9 + 4 + 6 * 36 + 6 + 6 * 16 + 16 + 16 * 3 + 3
    assert network.n_inputs == 132


@pytest.mark.parametrize("variant", [v for v in VARIANTS if "features" in VARIANTS[v]])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "identity"])
def test_every_layer_kind_passes_the_gradient_check(variant, activation):
    result = _check_one(activation, "softmax", "cross_entropy", variant, seed=3)
    assert result.worst < TOLERANCE, result.errors


def test_the_input_gradient_matches_central_differences():
    network = small_network()
    rng = np.random.default_rng(1)
    x, weights = rng.normal(size=(2, 132)), rng.normal(size=(2, 3))

    def value(inputs):
        return float(np.vdot(network.forward(inputs), weights))

    network.forward(x)
    analytic = network.backward(weights, input_grad=True).copy()
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += 1e-6
        above = value(moved)
        moved[index] -= 2e-6
        numeric[index] = (above - value(moved)) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@needs_torch
def test_logits_and_gradients_match_pytorch_in_float32():
    import torch
    import torch.nn.functional as F

    network = small_network(np.float32)
    x = np.random.default_rng(2).normal(size=(5, 132)).astype(np.float32)
    logits = network.forward(x, train=True).copy()
    dlogits = np.random.default_rng(3).normal(size=logits.shape).astype(np.float32)
    network.backward(dlogits)
    params = [torch.tensor(p.copy(), requires_grad=True) for _, p, _ in network.parameters()]
    w1, b1, w2, b2, w3, b3, w4, b4 = params
    a = F.max_pool2d(F.relu(F.conv2d(torch.tensor(x).reshape(5, 1, 12, 11), w1, b1, padding=1)), 2)
    a = torch.tanh(F.avg_pool2d(F.relu(F.conv2d(a, w2, b2, stride=2)), 2))
    a = F.relu(a.flatten(1) @ w3 + b3)
    out = a @ w4 + b4
    out.backward(torch.tensor(dlogits))
    np.testing.assert_allclose(logits, out.detach().numpy(), atol=1e-5)
    for (name, _, grad), param in zip(network.parameters(), params):
        np.testing.assert_allclose(grad, param.grad.numpy(), atol=1e-5, err_msg=name)


def test_the_dense_layers_read_the_last_feature_map_flattened_in_c_order():
    network = small_network()
    network.forward(np.random.default_rng(3).random((3, 132)))
    maps = network.feature_maps()[-1]  # a view of the maps' row layout (conv.py)
    np.testing.assert_array_equal(network._inputs[0], np.ascontiguousarray(maps).reshape(3, -1))
    assert [a.shape for a in network.hidden_activations] == [(3, 4, 12, 11), (3, 6, 2, 2), (3, 16)]


def test_a_dead_filter_is_one_that_fires_nowhere():
    network = small_network(np.float32)
    network.layers[0].W[1] = 0
    network.layers[0].b[1] = -1  # filter 2 of 4 never fires: a quarter of the first layer dead
    network.forward(np.random.default_rng(0).random((4, 132), np.float32))
    dead, _ = network.unit_stats()[0]
    assert dead == pytest.approx(0.25)


def mnist_conv(layers="conv8x5,pool,conv16x5,pool,128"):
    config = preset("mnist")
    config.architecture.hidden = parse_layers(layers, "relu")
    config.optimizer.name, config.learning_rate.value, config.batch.size = "adam", 0.001, 64
    return config


def test_the_same_seed_gives_the_same_run_bit_for_bit():
    config = mnist_conv("conv4x5,pool,32")
    config.architecture.dropout = 0.2
    runs = [Trainer(config) for _ in range(2)]
    losses = [[trainer.step().loss for _ in range(5)] for trainer in runs]
    assert losses[0] == losses[1]
    np.testing.assert_array_equal(runs[0].network.flat, runs[1].network.flat)


def test_convolutions_on_data_without_images_are_refused():
    config = preset("spiral")
    config.architecture.hidden = parse_layers("conv4x3,8", "relu")
    with pytest.raises(ConfigError, match="need images, and spiral holds none"):
        Trainer(config)


def test_a_kernel_larger_than_the_image_is_refused_naming_the_layer():
    with pytest.raises(ConfigError, match=r"layer 4 does not fit: a 5x5 kernel does not fit a "
                                          r"3x3 input.*the images are 28x28"):
        Trainer(mnist_conv("pool,pool,pool,conv2x5valid"))


def test_the_memory_estimate_counts_the_columns_and_refuses_a_full_batch_of_images():
    features = parse_layers("conv8x5,pool", "relu")
    needed = training_bytes([8 * 14 * 14, 10], 4, 64, 54_000, 0.0, features, (1, 28, 28))
    # forward: padded 32², columns 25·28², 3 outputs of 8·28²; pool 4·8·14²
    forward = 32 * 32 + 25 * 784 + 3 * 8 * 784 + 4 * 8 * 196
    assert needed["feature maps"] >= forward * 64 * 4
    config = mnist_conv()
    config.batch.mode = "full"
    with pytest.raises(ConfigError, match="conv8x5,pool,conv16x5,pool,784-128-10 network needs"):
        Trainer(config)


def test_evaluation_in_chunks_gives_the_loss_of_one_pass():
    config = mnist_conv("conv2x3,pool,10")
    config.data.validation_split = 0.01  # 540 examples
    trainer = Trainer(config)
    assert trainer._eval_rows < 10_000  # the test set is evaluated in chunks
    in_one = trainer.evaluate("validation")
    trainer._eval_rows = 7
    in_chunks = trainer.evaluate("validation")
    assert in_chunks[0] == pytest.approx(in_one[0], rel=1e-5) and in_chunks[1] == in_one[1]
