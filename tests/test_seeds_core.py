"""The worked examples of the d2l chapter on convolutions (seed 003), with convforge."""

from __future__ import annotations

import numpy as np
import pytest

import convforge as cf
import convforge.functional as F
from convforge.spec import effective_kernel_size


def corr2d(x, k):
    """d2l's corr2d: 2-D cross-correlation of one channel, written with conv2d."""
    x, k = np.asarray(x, dtype=np.float32), np.asarray(k, dtype=np.float32)
    return F.conv2d(x[None, None], k[None, None]).array[0, 0]


def test_corr2d_of_the_3x3_example_gives_19_25_37_43():
    x = np.arange(9.0).reshape(3, 3)
    k = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(corr2d(x, k), [[19.0, 25.0], [37.0, 43.0]])


def test_corr2d_first_output_is_the_sum_of_products_of_the_first_window():
    x = np.arange(9.0).reshape(3, 3)
    k = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert corr2d(x, k)[0, 0] == 0 * 0 + 1 * 1 + 3 * 2 + 4 * 3


@pytest.mark.parametrize(
    ("kernel", "padding", "stride", "expected"),
    [
        (3, 1, 1, (8, 8)),
        ((5, 3), (2, 1), 1, (8, 8)),
        (3, 1, 2, (4, 4)),
        ((3, 5), (0, 1), (3, 4), (2, 2)),
    ],
)
def test_d2l_output_shapes_on_an_8x8_input(rng, kernel, padding, stride, expected):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.random((1, 1, 8, 8)).astype(np.float32)
    w = rng.random((1, 1, kh, kw)).astype(np.float32)
    y = F.conv2d(x, w, np.zeros(1, np.float32), stride=stride, padding=padding)
    assert y.shape[2:] == expected


def test_d2l_shape_formula_floor_of_n_minus_k_plus_p_plus_s_over_s():
    """(n_h - k_h + p_h + s_h) // s_h with p the total padding of a dimension."""
    for n, k, p, s in [(8, 3, 2, 2), (8, 3, 0, 3), (8, 5, 2, 4), (7, 2, 1, 3)]:
        x = np.ones((1, 1, n, n), np.float32)
        w = np.ones((1, 1, k, k), np.float32)
        y = F.conv2d(x, w, padding=((p // 2, p - p // 2),) * 2, stride=s)
        assert y.shape[2:] == ((n - k + p + s) // s,) * 2


def test_transposed_conv_of_a_2x2_input_with_a_3x3_kernel_gives_4x4():
    x = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)
    k = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    y = F.conv_transpose2d(x[None, None], k[None, None])
    assert y.shape == (1, 1, 4, 4)
    expected = np.zeros((4, 4), np.float32)
    for i in range(2):
        for j in range(2):
            expected[i : i + 3, j : j + 3] += x[i, j] * k
    np.testing.assert_array_equal(y.array[0, 0], expected)


def test_convolution_equals_correlation_with_the_flipped_kernel(rng):
    x = rng.standard_normal((6, 7)).astype(np.float32)
    k = rng.standard_normal((3, 2)).astype(np.float32)
    true_conv = F.conv2d(x[None, None], k[None, None], flip=True).array[0, 0]
    np.testing.assert_allclose(true_conv, corr2d(x, k[::-1, ::-1]), rtol=1e-6, atol=1e-6)
    assert not np.allclose(true_conv, corr2d(x, k))


def edge_image():
    x = np.ones((6, 8), np.float32)
    x[:, 2:6] = 0
    return x


def test_vertical_edge_detector_marks_the_two_edges_with_plus_and_minus_one():
    y = corr2d(edge_image(), [[1.0, -1.0]])
    expected = np.zeros((6, 7), np.float32)
    expected[:, 1] = 1  # white to black
    expected[:, 5] = -1  # black to white
    np.testing.assert_array_equal(y, expected)


def test_vertical_edge_detector_sees_nothing_in_the_transposed_image():
    y = corr2d(edge_image().T, [[1.0, -1.0]])
    assert y.shape == (8, 5)
    np.testing.assert_array_equal(y, np.zeros((8, 5)))


def test_edge_detector_output_has_the_d2l_shape_and_dtype():
    y = F.conv2d(cf.tensor(edge_image()[None, None]), np.array([[[[1.0, -1.0]]]], np.float32))
    assert y.shape == (1, 1, 6, 7)
    assert y.dtype == np.float32


@pytest.mark.parametrize(
    ("k", "d", "expected"), [(3, 1, 3), (3, 2, 5), (3, 4, 9), (5, 2, 9), (1, 7, 1), (2, 3, 4)]
)
def test_effective_kernel_size_is_k_plus_k_minus_one_times_d_minus_one(k, d, expected):
    assert effective_kernel_size(k, d) == expected == k + (k - 1) * (d - 1)


@pytest.mark.parametrize(("k", "d"), [(3, 2), (2, 3), (4, 2)])
def test_a_dilated_kernel_spans_its_effective_size(rng, k, d):
    """A dilated kernel fits exactly an input of its effective size: one output."""
    span = effective_kernel_size(k, d)
    x = rng.standard_normal((1, 1, span))
    w = rng.standard_normal((1, 1, k))
    y = F.conv1d(x, w, dilation=d)
    assert y.shape == (1, 1, 1)
    np.testing.assert_allclose(y.array[0, 0, 0], np.dot(x[0, 0, ::d], w[0, 0]), rtol=1e-12)
    with pytest.raises(ValueError, match="kernel"):
        F.conv1d(x[..., :-1], w, dilation=d)
