"""Max, average, adaptive pooling and max-unpooling against PyTorch 2.13.

Forward values, torch's argmax indices and input gradients are compared over a grid of
dimensions x kernel x stride x padding x dilation x ceil_mode (x count_include_pad x
divisor_override for averages), on inputs with ties, NaN and -inf; hypothesis draws further
valid configurations (we match torch) and invalid ones (we raise iff torch raises).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convforge as cf
import convforge.functional as F
from conftest import assert_close, to_torch

SPATIAL = {1: (8,), 2: (7, 6), 3: (5, 6, 5)}
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cf_fn(name: str, n: int):
    return getattr(F, f"{name}{n}d")


def torch_fn(name: str, n: int):
    return getattr(TF, f"{name}{n}d")


def make_input(rng, shape, kind: str = "normal", dtype=np.float64) -> np.ndarray:
    """``normal`` values, or ``ties``: few distinct values, so windows hold equal maxima."""
    if kind == "ties":
        return rng.integers(-2, 3, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def run_both(name: str, n: int, x: np.ndarray, rng, *args, **kwargs):
    """Call convforge and torch on ``x``, backpropagate one random output gradient.

    Returns ``(ours, theirs)`` pairs of ``(output, indices or None, input grad)``.
    """
    ours_x = cf.tensor(x, requires_grad=True)
    theirs_x = to_torch(x, requires_grad=True)
    ours = cf_fn(name, n)(ours_x, *args, **kwargs)
    theirs = torch_fn(name, n)(theirs_x, *args, **kwargs)
    ours_y, ours_i = ours if isinstance(ours, tuple) else (ours, None)
    theirs_y, theirs_i = theirs if isinstance(theirs, tuple) else (theirs, None)
    grad = rng.standard_normal(theirs_y.shape).astype(x.dtype)
    ours_y.backward(grad)
    if window_reads_no_input(x, theirs_y):
        return (ours_y, ours_i, ours_x.grad), (theirs_y, theirs_i, None)
    theirs_y.backward(torch.tensor(grad))
    return (ours_y, ours_i, ours_x.grad), (theirs_y, theirs_i, theirs_x.grad)


def window_reads_no_input(x: np.ndarray, theirs_y: torch.Tensor) -> bool:
    """A max pool window lies entirely in the padding: a -inf output of a finite input.

    torch reports for it the index of a cell past the end of the row and its backward writes
    the gradient there (into another cell, or out of bounds): its gradient is not usable.
    """
    return bool(torch.isneginf(theirs_y).any()) and bool(np.isfinite(x).all())


def assert_max_pool_matches(ours, theirs, dtype=np.float64) -> None:
    """Values are input elements, so equal exactly (NaN and -inf included), and so are
    indices; gradients add up where windows overlap, so they agree to round-off (unless
    torch's is unusable, see :func:`window_reads_no_input`)."""
    np.testing.assert_array_equal(ours[0].array, theirs[0].detach().numpy())
    np.testing.assert_array_equal(ours[1].array, theirs[1].numpy())
    if theirs[2] is not None:
        assert_close(ours[2], theirs[2], dtype)


# --------------------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolCase:
    n: int
    kernel: int
    stride: int | None
    padding: int
    dilation: int = 1
    ceil_mode: bool = False

    def __str__(self) -> str:
        return (
            f"{self.n}d-k{self.kernel}-s{self.stride}-p{self.padding}-d{self.dilation}"
            f"{'-ceil' if self.ceil_mode else ''}"
        )


def pool_grid(ns, kernels, strides, paddings, dilations) -> list[PoolCase]:
    cases = []
    for n, k, s, p, d, ceil in itertools.product(ns, kernels, strides, paddings, dilations, (False, True)):
        if p <= k // 2:  # torch's rule; the spatial sizes fit every dilated kernel here
            cases.append(PoolCase(n, k, s, p, d, ceil))
    return cases


MAX_GRID = pool_grid((1, 2, 3), (1, 2, 3), (None, 1, 2), (0, 1), (1, 2))
AVG_GRID = pool_grid((1, 2, 3), (1, 2, 3), (None, 1, 2), (0, 1), (1,))
AVG_OPTIONS = [(True, None), (False, None), (True, 3), (False, -2)]


def max_pool_kwargs(case: PoolCase) -> dict:
    return {
        "kernel_size": case.kernel,
        "stride": case.stride,
        "padding": case.padding,
        "dilation": case.dilation,
        "ceil_mode": case.ceil_mode,
        "return_indices": True,
    }


def avg_pool_kwargs(case: PoolCase, count_include_pad: bool, divisor_override) -> dict:
    kwargs = {
        "kernel_size": case.kernel,
        "stride": case.stride,
        "padding": case.padding,
        "ceil_mode": case.ceil_mode,
        "count_include_pad": count_include_pad,
    }
    if case.n > 1:
        kwargs["divisor_override"] = divisor_override
    return kwargs


# --------------------------------------------------------------------------------------
# max pooling
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["normal", "ties"])
@pytest.mark.parametrize("case", MAX_GRID, ids=str)
def test_max_pool_values_indices_and_grad_match_torch_float64(case, kind, rng):
    x = make_input(rng, (2, 3, *SPATIAL[case.n]), kind)
    ours, theirs = run_both("max_pool", case.n, x, rng, **max_pool_kwargs(case))
    assert_max_pool_matches(ours, theirs)


