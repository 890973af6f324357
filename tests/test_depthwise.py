"""The compiled depthwise kernel against PyTorch 2.13 on MobileNet's layer shapes and the edges.

Forward, input gradient and weight gradient of ``algorithm='depthwise'`` through the public
API, compared with torch's on: MobileNetV2's 3x3 layers (padding 1, stride 1 and 2) at a
reduced channel count, planes from 1x1 up (the copy into padded phase buffers and its
borders), odd and even sizes, channel multipliers, asymmetric padding and dilation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convforge as cf
import convforge.functional as F
from conftest import assert_close

# (batch, channels, height, width, multiplier, stride, padding, dilation)
CASES = [
    (1, 8, 112, 112, 1, 1, 1, 1),  # MobileNetV2's first depthwise layer, fewer channels
    (2, 6, 56, 56, 1, 2, 1, 1),
    (8, 5, 7, 7, 1, 1, 1, 1),  # the last stage: 7x7 planes
    (3, 4, 14, 15, 1, 2, 1, 1),
    (2, 3, 1, 1, 1, 1, 1, 1),  # a plane smaller than the kernel
    (2, 3, 2, 3, 1, 2, 1, 1),
    (2, 3, 9, 8, 2, 1, 1, 1),  # multiplier 2
    (1, 2, 10, 9, 3, 1, 0, 1),  # no padding
    (2, 2, 11, 12, 1, 1, 2, 2),  # dilated
    (1, 3, 8, 8, 1, 1, (2, 0), 1),  # padding differs between the dimensions
]


def run(case, dtype):
    n, c, h, w, mult, stride, padding, dilation = case
    rng = np.random.default_rng(CASES.index(case) if case in CASES else 0)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((c * mult, 1, 3, 3)).astype(dtype)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": c}
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    ty = TF.conv2d(tx, tw, **kwargs)
    grad = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(grad))
    ox, ow = cf.tensor(x, requires_grad=True), cf.tensor(weight, requires_grad=True)
    oy = F.conv2d(ox, ow, algorithm="depthwise", **kwargs)
    oy.backward(grad)
    return (oy, ox.grad, ow.grad), (ty, tx.grad, tw.grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_depthwise_forward_and_gradients_match_torch(case, dtype):
    ours, theirs = run(case, dtype)
    for a, b in zip(ours, theirs):
        assert np.asarray(a).dtype == dtype
        assert_close(a, b, dtype)


def test_depthwise_results_do_not_depend_on_the_thread_count():
    numba = pytest.importorskip("numba")
    case = (2, 16, 28, 28, 1, 2, 1, 1)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = [np.asarray(a).copy() for a in run(case, np.float32)[0]]
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = [np.asarray(a) for a in run(case, np.float32)[0]]
    finally:
        numba.set_num_threads(previous)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
