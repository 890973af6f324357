"""Every nn layer against the same torch layer with copied weights (float64, tight).

Each case builds the layer twice from one constructor call, ``make(nn)`` with ``nn``
either ``torch.nn`` or ``cf.nn``, copies torch's state dict into convforge's, and then
compares the repr, the output, the input gradient and every parameter gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch


def _pair(make):
    torch_layer = make(torch.nn).double()
    cf_layer = make(cf.nn).double()
    cf_layer.load_state_dict(torch_layer.state_dict())
    return cf_layer, torch_layer


def check_against_torch(make, shape, rng, train: bool = True):
    cf_layer, torch_layer = _pair(make)
    cf_layer.train(train)
    torch_layer.train(train)
    assert repr(cf_layer) == repr(torch_layer)
    x = rng.standard_normal(shape)
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = cf_layer(xc), torch_layer(xt)
    assert_close(yc, yt)
    g = rng.standard_normal(tuple(yt.shape))
    yc.backward(g)
    yt.backward(torch.tensor(g))
    assert_close(xc.grad, xt.grad)
    cf_params = dict(cf_layer.named_parameters())
    torch_params = dict(torch_layer.named_parameters())
    assert list(cf_params) == list(torch_params)
    for name, param in torch_params.items():
        assert_close(cf_params[name].grad, param.grad)
    cf_state, torch_state = cf_layer.state_dict(), torch_layer.state_dict()
    assert list(cf_state) == list(torch_state)
    for key, value in torch_state.items():
        assert_close(cf_state[key], value)
    return cf_layer, torch_layer


# (constructor, input shape); the constructor is called with torch.nn and with cf.nn
CONV_CASES = [
    (lambda nn: nn.Conv1d(3, 4, 3), (2, 3, 9)),
    (lambda nn: nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=False), (2, 4, 11)),
    (lambda nn: nn.Conv1d(2, 3, 4, padding="same", padding_mode="reflect"), (2, 2, 8)),
    (lambda nn: nn.Conv2d(1, 6, 5), (2, 1, 12, 12)),
    (lambda nn: nn.Conv2d(4, 6, 3, stride=(2, 1), padding=(1, 0), groups=2), (2, 4, 7, 6)),
    (lambda nn: nn.Conv2d(3, 3, 3, padding="same", dilation=2, padding_mode="circular"), (2, 3, 7, 7)),
    (lambda nn: nn.Conv2d(3, 4, (1, 2), padding=1, bias=False, padding_mode="replicate"), (2, 3, 5, 6)),
    (lambda nn: nn.Conv2d(4, 8, 3, groups=4), (2, 4, 6, 6)),
    (lambda nn: nn.Conv2d(3, 5, 1), (2, 3, 4, 4)),
    (lambda nn: nn.Conv2d(2, 3, 3, padding="valid"), (2, 5, 5)),
    (lambda nn: nn.Conv3d(2, 4, 3, padding=1), (1, 2, 4, 5, 4)),
    (lambda nn: nn.Conv3d(4, 4, (1, 2, 3), stride=2, groups=2), (2, 4, 3, 5, 7)),
    (lambda nn: nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 5)),
    (lambda nn: nn.ConvTranspose2d(1, 1, 3), (1, 1, 2, 2)),
    (lambda nn: nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, dilation=2, bias=False), (2, 4, 4, 3)),
    (lambda nn: nn.ConvTranspose3d(2, 3, 2, stride=2), (1, 2, 2, 3, 2)),
]

POOL_CASES = [
    (lambda nn: nn.MaxPool1d(3, stride=2, padding=1), (2, 3, 9)),
    (lambda nn: nn.MaxPool2d(2), (2, 3, 6, 6)),
    (lambda nn: nn.MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True), (2, 2, 8, 7)),
    (lambda nn: nn.MaxPool2d((2, 3), stride=(1, 2), dilation=(2, 1)), (1, 2, 7, 8)),
    (lambda nn: nn.MaxPool3d(2), (1, 2, 4, 4, 6)),
    (lambda nn: nn.AvgPool1d(3, stride=2, padding=1), (2, 3, 9)),
    (lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 2, 8, 7)),
    (lambda nn: nn.AvgPool2d(2, divisor_override=3), (2, 2, 6, 6)),
    (lambda nn: nn.AvgPool3d(2, stride=1), (1, 2, 3, 4, 4)),
    (lambda nn: nn.AdaptiveAvgPool1d(3), (2, 3, 8)),
    (lambda nn: nn.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 5)),
    (lambda nn: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    (lambda nn: nn.AdaptiveAvgPool3d(2), (1, 2, 5, 4, 3)),
    (lambda nn: nn.AdaptiveMaxPool1d(4), (2, 3, 9)),
    (lambda nn: nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 7, 7)),
    (lambda nn: nn.AdaptiveMaxPool3d(2), (1, 2, 4, 5, 4)),
]

DENSE_CASES = [
    (lambda nn: nn.Linear(5, 3), (4, 5)),
    (lambda nn: nn.Linear(5, 3, bias=False), (2, 4, 5)),
    (lambda nn: nn.Linear(5, 3), (5,)),
    (lambda nn: nn.ReLU(), (3, 4)),
    (lambda nn: nn.LeakyReLU(0.2), (3, 4)),
    (lambda nn: nn.Sigmoid(), (3, 4)),
    (lambda nn: nn.Tanh(), (3, 4)),
    (lambda nn: nn.GELU(), (3, 4)),
    (lambda nn: nn.GELU(approximate="tanh"), (3, 4)),
    (lambda nn: nn.Softmax(dim=1), (3, 4, 2)),
    (lambda nn: nn.LogSoftmax(dim=-1), (3, 4)),
    (lambda nn: nn.Flatten(), (2, 3, 4, 5)),
    (lambda nn: nn.Flatten(0, 2), (2, 3, 4, 5)),
    (lambda nn: nn.Unflatten(1, (2, 3)), (4, 6, 5)),
    (lambda nn: nn.Identity(), (3, 4)),
    (lambda nn: nn.ChannelShuffle(2), (2, 6, 3, 3)),
    (lambda nn: nn.Dropout(0.3), (3, 4)),  # compared in eval mode below
]

NORM_CASES = [
    (lambda nn: nn.BatchNorm1d(3), (4, 3)),
    (lambda nn: nn.BatchNorm1d(3), (4, 3, 5)),
    (lambda nn: nn.BatchNorm2d(3), (4, 3, 5, 5)),
    (lambda nn: nn.BatchNorm2d(3, affine=False), (4, 3, 3, 2)),
    (lambda nn: nn.BatchNorm2d(3, eps=1e-3, momentum=None), (2, 3, 3, 3)),
    (lambda nn: nn.BatchNorm2d(3, bias=False), (2, 3, 3, 3)),
    (lambda nn: nn.BatchNorm2d(3, track_running_stats=False), (2, 3, 3, 3)),
    (lambda nn: nn.BatchNorm3d(2), (2, 2, 3, 4, 3)),
]


@pytest.mark.parametrize(("make", "shape"), CONV_CASES)
def test_conv_layer_matches_torch(make, shape, rng):
    check_against_torch(make, shape, rng)


@pytest.mark.parametrize(("make", "shape"), POOL_CASES)
def test_pool_layer_matches_torch(make, shape, rng):
    check_against_torch(make, shape, rng)


@pytest.mark.parametrize(("make", "shape"), DENSE_CASES)
def test_dense_and_activation_layer_matches_torch(make, shape, rng):
    check_against_torch(make, shape, rng, train=False)


@pytest.mark.parametrize(("make", "shape"), NORM_CASES)
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_matches_torch_in_train_and_eval(make, shape, train, rng):
    check_against_torch(make, shape, rng, train=train)


def test_conv_layer_default_dtype_is_float32():
    layer = cf.nn.Conv2d(2, 3, 3)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.weight.requires_grad and isinstance(layer.weight, cf.nn.Parameter)
    y = layer(cf.randn(1, 2, 5, 5))
    assert y.dtype == np.float32 and y.shape == (1, 3, 3, 3)


def test_conv_layer_float32_matches_torch(rng):
    cf_layer, torch_layer = cf.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Conv2d(3, 4, 3, padding=1)
    cf_layer.load_state_dict(torch_layer.state_dict())
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    assert_close(cf_layer(cf.tensor(x)), torch_layer(to_torch(x)), dtype=np.float32)


def test_conv_transpose_forward_takes_output_size(rng):
    cf_layer, torch_layer = _pair(lambda nn: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1))
    x = rng.standard_normal((1, 2, 4, 4))
    for size in [(7, 7), (8, 8), (1, 3, 8, 7)]:
        expected = torch_layer(to_torch(x), output_size=list(size))
        assert_close(cf_layer(cf.tensor(x), output_size=size), expected)


def test_max_pool_indices_round_trip_through_max_unpool(rng):
    x = rng.standard_normal((2, 3, 6, 8))
    cf_pool, torch_pool = cf.nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True)
    cf_unpool, torch_unpool = cf.nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    assert repr(cf_unpool) == repr(torch_unpool)
    yc, ic = cf_pool(cf.tensor(x))
    yt, it = torch_pool(to_torch(x))
    np.testing.assert_array_equal(ic.numpy(), it.numpy())
    assert_close(cf_unpool(yc, ic), torch_unpool(yt, it))
    assert_close(cf_unpool(yc, ic, output_size=(7, 9)), torch_unpool(yt, it, output_size=[7, 9]))


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats_follow_torch_over_steps(momentum, rng):
    cf_bn, torch_bn = _pair(lambda nn: nn.BatchNorm2d(3, momentum=momentum))
    for _ in range(4):
        x = rng.standard_normal((4, 3, 2, 3)) * 3 + 1
        cf_bn(cf.tensor(x))
        torch_bn(to_torch(x))
    assert_close(cf_bn.running_mean, torch_bn.running_mean)
    assert_close(cf_bn.running_var, torch_bn.running_var)  # unbiased, as torch
    assert int(cf_bn.num_batches_tracked.item()) == int(torch_bn.num_batches_tracked) == 4
    cf_bn.eval()
    torch_bn.eval()
    x = rng.standard_normal((2, 3, 2, 3))
    assert_close(cf_bn(cf.tensor(x)), torch_bn(to_torch(x)))


def test_batchnorm_eval_uses_running_stats_and_leaves_them():
    bn = cf.nn.BatchNorm1d(2).double().eval()
    bn.running_mean.array[...] = [1.0, -1.0]
    bn.running_var.array[...] = [4.0, 1.0]
    y = bn(cf.tensor(np.array([[3.0, 0.0], [1.0, -1.0]])))
    np.testing.assert_allclose(y.detach().numpy(), [[1.0, 1.0], [0.0, 0.0]], atol=1e-5)
    np.testing.assert_array_equal(bn.running_mean.numpy(), [1.0, -1.0])
    assert bn.num_batches_tracked.item() == 0


def test_batchnorm_rejects_wrong_input_rank_and_single_value_batches():
    with pytest.raises(ValueError, match="expected 4D input, but got 3D"):
        cf.nn.BatchNorm2d(3)(cf.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        cf.nn.BatchNorm1d(3)(cf.zeros(1, 3))


def test_dropout_zeroes_and_scales_in_training_and_is_identity_in_eval():
    cf.manual_seed(0)
    layer = cf.nn.Dropout(0.25)
    x = cf.ones(200, 100, requires_grad=True)
    y = layer(x)
    kept = y.detach().numpy() != 0
    assert abs(1 - kept.mean() - 0.25) < 0.01
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy(), rtol=1e-6)  # the gradient is the mask
    layer.eval()
    assert layer(x) is x


def test_dropout_masks_are_reproducible_with_manual_seed():
    x = cf.ones(8, 8)
    cf.manual_seed(7)
    first = cf.nn.Dropout(0.5)(x).numpy()
    cf.manual_seed(7)
    second = cf.nn.Dropout(0.5)(x).numpy()
    np.testing.assert_array_equal(first, second)


def test_dropout_edge_probabilities_and_bad_p():
    x = cf.randn(4, 4)
    np.testing.assert_array_equal(cf.nn.Dropout(0.0)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(cf.nn.Dropout(1.0)(x).numpy(), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="p=1.5"):
        cf.nn.Dropout(1.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Conv2d(3, 6, 5),
        lambda nn: nn.Conv1d(4, 8, 3, groups=2),
        lambda nn: nn.ConvTranspose2d(4, 6, 3, groups=2),
        lambda nn: nn.Linear(30, 7),
    ],
)
def test_default_initialization_has_torch_bounds(make):
    cf.manual_seed(1)
    layer, reference = make(cf.nn), make(torch.nn)
    # the same shapes, so the same fan_in; values uniform within torch's bounds
    fan_in = reference.weight[0].numel()
    bound = 1 / np.sqrt(fan_in)
    for name, param in layer.named_parameters():
        assert param.shape == tuple(getattr(reference, name).shape)
        assert np.abs(param.detach().numpy()).max() <= bound
        assert np.abs(param.detach().numpy()).max() > 0.5 * bound


def test_layer_reprs_match_torch_for_non_default_arguments():
    cases = [
        lambda nn: nn.Conv2d(1, 6, 5),
        lambda nn: nn.Conv2d(4, 8, 3, stride=2, padding=1, dilation=2, groups=4, bias=False),
        lambda nn: nn.Conv2d(4, 8, 3, padding="same", padding_mode="reflect"),
        lambda nn: nn.ConvTranspose2d(4, 8, 3, stride=2, output_padding=1),
        lambda nn: nn.MaxPool2d(2),
        lambda nn: nn.AvgPool1d(2),
        lambda nn: nn.AvgPool2d((2, 3), stride=1, padding=1),
        lambda nn: nn.AdaptiveAvgPool2d((1, 1)),
        lambda nn: nn.AdaptiveMaxPool1d(3, return_indices=True),
        lambda nn: nn.MaxUnpool3d(2),
        lambda nn: nn.BatchNorm2d(8, momentum=None, affine=False),
        lambda nn: nn.ReLU(inplace=True),
        lambda nn: nn.LeakyReLU(0.1, inplace=True),
        lambda nn: nn.GELU(approximate="tanh"),
        lambda nn: nn.Softmax(),
        lambda nn: nn.Dropout(0.2),
        lambda nn: nn.Unflatten(1, (2, 2)),
        lambda nn: nn.CrossEntropyLoss(label_smoothing=0.1),
        lambda nn: nn.MSELoss(),
    ]
    for make in cases:
        assert repr(make(cf.nn)) == repr(make(torch.nn))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: cf.nn.Conv2d(3, 4, 3, groups=2), ValueError, "groups must divide in_channels"),
        (lambda: cf.nn.Conv2d(4, 6, 3, groups=4), ValueError, "groups must divide out_channels"),
        (lambda: cf.nn.Conv2d(0, 4, 3), ValueError, "in_channels must be positive"),
        (lambda: cf.nn.Conv2d(3, 4, (3, 3, 3)), ValueError, "kernel_size must be an int or a tuple of 2"),
        (lambda: cf.nn.Conv2d(3, 4, 3, padding="full"), ValueError, "padding='full'"),
        (lambda: cf.nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError, "padding_mode='mirror'"),
        (
            lambda: cf.nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"),
            ValueError,
            "padding_mode='reflect'",
        ),
        (lambda: cf.nn.Conv2d(3.0, 4, 3), TypeError, "in_channels must be an int"),
        (lambda: cf.nn.Conv2d(3, 4, 3, dtype=np.int32), TypeError, "dtype"),
        (lambda: cf.nn.MaxPool2d(2, padding=2), ValueError, "at most half of the kernel size"),
        (lambda: cf.nn.Linear(0, 3), ValueError, "in_features must be positive"),
        (lambda: cf.nn.GELU("fast"), ValueError, "approximate='fast'"),
        (lambda: cf.nn.BatchNorm2d(3, momentum=2.0), ValueError, "momentum=2.0"),
    ],
)
def test_layer_constructors_reject_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_layers_accept_unbatched_input(rng):
    x = rng.standard_normal((3, 6, 6))
    cf_layer, torch_layer = _pair(lambda nn: nn.Conv2d(3, 2, 3))
    assert_close(cf_layer(cf.tensor(x)), torch_layer(to_torch(x)))
