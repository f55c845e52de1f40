"""Convolution and pooling layers: the kernels a convolutional network is made of.

Activations have NCHW shape (batch, channels, height, width); a layer's `output_shape` speaks of one
example, (channels, height, width). Convolution weights are (C_out, C_in, k, k), as PyTorch keeps
them, so an export is a copy.

A convolution is BLAS products over im2col columns, one output row at a time. The feature maps
are stored by rows, (H, C, W, batch) in memory, and handed out as (batch, C, H, W) views
(`_maps`). An output row's columns are then a (C_in·k·k, W_out·batch) matrix whose gather copies
runs of W_out·batch values (896 for conv16x5 on 14x14 maps at batch 64, against runs of W_out = 14
in NCHW), and its product writes that row of the next map in place: gathered and multiplied row
by row, the columns are multiplied while in the cache (the whole (C_in·k·k, H_out·W_out·batch)
matrix is 10 MB for conv16x5, and gathering it all first took twice as long). The gradient
arrives in the same layout, so dW and the input gradient are batched products with no
transpose; the input image (into the padded copy) and the flattened last map are the only
arrays transposed, and they are the smallest.

Measured on the bench row (e), whole training steps against PyTorch's on one thread each, in
turns (in CPU time, which the machine's other jobs do not inflate, in brackets): NCHW with one
gather and transposes around each product 0.61 (0.66); maps stored batch-last (C, H, W, batch),
no transposes, 0.83 (0.76); by rows, gathered and multiplied row by row, 0.87–0.92 (0.92). Per
part, in CPU time: the rows took conv16x5's forward from 3.85 to 2.8 ms and conv8x5's from 1.65
to 1.25 ms. Set aside: the backward pass row by row too (dcols and col2im per row, in the
cache: 6.2 ms against 5.9 for whole batched products and k² whole adds: 350 small adds); one
2-D product each for dW and dcols over a (C_in·k·k, H_out·W_out·batch) matrix, after copying
the gradient to channels first (5.2 ms against 4.1); the bias added row by row (no faster).

Measured on the bench stack (benchmarks/conv_speed.py) and set aside: a batched np.matmul over
(batch, C_in·k·k, H_out·W_out) columns, which needs no transposes but takes dW as a sum of
per-example products (5–10 times slower for conv16x5); and reading each padded plane as one
flat row (each kernel offset's column one long run, with junk columns between output rows):
the gather and col2im ran faster, the longer products more than ate it.

Every array a pass writes lives in the caller's `Workspace`, as a flat buffer that only grows
(`_buffer`): a warm pass allocates nothing, and a smaller last batch or a larger evaluation
batch reuses the same memory instead of swapping buffers.

The network (network.py) flattens the last feature map for the dense layers in C order (as
torch.flatten, so an exported network reads the same features): a copy, of the smallest map.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from gdplayground.engine.activations import ACTIVATIONS, Activation

PADDINGS = ("same", "valid")


def _buffer(workspace, key, shape, dtype=None) -> np.ndarray:
    """A C-contiguous array of `shape` from the workspace: the first prod(shape) elements of a
    flat buffer that grows and never shrinks, so changing batch sizes never reallocate it."""
    size = int(np.prod(shape))
    return workspace.get(key, size, 1, dtype).reshape(shape)


def _maps(workspace, key, shape, dtype=None) -> np.ndarray:
    """A (batch, C, H, W) array from the workspace, stored by rows, (H, C, W, batch) in memory:
    the layout the convolutions read and write (see the module's docstring)."""
    n, c, h, w = shape
    return _buffer(workspace, key, (h, c, w, n), dtype).transpose(3, 1, 0, 2)


def _copy(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    np.copyto(target, source)
    return target


def conv_padding(k: int, padding: str) -> int:
    """Zeros added on each side: k//2 for "same" (odd k only, so that the padding is the same on
    both sides and PyTorch's conv2d(padding=k//2) reproduces it), 0 for "valid"."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}")
    if padding == "same" and k % 2 == 0:
        raise ValueError(f"'same' padding needs an odd kernel size, not {k}")
    return k // 2 if padding == "same" else 0


def conv_output_shape(h: int, w: int, k: int, stride: int, padding: str) -> tuple[int, int]:
    """(H_out, W_out): floor((H + 2p − k) / stride) + 1, as PyTorch computes it. "same" keeps the
    size at stride 1 and gives ceil(H/2) at stride 2."""
    p = conv_padding(k, padding)
    h_out, w_out = (h + 2 * p - k) // stride + 1, (w + 2 * p - k) // stride + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"a {k}x{k} kernel does not fit a {h}x{w} input with {padding!r} padding")
    return h_out, w_out


def conv_fans(c_in: int, c_out: int, k: int) -> tuple[int, int]:
    """(fan_in, fan_out) for He and Xavier: each output sees C_in·k·k inputs, and each input
    reaches C_out·k·k outputs (away from the borders)."""
    return c_in * k * k, c_out * k * k


def initial_std(scheme: str, sigma: float, fan_in: int, fan_out: int) -> float:
    """The standard deviation of the initial weights, by the dense layers' rules."""
    return {"zeros": 0.0, "normal": sigma, "xavier": np.sqrt(2 / (fan_in + fan_out)),
            "he": np.sqrt(2 / fan_in)}[scheme]


class Conv2D:
    """k×k convolution, stride 1 or 2, "same" or "valid" padding, C_in → C_out channels.
    `activation` is the one applied after it in a network (the layer itself computes none).

    W (C_out, C_in, k, k), b (C_out,) or None, and their gradients dW and db are views the
    caller hands in (the Network's flat arrays, as for Dense), so an optimizer step sees them.
    """

    def __init__(self, c_in: int, c_out: int, k: int, W, b, dW, db, workspace, *,
                 stride: int = 1, padding: str = "same", key=0,
                 activation: Activation = ACTIVATIONS["identity"]):
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, not {stride}")
        if W.shape != (c_out, c_in, k, k) or dW.shape != W.shape:
            raise ValueError(f"weights must be {(c_out, c_in, k, k)}, not {W.shape}")
        self.c_in, self.c_out, self.k, self.stride, self.padding = c_in, c_out, k, stride, padding
        self.pad = conv_padding(k, padding)
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self.workspace, self.key, self.activation = workspace, key, activation
        self._cols = None  # the last forward pass's columns, (C_in·k·k, batch·H_out·W_out)
        self._x_shape = None

    def output_shape(self, input_shape) -> tuple[int, int, int]:
        c, h, w = input_shape
        if c != self.c_in:
            raise ValueError(f"expected {self.c_in} channels, got {c}")
        return (self.c_out, *conv_output_shape(h, w, self.k, self.stride, self.padding))

    def parameters(self):
        """(parameter, gradient) pairs, weights first."""
        yield self.W, self.dW
        if self.b is not None:
            yield self.b, self.db

    @property
    def fans(self) -> tuple[int, int]:
        return conv_fans(self.c_in, self.c_out, self.k)

    def initialise(self, scheme: str, sigma: float, rng: np.random.Generator) -> None:
        """Draw the weights in float64 (both dtypes start from the same values); zero the bias."""
        std = initial_std(scheme, sigma, *self.fans)
        self.W[...] = rng.standard_normal(self.W.shape) * std if std else 0
        if self.b is not None:
            self.b[...] = 0

    def _get(self, name, shape, dtype=None):
        return _buffer(self.workspace, ("conv", self.key, name), shape, dtype)

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """(batch, C_out, H_out, W_out), stored by rows (`_maps`), in a workspace buffer the
        next pass overwrites. The columns stay for backward whether or not `train`: they are
        built either way."""
        n, c, h, w = x.shape
        _, h_out, w_out = self.output_shape((c, h, w))
        k, s, p = self.k, self.stride, self.pad
        padded = self._get("padded", (h + 2 * p, c, w + 2 * p, n))
        if p:  # the border only: the interior is overwritten just below
            padded[:p], padded[-p:], padded[:, :, :p], padded[:, :, -p:] = 0, 0, 0, 0
        padded[p:p + h, :, p:p + w] = x.transpose(2, 1, 3, 0)
        sh, sc, sw, sn = padded.strides
        windows = as_strided(padded, (h_out, c, k, k, w_out, n), (sh * s, sc, sh, sw, sw * s, sn),
                             writeable=False)
        cols = self._get("cols", (h_out, c * k * k, w_out * n))
        out = self._get("out", (h_out, self.c_out, w_out * n))
        weights = self.W.reshape(self.c_out, -1)
        for y in range(h_out):  # each row's columns multiplied while they are in the cache
            np.copyto(cols[y].reshape(c, k, k, w_out, n), windows[y])
            np.dot(weights, cols[y], out=out[y])
        if self.b is not None:  # after the rows: adding it row by row, in the cache, was no faster
            out += self.b[:, None]
        self._cols, self._x_shape = cols, x.shape
        return out.reshape(h_out, self.c_out, w_out, n).transpose(3, 1, 0, 2)

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Fill dW and db from dL/dout (batch, C_out, H_out, W_out); return dL/dx, or None when
        not `need_input_grad` (the first layer: no parameter depends on it). dL/dx is
        (batch, C_in, H, W), stored by rows, in a workspace buffer."""
        n = len(grad_out)
        h_out, w_out = grad_out.shape[2:]
        grad = grad_out.transpose(2, 1, 3, 0)  # (H_out, C_out, W_out, batch): as forward wrote it
        if not grad.flags.c_contiguous:  # a gradient from outside the feature layers
            grad = _copy(grad, self._get("grad", grad.shape))
        grad = grad.reshape(h_out, self.c_out, w_out * n)
        if self.db is not None:  # products with ones: 10 times faster than sums along rows
            ones = self._get("ones", (w_out * n,))
            ones[...] = 1
            np.add.reduce(np.dot(grad, ones, out=self._get("db rows", (h_out, self.c_out))),
                          axis=0, out=self.db)
        # colsᵀ·grad row by row, summed, then one transpose of the small result: the product
        # with the long inner dimension on both sides' rows ran twice as fast as grad·colsᵀ
        dW_shape = (self._cols.shape[1], self.c_out)
        dW_rows = np.matmul(self._cols, grad.transpose(0, 2, 1),
                            out=self._get("dW rows", (h_out, *dW_shape)))
        dW_t = np.add.reduce(dW_rows, axis=0, out=self._get("dW_t", dW_shape))
        np.copyto(self.dW.reshape(self.c_out, -1), dW_t.T)
        if not need_input_grad:
            return None
        dcols = np.matmul(self.W.reshape(self.c_out, -1).T, grad,
                          out=self._get("dcols", self._cols.shape))
        return self._col2im(dcols)

    def _col2im(self, dcols: np.ndarray) -> np.ndarray:
        """dL/dx from the columns' gradient (H_out, C_in·k·k, W_out·batch): each column added
        back onto the input position it was read from, k² slice adds of whole (H_out, C_in,
        W_out, batch) blocks (np.add.at would go element by element)."""
        n, c, h, w = self._x_shape
        k, s, p = self.k, self.stride, self.pad
        h_out = len(dcols)
        dcols = dcols.reshape(h_out, c, k, k, -1, n)
        w_out = dcols.shape[4]
        dpadded = self._get("dpadded", (h + 2 * p, c, w + 2 * p, n))
        dpadded[...] = 0
        for i in range(k):
            for j in range(k):
                dpadded[i:i + s * h_out:s, :, j:j + s * w_out:s] += dcols[:, :, i, j]
        return dpadded[p:p + h, :, p:p + w].transpose(3, 1, 0, 2)


class _Pool2x2:
    """2×2 windows at stride 2. An odd height or width drops its last row or column (floor, as
    PyTorch's default ceil_mode=False): those inputs reach no output and get zero gradient."""

    kind = ""

    def __init__(self, workspace, *, key=0, activation: Activation = ACTIVATIONS["identity"]):
        self.workspace, self.key, self.activation = workspace, key, activation
        self._x_shape = None

    def output_shape(self, input_shape) -> tuple[int, int, int]:
        c, h, w = input_shape
        if h < 2 or w < 2:
            raise ValueError(f"2x2 pooling needs at least 2x2 inputs, not {h}x{w}")
        return c, h // 2, w // 2

    def _get(self, name, shape, dtype=None):
        return _maps(self.workspace, (self.kind, self.key, name), shape, dtype)

    @staticmethod
    def _quarters(a: np.ndarray, h_out: int, w_out: int):
        """The four strided views (top-left, top-right, bottom-left, bottom-right) of each window."""
        return [a[:, :, i:2 * h_out:2, j:2 * w_out:2] for i in (0, 1) for j in (0, 1)]

    def _input_grad(self, x_shape) -> np.ndarray:
        """The input-gradient buffer, its dropped odd row and column zeroed."""
        h, w = x_shape[-2:]
        dx = self._get("dx", x_shape)
        if h % 2:
            dx[:, :, -1] = 0
        if w % 2:
            dx[:, :, :, -1] = 0
        return dx


class MaxPool2D(_Pool2x2):
    """2×2 max-pooling. The gradient goes to each window's maximum; on a tie to ONE element,
    the first in reading order, so the gradient is the derivative of the function computed.

    Two stages, each a comparison of neighbours: the larger of each horizontal pair, then the
    larger of each vertical pair of those. A tie goes left, then up: the first in reading
    order. Two masks ("the right one won", "the lower one won") route the gradient back; this
    is half the work of four masks of the four quarters."""

    kind = "maxpool"

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        n, c, h, w = x.shape
        _, h_out, w_out = self.output_shape((c, h, w))
        left, right = x[:, :, :2 * h_out, 0:2 * w_out:2], x[:, :, :2 * h_out, 1:2 * w_out:2]
        pairs = np.maximum(left, right, out=self._get("pairs", (n, c, 2 * h_out, w_out)))
        top, bottom = pairs[:, :, 0::2], pairs[:, :, 1::2]
        out = np.maximum(top, bottom, out=self._get("out", (n, c, h_out, w_out)))
        # The masks are kept after every pass, not only training's: saliency and the feature
        # maps backpropagate from an evaluation pass.
        self._right = np.greater(right, left, out=self._get("right won", pairs.shape, bool))
        self._lower = np.greater(bottom, top, out=self._get("lower won", out.shape, bool))
        self._x_shape = x.shape
        return out

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """dL/dx (batch, C, H, W), in a workspace buffer, for the last forward pass. The loser of each pair gets g − g·1 = 0 or g − g·0 = g: exact, no second mask."""
        if not need_input_grad:
            return None
        n, c, h, w = self._x_shape
        h_out, w_out = grad_out.shape[-2:]
        dpairs = self._get("dpairs", (n, c, 2 * h_out, w_out))
        lower = np.multiply(grad_out, self._lower, out=dpairs[:, :, 1::2])
        np.subtract(grad_out, lower, out=dpairs[:, :, 0::2])
        dx = self._input_grad(self._x_shape)
        right = np.multiply(dpairs, self._right, out=dx[:, :, :2 * h_out, 1:2 * w_out:2])
        np.subtract(dpairs, right, out=dx[:, :, :2 * h_out, 0:2 * w_out:2])
        return dx


class AvgPool2D(_Pool2x2):
    """2×2 average pooling: each input of a window gets a quarter of its gradient."""

    kind = "avgpool"

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        n, c, h, w = x.shape
        _, h_out, w_out = self.output_shape((c, h, w))
        q = self._quarters(x, h_out, w_out)
        out = self._get("out", (n, c, h_out, w_out))
        np.add(q[0], q[1], out=out)
        out += q[2]
        out += q[3]
        out *= out.dtype.type(0.25)
        self._x_shape = x.shape
        return out

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:
            return None
        dx = self._input_grad(self._x_shape)
        quarter_of = grad_out.dtype.type(0.25)
        for quarter in self._quarters(dx, *grad_out.shape[-2:]):
            np.multiply(grad_out, quarter_of, out=quarter)
        return dx


POOLS = {"maxpool": MaxPool2D, "avgpool": AvgPool2D}


def feature_shapes(features, input_shape) -> list[tuple[int, int, int]]:
    """Each feature layer's output (channels, height, width) on inputs of `input_shape`.
    `features` are layer settings (config.Layer: kind "conv" with units filters of kernel×kernel
    at stride and padding, or a pool). ValueError names the first layer that does not fit."""
    shapes, (c, h, w) = [], input_shape
    for number, spec in enumerate(features, start=1):
        try:
            if spec.kind == "conv":
                c, (h, w) = spec.units, conv_output_shape(h, w, spec.kernel, spec.stride, spec.padding)
            elif h < 2 or w < 2:
                raise ValueError(f"2x2 pooling needs at least a 2x2 input, not {h}x{w}")
            else:
                h, w = h // 2, w // 2
        except ValueError as exc:
            raise ValueError(f"layer {number} does not fit: {exc}") from None
        shapes.append((c, h, w))
    return shapes
