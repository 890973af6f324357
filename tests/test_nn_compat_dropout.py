"""Channel-wise and alpha dropout: what torch 2.13 promises about them (random masks cannot
be compared value for value): whole channels dropped, survivors scaled by 1/(1-p), alpha
dropout's dropped value and its mean/variance preservation, the identity in eval mode,
seeded reproducibility, reprs, signatures and errors."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import convforge as cf

CF, TF = cf.nn.functional, torch.nn.functional


@pytest.mark.parametrize(
    ("fn", "shape", "channel_axes"),
    [
        ("dropout1d", (8, 6, 5), 2),
        ("dropout1d", (6, 5), 1),
        ("dropout2d", (8, 6, 4, 4), 2),
        ("dropout2d", (6, 4, 4), 2),  # 3-D: (N, C, L), as torch (with its warning)
        ("dropout3d", (4, 6, 2, 3, 3), 2),
        ("dropout3d", (6, 2, 3, 3), 1),
    ],
)
def test_feature_dropout_zeroes_whole_channels_and_scales_survivors(fn, shape, channel_axes):
    cf.manual_seed(0)
    x = np.ones(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        y = getattr(CF, fn)(cf.tensor(x), p=0.4).detach().numpy()
        expected_shape = getattr(TF, fn)(torch.from_numpy(x), p=0.4).shape
    assert y.shape == tuple(expected_shape)
    flat = y.reshape(*shape[:channel_axes], -1)
    per_channel = np.unique(flat, axis=-1) if False else flat
    assert np.all(per_channel == per_channel[..., :1])  # one value per channel
    assert set(np.unique(y).round(12)) <= {0.0, round(1 / 0.6, 12)}


def test_feature_dropout_keeps_about_1_minus_p_of_the_channels():
    cf.manual_seed(1)
    y = CF.dropout2d(cf.ones(200, 50, 2, 2), p=0.3).detach().numpy()
    kept = (y[:, :, 0, 0] != 0).mean()
    assert abs(kept - 0.7) < 0.02  # 10,000 draws: 5 standard deviations is 0.023


def test_feature_dropout_is_identity_in_eval_and_at_p_zero_and_zero_at_p_one():
    x = cf.randn(2, 3, 4)
    assert CF.dropout1d(x, 0.5, training=False) is x
    np.testing.assert_array_equal(CF.dropout1d(x, 0.0).detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(
        CF.dropout1d(x, 1.0).detach().numpy(), np.zeros((2, 3, 4), dtype=np.float32)
    )


def test_feature_dropout_gradient_follows_the_mask():
    cf.manual_seed(2)
    x = cf.tensor(np.random.default_rng(0).normal(size=(4, 5, 3)), requires_grad=True)
    y = CF.dropout1d(x, 0.5)
    y.sum().backward()
    mask = (y.detach().numpy() != 0) | (x.detach().numpy() == 0)
    np.testing.assert_allclose(x.grad.detach().numpy(), mask * 2.0)


def test_masks_follow_manual_seed():
    cf.manual_seed(7)
    a = CF.dropout2d(cf.ones(4, 8, 2, 2)).detach().numpy()
    cf.manual_seed(7)
    b = CF.dropout2d(cf.ones(4, 8, 2, 2)).detach().numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fn", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropout_values_are_torchs_two_values(fn):
    p = 0.5
    cf.manual_seed(3)
    ours = getattr(CF, fn)(cf.ones(50, 20, 2), p, training=True).detach().numpy()
    theirs = getattr(TF, fn)(torch.ones(50, 20, 2), p, training=True).detach().numpy()
    assert np.allclose(sorted(set(ours.round(5).ravel())), sorted(set(theirs.round(5).ravel())), atol=1e-5)
    if fn == "feature_alpha_dropout":
        assert np.all(ours == ours[..., :1])


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    cf.manual_seed(4)
    x = np.random.default_rng(1).normal(size=200_000).astype(np.float64)
    y = CF.alpha_dropout(cf.tensor(x), 0.2, training=True).detach().numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01


def test_alpha_dropout_defaults_to_eval_as_torch():
    x = cf.randn(3, 4)
    assert CF.alpha_dropout(x) is x and CF.feature_alpha_dropout(x) is x


@pytest.mark.parametrize(
    "name", ["Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
)
def test_layers_have_torchs_repr_signature_and_eval_identity(name):
    ours, theirs = getattr(cf.nn, name)(0.2, True), getattr(torch.nn, name)(0.2, True)
    assert repr(ours) == repr(theirs)
    sig_ours = inspect.signature(getattr(cf.nn, name).__init__).parameters
    sig_theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    assert [(k, v.default) for k, v in sig_ours.items()] == [(k, v.default) for k, v in sig_theirs.items()]
    x = cf.randn(*{"Dropout1d": (2, 3, 4), "Dropout2d": (2, 3, 4, 4)}.get(name, (2, 3, 2, 2, 2)))
    ours.eval()
    assert ours(x) is x


@pytest.mark.parametrize(
    "fn", ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]
)
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_unit_interval_is_a_value_error_as_torch(fn, p):
    with pytest.raises(ValueError):
        getattr(TF, fn)(torch.ones(2, 3, 4, 4), p)
    with pytest.raises(ValueError, match="p="):
        getattr(CF, fn)(cf.ones(2, 3, 4, 4), p)


def test_dropout1d_refuses_4d_input_and_dropout2d_warns_on_3d():
    with pytest.raises(ValueError, match="2D or 3D"):
        CF.dropout1d(cf.ones(2, 3, 4, 5))
    with pytest.warns(UserWarning, match="3D input"):
        CF.dropout2d(cf.ones(2, 3, 4))


@pytest.mark.parametrize("fn", ["dropout1d", "dropout2d", "alpha_dropout", "feature_alpha_dropout"])
def test_inplace_dropout_writes_into_the_input(fn):
    cf.manual_seed(5)
    x = cf.ones(4, 6, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        y = getattr(CF, fn)(x, 0.5, True, True)
    assert y is x and not np.all(x.detach().numpy() == 1)


def test_dropout_layer_inplace_writes_into_its_input_as_torch():
    cf.manual_seed(6)
    x = cf.ones(50, 20)
    y = cf.nn.Dropout(0.5, inplace=True)(x)
    assert y is x and set(np.unique(x.detach().numpy())) == {0.0, 2.0}
    a = cf.tensor(np.ones((4, 5)), requires_grad=True)
    z = cf.nn.Dropout(0.5, inplace=True)(a * 1.0)
    z.sum().backward()
    np.testing.assert_array_equal(a.grad.detach().numpy(), z.detach().numpy())  # the mask, scaled by 2


@pytest.mark.parametrize("p", [0.3, 1.0])
def test_functional_dropout_inplace_writes_into_the_input(p):
    x = cf.ones(4, 5)
    out = cf.nn.functional.dropout(x, p, training=True, inplace=True)
    assert out is x
    assert set(np.unique(x.array)) <= {0.0, np.float32(1 / (1 - p)) if p < 1 else 0.0}


def test_functional_leaky_relu_inplace_matches_torch_values_and_gradient():
    values = np.array([-1.0, 2.0, -3.0, 0.5], np.float32)
    w = cf.tensor(values.copy(), requires_grad=True)
    y = w * 1
    out = cf.nn.functional.leaky_relu(y, 0.2, inplace=True)
    assert out is y
    y.sum().backward()
    wt = torch.tensor(values.copy(), requires_grad=True)
    yt = wt * 1
    torch.nn.functional.leaky_relu(yt, 0.2, inplace=True)
    yt.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy())
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy())
