"""F.pad, F.relu and F.channel_shuffle against PyTorch 2.13, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convforge as cf
import convforge.functional as F
from conftest import assert_close, to_torch


def forward_and_grad(rng, ours, theirs, x):
    """Outputs and input gradients of both for the same random output gradient."""
    xt = cf.tensor(x, requires_grad=True)
    y = ours(xt)
    x_torch = to_torch(x, True)
    y_torch = theirs(x_torch)
    gy = rng.standard_normal(y.shape).astype(x.dtype)
    y.backward(gy)
    y_torch.backward(torch.from_numpy(gy))
    return (y, xt.grad), (y_torch, x_torch.grad)


PAD_CASES = [
    ((2, 3, 5), (1, 2)),
    ((2, 3, 5), (0, 3)),
    ((1, 2, 4, 5), (1, 2, 3, 0)),
    ((1, 2, 4, 5), (2, 2, 1, 1)),
    ((1, 1, 3, 4, 5), (1, 0, 2, 1, 0, 2)),
    ((3, 5), (2, 1)),  # unbatched
    ((2, 4, 5), (1, 0, 2, 1)),  # unbatched 2-D
]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(("shape", "pad"), PAD_CASES, ids=lambda v: str(v).replace(" ", ""))
def test_pad_matches_torch(rng, shape, pad, mode):
    x = rng.standard_normal(shape)
    ours, theirs = forward_and_grad(
        rng, lambda t: F.pad(t, pad, mode=mode), lambda t: TF.pad(t, pad, mode=mode), x
    )
    assert_close(ours[0], theirs[0])
    assert_close(ours[1], theirs[1])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_pads_the_last_dimensions_of_an_input_of_any_rank(rng, mode):
    """torch limits the non-constant modes to (N, C, *spatial) shapes; we do not."""
    x = rng.standard_normal((2, 3, 2, 4, 5))
    y = F.pad(x, (1, 2), mode=mode)
    expected = TF.pad(to_torch(x.reshape(-1, 1, 5)), (1, 2), mode=mode).reshape(2, 3, 2, 4, 8)
    assert_close(y, expected)


@pytest.mark.parametrize("pad", [(-1, 2), (1, -2, -1, 1), (-2, -1, 0, 0), (0, 0, -1, -1, 2, 0)])
def test_pad_with_negative_constant_pads_crops_like_torch(rng, pad):
    x = rng.standard_normal((2, 3, 4, 5))
    ours, theirs = forward_and_grad(rng, lambda t: F.pad(t, pad), lambda t: TF.pad(t, pad), x)
    assert_close(ours[0], theirs[0])
    assert_close(ours[1], theirs[1])


def test_pad_constant_fills_with_value(rng):
    x = rng.standard_normal((1, 2, 3))
    y = F.pad(x, (2, 1), value=-7.5)
    assert_close(y, TF.pad(to_torch(x), (2, 1), value=-7.5))
    assert np.all(y.array[..., :2] == -7.5)


def test_pad_keeps_float32(rng):
    x = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    for mode in ("constant", "reflect", "replicate", "circular"):
        assert F.pad(x, (1, 1, 1, 1), mode=mode).dtype == np.float32


@pytest.mark.parametrize(
    ("mode", "pad"),
    [
        ("reflect", (3, 0)),  # reflect needs pad < size (3)
        ("reflect", (2, 2)),
        ("circular", (4, 0)),  # circular needs pad <= size
        ("circular", (3, 3)),
        ("replicate", (5, 5)),
        ("constant", (-4, 0)),  # crops more than the size
        ("constant", (-3, 0)),
    ],
)
def test_pad_size_limits_match_torch(rng, mode, pad):
    x = rng.standard_normal((1, 2, 3))
    try:
        expected = TF.pad(to_torch(x), pad, mode=mode)
    except (RuntimeError, ValueError) as error:
        with pytest.raises(ValueError, match="pad"):
            F.pad(x, pad, mode=mode)
        assert error
        return
    assert_close(F.pad(x, pad, mode=mode), expected)


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda x: F.pad(x, (1, 2, 3)), ValueError, "pad=(1, 2, 3)"),
        (lambda x: F.pad(x, (1, 1), mode="mirror"), ValueError, "mode='mirror'"),
        (lambda x: F.pad(x, (1.5, 1)), TypeError, "pad=(1.5, 1)"),
        (lambda x: F.pad(x, (1, 1), mode="reflect", value=2.0), ValueError, "value=2.0"),
        (lambda x: F.pad(x, (-1, 1), mode="reflect"), ValueError, "pad=(-1, 1)"),
    ],
)
def test_pad_error_names_the_argument(rng, call, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call(rng.standard_normal((1, 2, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_matches_torch(rng, dtype):
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    ours, theirs = forward_and_grad(rng, F.relu, TF.relu, x)
    assert_close(ours[0], theirs[0], dtype)
    assert_close(ours[1], theirs[1], dtype)
    assert ours[0].dtype == dtype


def test_relu_gradient_at_zero_is_zero_as_in_torch():
    x = np.array([-1.0, 0.0, 2.0])
    ours, theirs = forward_and_grad(np.random.default_rng(0), F.relu, TF.relu, x)
    np.testing.assert_array_equal(ours[1].array, theirs[1].numpy())
    assert ours[1].array[1] == 0.0


@pytest.mark.parametrize(
    ("shape", "groups"), [((2, 6, 3), 2), ((1, 6, 2, 2), 3), ((2, 8, 1, 2, 2), 4), ((1, 4, 3), 1)]
)
def test_channel_shuffle_matches_torch(rng, shape, groups):
    x = rng.standard_normal(shape)
    ours, theirs = forward_and_grad(
        rng, lambda t: F.channel_shuffle(t, groups), lambda t: TF.channel_shuffle(t, groups), x
    )
    np.testing.assert_array_equal(ours[0].array, theirs[0].detach().numpy())
    np.testing.assert_array_equal(ours[1].array, theirs[1].numpy())


def test_channel_shuffle_interleaves_the_groups():
    x = np.arange(6.0).reshape(1, 6, 1)
    # groups (0,1,2) and (3,4,5) -> 0,3,1,4,2,5
    np.testing.assert_array_equal(F.channel_shuffle(x, 2).array.ravel(), [0, 3, 1, 4, 2, 5])


@pytest.mark.parametrize(
    ("shape", "groups", "error"),
    [
        ((1, 6, 2), 4, ValueError),
        ((1, 6, 2), 0, ValueError),
        ((6, 2), 2, ValueError),
        ((1, 6, 2), 2.0, TypeError),
    ],
)
def test_channel_shuffle_rejects_bad_groups_like_torch(shape, groups, error):
    x = np.zeros(shape)
    with pytest.raises((RuntimeError, TypeError, ValueError)):
        TF.channel_shuffle(torch.from_numpy(x), groups)
    with pytest.raises(error, match="groups|input"):
        F.channel_shuffle(x, groups)