@pytest.mark.parametrize("case", pool_grid((1, 2, 3), (2, 3), (None, 2), (1,), (1, 2)), ids=str)
def test_max_pool_matches_torch_float32(case, rng):
    x = make_input(rng, (2, 3, *SPATIAL[case.n]), dtype=np.float32)
    ours, theirs = run_both("max_pool", case.n, x, rng, **max_pool_kwargs(case))
    assert ours[0].dtype == np.float32
    assert_max_pool_matches(ours, theirs, np.float32)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_pool_takes_per_dimension_tuples(n, rng):
    x = make_input(rng, (2, 2, *SPATIAL[n]))
    kwargs = {
        "kernel_size": (3, 2, 2)[:n],
        "stride": (1, 2, 3)[:n],
        "padding": (1, 0, 1)[:n],
        "dilation": (2, 1, 1)[:n],
        "ceil_mode": True,
        "return_indices": True,
    }
    ours, theirs = run_both("max_pool", n, x, rng, **kwargs)
    assert_max_pool_matches(ours, theirs)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_pool_accepts_unbatched_input(n, rng):
    x = make_input(rng, (3, *SPATIAL[n]))
    ours, theirs = run_both("max_pool", n, x, rng, 3, 2, 1, return_indices=True)
    assert ours[0].shape == tuple(theirs[0].shape)
    assert_max_pool_matches(ours, theirs)


def test_max_pool_propagates_nan_and_points_at_the_last_nan_as_torch(rng):
    x = rng.standard_normal((1, 2, 6, 6))
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = x[0, 1, 0, 3] = np.nan
    ours, theirs = run_both("max_pool", 2, x, rng, 3, 1, 1, return_indices=True)
    assert_max_pool_matches(ours, theirs)


def test_max_pool_of_all_minus_inf_window_points_at_its_first_cell_inside_the_input(rng):
    x = np.full((1, 1, 5, 4), -np.inf)
    x[0, 0, 3, 2] = 1.0
    ours, theirs = run_both("max_pool", 2, x, rng, 3, 2, 1, ceil_mode=True, return_indices=True)
    assert_max_pool_matches(ours, theirs)


def test_max_pool_window_entirely_in_padding_gives_minus_inf_and_torch_index(rng):
    # kernel 2 dilated by 2 with padding 1 over one cell: taps at -1 and 1, both outside
    x = np.array([[[5.0]]])
    ours, theirs = run_both("max_pool", 1, x, rng, 2, 1, 1, 2, return_indices=True)
    assert_max_pool_matches(ours, theirs)
    assert not ours[2].array.any()  # the window reads no input cell


def test_max_pool_indices_are_a_non_differentiable_int64_tensor(rng):
    x = cf.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    assert isinstance(indices, cf.Tensor)
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert y.requires_grad


def test_max_pool_without_return_indices_returns_one_tensor(rng):
    y = F.max_pool2d(rng.standard_normal((1, 2, 4, 4)), 2)
    assert isinstance(y, cf.Tensor) and y.shape == (1, 2, 2, 2)


