"""unfold (im2col) and fold (col2im) against PyTorch 2.13.

torch's ``F.unfold``/``F.fold`` exist only for 2-D images, where we compare directly; our
1-D and 3-D versions are compared with torch's convolution by one-hot kernels (unfold is the
convolution of every channel with the identity kernels, fold its transposed convolution).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convforge as cf
import convforge.functional as F
from conftest import assert_close, to_torch

HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (kernel, dilation, padding, stride), torch's argument order after the kernel
GEOMETRIES = [
    (k, d, p, s)
    for k, d, p, s in itertools.product([1, 2, 3, (2, 3)], [1, 2], [0, 1, (2, 0)], [1, 2, (1, 3)])
    if not (k == 3 and d == 2 and p == 0)  # keeps the grid short; covered by the rest
]


def geometry_id(geometry) -> str:
    return "k{}-d{}-p{}-s{}".format(*geometry)


def backprop(out: cf.Tensor, theirs: torch.Tensor, rng) -> None:
    grad = rng.standard_normal(tuple(theirs.shape)).astype(out.dtype)
    out.backward(grad)
    theirs.backward(torch.tensor(grad))


def fold_size(spatial, kernel, dilation, padding, stride) -> int:
    """torch's block count, computed here independently of convforge.spec."""
    count = 1
    for i, k, d, p, s in zip(spatial, kernel, dilation, padding, stride):
        count *= (i + 2 * p - d * (k - 1) - 1) // s + 1
    return count


def per_dim(value, n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)


# --------------------------------------------------------------------------------------
# 2-D: direct parity
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=geometry_id)
def test_unfold_values_and_grad_match_torch(geometry, batched, rng):
    x = rng.standard_normal((2, 3, 7, 6) if batched else (3, 7, 6))
    ours_x, theirs_x = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    ours, theirs = F.unfold(ours_x, *geometry), TF.unfold(theirs_x, *geometry)
    assert_close(ours, theirs)
    backprop(ours, theirs, rng)
    assert_close(ours_x.grad, theirs_x.grad)


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=geometry_id)
def test_fold_values_and_grad_match_torch(geometry, batched, rng):
    size = (7, 6)
    kernel, dilation, padding, stride = (per_dim(v, 2) for v in geometry)
    shape = (3 * math.prod(kernel), fold_size(size, kernel, dilation, padding, stride))
    cols = rng.standard_normal((2, *shape) if batched else shape)
    ours_c, theirs_c = cf.tensor(cols, requires_grad=True), to_torch(cols, requires_grad=True)
    ours, theirs = F.fold(ours_c, size, *geometry), TF.fold(theirs_c, size, *geometry)
    assert_close(ours, theirs)
    backprop(ours, theirs, rng)
    assert_close(ours_c.grad, theirs_c.grad)


@pytest.mark.parametrize("geometry", GEOMETRIES[::5], ids=geometry_id)
def test_unfold_and_fold_match_torch_float32(geometry, rng):
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    ours, theirs = F.unfold(x, *geometry), TF.unfold(to_torch(x), *geometry)
    assert ours.dtype == np.float32
    assert_close(ours, theirs, np.float32)
    assert_close(F.fold(ours, (7, 6), *geometry), TF.fold(theirs, (7, 6), *geometry), np.float32)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=geometry_id)
def test_fold_of_unfold_is_the_input_times_its_window_count_as_torch(geometry, rng):
    x = rng.standard_normal((2, 3, 7, 6))
    ours = F.fold(F.unfold(x, *geometry), (7, 6), *geometry)
    assert_close(ours, TF.fold(TF.unfold(to_torch(x), *geometry), (7, 6), *geometry))
    assert_close(ours, x * window_count((7, 6), *geometry))


def window_count(spatial, kernel, dilation, padding, stride) -> np.ndarray:
    """How many sliding blocks read each cell, by brute force over blocks and taps."""
    n = len(spatial)
    kernel, dilation, padding, stride = (per_dim(v, n) for v in (kernel, dilation, padding, stride))
    out = [
        (i + 2 * p - d * (k - 1) - 1) // s + 1
        for i, k, d, p, s in zip(spatial, kernel, dilation, padding, stride)
    ]
    count = np.zeros(spatial)
    for block in itertools.product(*map(range, out)):
        for tap in itertools.product(*map(range, kernel)):
            cell = tuple(b * s - p + t * d for b, s, p, t, d in zip(block, stride, padding, tap, dilation))
            if all(0 <= c < i for c, i in zip(cell, spatial)):
                count[cell] += 1
    return count


