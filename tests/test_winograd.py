"""Winograd F(m x m, 3 x 3): the matrices, the compiled transforms and the blocked layout.

The parity grids of ``test_kernels.py`` check every direction on small specs; these check
what those specs do not reach: the 1-D algorithm each matrix triple defines, the 1-D
transform helpers against their matrices, channel counts across the transform's channel
block (a full block plus a remainder), batches split into several chunks, and the cache of
weight transforms (reused while the weights keep their values, never stale).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from convforge.kernels import jit, reference, winograd
from convforge.kernels.weight_cache import WeightCache
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


# --------------------------------------------------------------------------------------
# the weight-transform cache: reused while the values stay, never stale
# --------------------------------------------------------------------------------------
def _counting(calls):
    def compute(w):
        calls.append(1)
        return w * 2.0

    return compute


def test_weight_cache_computes_once_per_value_of_the_weights(rng):
    cache = WeightCache()
    w = rng.standard_normal((4, 3, 3, 3))
    calls = []
    first = cache.get("k", w, _counting(calls))
    again = cache.get("k", w[...], _counting(calls))  # a new view of the same memory
    assert len(calls) == 1 and again is first and not first.flags.writeable
    w[1, 2, 0, 0] += 1.0  # in place, as an optimizer step does
    changed = cache.get("k", w, _counting(calls))
    assert len(calls) == 2
    np.testing.assert_array_equal(changed, w * 2.0)
    assert cache.get("other kind", w, _counting(calls)) is not changed and len(calls) == 3


def test_weight_cache_recomputes_for_nan_weights_and_stays_within_its_limit(rng):
    w = np.full((2, 2), np.nan)
    calls = []
    cache = WeightCache()
    cache.get("k", w, _counting(calls))
    cache.get("k", w, _counting(calls))
    assert len(calls) == 1  # NaN compares equal to NaN here: still the same values
    small = WeightCache(limit_bytes=3 * 2 * 8 * 4)  # room for three (copy, value) pairs
    arrays = [rng.standard_normal(4) for _ in range(5)]
    for a in arrays:
        small.get("k", a, _counting(calls))
    assert len(small) == 3
    before = len(calls)
    small.get("k", arrays[-1], _counting(calls))  # the newest stayed
    small.get("k", arrays[0], _counting(calls))  # the oldest was evicted
    assert len(calls) == before + 1


@pytest.mark.parametrize("algorithm", [winograd.F2, winograd.F4], ids=lambda a: a.NAME)
def test_winograd_sees_weights_updated_in_place(rng, algorithm):
    args = ConvArgs.parse("conv2d", 2, padding=1)
    spec = args.resolve(Operand((2, 16, 8, 8), "float64"), Operand((16, 16, 3, 3), "float64"))
    x = rng.standard_normal(spec.in_shape)
    gy = rng.standard_normal(spec.out_shape)
    w = rng.standard_normal(spec.weight_shape)
    for _ in range(3):
        _assert_within_bound(algorithm.forward(x, w, spec), reference.forward(x, w, spec), algorithm)
        gx = algorithm.grad_input(gy, w, spec, x.shape)
        _assert_within_bound(gx, reference.grad_input(gy, w, spec, x.shape), algorithm)
        w -= 0.1 * rng.standard_normal(w.shape)  # an SGD step: same array, new values


def test_winograd_from_four_threads_at_once_gives_each_its_own_result(rng):
    args = ConvArgs.parse("conv2d", 2, padding=1)
    spec = args.resolve(Operand((2, 16, 12, 12), "float32"), Operand((16, 16, 3, 3), "float32"))
    x = rng.standard_normal(spec.in_shape).astype(np.float32)
    weights = [rng.standard_normal(spec.weight_shape).astype(np.float32) for _ in range(4)]
    expected = [winograd.F4.forward(x, w.copy(), spec) for w in weights]

    def run(i):
        return [winograd.F4.forward(x, weights[i], spec) for _ in range(5)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4)))
    for got, want in zip(results, expected):
        for y in got:
            np.testing.assert_array_equal(y, want)
