"""The fast paths of batch normalization and the hardtanh family equal torch 2.13 to round-off.

Batch norm runs through ``kernels/affine.py`` (one compiled sweep per pass for C-contiguous
data, a NumPy fallback of at most two passes otherwise); every path is checked against torch
for values, input/weight/bias gradients and running statistics, in float32 and float64, on
contiguous, channels-last and sliced inputs, with full and broadcast (``y.sum()``) upstream
gradients. ReLU6/hardtanh/hardsigmoid/hardswish run through ``np.clip`` and keep torch's
gradient convention at the kinks (0 at the bounds).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch
from convforge.kernels import affine
from convforge.kernels import clip as clip_kernels

CF, TF = cf.nn.functional, torch.nn.functional
DTYPES = [np.float32, np.float64]
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}
SHAPES = [
    (6, 3),
    (4, 3, 5),
    (2, 3, 4, 5),
    (2, 3, 2, 3, 4),
    (2, 16, 24, 24),
    (2, 8, 48, 48),
]  # the last above _PARALLEL_MIN


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    """Each test runs on the compiled kernels and again on the NumPy fallback."""
    if request.param == "numpy":
        monkeypatch.setattr(affine, "_compiled_ok", lambda *arrays: False)
    return request.param


def _layout(array: np.ndarray, layout: str) -> np.ndarray:
    """The same values, stored C-contiguous, channels-last, or as a strided slice of a larger array."""
    if layout == "channels_last":
        moved = np.ascontiguousarray(np.moveaxis(array, 1, -1))
        return np.moveaxis(moved, -1, 1)
    if layout == "sliced":
        big = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
        big[..., ::2] = array
        return big[..., ::2]
    return array


def _stats(rng, channels: int, dtype):
    mean = rng.normal(size=channels).astype(dtype)
    var = rng.uniform(0.5, 2.0, size=channels).astype(dtype)
    return mean, var


def _run_batch_norm(x, w, b, mean, var, training, dtype, loss):
    """convforge's and torch's outputs, gradients (x, w, b) and updated running statistics."""
    results = []
    for lib, make, fn in ((cf, cf.tensor, CF.batch_norm), (torch, torch.tensor, TF.batch_norm)):
        if lib is torch:
            x = np.array(x)  # torch copies a strided array into its own layout anyway
        xt = make(x, requires_grad=True)
        wt = None if w is None else make(w, requires_grad=True)
        bt = None if b is None else make(b, requires_grad=True)
        rm, rv = make(mean.copy()), make(var.copy())
        y = fn(xt, rm, rv, wt, bt, training, 0.1, 1e-5)
        g = np.random.default_rng(9).normal(size=tuple(y.shape)).astype(dtype)
        (y.sum() if loss == "sum" else (y * make(g)).sum()).backward()
        grads = [None if t is None else t.grad for t in (xt, wt, bt)]
        results.append((y, grads, rm, rv))
    return results


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("affine_params", ["weight_and_bias", "weight_only", "none"])
def test_batch_norm_values_gradients_and_running_stats_match_torch(
    rng, path, dtype, shape, training, affine_params
):
    channels = shape[1]
    x = (rng.normal(size=shape) * 3 + 1).astype(dtype)
    w = rng.normal(size=channels).astype(dtype) if affine_params != "none" else None
    b = rng.normal(size=channels).astype(dtype) if affine_params == "weight_and_bias" else None
    mean, var = _stats(rng, channels, dtype)
    ours, theirs = _run_batch_norm(x, w, b, mean, var, training, dtype, "weighted")
    assert ours[0].dtype == dtype
    for a, e in zip([ours[0], *ours[1], ours[2], ours[3]], [theirs[0], *theirs[1], theirs[2], theirs[3]]):
        assert (a is None) == (e is None)
        if a is not None:
            assert_close(a.detach().numpy(), e.detach().numpy(), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["channels_last", "sliced"])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("loss", ["weighted", "sum"])
def test_batch_norm_on_strided_inputs_and_broadcast_gradients_matches_torch(
    rng, path, dtype, layout, training, loss
):
    shape = (2, 8, 6, 7)
    x = _layout((rng.normal(size=shape) * 2 - 1).astype(dtype), layout)
    assert not x.flags.c_contiguous
    w, b = rng.normal(size=8).astype(dtype), rng.normal(size=8).astype(dtype)
    mean, var = _stats(rng, 8, dtype)
    ours, theirs = _run_batch_norm(x, w, b, mean, var, training, dtype, loss)
    for a, e in zip([ours[0], *ours[1], ours[2], ours[3]], [theirs[0], *theirs[1], theirs[2], theirs[3]]):
        assert_close(a.detach().numpy(), e.detach().numpy(), dtype=dtype)


def test_batch_norm_keeps_a_channels_last_layout(rng, path):
    x = _layout(rng.normal(size=(2, 4, 3, 5)).astype(np.float32), "channels_last")
    y = CF.batch_norm(cf.tensor(x), cf.zeros(4), cf.ones(4), training=False)
    assert y.array.strides[1] == y.array.itemsize  # channels innermost, as torch's result


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_under_no_grad_records_nothing_and_equals_torch(rng, path, dtype):
    x = rng.normal(size=(2, 5, 9, 9)).astype(dtype)
    w, b = rng.normal(size=5).astype(dtype), rng.normal(size=5).astype(dtype)
    mean, var = _stats(rng, 5, dtype)
    with cf.no_grad():
        y = CF.batch_norm(
            cf.tensor(x), cf.tensor(mean), cf.tensor(var), cf.tensor(w, requires_grad=True), cf.tensor(b)
        )
    assert y.grad_fn is None and not y.requires_grad
    with torch.no_grad():
        expected = TF.batch_norm(*(torch.tensor(a) for a in (x, mean, var, w, b)))
    assert_close(y.numpy(), expected.numpy(), dtype=dtype)


def test_batch_norm_layer_in_eval_and_train_mode_matches_torch(rng, path):
    ours, theirs = cf.nn.BatchNorm2d(6), torch.nn.BatchNorm2d(6)
    state = {k: v.numpy().copy() for k, v in theirs.state_dict().items()}
    state["running_mean"][:] = rng.normal(size=6)
    state["weight"][:] = rng.normal(size=6)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    ours.load_state_dict({k: cf.tensor(v) for k, v in state.items()})
    x = rng.normal(size=(3, 6, 5, 5)).astype(np.float32)
    for mode in ("train", "eval", "train"):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        assert_close(ours(cf.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach(), np.float32)
    assert_close(ours.running_mean.numpy(), theirs.running_mean, np.float32)
    assert_close(ours.running_var.numpy(), theirs.running_var, np.float32)


def test_batch_norm_refuses_backward_after_its_input_is_modified_in_place(rng):
    x = cf.tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    h = x * 1.0
    y = CF.batch_norm(h, None, None, cf.ones(3, requires_grad=True), training=True)
    h.add_(1.0)  # torch saves batch norm's input too, and refuses the same way
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_channel_moments_are_exact_for_large_offsets():
    """The two-pass float64 statistics keep the variance of data far from zero."""
    x = (1000 + np.random.default_rng(2).normal(size=(8, 4, 32, 32))).astype(np.float32)
    mean, var = affine.channel_moments(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2, 3)), rtol=1e-9)


# --- the hardtanh family ---------------------------------------------------------------------

ACTIVATIONS = [
    ("relu6", {}),
    ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
]
KINKS = np.array([-3.0, -1.0, -0.5, 0.0, 1.0, 2.0, 3.0, 6.0, -7.0, 7.5, 0.25, -0.25])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "kwargs"), ACTIVATIONS)
@pytest.mark.parametrize("layout", ["contiguous", "sliced"])
def test_clip_activations_match_torch_at_kinks_and_on_random_values(rng, dtype, name, kwargs, layout):
    values = np.concatenate([KINKS, rng.normal(scale=4, size=52)]).reshape(2, 2, 4, 4).astype(dtype)
    x = _layout(values, layout) if layout == "sliced" else values
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = getattr(CF, name)(xc, **kwargs), getattr(TF, name)(xt, **kwargs)
    g = rng.normal(size=x.shape).astype(dtype)
    (yc * cf.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    assert yc.dtype == dtype
    rtol = 1e-7 if name in ("hardsigmoid", "hardswish") and dtype == np.float64 else None
    assert_close(yc.detach().numpy(), yt.detach(), dtype=dtype, rtol=rtol)
    assert_close(xc.grad.numpy(), xt.grad, dtype=dtype, rtol=rtol)


@pytest.mark.parametrize(("name", "kwargs"), [("relu6", {}), ("hardtanh", {"min_val": -0.5, "max_val": 2.0})])
def test_clip_activations_in_place_on_a_non_leaf_match_torch(rng, name, kwargs):
    x = np.concatenate([KINKS, rng.normal(scale=4, size=4)]).astype(np.float32)
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    hc, ht = xc * 1.0, xt * 1.0
    yc = getattr(CF, name)(hc, inplace=True, **kwargs)
    yt = getattr(TF, name)(ht, inplace=True, **kwargs)
    assert yc is hc
    (yc * yc).sum().backward()
    (yt * yt).sum().backward()
    assert_close(hc.detach().numpy(), ht.detach(), np.float32)
    assert_close(xc.grad.numpy(), xt.grad, np.float32)


@pytest.fixture(params=["compiled", "numpy"])
def clip_path(request, monkeypatch):
    """The hardtanh backward on the compiled sweep and again on the NumPy expression."""
    if request.param == "numpy":
        monkeypatch.setattr(clip_kernels, "_jit", SimpleNamespace(available=lambda: False))
    return request.param


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "kwargs"), ACTIVATIONS)
@pytest.mark.parametrize("size", [64, 2 * 4 * 96 * 96])  # the second above the parallel threshold
def test_clip_activation_gradients_at_kinks_and_beside_nan_match_torch(
    rng, clip_path, dtype, name, kwargs, size
):
    x = rng.normal(scale=4, size=size).astype(dtype)
    x[: len(KINKS)] = KINKS
    x[len(KINKS)] = np.nan  # the value stays NaN; torch's gradient there depends on its vector path
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    g = rng.normal(size=size).astype(dtype)
    (getattr(CF, name)(xc, **kwargs) * cf.tensor(g)).sum().backward()
    (getattr(TF, name)(xt, **kwargs) * torch.tensor(g)).sum().backward()
    finite = np.isfinite(x)
    assert xc.grad.numpy()[len(KINKS)] == 0 or name == "hardswish"  # 0 at NaN, as torch's vector path
    rtol = 1e-7 if name in ("hardsigmoid", "hardswish") and dtype == np.float64 else None
    assert_close(xc.grad.numpy()[finite], xt.grad.numpy()[finite], dtype=dtype, rtol=rtol)


def test_relu6_passes_nan_through_as_torch():
    x = np.array([np.nan, -1.0, 7.0, 3.0], dtype=np.float32)
    np.testing.assert_array_equal(CF.relu6(cf.tensor(x)).numpy(), TF.relu6(torch.tensor(x)).numpy())


def test_relu6_module_under_no_grad_records_nothing():
    with cf.no_grad():
        y = cf.nn.ReLU6()(cf.tensor(np.linspace(-2, 8, 11, dtype=np.float32), requires_grad=True))
    assert y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), np.clip(np.linspace(-2, 8, 11, dtype=np.float32), 0, 6))


# --- ReLU: one np.maximum pass, the mask only when a graph is recorded --------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("inplace", [False, True])
def test_relu_values_and_gradient_match_torch(rng, dtype, inplace):
    x = np.concatenate([[0.0, -0.0, 1e-30, -1e-30], rng.normal(size=60)]).reshape(4, 4, 4).astype(dtype)
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = CF.relu(xc * 1.0, inplace=inplace), TF.relu(xt * 1.0, inplace=inplace)
    g = rng.normal(size=x.shape).astype(dtype)
    (yc * cf.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    assert_close(yc.detach().numpy(), yt.detach(), dtype=dtype)
    assert_close(xc.grad.numpy(), xt.grad, dtype=dtype)


def test_relu_passes_nan_through_and_records_nothing_under_no_grad():
    x = np.array([np.nan, -2.0, 3.0], dtype=np.float32)
    with cf.no_grad():
        y = CF.relu(cf.tensor(x, requires_grad=True))
    assert y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), torch.relu(torch.tensor(x)).numpy())


def test_batch_norm_and_relu6_export_to_onnx_with_the_same_outputs(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = cf.nn.Sequential(
        cf.nn.Conv2d(3, 4, 3), cf.nn.BatchNorm2d(4), cf.nn.ReLU6(), cf.nn.Hardtanh(-0.5, 0.5)
    )
    model[1].running_mean.array[:] = rng.normal(size=4)
    model.eval()
    x = (rng.normal(size=(1, 3, 8, 8)) * 3).astype(np.float32)
    path = tmp_path / "m.onnx"
    cf.io.save_onnx(model, str(path), cf.tensor(x))
    session = ort.InferenceSession(str(path))
    with cf.no_grad():
        expected = model(cf.tensor(x)).numpy()
    assert_close(session.run(None, {session.get_inputs()[0].name: x})[0], expected, np.float32)
