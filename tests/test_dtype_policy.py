"""One dtype policy (``backend.compute_dtype``): float16 computed as torch 2.13 computes it on
the CPU, or refused up front; never a crash inside a kernel.

float16 operands are computed in float32 and the result rounded once to float16, as torch's
CPU kernels accumulate half in float; outputs and gradients come back as float16 and agree
with torch's to a few float16 ulps of the largest value. ``avg_pool3d``, which torch 2.13 does
not implement for float16 on the CPU, raises a ``TypeError`` before any array work.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convforge as cf
import convforge.functional as F
from convforge import backend

HALF_RTOL = 4 * 2.0**-10  # four float16 ulps of the largest value


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1601)


def half(rng, *shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float16)


# op -> (call on a functional module and the operands, operands from rng); the first operand is
# the differentiated input
OPS = {
    "conv2d 1x1 (gemm crashed here)": (
        lambda m, x, w: m.conv2d(x, w),
        lambda r: (half(r, 2, 8, 5, 5), half(r, 4, 8, 1, 1)),
    ),
    "conv2d 3x3 stride 2": (
        lambda m, x, w: m.conv2d(x, w, stride=2, padding=1),
        lambda r: (half(r, 2, 4, 9, 9), half(r, 6, 4, 3, 3)),
    ),
    "conv1d grouped": (
        lambda m, x, w: m.conv1d(x, w, groups=2),
        lambda r: (half(r, 2, 4, 12), half(r, 6, 2, 3)),
    ),
    "conv3d": (lambda m, x, w: m.conv3d(x, w), lambda r: (half(r, 1, 2, 5, 5, 5), half(r, 3, 2, 2, 2, 2))),
    "conv_transpose2d": (
        lambda m, x, w: m.conv_transpose2d(x, w, stride=2),
        lambda r: (half(r, 1, 3, 5, 5), half(r, 3, 2, 3, 3)),
    ),
    "linear": (lambda m, x, w: m.linear(x, w), lambda r: (half(r, 3, 64), half(r, 5, 64))),
    "max_pool2d": (lambda m, x: m.max_pool2d(x, 3, 2, 1), lambda r: (half(r, 2, 3, 9, 9),)),
    "avg_pool2d": (lambda m, x: m.avg_pool2d(x, 3, 2, 1), lambda r: (half(r, 2, 3, 9, 9),)),
    "avg_pool1d": (lambda m, x: m.avg_pool1d(x, 4), lambda r: (half(r, 2, 3, 16),)),
    "adaptive_avg_pool2d": (lambda m, x: m.adaptive_avg_pool2d(x, 4), lambda r: (half(r, 2, 3, 9, 9),)),
    "adaptive_max_pool2d": (lambda m, x: m.adaptive_max_pool2d(x, 4), lambda r: (half(r, 2, 3, 9, 9),)),
    "unfold": (lambda m, x: m.unfold(x, 3, padding=1), lambda r: (half(r, 1, 2, 6, 6),)),
    "softmax": (lambda m, x: m.softmax(x, 1), lambda r: (half(r, 4, 10),)),
    "log_softmax": (lambda m, x: m.log_softmax(x, 1), lambda r: (half(r, 4, 10),)),
    "gelu": (lambda m, x: m.gelu(x), lambda r: (half(r, 4, 10),)),
    "sigmoid": (lambda m, x: m.sigmoid(x), lambda r: (half(r, 4, 10),)),
    "tanh": (lambda m, x: m.tanh(x), lambda r: (half(r, 4, 10),)),
    "cross_entropy": (lambda m, x, t: m.cross_entropy(x, t), lambda r: (half(r, 6, 5), r.integers(0, 5, 6))),
    "mse_loss": (lambda m, x, t: m.mse_loss(x, t), lambda r: (half(r, 6, 5), half(r, 6, 5))),
}


def _run(module, call, operands, grad_seed: int):
    """(output, input gradient) of ``call`` in convforge or torch."""
    if module is F:
        tensors = [cf.tensor(a, requires_grad=np.issubdtype(a.dtype, np.floating)) for a in operands]
    else:
        tensors = [torch.tensor(a, requires_grad=np.issubdtype(a.dtype, np.floating)) for a in operands]
    y = call(module, *tensors)
    y = y[0] if isinstance(y, tuple) else y
    gy = np.random.default_rng(grad_seed).standard_normal(tuple(y.shape)).astype(np.float16)
    y.backward(gy if module is F else torch.from_numpy(gy))
    out = y.array if module is F else y.detach().numpy()
    grad = tensors[0].grad
    return out, grad.array if module is F else grad.numpy()


def _assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == np.float16
    scale = max(float(np.abs(theirs.astype(np.float64)).max(initial=0.0)), 1.0)
    np.testing.assert_allclose(
        ours.astype(np.float64), theirs.astype(np.float64), rtol=0, atol=HALF_RTOL * scale
    )


@pytest.mark.parametrize("op", OPS, ids=str)
def test_float16_is_computed_as_torch_computes_it_on_the_cpu(rng, op):
    call, make = OPS[op]
    operands = make(rng)
    ours = _run(F, call, operands, 7)
    theirs = _run(TF, call, operands, 7)
    _assert_close(ours[0], theirs[0])
    _assert_close(ours[1], theirs[1])


def test_avg_pool3d_refuses_float16_up_front_as_torch_does_not_compute_it(rng):
    x = half(rng, 1, 2, 4, 4, 4)
    with pytest.raises(NotImplementedError):
        TF.avg_pool3d(torch.from_numpy(x), 2)
    with pytest.raises(
        TypeError, match="avg_pool3d: input must be float32 or float64, but got input of dtype float16"
    ):
        F.avg_pool3d(x, 2)


def test_the_policy_computes_half_in_float_and_the_rest_in_their_own_precision():
    assert backend.compute_dtype(np.float16) == np.float32
    assert backend.compute_dtype(np.float32) == np.float32
    assert backend.compute_dtype(np.float64) == np.float64


@pytest.mark.parametrize("algorithm", ["im2col", "gemm", "reference", "fft", "winograd_f2"])
def test_every_forced_algorithm_takes_float16_without_crashing(rng, algorithm):
    x, w = half(rng, 1, 4, 6, 6), half(rng, 2, 4, 3, 3)
    y = F.conv2d(x, w, algorithm=algorithm)
    expected = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    _assert_close(y.array, expected)