def test_max_pool_accepts_an_empty_batch():
    y, indices = F.max_pool2d(np.zeros((0, 2, 4, 4)), 2, return_indices=True)
    assert y.shape == indices.shape == (0, 2, 2, 2)


# --------------------------------------------------------------------------------------
# average pooling
# --------------------------------------------------------------------------------------
# avg_pool1d has no divisor_override (as in torch): 1-D cases take the first two options only
AVG_CASES = [
    (case, include, divisor)
    for case in AVG_GRID
    for include, divisor in AVG_OPTIONS
    if case.n > 1 or divisor is None
]


@pytest.mark.parametrize(("case", "count_include_pad", "divisor_override"), AVG_CASES, ids=str)
def test_avg_pool_values_and_grad_match_torch_float64(case, count_include_pad, divisor_override, rng):
    x = make_input(rng, (2, 3, *SPATIAL[case.n]))
    kwargs = avg_pool_kwargs(case, count_include_pad, divisor_override)
    ours, theirs = run_both("avg_pool", case.n, x, rng, **kwargs)
    assert_close(ours[0], theirs[0])
    assert_close(ours[2], theirs[2])


@pytest.mark.parametrize(("count_include_pad", "divisor_override"), AVG_OPTIONS[:3])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_avg_pool_matches_torch_float32_with_ceil_mode(n, count_include_pad, divisor_override, rng):
    x = make_input(rng, (2, 3, *SPATIAL[n]), dtype=np.float32)
    kwargs = avg_pool_kwargs(PoolCase(n, 3, 2, 1, ceil_mode=True), count_include_pad, divisor_override)
    ours, theirs = run_both("avg_pool", n, x, rng, **kwargs)
    assert ours[0].dtype == np.float32
    assert_close(ours[0], theirs[0], np.float32)
    assert_close(ours[2], theirs[2], np.float32)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_avg_pool_takes_per_dimension_tuples_and_unbatched_input(n, rng):
    x = make_input(rng, (3, *SPATIAL[n]))
    kwargs = {
        "kernel_size": (3, 2, 4)[:n],
        "stride": (2, 1, 3)[:n],
        "padding": (1, 1, 2)[:n],
        "ceil_mode": True,
    }
    ours, theirs = run_both("avg_pool", n, x, rng, count_include_pad=False, **kwargs)
    assert_close(ours[0], theirs[0])
    assert_close(ours[2], theirs[2])


# --------------------------------------------------------------------------------------
# adaptive pooling
# --------------------------------------------------------------------------------------
ADAPTIVE_SIZES = {
    1: [(1,), (3,), (5,), (8,), (11,)],
    2: [(1, 1), (3, 4), (7, 6), (2, 9), (4, None)],
    3: [(1, 1, 1), (2, 3, 2), (5, 6, 4), (3, 7, None)],
}
ADAPTIVE_CASES = [(n, size) for n, sizes in ADAPTIVE_SIZES.items() for size in sizes]


@pytest.mark.parametrize("kind", ["normal", "ties"])
@pytest.mark.parametrize(("n", "output_size"), ADAPTIVE_CASES, ids=str)
def test_adaptive_max_pool_values_indices_and_grad_match_torch(n, output_size, kind, rng):
    x = make_input(rng, (2, 3, *SPATIAL[n]), kind)
    ours, theirs = run_both("adaptive_max_pool", n, x, rng, output_size, return_indices=True)
    assert_max_pool_matches(ours, theirs)


@pytest.mark.parametrize(("n", "output_size"), ADAPTIVE_CASES, ids=str)
def test_adaptive_avg_pool_values_and_grad_match_torch(n, output_size, rng):
    x = make_input(rng, (2, 3, *SPATIAL[n]))
    ours, theirs = run_both("adaptive_avg_pool", n, x, rng, output_size)
    assert_close(ours[0], theirs[0])
    assert_close(ours[2], theirs[2])


