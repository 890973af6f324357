"""The Functions behind the nn layers and the tensor routines: gradcheck and torch parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf
import convforge.nn.functional as F
from conftest import assert_close, to_torch


def _leaf(rng, *shape, scale: float = 1.0) -> cf.Tensor:
    return cf.tensor(rng.standard_normal(shape) * scale, requires_grad=True)


# ---- gradcheck of every new Function -------------------------------------------------
GRADCHECK_CASES = {
    "linear": (lambda x, w, b: F.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), [(3, 4)]),
    "gelu": (lambda x: F.gelu(x), [(3, 4)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [(3, 4)]),
    "softmax": (lambda x: F.softmax(x, dim=1), [(2, 4, 3)]),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), [(3, 5)]),
    "cross_entropy": (
        lambda x: F.cross_entropy(
            x, cf.tensor([2, 0, 1]), weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1
        ),
        [(3, 3)],
    ),
    "cross_entropy_soft": (lambda x, t: F.cross_entropy(x, t), [(2, 3), (2, 3)]),
    "nll_loss": (lambda x: F.nll_loss(x, cf.tensor([[1, 0], [2, -100]]), reduction="sum"), [(2, 3, 2)]),
    "bce_with_logits": (
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=np.array([2.0, 0.5])),
        [(3, 2), (3, 2)],
    ),
    "mse_loss": (lambda x, t: F.mse_loss(x, t), [(3, 2), (3, 2)]),
    "batch_norm_train": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [(3, 2, 2), (2,), (2,)],
    ),
    "batch_norm_eval": (
        lambda x, w, b: F.batch_norm(x, np.array([0.1, -0.2]), np.array([1.5, 0.5]), w, b),
        [(3, 2, 2), (2,), (2,)],
    ),
    "cat": (lambda a, b: cf.cat([a, b, a], dim=1), [(2, 3), (2, 1)]),
    "stack": (lambda a, b: cf.stack([a, b], dim=-1), [(2, 3), (2, 3)]),
    "where": (lambda a, b: cf.where(a.array > 0, a, b), [(3, 4), (4,)]),
    "maximum": (lambda a, b: cf.maximum(a, b), [(3, 4), (1, 4)]),
    "minimum": (lambda a, b: cf.minimum(a, b), [(3, 4), (3, 1)]),
    "var": (lambda a: a.var(dim=1), [(3, 4)]),
    "std": (lambda a: a.std(dim=(0, 2), keepdim=True, unbiased=False), [(2, 3, 4)]),
    "tensor_softmax": (lambda a: a.softmax(0) * a.log_softmax(1), [(3, 4)]),
}


@pytest.mark.parametrize("name", list(GRADCHECK_CASES))
def test_new_ops_pass_gradcheck(name, rng):
    fn, shapes = GRADCHECK_CASES[name]
    inputs = [_leaf(rng, *shape) for shape in shapes]
    if name == "cross_entropy_soft":
        inputs[1] = cf.tensor(rng.dirichlet(np.ones(3), size=2), requires_grad=True)
    if name == "bce_with_logits":
        inputs[1] = cf.tensor(rng.random((3, 2)), requires_grad=True)
    assert cf.gradcheck(fn, inputs)


# ---- parity of the tensor ops with torch ---------------------------------------------
def test_softmax_family_is_stable_and_matches_torch(rng):
    x = rng.standard_normal((3, 5)) * 400  # exp would overflow without the shift
    for cf_fn, torch_fn in [(F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)]:
        xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
        yc, yt = cf_fn(xc, dim=1), torch_fn(xt, dim=1)
        assert_close(yc, yt)
        g = rng.standard_normal(x.shape)
        yc.backward(g)
        yt.backward(torch.tensor(g))
        assert_close(xc.grad, xt.grad)


def test_softmax_keeps_float32_and_warns_on_implicit_dim():
    x = cf.randn(2, 3)
    assert F.softmax(x, dim=0).dtype == np.float32
    assert F.softmax(x, dim=1, dtype=cf.float64).dtype == np.float64
    with pytest.warns(UserWarning, match="implicit dimension"):
        y = F.softmax(x)
    np.testing.assert_allclose(y.numpy().sum(axis=1), 1, rtol=1e-6)  # dim 1 for 2-D input, as torch


def test_maximum_splits_gradient_on_ties_as_torch():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    ac, bc = cf.tensor(a, requires_grad=True), cf.tensor(b, requires_grad=True)
    at, bt = to_torch(a, requires_grad=True), to_torch(b, requires_grad=True)
    cf.maximum(ac, bc).sum().backward()
    torch.maximum(at, bt).sum().backward()
    assert_close(ac.grad, at.grad)
    assert_close(bc.grad, bt.grad)


def test_var_and_std_match_torch(rng):
    x = rng.standard_normal((3, 4, 5))
    xt = to_torch(x)
    xc = cf.tensor(x)
    assert_close(xc.var(), xt.var())
    assert_close(xc.var(1, keepdim=True), xt.var(1, keepdim=True))
    assert_close(xc.var(dim=(0, 2), correction=0), xt.var(dim=(0, 2), correction=0))
    assert_close(xc.std(2, unbiased=False), xt.std(2, unbiased=False))
    assert np.isnan(cf.tensor([1.0]).var().item())  # n <= correction, as torch


def test_cat_stack_where_match_torch(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    assert_close(cf.cat([cf.tensor(a), cf.tensor(b)], dim=-1), torch.cat([to_torch(a), to_torch(b)], dim=-1))
    assert_close(cf.stack([cf.tensor(a), b], dim=1), torch.stack([to_torch(a), to_torch(b)], dim=1))
    mask = a > 0
    assert_close(cf.where(mask, cf.tensor(a), 0.0), torch.where(torch.tensor(mask), to_torch(a), 0.0))
    assert_close(cf.tensor(a).where(mask, b), to_torch(a).where(torch.tensor(mask), to_torch(b)))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: cf.cat([cf.zeros(2, 3), cf.zeros(3, 3)], dim=1), ValueError, "except in dimension 1"),
        (lambda: cf.cat([], dim=0), ValueError, "non-empty"),
        (lambda: cf.cat(cf.zeros(2), dim=0), TypeError, "sequence of tensors"),
        (lambda: cf.cat([cf.zeros(2)], dim=1), IndexError, "dim=1"),
        (lambda: cf.stack([cf.zeros(2), cf.zeros(3)]), ValueError, "same shape"),
        (lambda: cf.where(np.array([1, 0]), cf.zeros(2), 1.0), TypeError, "bool"),
        (lambda: cf.maximum(cf.zeros(2), cf.zeros(3)), ValueError, "broadcast"),
        (lambda: F.linear(cf.zeros(2, 3), cf.zeros(4, 5)), ValueError, "input has 3 features"),
        (lambda: F.gelu(cf.zeros(2), approximate="erf"), ValueError, "approximate='erf'"),
        (lambda: F.softmax(cf.zeros(2, 2), dim=2), IndexError, "dim=2"),
        (lambda: F.dropout(cf.zeros(2), p=-0.1), ValueError, "p=-0.1"),
        (lambda: F.batch_norm(cf.zeros(2, 3), np.zeros(2), np.ones(2)), ValueError, "running_mean"),
        (lambda: cf.zeros(2, -1), ValueError, "non-negative"),
        (lambda: cf.randn(2, dtype=np.int64), TypeError, "floating"),
    ],
)
def test_ops_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---- creation routines ---------------------------------------------------------------
def test_creation_routines_default_to_float32_like_torch():
    assert cf.zeros(2, 3).dtype == np.float32 and cf.zeros((2, 3)).shape == (2, 3)
    assert cf.ones([4]).numpy().sum() == 4
    assert cf.full((2,), 7).dtype == np.int64 and cf.full((2,), 0.5).dtype == np.float32
    assert cf.arange(5).dtype == np.int64 and cf.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_array_equal(cf.arange(1, 7, 2).numpy(), [1, 3, 5])
    like = cf.zeros_like(cf.ones(2, 2, dtype=np.float64))
    assert like.dtype == np.float64 and not like.numpy().any()
    assert cf.ones_like(np.zeros(3)).shape == (3,)
    assert cf.zeros(2, requires_grad=True).requires_grad


def test_random_routines_are_reproducible_with_manual_seed():
    cf.manual_seed(11)
    a = (cf.randn(3, 4).numpy(), cf.rand(5).numpy(), cf.randint(0, 10, (6,)).numpy())
    cf.manual_seed(11)
    b = (cf.randn(3, 4).numpy(), cf.rand(5).numpy(), cf.randint(10, (6,)).numpy())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a[0].dtype == np.float32 and a[2].dtype == np.int64
    assert ((a[1] >= 0) & (a[1] < 1)).all() and ((a[2] >= 0) & (a[2] < 10)).all()
    generator = np.random.default_rng(0)
    assert cf.randn(2, generator=generator).shape == (2,)
