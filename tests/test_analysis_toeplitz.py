"""The Toeplitz and im2col views reproduce the convolution they describe."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import torch
import torch.nn.functional as torch_F

import convforge as cf
from conftest import assert_close, to_torch
from convforge.analysis import conv_transpose_toeplitz, im2col_labels, im2col_view, toeplitz

F = cf.nn.functional
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
TORCH_CONV = {1: torch_F.conv1d, 2: torch_F.conv2d, 3: torch_F.conv3d}
TORCH_CONV_T = {1: torch_F.conv_transpose1d, 2: torch_F.conv_transpose2d, 3: torch_F.conv_transpose3d}

# (spatial, kernel, stride, padding, dilation, groups, c_in, c_out)
VARIANTS = [
    ((7,), (3,), 1, 0, 1, 1, 1, 1),
    ((9,), (3,), 2, 1, 2, 1, 2, 3),
    ((8,), (2,), 1, "same", 1, 2, 2, 4),
    ((6, 7), (3, 3), 1, 1, 1, 1, 2, 3),
    ((7, 6), (3, 2), (2, 1), (1, 0), 1, 1, 3, 2),
    ((8, 8), (3, 3), 2, ((1, 2), (0, 1)), (1, 2), 1, 2, 2),
    ((6, 6), (3, 3), 1, "same", 2, 1, 1, 2),
    ((7, 7), (3, 3), 2, "same", 1, 1, 2, 2),
    ((6, 5), (2, 3), 1, 0, 1, 2, 4, 6),
    ((6, 6), (3, 3), 1, 1, 1, 3, 3, 3),
    ((4, 5, 4), (2, 3, 2), (1, 2, 1), 1, 1, 1, 2, 2),
    ((5, 4, 4), (3, 2, 2), 1, (1, 0, 1), (1, 1, 2), 2, 2, 2),
]


def _int_padding(variant) -> bool:
    """conv_transpose and torch take int or per-dimension int padding only."""
    padding = variant[3]
    return isinstance(padding, int) or (isinstance(padding, tuple) and isinstance(padding[0], int))


INT_PADDED = [v for v in VARIANTS if _int_padding(v)]


def _ids(variant) -> str:
    spatial, kernel, stride, padding, dilation, groups, c_in, c_out = variant
    return f"{len(spatial)}d-k{kernel}-s{stride}-p{padding}-d{dilation}-g{groups}-c{c_in}to{c_out}"


def _operands(variant, rng):
    spatial, kernel, stride, padding, dilation, groups, c_in, c_out = variant
    x = rng.standard_normal((2, c_in, *spatial))
    w = rng.standard_normal((c_out, c_in // groups, *kernel))
    return x, w


@pytest.mark.parametrize("variant", VARIANTS, ids=_ids)
def test_toeplitz_times_input_is_the_convolution(variant, rng):
    spatial, kernel, stride, padding, dilation, groups, c_in, c_out = variant
    x, w = _operands(variant, rng)
    matrix = toeplitz(w, x.shape[1:], stride, padding, dilation, groups)
    expected = CONV[len(spatial)](x, w, None, stride, padding, dilation, groups).array
    for sample in range(x.shape[0]):
        assert_close(matrix @ x[sample].ravel(), expected[sample].ravel())


@pytest.mark.parametrize("variant", INT_PADDED, ids=_ids)
def test_toeplitz_matches_torch(variant, rng):
    spatial, kernel, stride, padding, dilation, groups, c_in, c_out = variant
    x, w = _operands(variant, rng)
    matrix = toeplitz(w, x.shape, stride, padding, dilation, groups)  # batched: block diagonal
    expected = TORCH_CONV[len(spatial)](to_torch(x), to_torch(w), None, stride, padding, dilation, groups)
    assert_close(matrix @ x.ravel(), expected.numpy().ravel())


@pytest.mark.parametrize("variant", INT_PADDED, ids=_ids)
def test_toeplitz_transpose_is_the_transposed_convolution(variant, rng):
    spatial, kernel, stride, padding, dilation, groups, c_in, c_out = variant
    x, w = _operands(variant, rng)
    matrix = toeplitz(w, x.shape[1:], stride, padding, dilation, groups)
    n = len(spatial)
    out_spatial = CONV[n](x[:1], w, None, stride, padding, dilation, groups).shape[2:]
    y = rng.standard_normal((1, c_out, *out_spatial))
    # the transposed op's output size: pick output_padding so it equals the conv's input
    natural = [
        (o - 1) * s - 2 * p + d * (k - 1) + 1
        for o, s, p, d, k in zip(
            out_spatial, *(np.broadcast_to(a, (n,)) for a in (stride, padding, dilation)), kernel
        )
    ]
    output_padding = tuple(int(i - m) for i, m in zip(spatial, natural))
    ours = CONV_T[n](y, w, None, stride, padding, output_padding, groups, dilation).array
    theirs = TORCH_CONV_T[n](
        to_torch(y), to_torch(w), None, stride, padding, output_padding, groups, dilation
    )
    assert_close(matrix.T @ y.ravel(), ours.ravel())
    assert_close(matrix.T @ y.ravel(), theirs.numpy().ravel())


@pytest.mark.parametrize(
    ("spatial", "kernel", "stride", "padding", "output_padding", "dilation", "groups"),
    [
        ((3,), (3,), 2, 1, 1, 1, 1),
        ((2, 2), (3, 3), 1, 0, 0, 1, 1),
        ((3, 4), (3, 2), (2, 3), (1, 0), (1, 2), 1, 2),
        ((3, 3), (2, 2), 1, 0, (1, 1), 2, 1),  # output_padding >= stride (< dilation)
        ((2, 3, 2), (2, 2, 3), 2, 0, (1, 0, 1), 1, 1),
    ],
)
def test_conv_transpose_toeplitz_matches_torch(
    spatial, kernel, stride, padding, output_padding, dilation, groups, rng
):
    n = len(spatial)
    x = rng.standard_normal((1, 2 * groups, *spatial))
    w = rng.standard_normal((2 * groups, 2, *kernel))  # (C_in, C_out/groups, *kernel)
    matrix = conv_transpose_toeplitz(w, x.shape, stride, padding, output_padding, groups, dilation)
    expected = TORCH_CONV_T[n](
        to_torch(x), to_torch(w), None, stride, padding, output_padding, groups, dilation
    )
    assert_close(matrix @ x.ravel(), expected.numpy().ravel())
    ours = CONV_T[n](x, w, None, stride, padding, output_padding, groups, dilation)
    assert_close(matrix @ x.ravel(), ours.array.ravel())


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_toeplitz_handles_padding_modes(mode, rng):
    x = rng.standard_normal((2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    matrix = toeplitz(w, x.shape, stride=(1, 2), padding=(1, 2), padding_mode=mode)
    expected = F.conv2d(x, w, None, (1, 2), (1, 2), padding_mode=mode).array
    assert_close(matrix @ x.ravel(), expected.ravel())


def test_toeplitz_reproduces_the_lecture_matrix():
    """The CMU lecture's 1-D example: [w1, w2, w3] over x1..x5 with zero padding 1."""
    w1, w2, w3 = 1.0, 2.0, 3.0
    expected = np.array(
        [
            [w2, w3, 0, 0, 0],
            [w1, w2, w3, 0, 0],
            [0, w1, w2, w3, 0],
            [0, 0, w1, w2, w3],
            [0, 0, 0, w1, w2],
        ]
    )
    matrix = toeplitz(np.array([[[w1, w2, w3]]]), (1, 5), padding=1)
    assert scipy.sparse.issparse(matrix)
    np.testing.assert_array_equal(matrix.toarray(), expected)
    # its transpose is the convolution with the flipped filter [w3, w2, w1]
    flipped = toeplitz(np.array([[[w3, w2, w1]]]), (1, 5), padding=1)
    np.testing.assert_array_equal(matrix.T.toarray(), flipped.toarray())