# --------------------------------------------------------------------------------------
# 1-D and 3-D: against torch's convolution by one-hot kernels
# --------------------------------------------------------------------------------------
def one_hot_kernels(kernel: tuple[int, ...]) -> torch.Tensor:
    """``(K, 1, *kernel)``: kernel ``t`` picks tap ``t`` (C order), so a convolution by
    them lists each window's taps, unfold's rows."""
    taps = math.prod(kernel)
    return torch.eye(taps, dtype=torch.float64).reshape(taps, 1, *kernel)


def torch_unfold_nd(x: torch.Tensor, kernel, dilation, padding, stride) -> torch.Tensor:
    n_batch, channels, *spatial = x.shape
    conv = (TF.conv1d, TF.conv2d, TF.conv3d)[len(spatial) - 1]
    blocks = conv(
        x.reshape(n_batch * channels, 1, *spatial), one_hot_kernels(kernel), None, stride, padding, dilation
    )
    return blocks.reshape(n_batch, channels * math.prod(kernel), -1)


def torch_fold_nd(cols: torch.Tensor, size, kernel, dilation, padding, stride) -> torch.Tensor:
    n = len(size)
    out = [
        (i + 2 * p - d * (k - 1) - 1) // s + 1
        for i, k, d, p, s in zip(size, kernel, dilation, padding, stride)
    ]
    full = [
        (o - 1) * s - 2 * p + d * (k - 1) + 1 for o, k, d, p, s in zip(out, kernel, dilation, padding, stride)
    ]
    output_padding = [i - f for i, f in zip(size, full)]  # cells no block reaches
    n_batch, taps = cols.shape[0], math.prod(kernel)
    channels = cols.shape[1] // taps
    conv_t = (TF.conv_transpose1d, TF.conv_transpose2d, TF.conv_transpose3d)[n - 1]
    blocks = cols.reshape(n_batch * channels, taps, *out)
    image = conv_t(blocks, one_hot_kernels(kernel), None, stride, padding, output_padding, 1, dilation)
    return image.reshape(n_batch, channels, *size)


ND_CASES = [
    ((9,), (3,), (2,), (1,), (2,)),
    ((8,), (2,), (1,), (0,), (3,)),
    ((5, 6, 7), (2, 3, 2), (1, 1, 2), (0, 1, 1), (1, 2, 2)),
    ((4, 5, 4), (3, 2, 2), (2, 1, 1), (1, 0, 1), (2, 1, 3)),
]


@pytest.mark.parametrize(("size", "kernel", "dilation", "padding", "stride"), ND_CASES, ids=str)
def test_unfold_nd_matches_torch_convolution_by_one_hot_kernels(size, kernel, dilation, padding, stride, rng):
    x = rng.standard_normal((2, 3, *size))
    ours_x, theirs_x = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    ours = F.unfold(ours_x, kernel, dilation, padding, stride)
    theirs = torch_unfold_nd(theirs_x, kernel, dilation, padding, stride)
    assert_close(ours, theirs)
    backprop(ours, theirs, rng)
    assert_close(ours_x.grad, theirs_x.grad)


@pytest.mark.parametrize(("size", "kernel", "dilation", "padding", "stride"), ND_CASES, ids=str)
def test_fold_nd_matches_torch_transposed_convolution_by_one_hot_kernels(
    size, kernel, dilation, padding, stride, rng
):
    cols = rng.standard_normal((2, 3 * math.prod(kernel), fold_size(size, kernel, dilation, padding, stride)))
    ours_c, theirs_c = cf.tensor(cols, requires_grad=True), to_torch(cols, requires_grad=True)
    ours = F.fold(ours_c, size, kernel, dilation, padding, stride)
    theirs = torch_fold_nd(theirs_c, size, kernel, dilation, padding, stride)
    assert_close(ours, theirs)
    backprop(ours, theirs, rng)
    assert_close(ours_c.grad, theirs_c.grad)


@pytest.mark.parametrize(("size", "kernel", "dilation", "padding", "stride"), ND_CASES, ids=str)
def test_fold_nd_of_unfold_is_the_input_times_its_window_count(size, kernel, dilation, padding, stride, rng):
    x = rng.standard_normal((3, *size))  # unbatched
    cols = F.unfold(x, kernel, dilation, padding, stride)
    assert cols.ndim == 2
    restored = F.fold(cols, size, kernel, dilation, padding, stride)
    assert_close(restored, x * window_count(size, kernel, dilation, padding, stride))


def test_unfold_takes_the_spatial_rank_from_a_kernel_tuple_and_defaults_to_two():
    x = np.ones((2, 3, 4, 5))
    assert F.unfold(x, 2).shape == (2, 3 * 4, 3 * 4)  # batched 2-D, as torch
    assert F.unfold(x, (2, 2, 2)).shape == (2 * 8, 2 * 3 * 4)  # an unbatched 3-D input
    assert F.unfold(x[0], (2,)).shape == (3, 4 * 2, 4)  # a batch of 1-D signals


