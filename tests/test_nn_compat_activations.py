"""The activation functions and layers torch has, against torch 2.13: values and gradients
on random inputs and at the kinks (where torch picks a one-sided gradient), reprs, state
dict keys, constructor signatures."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

CF, TF = cf.nn.functional, torch.nn.functional

# (function name, extra positional/keyword arguments)
FUNCTION_CASES = [
    ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("relu6", {}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
    ("silu", {}),
    ("mish", {}),
    ("elu", {}),
    ("elu", {"alpha": 0.3}),
    ("selu", {}),
    ("celu", {"alpha": 2.0}),
    ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 3.0}),
    ("logsigmoid", {}),
    ("softsign", {}),
    ("tanhshrink", {}),
    ("threshold", {"threshold": 0.2, "value": -3.0}),
    ("hardshrink", {}),
    ("softshrink", {"lambd": 0.8}),
    ("glu", {}),
    ("glu", {"dim": 1}),
    ("softmin", {"dim": 1}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
]

# the kinks of the piecewise functions, and values far out where a naive exp overflows
SPECIAL = np.array([-1000.0, -30.0, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 20.0, 30.0, 1000.0])


# torch's hardsigmoid/hardswish backward multiplies by 1/6 rounded to float32 even in float64
RTOL = {"hardsigmoid": 1e-7, "hardswish": 1e-7}


def _compare(fn, kwargs, x):
    rtol = RTOL.get(fn, 1e-9)
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = getattr(CF, fn)(xc, **kwargs), getattr(TF, fn)(xt, **kwargs)
    assert_close(yc.detach().numpy(), yt.detach().numpy(), rtol=rtol)
    g = np.random.default_rng(7).normal(size=yt.shape)
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy(), rtol=rtol)


@pytest.mark.parametrize(("fn", "kwargs"), FUNCTION_CASES, ids=str)
def test_function_and_gradient_match_torch_on_random_inputs(rng, fn, kwargs):
    _compare(fn, kwargs, rng.normal(scale=3, size=(4, 6)))


@pytest.mark.parametrize(
    ("fn", "kwargs"), [c for c in FUNCTION_CASES if c[0] not in ("glu", "softmin")], ids=str
)
def test_function_and_gradient_match_torch_at_kinks_and_extremes(fn, kwargs):
    _compare(fn, kwargs, SPECIAL.copy())


@pytest.mark.parametrize("fn", ["silu", "hardswish", "mish", "elu", "softplus", "logsigmoid"])
def test_float32_matches_torch(rng, fn):
    x = rng.normal(scale=4, size=(3, 5)).astype(np.float32)
    y = getattr(CF, fn)(cf.tensor(x))
    assert y.dtype == np.float32
    assert_close(y.detach().numpy(), getattr(TF, fn)(torch.from_numpy(x)).detach().numpy(), dtype=np.float32)


@pytest.mark.parametrize(("shape", "slopes"), [((4, 3, 5), 3), ((4, 3, 2, 2), 1), ((3,), 1), ((2, 3), 3)])
def test_prelu_matches_torch_including_weight_gradient(rng, shape, slopes):
    x, w = rng.normal(size=shape), rng.uniform(0, 0.5, size=(slopes,))
    xc, wc = cf.tensor(x, requires_grad=True), cf.tensor(w, requires_grad=True)
    xt, wt = to_torch(x, requires_grad=True), to_torch(w, requires_grad=True)
    yc, yt = CF.prelu(xc, wc), TF.prelu(xt, wt)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    (yc * yc).sum().backward()
    (yt * yt).sum().backward()
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())
    assert_close(wc.grad.detach().numpy(), wt.grad.detach().numpy())


def test_prelu_layer_has_torchs_weight_and_repr():
    ours, theirs = cf.nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert_close(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), dtype=np.float32)


LAYERS = [
    ("Hardswish", (), {}),
    ("Hardswish", (True,), {}),
    ("Hardsigmoid", (True,), {}),
    ("SiLU", (), {}),
    ("SiLU", (True,), {}),
    ("Mish", (True,), {}),
    ("ELU", (), {}),
    ("ELU", (0.5, True), {}),
    ("SELU", (True,), {}),
    ("CELU", (), {}),
    ("Softplus", (), {}),
    ("Softplus", (2, 10), {}),
    ("ReLU6", (), {}),
    ("ReLU6", (True,), {}),
    ("Hardtanh", (), {}),
    ("Hardtanh", (-2, 2, True), {}),
    ("LogSigmoid", (), {}),
    ("Softsign", (), {}),
    ("Tanhshrink", (), {}),
    ("Threshold", (0.1, 20), {}),
    ("Threshold", (0.1, 20, True), {}),
    ("Hardshrink", (), {}),
    ("Softshrink", (0.3,), {}),
    ("GLU", (), {}),
    ("Softmin", (1,), {}),
    ("Softmin", (), {"dim": 0}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), LAYERS, ids=str)
def test_layer_repr_and_output_match_torch(rng, name, args, kwargs):
    ours, theirs = getattr(cf.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.normal(scale=2, size=(2, 4))
    assert_close(ours(cf.tensor(x)).detach().numpy(), theirs(to_torch(x)).detach().numpy(), rtol=1e-9)


@pytest.mark.parametrize(
    "name",
    ["Hardswish", "Hardsigmoid", "SiLU", "Mish", "ELU", "SELU", "CELU", "Softplus", "ReLU6", "Hardtanh",
     "Threshold", "Hardshrink", "Softshrink", "GLU", "Softmin", "PReLU"],
)  # fmt: skip
def test_layer_constructor_signatures_match_torch(name):
    ours = inspect.signature(getattr(cf.nn, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    drop = {"min_value", "max_value"}  # torch's deprecated Hardtanh aliases
    assert [p for p in ours if p not in drop] == [p for p in theirs if p not in drop]
    assert [ours[p].default for p in ours if p not in drop] == [
        theirs[p].default for p in theirs if p not in drop
    ]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: CF.hardtanh(cf.zeros(2), 1.0, -1.0), ValueError),
        (lambda: CF.glu(cf.zeros(3)), ValueError),
        (lambda: CF.prelu(cf.zeros(2, 3), cf.ones(2)), ValueError),
        (lambda: CF.prelu(cf.zeros(3), cf.ones(3)), ValueError),  # 1-D input has one channel in torch
        (lambda: CF.elu(cf.zeros(2), alpha="1"), TypeError),
        (lambda: CF.softshrink(cf.zeros(2), -1.0), ValueError),
    ],
)
def test_bad_arguments_raise_before_any_work(call, error):
    with pytest.raises(error):
        call()


def test_gradients_pass_gradcheck(rng):
    x = cf.tensor(rng.normal(scale=2, size=(3, 4)), requires_grad=True)
    for fn in ("silu", "mish", "softplus", "logsigmoid", "elu", "selu", "softsign", "tanhshrink"):
        assert cf.autograd.gradcheck(getattr(CF, fn), (x,)), fn


INPLACE_CASES = [
    ("hardtanh", {}),
    ("relu6", {}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
    ("silu", {}),
    ("mish", {}),
    ("elu", {"alpha": 0.7}),
    ("selu", {}),
    ("celu", {}),
    ("threshold", {"threshold": 0.1, "value": 2.0}),
]


@pytest.mark.parametrize(("fn", "kwargs"), INPLACE_CASES, ids=str)
def test_inplace_writes_into_the_input_and_returns_it_as_torch(rng, fn, kwargs):
    x = rng.normal(scale=3, size=(3, 4))
    xc, xt = cf.tensor(x.copy()), to_torch(x.copy())
    yc, yt = getattr(CF, fn)(xc, inplace=True, **kwargs), getattr(TF, fn)(xt, inplace=True, **kwargs)
    assert yc is xc and yt is xt
    assert_close(xc.detach().numpy(), xt.detach().numpy(), rtol=1e-9)


@pytest.mark.parametrize(("fn", "kwargs"), INPLACE_CASES, ids=str)
def test_inplace_on_an_intermediate_tensor_backpropagates_as_torch(rng, fn, kwargs):
    a = rng.normal(scale=3, size=(3, 4))
    ac, at = cf.tensor(a, requires_grad=True), to_torch(a, requires_grad=True)
    yc, yt = (
        getattr(CF, fn)(ac * 2.0, inplace=True, **kwargs),
        getattr(TF, fn)(at * 2.0, inplace=True, **kwargs),
    )
    (yc * yc).sum().backward()
    (yt * yt).sum().backward()
    assert_close(ac.grad.detach().numpy(), at.grad.detach().numpy(), rtol=RTOL.get(fn, 1e-9))


def test_inplace_on_a_leaf_that_requires_grad_is_refused_as_torch():
    with pytest.raises(RuntimeError):
        TF.silu(torch.ones(2, requires_grad=True), inplace=True)
    with pytest.raises(RuntimeError):
        CF.silu(cf.ones(2, requires_grad=True), inplace=True)


def test_inplace_layers_modify_their_input():
    x = cf.tensor(np.array([-2.0, 0.5, 4.0]))
    cf.nn.Hardswish(inplace=True)(x)
    np.testing.assert_allclose(
        x.detach().numpy(), TF.hardswish(torch.tensor([-2.0, 0.5, 4.0], dtype=torch.float64)).numpy()
    )


def test_gumbel_softmax_samples_are_distributions_and_hard_is_straight_through(rng):
    cf.manual_seed(0)
    logits = cf.tensor(rng.normal(size=(4, 6)), requires_grad=True)
    soft = CF.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.detach().numpy().sum(axis=-1), 1.0)
    hard = CF.gumbel_softmax(logits, tau=0.5, hard=True)
    values = hard.detach().numpy()
    assert set(np.unique(values)) <= {0.0, 1.0} and (values.sum(axis=-1) == 1).all()
    (hard * cf.tensor(rng.normal(size=(4, 6)))).sum().backward()
    assert np.abs(logits.grad.detach().numpy()).sum() > 0  # the soft sample's gradient reaches the logits


def test_gumbel_softmax_argmax_frequencies_follow_the_softmax():
    cf.manual_seed(1)
    logits = np.log(np.array([0.2, 0.5, 0.3]))
    samples = CF.gumbel_softmax(cf.tensor(np.tile(logits, (20000, 1))), hard=True).detach().numpy()
    np.testing.assert_allclose(samples.mean(axis=0), [0.2, 0.5, 0.3], atol=0.015)