@pytest.mark.parametrize("name", ["adaptive_avg_pool", "adaptive_max_pool"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_adaptive_pool_matches_torch_float32_unbatched_and_with_int_size(name, n, rng):
    x = make_input(rng, (3, *SPATIAL[n]), dtype=np.float32)
    ours, theirs = run_both(name, n, x, rng, 3)
    assert ours[0].dtype == np.float32
    assert_close(ours[0], theirs[0], np.float32)
    assert_close(ours[2], theirs[2], np.float32)


def test_adaptive_max_pool_propagates_nan_as_torch(rng):
    x = rng.standard_normal((1, 1, 5, 5))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    ours, theirs = run_both("adaptive_max_pool", 2, x, rng, 2, return_indices=True)
    np.testing.assert_array_equal(ours[0].array, theirs[0].detach().numpy())
    np.testing.assert_array_equal(ours[1].array, theirs[1].numpy())


@pytest.mark.parametrize("name", ["adaptive_avg_pool", "adaptive_max_pool"])
def test_adaptive_pool_to_size_zero_is_empty_as_torch(name):
    x = np.ones((1, 2, 3, 3))
    assert cf_fn(name, 2)(x, 0).shape == tuple(torch_fn(name, 2)(to_torch(x), 0).shape) == (1, 2, 0, 0)


def test_adaptive_pool_refuses_output_size_none_as_torch():
    with pytest.raises(TypeError, match="output_size"):
        F.adaptive_avg_pool2d(np.ones((1, 1, 3, 3)), None)
    with pytest.raises(TypeError, match="output_size"):
        F.adaptive_max_pool1d(np.ones((1, 1, 3)), (None,))


# --------------------------------------------------------------------------------------
# max unpooling
# --------------------------------------------------------------------------------------
UNPOOL_CASES = [
    (1, 2, None, 0, None),
    (1, 3, 2, 1, (8,)),
    (1, 2, 2, 0, (9,)),
    (2, 2, None, 0, None),
    (2, 3, 2, 1, (7, 6)),
    (2, (3, 2), (2, 1), (1, 0), (1, 1, 8, 6)),
    (3, 2, None, 0, (5, 7, 5)),
    (3, 3, 2, 1, (5, 6, 5)),
]


@pytest.mark.parametrize(("n", "kernel", "stride", "padding", "output_size"), UNPOOL_CASES, ids=str)
def test_max_unpool_of_max_pool_matches_torch(n, kernel, stride, padding, output_size, rng):
    x = make_input(rng, (2, 3, *SPATIAL[n]))
    pooled, indices = cf_fn("max_pool", n)(x, kernel, stride, padding, return_indices=True)
    pooled_t, indices_t = torch_fn("max_pool", n)(to_torch(x), kernel, stride, padding, return_indices=True)
    ours_in = cf.tensor(pooled.array, requires_grad=True)
    theirs_in = to_torch(pooled, requires_grad=True)
    ours = cf_fn("max_unpool", n)(ours_in, indices, kernel, stride, padding, output_size)
    theirs = torch_fn("max_unpool", n)(theirs_in, indices_t, kernel, stride, padding, output_size)
    assert_close(ours, theirs)
    grad = rng.standard_normal(theirs.shape)
    ours.backward(grad)
    theirs.backward(torch.tensor(grad))
    assert_close(ours_in.grad, theirs_in.grad)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_of_max_pool_puts_each_maximum_back_and_zeros_elsewhere(n, rng):
    x = make_input(rng, (2, 3, *SPATIAL[n]))
    pooled, indices = cf_fn("max_pool", n)(x, 2, return_indices=True)
    restored = cf_fn("max_unpool", n)(pooled, indices, 2, output_size=SPATIAL[n]).array
    assert restored.shape == x.shape
    flat_restored, flat_x = restored.reshape(2, 3, -1), x.reshape(2, 3, -1)
    flat_indices = indices.array.reshape(2, 3, -1)
    np.testing.assert_array_equal(
        np.take_along_axis(flat_restored, flat_indices, -1), pooled.array.reshape(2, 3, -1)
    )
    np.testing.assert_array_equal(
        np.take_along_axis(flat_x, flat_indices, -1), pooled.array.reshape(2, 3, -1)
    )
    elsewhere = np.ones(flat_restored.shape, dtype=bool)
    np.put_along_axis(elsewhere, flat_indices, False, -1)
    assert not flat_restored[elsewhere].any()


def test_max_unpool_accepts_unbatched_input(rng):
    x = make_input(rng, (3, 6, 6))
    pooled, indices = F.max_pool2d(x, 2, return_indices=True)
    pooled_t, indices_t = TF.max_pool2d(to_torch(x), 2, return_indices=True)
    assert_close(F.max_unpool2d(pooled, indices, 2), TF.max_unpool2d(pooled_t, indices_t, 2))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"output_size": (4, 4)}, ValueError),  # smallest allowed is default - stride + 1 = 5
        ({"output_size": (8, 8)}, ValueError),
        ({"output_size": (2, 3, 4, 7, 7)}, ValueError),
        ({"output_size": (5, 5)}, ValueError),  # indices up to 35 do not fit 5x5
        ({"padding": 1}, ValueError),  # 4x4 output
        ({"indices_offset": 100}, ValueError),
        ({"indices_offset": -100}, ValueError),
        ({"indices_dtype": np.int32}, TypeError),
        ({"indices_crop": True}, ValueError),
        ({"output_size": (7, 7)}, None),
        ({"output_size": [2, 3, 7, 7]}, None),
    ],
    ids=str,
)
def test_max_unpool_raises_iff_torch_raises(change, error, rng):
    pooled, indices = F.max_pool2d(make_input(rng, (2, 3, 6, 6)), 2, return_indices=True)
    change = dict(change)
    raw = (indices.array + change.pop("indices_offset", 0)).astype(change.pop("indices_dtype", np.int64))
    if change.pop("indices_crop", False):
        raw = raw[:, :, :2]
    theirs = torch_raises(lambda: TF.max_unpool2d(to_torch(pooled), torch.from_numpy(raw), 2, **change))
    assert theirs == (error is not None)
    if error is None:
        assert F.max_unpool2d(pooled, raw, 2, **change).shape[-2:] == (7, 7)
    else:
        with pytest.raises(error, match=r"max_unpool2d: (output_size|indices|the output)"):
            F.max_unpool2d(pooled, raw, 2, **change)