@pytest.mark.parametrize(("size", "kernel", "dilation", "padding", "stride"), ND_CASES[::2], ids=str)
def test_unfold_and_fold_pass_gradcheck(size, kernel, dilation, padding, stride, rng):
    x = cf.tensor(rng.standard_normal((1, 2, *size)), requires_grad=True)
    assert cf.gradcheck(lambda t: F.unfold(t, kernel, dilation, padding, stride), [x])
    blocks = fold_size(size, kernel, dilation, padding, stride)
    cols = cf.tensor(rng.standard_normal((1, 2 * math.prod(kernel), blocks)), requires_grad=True)
    assert cf.gradcheck(lambda t: F.fold(t, size, kernel, dilation, padding, stride), [cols])


def test_unfold_and_fold_pass_gradcheck_in_2d(rng):
    x = cf.tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True)
    assert cf.gradcheck(lambda t: F.unfold(t, (2, 3), 1, 1, (2, 1)), [x])
    cols = cf.tensor(rng.standard_normal((1, 12, 12)), requires_grad=True)
    assert cf.gradcheck(lambda t: F.fold(t, (5, 4), (2, 3), 1, 1, (2, 1)), [cols])


# --------------------------------------------------------------------------------------
# invalid arguments
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "argument"),
    [
        (lambda x: F.unfold(x, 0), ValueError, "kernel_size"),
        (lambda x: F.unfold(x, 2, stride=0), ValueError, "stride"),
        (lambda x: F.unfold(x, 2, dilation=0), ValueError, "dilation"),
        (lambda x: F.unfold(x, 2, padding=-1), ValueError, "padding"),
        (lambda x: F.unfold(x, 6), ValueError, "sliding blocks"),
        (lambda x: F.unfold(x, 2.5), TypeError, "kernel_size"),
        (lambda x: F.unfold(x.astype(np.int64), 2), TypeError, "input"),
        (lambda x: F.fold(F.unfold(x, 2).array, (5, 5), 3), ValueError, "divisible"),
        (lambda x: F.fold(F.unfold(x, 2).array, (6, 5), 2), ValueError, "sliding blocks"),
        (lambda x: F.fold(F.unfold(x, 2).array, 0, 2), ValueError, "output_size"),
        (lambda x: F.fold(x, (5, 5), 2), ValueError, "input"),
    ],
)
def test_invalid_unfold_fold_argument_raises_naming_it(call, error, argument):
    with pytest.raises(error, match=argument):
        call(np.ones((2, 3, 5, 5)))


def torch_raises(call) -> bool:
    try:
        call()
    except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError):
        return True
    return False


def ours_raise(call) -> bool:
    try:
        call()
    except (ValueError, TypeError):
        return True
    return False


two_ints = st.integers(-1, 4) | st.tuples(st.integers(-1, 4), st.integers(-1, 4))


@HYPOTHESIS
@given(
    shape=st.lists(st.integers(0, 6), min_size=3, max_size=4),
    kernel=two_ints,
    dilation=two_ints,
    padding=two_ints,
    stride=two_ints,
)
def test_random_unfold_arguments_raise_iff_torch_raises(shape, kernel, dilation, padding, stride):
    x = np.ones(shape)
    theirs = torch_raises(lambda: TF.unfold(to_torch(x), kernel, dilation, padding, stride))
    assert ours_raise(lambda: F.unfold(x, kernel, dilation, padding, stride)) == theirs


@HYPOTHESIS
@given(
    shape=st.lists(st.integers(0, 13), min_size=2, max_size=3),
    output_size=two_ints,
    kernel=two_ints,
    dilation=two_ints,
    padding=two_ints,
    stride=two_ints,
)
def test_random_fold_arguments_raise_iff_torch_raises(shape, output_size, kernel, dilation, padding, stride):
    x = np.ones(shape)
    theirs = torch_raises(lambda: TF.fold(to_torch(x), output_size, kernel, dilation, padding, stride))
    assert ours_raise(lambda: F.fold(x, output_size, kernel, dilation, padding, stride)) == theirs


@HYPOTHESIS
@given(
    size=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_valid_unfold_and_fold_match_torch(size, kernel, dilation, padding, stride, seed):
    geometry = (kernel, dilation, padding, stride)
    x = np.random.default_rng(seed).standard_normal((2, 2, *size))
    if torch_raises(lambda: TF.unfold(to_torch(x), *geometry)):
        assert ours_raise(lambda: F.unfold(x, *geometry))
        return
    cols = F.unfold(x, *geometry)
    assert_close(cols, TF.unfold(to_torch(x), *geometry))
    assert_close(F.fold(cols, size, *geometry), TF.fold(to_torch(cols), size, *geometry))
