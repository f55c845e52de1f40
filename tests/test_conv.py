"""The convolution and pooling kernels (engine/conv.py): forward against naive loops written
here, backward against central finite differences in float64 and against PyTorch where it is
installed, max-pooling's routing of ties, and a warm pass that allocates no buffer."""

import importlib.util
import itertools

import numpy as np
import pytest

from gdplayground.engine.conv import (
    AvgPool2D, Conv2D, MaxPool2D, conv_fans, conv_output_shape)
from gdplayground.engine.network import Workspace, _carver

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="torch is not installed (pip install torch==2.13.0)")

# (C_in, C_out, k, stride, padding, H, W): odd and even sizes, one and several channels
CASES = [(1, 1, 3, 1, "same", 5, 5), (1, 4, 5, 1, "same", 8, 7), (3, 2, 3, 2, "same", 7, 8),
         (2, 3, 3, 1, "valid", 6, 5), (2, 5, 5, 2, "valid", 9, 10), (4, 2, 1, 2, "same", 5, 6),
         (3, 3, 3, 2, "same", 6, 6)]


def make_conv(c_in, c_out, k, stride, padding, *, dtype=np.float64, bias=True, seed=0):
    """A Conv2D on views of one flat array, as the Network will hand them out, with He weights
    and a random bias (a zero bias would hide a bias added to the wrong axis)."""
    size = c_out * c_in * k * k + (c_out if bias else 0)
    carve = _carver(np.zeros(size, dtype), np.zeros(size, dtype))
    W, dW = carve((c_out, c_in, k, k))
    b, db = carve((c_out,) if bias else None)
    conv = Conv2D(c_in, c_out, k, W, b, dW, db, Workspace(dtype), stride=stride, padding=padding)
    rng = np.random.default_rng(seed)
    conv.initialise("he", 0.0, rng)
    if bias:
        b[...] = rng.normal(0, 0.5, c_out)
    return conv


def naive_conv(x, W, b, stride, pad):
    """The definition, one output at a time."""
    n, _, h, w = x.shape
    c_out, _, k, _ = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    h_out, w_out = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    out = np.zeros((n, c_out, h_out, w_out))
    for i, o, y, z in itertools.product(range(n), range(c_out), range(h_out), range(w_out)):
        window = xp[i, :, y * stride:y * stride + k, z * stride:z * stride + k]
        out[i, o, y, z] = np.sum(window * W[o]) + (b[o] if b is not None else 0)
    return out


def naive_max_pool(x):
    n, c, h, w = x.shape
    out = np.empty((n, c, h // 2, w // 2), x.dtype)
    for i, j, y, z in np.ndindex(out.shape):
        out[i, j, y, z] = x[i, j, 2 * y:2 * y + 2, 2 * z:2 * z + 2].max()
    return out


def numeric_gradient(f, a, h=1e-6):
    """Central differences of the scalar f() with respect to every element of `a`, in place."""
    grad = np.zeros_like(a)
    for index in np.ndindex(a.shape):
        saved = a[index]
        a[index] = saved + h
        up = f()
        a[index] = saved - h
        down = f()
        a[index] = saved
        grad[index] = (up - down) / (2 * h)
    return grad


def relative_error(analytic, numeric):
    return np.linalg.norm(analytic - numeric) / max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-300)


# --- shapes -------------------------------------------------------------------------------

def test_output_shape_is_floor_of_the_padded_size_over_the_stride():
    assert conv_output_shape(28, 28, 5, 1, "same") == (28, 28)
    assert conv_output_shape(28, 28, 5, 1, "valid") == (24, 24)
    assert conv_output_shape(7, 8, 3, 2, "same") == (4, 4)  # ceil(H/2) at stride 2
    assert conv_output_shape(9, 10, 5, 2, "valid") == (3, 3)
    assert make_conv(3, 8, 3, 2, "same").output_shape((3, 7, 8)) == (8, 4, 4)
    assert MaxPool2D(Workspace(np.float32)).output_shape((8, 7, 9)) == (8, 3, 4)  # floor
    assert conv_fans(8, 16, 5) == (200, 400)


def test_bad_shapes_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="odd kernel"):
        conv_output_shape(8, 8, 4, 1, "same")
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_shape(3, 3, 5, 1, "valid")
    with pytest.raises(ValueError, match="stride"):
        make_conv(1, 1, 3, 3, "same")
    with pytest.raises(ValueError, match="channels"):
        make_conv(2, 1, 3, 1, "same").output_shape((3, 5, 5))


