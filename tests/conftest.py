"""Shared test helpers: the PyTorch oracle and tolerances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf

torch.set_num_threads(1)  # xdist runs one worker per core

# relative tolerances against torch, by dtype (same algorithm class: round-off only)
RTOL = {np.float64: 1e-10, np.float32: 2e-5}


def to_torch(array, requires_grad: bool = False) -> torch.Tensor:
    """A torch tensor holding a copy of ``array`` (ndarray or cf.Tensor)."""
    data = array.array if isinstance(array, cf.Tensor) else np.asarray(array)
    return torch.tensor(np.array(data), requires_grad=requires_grad)


def assert_close(actual, expected, dtype=np.float64, rtol: float | None = None) -> None:
    """Compare to the oracle relative to the oracle's scale (robust to values near 0)."""
    actual = actual.array if isinstance(actual, cf.Tensor) else np.asarray(actual)
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    rtol = RTOL[np.dtype(dtype).type] if rtol is None else rtol
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


def cf_run(fn, x, w, b, gy_fn):
    """Run ``fn(x, w, b)`` in convforge and backpropagate ``gy_fn(output shape)``."""
    xt, wt = cf.tensor(x, requires_grad=True), cf.tensor(w, requires_grad=True)
    bt = None if b is None else cf.tensor(b, requires_grad=True)
    y = fn(xt, wt, bt)
    y.backward(gy_fn(y.shape))
    return y, xt.grad, wt.grad, None if bt is None else bt.grad


def torch_run(fn, x, w, b, gy_fn):
    """The same in torch."""
    xt, wt = to_torch(x, True), to_torch(w, True)
    bt = None if b is None else to_torch(b, True)
    y = fn(xt, wt, bt)
    y.backward(torch.from_numpy(gy_fn(tuple(y.shape))))
    return y, xt.grad, wt.grad, None if bt is None else bt.grad


def run_both(rng, ours_fn, torch_fn, x, w, b):
    """(output, grad input, grad weight, grad bias) of both, for one random output gradient."""
    seed = int(rng.integers(1 << 30))

    def gy_fn(shape):
        return np.random.default_rng(seed).standard_normal(shape).astype(x.dtype)

    return cf_run(ours_fn, x, w, b, gy_fn), torch_run(torch_fn, x, w, b, gy_fn)


def assert_all_close(ours, theirs, dtype=np.float64, rtol=None):
    for name, a, e in zip(("output", "grad input", "grad weight", "grad bias"), ours, theirs):
        if e is None:
            assert a is None, f"{name}: expected no gradient"
            continue
        assert a is not None, f"{name}: missing"
        try:
            assert_close(a, e, dtype, rtol)
        except AssertionError as error:
            raise AssertionError(f"{name} differs from torch: {error}") from error


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)
