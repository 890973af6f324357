"""Smaller torch names CNN code uses: LP pooling, Unfold/Fold layers, Softmax2d, RReLU, the
in-place functional spellings, the *_with_indices pools and the lazy instance norms,
against torch 2.13."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

CF, TF = cf.nn.functional, torch.nn.functional


def _forward_backward(ours_fn, theirs_fn, x, rng):
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = ours_fn(xc), theirs_fn(xt)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=tuple(yt.shape))
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())


@pytest.mark.parametrize(
    ("fn", "shape", "args"),
    [
        ("lp_pool1d", (2, 3, 9), (2, 3, None, False)),
        ("lp_pool1d", (2, 3, 9), (1.5, 2, 1, True)),
        ("lp_pool2d", (2, 3, 6, 7), (2, 3, 2, False)),
        ("lp_pool2d", (2, 3, 6, 7), (3, (2, 3), None, True)),
        ("lp_pool3d", (1, 2, 4, 4, 5), (2, 2, None, False)),
    ],
)
def test_lp_pool_matches_torch(rng, fn, shape, args):
    x = np.abs(rng.normal(size=shape)) + 0.1  # positive: x^p is real for fractional p
    _forward_backward(lambda t: getattr(CF, fn)(t, *args), lambda t: getattr(TF, fn)(t, *args), x, rng)


@pytest.mark.parametrize("name", ["LPPool1d", "LPPool2d", "LPPool3d", "Unfold", "Fold"])
def test_layer_signatures_match_torch(name):
    ours = inspect.signature(getattr(cf.nn, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    assert [(k, v.default) for k, v in ours.items()] == [(k, v.default) for k, v in theirs.items()]


def test_unfold_and_fold_layers_match_torch(rng):
    x = rng.normal(size=(2, 3, 6, 7))
    ours, theirs = cf.nn.Unfold(3, padding=1, stride=2), torch.nn.Unfold(3, padding=1, stride=2)
    assert repr(ours) == repr(theirs)
    _forward_backward(ours, theirs, x, rng)
    cols = rng.normal(size=(2, 3 * 4, 30))  # (4+2-2+1) * (5+2-2+1) blocks
    fold_ours, fold_theirs = cf.nn.Fold((4, 5), 2, padding=1), torch.nn.Fold((4, 5), 2, padding=1)
    assert repr(fold_ours) == repr(fold_theirs)
    _forward_backward(fold_ours, fold_theirs, cols, rng)


def test_lp_pool_layer_matches_torch(rng):
    ours, theirs = cf.nn.LPPool2d(2, 3, stride=1), torch.nn.LPPool2d(2, 3, stride=1)
    assert repr(ours) == repr(theirs)
    _forward_backward(ours, theirs, rng.normal(size=(2, 3, 5, 5)), rng)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4, 5)])
def test_softmax2d_matches_torch(rng, shape):
    _forward_backward(cf.nn.Softmax2d(), torch.nn.Softmax2d(), rng.normal(size=shape), rng)
    assert repr(cf.nn.Softmax2d()) == repr(torch.nn.Softmax2d())


def test_rrelu_in_eval_is_a_leaky_relu_with_the_mean_slope_as_torch(rng):
    x = rng.normal(size=(4, 5))
    ours, theirs = cf.nn.RReLU(0.1, 0.3).eval(), torch.nn.RReLU(0.1, 0.3).eval()
    assert repr(ours) == repr(theirs)
    _forward_backward(ours, theirs, x, rng)


def test_rrelu_in_training_draws_slopes_in_range_for_negative_inputs_only():
    cf.manual_seed(0)
    x = np.concatenate([-np.ones(5000), np.ones(5000)])
    y = CF.rrelu(cf.tensor(x), 0.1, 0.3, training=True).detach().numpy()
    slopes = -y[:5000]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.005
    np.testing.assert_array_equal(y[5000:], 1.0)


@pytest.mark.parametrize(
    ("fn", "args"),
    [("relu_", ()), ("leaky_relu_", (0.2,)), ("elu_", (0.5,)), ("selu_", ()), ("celu_", (1.5,)),
     ("hardtanh_", (-0.5, 0.5)), ("threshold_", (0.1, -2.0)), ("rrelu_", (0.1, 0.3, False))],
)  # fmt: skip
def test_inplace_functional_spellings_write_into_the_input_as_torch(rng, fn, args):
    x = rng.normal(size=(3, 4))
    xc, xt = cf.tensor(x.copy()), to_torch(x.copy())
    assert getattr(CF, fn)(xc, *args) is xc
    getattr(TF, fn)(xt, *args)
    assert_close(xc.detach().numpy(), xt.numpy())


@pytest.mark.parametrize(
    ("fn", "args", "shape"),
    [
        ("max_pool1d_with_indices", (2,), (1, 2, 6)),
        ("max_pool2d_with_indices", (2, 1, 1), (1, 2, 5, 5)),
        ("max_pool3d_with_indices", (2,), (1, 1, 4, 4, 4)),
        ("adaptive_max_pool1d_with_indices", (3,), (1, 2, 7)),
        ("adaptive_max_pool2d_with_indices", ((2, 3),), (1, 2, 5, 7)),
        ("adaptive_max_pool3d_with_indices", (2,), (1, 1, 4, 4, 4)),
    ],
)
def test_with_indices_pools_return_torchs_values_and_indices(rng, fn, args, shape):
    x = rng.normal(size=shape)
    values, indices = getattr(CF, fn)(cf.tensor(x), *args)
    t_values, t_indices = getattr(TF, fn)(to_torch(x), *args)
    assert_close(values.detach().numpy(), t_values.numpy())
    np.testing.assert_array_equal(
        np.asarray(indices.detach().numpy() if hasattr(indices, "detach") else indices), t_indices.numpy()
    )


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("LazyInstanceNorm1d", (2, 3, 5)),
        ("LazyInstanceNorm2d", (2, 3, 4, 4)),
        ("LazyInstanceNorm3d", (1, 2, 2, 3, 3)),
    ],
)
def test_lazy_instance_norm_infers_channels_and_matches_torch(rng, name, shape):
    ours, theirs = getattr(cf.nn, name)(), getattr(torch.nn, name)()
    assert repr(ours) == repr(theirs)
    x = rng.normal(size=shape).astype(np.float32)
    assert_close(
        ours(cf.tensor(x)).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(), dtype=np.float32
    )
    assert type(ours).__name__ == name[4:] and repr(ours) == repr(theirs)
    for key, value in theirs.state_dict().items():
        assert_close(np.asarray(ours.state_dict()[key]), value.numpy(), dtype=np.float32)


def test_lazy_instance_norm_reads_the_channels_of_an_unbatched_input_from_dim_0():
    # torch 2.13 reads dim 1 even here, then refuses its own input: convforge infers C = 3
    norm = cf.nn.LazyInstanceNorm2d()
    norm(cf.randn(3, 4, 4))
    assert norm.num_features == 3 and norm.weight.shape == (3,)


@pytest.mark.parametrize(("lead", "bias"), [((4,), True), ((2, 3), False), ((), True)])
def test_bilinear_matches_torch_with_every_gradient(rng, lead, bias):
    x1, x2 = rng.normal(size=(*lead, 3)), rng.normal(size=(*lead, 5))
    w, b = rng.normal(size=(2, 3, 5)), rng.normal(size=2)
    ours = [cf.tensor(a, requires_grad=True) for a in (x1, x2, w, b)]
    theirs = [to_torch(a, requires_grad=True) for a in (x1, x2, w, b)]
    yc = CF.bilinear(*ours[:3], ours[3] if bias else None)
    yt = TF.bilinear(*theirs[:3], theirs[3] if bias else None)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=tuple(yt.shape))
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    for a, t in zip(ours[:3] + (ours[3:] if bias else []), theirs[:3] + (theirs[3:] if bias else [])):
        assert_close(a.grad.detach().numpy(), t.grad.detach().numpy())


def test_bilinear_layer_matches_torch():
    ours, theirs = cf.nn.Bilinear(2, 3, 4), torch.nn.Bilinear(2, 3, 4)
    assert repr(ours) == repr(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    bound = 1 / np.sqrt(2)
    assert np.abs(ours.weight.detach().numpy()).max() <= bound
    sig = (
        inspect.signature(cf.nn.Bilinear.__init__).parameters,
        inspect.signature(torch.nn.Bilinear.__init__).parameters,
    )
    assert [(k, v.default) for k, v in sig[0].items()] == [(k, v.default) for k, v in sig[1].items()]