# --- forward ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv_forward_matches_the_naive_loops(case, dtype):
    c_in, c_out, k, stride, padding, h, w = case
    conv = make_conv(c_in, c_out, k, stride, padding, dtype=dtype)
    x = np.random.default_rng(1).normal(size=(3, c_in, h, w)).astype(dtype)
    out = conv.forward(x)
    expected = naive_conv(x.astype(np.float64), conv.W.astype(np.float64), conv.b.astype(np.float64),
                          stride, conv.pad)
    assert out.dtype == dtype and out.shape == (3, *conv.output_shape((c_in, h, w)))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5 if dtype == np.float32 else 1e-12)


def test_conv_without_bias_and_on_a_non_contiguous_input():
    conv = make_conv(2, 3, 3, 1, "same", bias=False)
    x = np.random.default_rng(2).normal(size=(4, 5, 6, 2)).transpose(0, 3, 1, 2)  # a view
    np.testing.assert_allclose(conv.forward(x), naive_conv(x, conv.W, None, 1, 1), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (2, 2, 7, 5)], ids=str)
def test_pooling_forward_matches_the_naive_loops(shape, dtype):
    x = np.random.default_rng(3).normal(size=shape).astype(dtype)
    np.testing.assert_array_equal(MaxPool2D(Workspace(dtype)).forward(x), naive_max_pool(x))
    n, c, h, w = shape
    average = x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(AvgPool2D(Workspace(dtype)).forward(x), average, rtol=0, atol=1e-6)


# --- backward -----------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv_backward_matches_finite_differences(case):
    c_in, c_out, k, stride, padding, h, w = case
    conv = make_conv(c_in, c_out, k, stride, padding)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, c_in, h, w))
    weights = rng.normal(size=(2, *conv.output_shape((c_in, h, w))))  # L = Σ weights · out

    def loss():
        return float(np.sum(conv.forward(x, train=True) * weights))
    loss()
    dx = conv.backward(weights).copy()
    assert relative_error(conv.dW, numeric_gradient(loss, conv.W)) < 1e-6
    assert relative_error(conv.db, numeric_gradient(loss, conv.b)) < 1e-6
    assert relative_error(dx, numeric_gradient(loss, x)) < 1e-6


def test_the_first_layer_skips_its_input_gradient_but_fills_its_own():
    conv = make_conv(1, 2, 3, 1, "same")
    x = np.random.default_rng(5).normal(size=(2, 1, 5, 5))
    grad = np.ones((2, 2, 5, 5))
    conv.forward(x, train=True)
    assert conv.backward(grad, need_input_grad=False) is None
    np.testing.assert_allclose(conv.db, [50, 50])
    assert "dcols" not in {key[-1] for key in conv.workspace._buffers}