@pytest.mark.parametrize("argument", [{"kernel_size": 0}, {"stride": 0}, {"padding": -1}])
def test_max_unpool_is_stricter_than_torch_about_kernel_stride_and_padding(argument, rng):
    pooled, indices = F.max_pool2d(make_input(rng, (1, 1, 4, 4)), 2, return_indices=True)
    kwargs = {"kernel_size": 2, **argument}
    name = next(iter(argument))
    with pytest.raises(ValueError, match=f"max_unpool2d: {name} must be"):
        F.max_unpool2d(pooled, indices, **kwargs)


# --------------------------------------------------------------------------------------
# gradcheck: every op in float64
# --------------------------------------------------------------------------------------
GRADCHECK_OPS = {
    "max_pool1d": lambda x: F.max_pool1d(x, 3, 2, 1, 2, True),
    "max_pool2d": lambda x: F.max_pool2d(x, 2, 1, 1),
    "max_pool3d": lambda x: F.max_pool3d(x, 2, 1, 0, 1, True),
    "avg_pool1d": lambda x: F.avg_pool1d(x, 3, 2, 1, True, False),
    "avg_pool2d": lambda x: F.avg_pool2d(x, 3, 2, 1, True, True, None),
    "avg_pool3d": lambda x: F.avg_pool3d(x, 2, 1, 1, False, False, 3),
    "adaptive_avg_pool1d": lambda x: F.adaptive_avg_pool1d(x, 3),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
    "adaptive_avg_pool3d": lambda x: F.adaptive_avg_pool3d(x, (2, 2, 3)),
    "adaptive_max_pool1d": lambda x: F.adaptive_max_pool1d(x, 3),
    "adaptive_max_pool2d": lambda x: F.adaptive_max_pool2d(x, (2, 5)),
    "adaptive_max_pool3d": lambda x: F.adaptive_max_pool3d(x, (2, 2, 3)),
}
GRADCHECK_SHAPES = {1: (2, 2, 7), 2: (1, 2, 4, 5), 3: (1, 1, 3, 3, 4)}


