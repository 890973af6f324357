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
    data = array.data if isinstance(array, cf.Tensor) else np.asarray(array)
    return torch.tensor(np.array(data), requires_grad=requires_grad)


def assert_close(actual, expected, dtype=np.float64, rtol: float | None = None) -> None:
    """Compare to the oracle relative to the oracle's scale (robust to values near 0)."""
    actual = actual.data if isinstance(actual, cf.Tensor) else np.asarray(actual)
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    rtol = RTOL[np.dtype(dtype).type] if rtol is None else rtol
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)