@pytest.mark.parametrize("pool", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("shape", [(2, 2, 4, 6), (1, 3, 5, 7)], ids=str)
def test_pooling_backward_matches_finite_differences(pool, shape):
    layer = pool(Workspace(np.float64))
    rng = np.random.default_rng(6)
    x = rng.normal(size=shape)  # no ties: random floats
    weights = rng.normal(size=(shape[0], *layer.output_shape(shape[1:])))

    def loss():
        return float(np.sum(layer.forward(x, train=True) * weights))
    loss()
    layer.backward(weights).fill(np.nan)  # what a last pass may leave in the buffer
    dx = layer.backward(weights)
    assert relative_error(dx, numeric_gradient(loss, x)) < 1e-6
    if shape[2] % 2:
        assert not dx[:, :, -1].any() and not dx[:, :, :, -1].any()  # floor: the dropped edge


def test_max_pool_routes_a_tie_to_the_first_maximum_only():
    x = np.array([[[[1.0, 3.0, 2.0, 2.0],
                    [3.0, 0.0, 2.0, 2.0]]]])
    pool = MaxPool2D(Workspace(np.float64))
    np.testing.assert_array_equal(pool.forward(x, train=True), [[[[3.0, 2.0]]]])
    dx = pool.backward(np.array([[[[10.0, 20.0]]]]))
    np.testing.assert_array_equal(dx, [[[[0, 10, 20, 0],
                                         [0, 0, 0, 0]]]])


# --- against PyTorch ----------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv_and_max_pool_match_torch_in_float32(case):
    import torch
    import torch.nn.functional as F

    c_in, c_out, k, stride, padding, h, w = case
    conv = make_conv(c_in, c_out, k, stride, padding, dtype=np.float32)
    pool = MaxPool2D(conv.workspace)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, c_in, h, w)).astype(np.float32)
    out = conv.forward(x, train=True)
    pooled = pool.forward(out, train=True)
    weights = rng.normal(size=pooled.shape).astype(np.float32)
    dx = conv.backward(pool.backward(weights))

    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, conv.W.copy(), conv.b.copy()))
    out_t = F.conv2d(xt, Wt, bt, stride=stride, padding=conv.pad)
    pooled_t = F.max_pool2d(out_t, 2)
    (pooled_t * torch.from_numpy(weights)).sum().backward()
    for ours, theirs in [(out, out_t), (pooled, pooled_t), (dx, xt.grad), (conv.dW, Wt.grad),
                         (conv.db, bt.grad)]:
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-5)


# --- buffers ------------------------------------------------------------------------------

def test_a_warm_pass_allocates_no_buffer_and_a_smaller_batch_reuses_them():
    conv = make_conv(2, 4, 3, 1, "same", dtype=np.float32)
    pool = MaxPool2D(conv.workspace)
    rng = np.random.default_rng(8)

    def step(batch):
        out = pool.forward(conv.forward(rng.normal(size=(batch, 2, 8, 8)).astype(np.float32), True), True)
        conv.backward(pool.backward(np.ones_like(out)))
        return {key: id(buffer) for key, buffer in conv.workspace._buffers.items()}
    first = step(6)
    assert step(6) == first
    assert step(3) == first  # the last, smaller batch of an epoch


def test_a_warm_pass_makes_no_array_sized_temporary():
    """tracemalloc sees NumPy's arrays: a hidden copy (np.dot copying a badly laid-out operand,
    a mask built by a comparison) would show as a peak the size of an activation, 0.5 MB and up
    here. What remains is NumPy's iterator buffers for strided and casting loops (64–102 KB)."""
    import tracemalloc

    conv = make_conv(4, 8, 5, 1, "same", dtype=np.float32)
    pool = MaxPool2D(conv.workspace)
    x = np.random.default_rng(9).normal(size=(64, 4, 16, 16)).astype(np.float32)  # 256 KB
    grad = np.ones((64, 8, 8, 8), np.float32)

    def step():
        pool.forward(conv.forward(x, True), True)
        conv.backward(pool.backward(grad))
    step()
    tracemalloc.start()
    try:
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert conv.forward(x).nbytes == 512 * 1024 and peak < 120_000


def test_maps_are_stored_by_rows_and_handed_out_as_views():
    """The layout the speed rests on (conv.py's docstring): each map is a (batch, C, H, W) view
    of an (H, C, W, batch) buffer, the forward pass's rows and the input gradient alike."""
    conv = make_conv(2, 3, 3, 1, "same", dtype=np.float32)
    pool = MaxPool2D(conv.workspace)
    x = np.random.default_rng(10).normal(size=(4, 2, 6, 6)).astype(np.float32)
    out = conv.forward(x, True)
    pooled = pool.forward(out, True)
    dx = conv.backward(pool.backward(np.ones_like(pooled)))  # the padded gradient's interior
    for maps in (out, pooled, dx):
        rows = maps.transpose(2, 1, 3, 0)
        assert rows.strides[-1] == rows.itemsize and list(rows.strides) == sorted(rows.strides)[::-1]
    assert out.transpose(2, 1, 3, 0).flags.c_contiguous