def test_toeplitz_is_sparse_with_one_entry_per_weight_use():
    matrix = toeplitz(np.ones((4, 3, 3, 3)), (3, 10, 10))
    assert matrix.shape == (4 * 8 * 8, 3 * 10 * 10)
    assert matrix.nnz == 4 * 8 * 8 * 3 * 9


def test_toeplitz_rejects_bad_arguments():
    with pytest.raises(ValueError, match="input_shape"):
        toeplitz(np.ones((1, 1, 3, 3)), (5, 5))
    with pytest.raises(ValueError, match="groups must divide"):
        toeplitz(np.ones((2, 1, 3, 3)), (3, 5, 5), groups=2)
    with pytest.raises(ValueError, match="kernel size can't be greater"):
        toeplitz(np.ones((1, 1, 3, 3)), (1, 2, 2))


def test_im2col_view_reproduces_the_lecture_patch_matrix():
    x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])  # x1..x5
    patches = im2col_view(x, 3, padding=1)
    np.testing.assert_array_equal(patches.T, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0]])
    labels = im2col_labels((1, 5), 3, padding=1)
    assert labels.T.tolist() == [
        ["0", "x[0]", "x[1]"],
        ["x[0]", "x[1]", "x[2]"],
        ["x[1]", "x[2]", "x[3]"],
        ["x[2]", "x[3]", "x[4]"],
        ["x[3]", "x[4]", "0"],
    ]


def test_im2col_view_times_weight_is_the_convolution_and_equals_unfold(rng):
    x = rng.standard_normal((3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 2))
    patches = im2col_view(x, (3, 2), stride=2, padding=1, dilation=(1, 2))
    expected = F.conv2d(x, w, None, 2, 1, (1, 2)).array
    assert_close(w.reshape(4, -1) @ patches, expected.reshape(4, -1))
    unfolded = torch_F.unfold(to_torch(x[None]), (3, 2), (1, 2), 1, 2)[0]
    assert_close(patches, unfolded)
    labels = im2col_labels(x.shape, (3, 2), stride=2, padding=1, dilation=(1, 2))
    assert labels.shape == patches.shape
    for (row, col), name in np.ndenumerate(labels):
        value = 0.0 if name == "0" else x[tuple(int(i) for i in name[2:-1].split(","))]
        assert patches[row, col] == value
    assert (labels == "0").any()


def test_im2col_view_of_the_d2l_example():
    x = np.arange(9.0).reshape(1, 3, 3)
    k = np.array([0.0, 1.0, 2.0, 3.0])
    assert (k @ im2col_view(x, 2)).tolist() == [19.0, 25.0, 37.0, 43.0]
    assert torch.equal(
        torch.tensor(k @ im2col_view(x, 2)), torch.tensor([19.0, 25.0, 37.0, 43.0], dtype=torch.float64)
    )