@pytest.mark.parametrize("name", sorted(GRADCHECK_OPS))
def test_pooling_passes_gradcheck(name, rng):
    shape = GRADCHECK_SHAPES[int(name[-2])]
    x = cf.tensor(rng.permutation(np.prod(shape)).reshape(shape) / 10.0, requires_grad=True)  # no ties
    assert cf.gradcheck(GRADCHECK_OPS[name], [x])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_passes_gradcheck(n, rng):
    pooled, indices = cf_fn("max_pool", n)(rng.standard_normal(GRADCHECK_SHAPES[n]), 2, return_indices=True)
    x = cf.tensor(pooled.array, requires_grad=True)
    # non-overlapping windows: with repeated indices the scatter keeps one write, but the
    # gather of the backward (as torch's) feeds every duplicate
    size = GRADCHECK_SHAPES[n][2:]
    assert cf.gradcheck(lambda t: cf_fn("max_unpool", n)(t, indices, 2, output_size=size), [x])


# --------------------------------------------------------------------------------------
# invalid arguments
# --------------------------------------------------------------------------------------
def test_pooling_refuses_integer_input():
    # stricter than torch 2.13, which max/avg-pools int64 on CPU
    with pytest.raises(TypeError, match="max_pool2d: input must be a floating array"):
        F.max_pool2d(np.ones((1, 1, 4, 4), dtype=np.int64), 2)
    with pytest.raises(TypeError, match="avg_pool2d: input must be a floating array"):
        F.avg_pool2d(np.ones((1, 1, 4, 4), dtype=np.int64), 2)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda x: F.max_pool2d(x, 2, stride=0), "stride"),
        (lambda x: F.max_pool2d(x, (2, 2, 2)), "kernel_size"),
        (lambda x: F.max_pool2d(x, 2, padding=2), "padding"),
        (lambda x: F.max_pool2d(x, 2, dilation=0), "dilation"),
        (lambda x: F.max_pool2d(x, 9), "output size"),
        (lambda x: F.avg_pool2d(x, 2, divisor_override=0), "divisor_override"),
        (lambda x: F.adaptive_avg_pool2d(x, -1), "output_size"),
        (lambda x: F.max_pool2d(x[0, 0], 2), "input"),
        (lambda x: F.max_pool2d(np.ones((1, 0, 4, 4)), 2), "input"),
    ],
)
def test_invalid_pooling_argument_raises_value_error_naming_it(call, argument):
    with pytest.raises(ValueError, match=argument):
        call(np.ones((1, 1, 4, 4)))


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda x: F.max_pool2d(x, 2.0), "kernel_size"),
        (lambda x: F.max_pool2d(x, 2, ceil_mode=1), "ceil_mode"),
        (lambda x: F.max_pool2d(x, 2, return_indices="yes"), "return_indices"),
        (lambda x: F.avg_pool2d(x, 2, count_include_pad=0), "count_include_pad"),
        (lambda x: F.avg_pool2d(x, 2, divisor_override=1.5), "divisor_override"),
        (lambda x: F.adaptive_max_pool2d(x, 2.0), "output_size"),
        (lambda x: F.max_pool2d("image", 2), "input"),
    ],
)
def test_wrong_pooling_argument_type_raises_type_error_naming_it(call, argument):
    with pytest.raises(TypeError, match=argument):
        call(np.ones((1, 1, 4, 4)))


def torch_raises(call) -> bool:
    try:
        call()
    except (RuntimeError, ValueError, TypeError, IndexError):
        return True
    return False


def ours_raise(call) -> bool:
    try:
        call()
    except (ValueError, TypeError):
        return True
    return False


