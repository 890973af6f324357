"""Winograd F(m x m, 3 x 3): the matrices, the compiled transforms and the blocked layout.

The parity grids of ``test_kernels.py`` check every direction on small specs; these check
what those specs do not reach: the 1-D algorithm each matrix triple defines, the 1-D
transform helpers against their matrices, channel counts across the transform's channel
block (a full block plus a remainder) and batches split into several chunks.
"""

from __future__ import annotations

import numpy as np
import pytest

from convforge.kernels import jit, reference, winograd
from convforge.spec import ConvArgs, Operand

pytestmark = pytest.mark.skipif(not jit.available(), reason="Winograd's transforms need Numba")

TILE_SIZES = sorted(winograd.MATRICES)


@pytest.mark.parametrize("m", TILE_SIZES)
def test_matrices_compute_the_1d_correlation(rng, m):
    """``A^T [(G g) * (B^T d)]`` is ``y_i = sum_k d_{i+k} g_k`` for ``m`` outputs."""
    bt, g_mat, at = winograd.MATRICES[m]
    d = rng.standard_normal(m + 2)
    g = rng.standard_normal(3)
    expected = np.array([d[i : i + 3] @ g for i in range(m)])
    np.testing.assert_allclose(at @ ((g_mat @ g) * (bt @ d)), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("m", TILE_SIZES)
def test_transform_helpers_apply_their_matrices(rng, m):
    bt, _, at = winograd.MATRICES[m]
    alpha = m + 2
    src = rng.standard_normal((alpha, 7))
    out = np.empty((alpha, 7))
    winograd._apply_bt(m, src, out)
    np.testing.assert_allclose(out, bt @ src, rtol=1e-12, atol=1e-12)
    small = np.empty((m, 7))
    winograd._apply_at(m, src, small)
    np.testing.assert_allclose(small, at @ src, rtol=1e-12, atol=1e-12)
    back = np.empty((alpha, 7))
    winograd._apply_a(m, small, back)  # the adjoint: A = (A^T)^T
    np.testing.assert_allclose(back, at.T @ small, rtol=1e-12, atol=1e-12)


def _assert_within_bound(actual, expected, algorithm):
    bound = algorithm.ERROR_BOUND[np.dtype(np.float64)]
    scale = max(float(np.max(np.abs(expected))), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=bound * scale)


@pytest.mark.parametrize("algorithm", [winograd.F2, winograd.F4], ids=lambda a: a.NAME)
def test_channels_across_the_transform_block_and_chunked_batches(rng, monkeypatch, algorithm):
    """70 in and 67 out channels: one full channel block of the transforms and a partial
    one; tiles of a few bytes per chunk: every sample is its own chunk."""
    assert winograd.CHANNEL_BLOCK < 67 < 2 * winograd.CHANNEL_BLOCK
    args = ConvArgs.parse("conv2d", 2, padding=((1, 0), (2, 1)))
    spec = args.resolve(Operand((3, 70, 5, 9), "float64"), Operand((67, 70, 3, 3), "float64"))
    x = rng.standard_normal(spec.in_shape)
    w = rng.standard_normal(spec.weight_shape)
    gy = rng.standard_normal(spec.out_shape)
    whole = (
        algorithm.forward(x, w, spec),
        algorithm.grad_input(gy, w, spec, x.shape),
        algorithm.grad_weight(x, gy, spec, w.shape),
    )
    _assert_within_bound(whole[0], reference.forward(x, w, spec), algorithm)
    _assert_within_bound(whole[1], reference.grad_input(gy, w, spec, x.shape), algorithm)
    _assert_within_bound(whole[2], reference.grad_weight(x, gy, spec, w.shape), algorithm)
    monkeypatch.setattr(winograd, "CHUNK_BYTES", 1)
    assert winograd._samples_per_chunk(3, 1000) == 1
    # the same values; BLAS may round the last bit differently for a GEMM of another height
    tight = {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(algorithm.forward(x, w, spec), whole[0], **tight)
    np.testing.assert_allclose(algorithm.grad_input(gy, w, spec, x.shape), whole[1], **tight)
    np.testing.assert_allclose(algorithm.grad_weight(x, gy, spec, w.shape), whole[2], **tight)


def test_weight_transform_is_g_w_g_transposed_for_every_channel_pair(rng):
    _, g_mat, _ = winograd.MATRICES[4]
    w = rng.standard_normal((6, 5, 3, 3))
    u = winograd._weight_transform(w, 4, 2, np.float64)  # 2 groups of 3 out, 5 in channels
    assert u.shape == (36, 2, 5, 3)
    for o in range(6):
        for c in range(5):
            expected = (g_mat @ w[o, c] @ g_mat.T).reshape(36)
            np.testing.assert_allclose(u[:, o // 3, c, o % 3], expected, rtol=1e-12, atol=1e-12)