@st.composite
def pool_arguments(draw, valid_only: bool):
    """Per-dimension pooling arguments; ``valid_only=False`` also draws invalid values."""
    n = draw(st.integers(1, 3))
    low = 1 if valid_only else -1  # smallest kernel, stride and dilation drawn
    kernel = tuple(draw(st.integers(low, 4)) for _ in range(n))
    stride = draw(st.none() | st.tuples(*[st.integers(low, 3)] * n))
    if valid_only:
        padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    else:
        padding = tuple(draw(st.integers(-1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(low, 3)) for _ in range(n))
    spatial = tuple(draw(st.integers(1, 8)) for _ in range(n))
    batch = draw(st.sampled_from([(), (2,)]))
    ceil_mode = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return (
        n,
        (*batch, 2, *spatial),
        seed,
        {
            "kernel_size": kernel,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "ceil_mode": ceil_mode,
        },
    )


@HYPOTHESIS
@given(arguments=pool_arguments(valid_only=True), kind=st.sampled_from(["normal", "ties"]))
def test_random_valid_max_pool_matches_torch(arguments, kind):
    n, shape, seed, kwargs = arguments
    rng = np.random.default_rng(seed)
    x = make_input(rng, shape, kind)
    assume(not torch_raises(lambda: torch_fn("max_pool", n)(to_torch(x), **kwargs)))
    ours, theirs = run_both("max_pool", n, x, rng, return_indices=True, **kwargs)
    assert_max_pool_matches(ours, theirs)


@HYPOTHESIS
@given(
    arguments=pool_arguments(valid_only=True),
    count_include_pad=st.booleans(),
    divisor_override=st.sampled_from([None, None, 1, 4, -3]),
)
def test_random_valid_avg_pool_matches_torch(arguments, count_include_pad, divisor_override):
    n, shape, seed, max_kwargs = arguments
    kwargs = {k: v for k, v in max_kwargs.items() if k != "dilation"}  # avg pools have none
    kwargs["count_include_pad"] = count_include_pad
    if n > 1:
        kwargs["divisor_override"] = divisor_override
    rng = np.random.default_rng(seed)
    x = make_input(rng, shape)
    assume(not torch_raises(lambda: torch_fn("avg_pool", n)(to_torch(x), **kwargs)))
    ours, theirs = run_both("avg_pool", n, x, rng, **kwargs)
    assert_close(ours[0], theirs[0])
    assert_close(ours[2], theirs[2])


@HYPOTHESIS
@given(
    n=st.integers(1, 3),
    data=st.data(),
    name=st.sampled_from(["adaptive_avg_pool", "adaptive_max_pool"]),
)
def test_random_adaptive_pool_matches_torch(n, data, name):
    spatial = tuple(data.draw(st.integers(1, 9)) for _ in range(n))
    output_size = tuple(data.draw(st.integers(1, 10)) for _ in range(n))  # 0: see below
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = make_input(rng, (2, 2, *spatial), data.draw(st.sampled_from(["normal", "ties"])))
    ours, theirs = run_both(name, n, x, rng, output_size)
    assert_close(ours[0], theirs[0])
    assert_close(ours[2], theirs[2])


@HYPOTHESIS
@given(arguments=pool_arguments(valid_only=False), average=st.booleans())
def test_random_pool_arguments_raise_iff_torch_raises(arguments, average):
    n, shape, _, kwargs = arguments
    name = "avg_pool" if average else "max_pool"
    if average:
        kwargs = {k: v for k, v in kwargs.items() if k != "dilation"}
    x = np.ones(shape)
    theirs = torch_raises(lambda: torch_fn(name, n)(to_torch(x), **kwargs))
    assert ours_raise(lambda: cf_fn(name, n)(x, **kwargs)) == theirs


@HYPOTHESIS
@given(
    n=st.integers(1, 3),
    data=st.data(),
    name=st.sampled_from(["adaptive_avg_pool", "adaptive_max_pool"]),
)
def test_random_adaptive_arguments_raise_iff_torch_raises(n, data, name):
    shape = tuple(data.draw(st.integers(0, 4)) for _ in range(data.draw(st.integers(n, n + 2))))
    output_size = data.draw(
        st.integers(-1, 4)
        | st.tuples(*[st.integers(-1, 4) | st.none()] * data.draw(st.integers(n - 1, n + 1)))
    )
    assume(not (name == "adaptive_avg_pool" and torch_takes_the_mean_shortcut(shape, output_size, n)))
    x = np.ones(shape)
    theirs = torch_raises(lambda: torch_fn(name, n)(to_torch(x), output_size))
    assert ours_raise(lambda: cf_fn(name, n)(x, output_size)) == theirs


def torch_takes_the_mean_shortcut(shape, output_size, n: int) -> bool:
    """torch's adaptive_avg_pool to all-ones sizes is ``input.mean(last n dims)``, which skips
    its checks of the input's rank and emptiness (an empty input gives NaN); we check always."""
    sizes = (output_size,) * n if isinstance(output_size, int) else output_size
    if len(sizes) != n or len(shape) < n:
        return False
    return all((i if o is None else o) == 1 for o, i in zip(sizes, shape[-n:]))


def test_adaptive_avg_pool_refuses_empty_input_even_for_output_size_one():
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: input must have non-zero sizes"):
        F.adaptive_avg_pool2d(np.ones((2, 0, 3)), 1)


# --------------------------------------------------------------------------------------
# exhaustive grid (pytest -m slow)
# --------------------------------------------------------------------------------------
SLOW_SPATIAL = {1: [(1,), (5,), (9,)], 2: [(3, 8), (9, 4)], 3: [(3, 5, 4), (6, 3, 5)]}
SLOW_GRID = [
    (case, spatial)
    for case in pool_grid((1, 2, 3), (1, 2, 3, 4), (None, 1, 2, 3), (0, 1, 2), (1, 2, 3))
    for spatial in SLOW_SPATIAL[case.n]
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "spatial"), SLOW_GRID, ids=str)
def test_exhaustive_max_and_avg_pool_match_torch(case, spatial, rng):
    x = make_input(rng, (2, 2, *spatial), "ties")
    calls = [("max_pool", max_pool_kwargs(case))]
    if case.dilation == 1:
        for count_include_pad, divisor_override in AVG_OPTIONS:
            if case.n > 1 or divisor_override is None:
                calls.append(("avg_pool", avg_pool_kwargs(case, count_include_pad, divisor_override)))
    for name, kwargs in calls:
        if torch_raises(lambda: torch_fn(name, case.n)(to_torch(x), **kwargs)):  # noqa: B023
            assert ours_raise(lambda: cf_fn(name, case.n)(x, **kwargs))  # noqa: B023
            continue
        ours, theirs = run_both(name, case.n, x, rng, **kwargs)
        if name == "max_pool":
            assert_max_pool_matches(ours, theirs)
        else:
            assert_close(ours[0], theirs[0])
            assert_close(ours[2], theirs[2])


# --------------------------------------------------------------------------------------
# the compiled loops: their parallel path and the NumPy fallback give the same answers
# --------------------------------------------------------------------------------------
def test_large_pools_take_the_parallel_path_and_still_match_torch(rng):
    from convforge.kernels import pool_loops

    x = make_input(rng, (2, 8, 180, 190), "ties", dtype=np.float32)
    assert x.size >= pool_loops.PARALLEL_CELLS
    ours, theirs = run_both("max_pool", 2, x, rng, 3, 2, 1, return_indices=True)
    assert_max_pool_matches(ours, theirs, np.float32)
    ours, theirs = run_both("avg_pool", 2, x, rng, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    assert_close(ours[0], theirs[0], np.float32)
    assert_close(ours[2], theirs[2], np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_numpy_fallback_pools_agree_with_the_compiled_loops(n, dtype, rng, monkeypatch):
    from convforge.kernels import pool_loops

    x = make_input(rng, (2, 3, *SPATIAL[n]), "ties", dtype=dtype)
    x[0, 0].flat[1] = np.nan
    calls = [
        ("max_pool", {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "return_indices": True}),
        ("max_pool", {"kernel_size": 2, "ceil_mode": True, "return_indices": True}),
        (
            "avg_pool",
            {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
        ),
    ]
    grad = rng.standard_normal(x.shape).astype(dtype)
    for name, kwargs in calls:
        results = []
        for compiled in (True, False):
            monkeypatch.setattr(pool_loops, "supports", lambda a, c=compiled: c)
            xt = cf.tensor(x, requires_grad=True)
            out = cf_fn(name, n)(xt, **kwargs)
            y, indices = out if isinstance(out, tuple) else (out, None)
            y.backward(grad[tuple(slice(0, s) for s in y.shape)])
            results.append(
                (np.asarray(y), None if indices is None else np.asarray(indices), np.asarray(xt.grad))
            )
        (y1, i1, g1), (y2, i2, g2) = results
        np.testing.assert_array_equal(y1, y2)
        if i1 is not None:
            np.testing.assert_array_equal(i1, i2)
        np.testing.assert_allclose(g1, g2, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-12)
