"""The convolution variants as modules: parameter counts (the seeds' formulas), equivalence
with a full convolution, Sobel factorization, torch twins, and one-conv dynamic convolution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf
import convforge.nn.functional as F
from conftest import assert_close, to_torch

SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---- parameter counts ----------------------------------------------------------------
@pytest.mark.parametrize(("c_in", "c_out", "k"), [(8, 16, 3), (3, 5, 5)])
def test_depthwise_separable_parameter_count_is_cin_k2_plus_cin_cout(c_in, c_out, k):
    block = cf.nn.DepthwiseSeparableConv2d(c_in, c_out, k, bias=False)
    assert count(block) == c_in * k * k + c_in * c_out
    with_bias = cf.nn.DepthwiseSeparableConv2d(c_in, c_out, k)
    assert count(with_bias) == c_in * k * k + c_in * c_out + c_in + c_out
    doubled = cf.nn.DepthwiseSeparableConv2d(c_in, c_out, k, depth_multiplier=2, bias=False)
    assert count(doubled) == 2 * c_in * k * k + 2 * c_in * c_out
    assert count(block) < count(cf.nn.Conv2d(c_in, c_out, k, bias=False))


@pytest.mark.parametrize("k", [3, 5, 7])
def test_spatially_separable_parameter_count_is_k_plus_k(k):
    assert count(cf.nn.SpatiallySeparableConv2d(1, 1, k, bias=False)) == k + k
    assert count(cf.nn.SpatiallySeparableConv2d(4, 6, k, bias=False)) == 4 * 6 * k + 6 * k


@pytest.mark.parametrize(("c_in", "c_out", "k", "groups"), [(8, 16, 3, 4), (6, 6, 5, 3), (4, 8, 3, 1)])
def test_grouped_conv_parameter_count_is_cin_cout_k2_over_groups(c_in, c_out, k, groups):
    assert count(cf.nn.Conv2d(c_in, c_out, k, groups=groups, bias=False)) == c_in * c_out * k * k // groups


def test_flattened_parameter_count():
    assert count(cf.nn.FlattenedConv2d(4, 6, 3, bias=False)) == 4 * 6 + 6 * 3 + 6 * 3


def test_dynamic_parameter_count():
    layer = cf.nn.DynamicConv2d(4, 6, 3, groups=2, num_kernels=3)
    assert count(layer) == 3 * 6 * 2 * 9 + 3 * 6 + (4 * 3 + 3)


# ---- Sobel and separability ----------------------------------------------------------
def test_sobel_factors_into_121_and_minus101():
    column, row = cf.nn.separable_factors(SOBEL_X)
    np.testing.assert_allclose(np.outer(column, row), SOBEL_X, atol=1e-12)
    np.testing.assert_allclose(column / column[0], [1, 2, 1], atol=1e-12)
    np.testing.assert_allclose(row / row[2], [-1, 0, 1], atol=1e-12)


def test_from_kernel_recovers_sobel_exactly_and_equals_conv2d(rng):
    layer = cf.nn.SpatiallySeparableConv2d.from_kernel(SOBEL_X, padding=1, dtype=np.float64)
    np.testing.assert_allclose(layer.full_kernel()[0, 0], SOBEL_X, atol=1e-12)
    x = cf.tensor(rng.standard_normal((2, 1, 7, 9)))
    expected = F.conv2d(x, cf.tensor(SOBEL_X[None, None]), padding=1)
    assert_close(layer(x), expected)
    assert count(layer) == 6


def test_from_kernel_handles_rectangular_kernels_and_strides(rng):
    kernel = np.outer([1.0, -2.0, 0.5], [2.0, 1.0, 0.0, -1.0, 3.0])  # 3x5, rank 1
    layer = cf.nn.SpatiallySeparableConv2d.from_kernel(kernel, stride=2, padding=(1, 2), dtype=np.float64)
    x = cf.tensor(rng.standard_normal((1, 1, 8, 9)))
    assert_close(layer(x), F.conv2d(x, cf.tensor(kernel[None, None]), stride=2, padding=(1, 2)))


def test_non_separable_kernel_raises_naming_the_residual(rng):
    kernel = rng.standard_normal((3, 3))
    s = np.linalg.svd(kernel, compute_uv=False)
    with pytest.raises(ValueError, match="not separable") as info:
        cf.nn.SpatiallySeparableConv2d.from_kernel(kernel)
    assert "second singular value" in str(info.value) and f"{s[1] / s[0]:.3g}" in str(info.value)
    with pytest.raises(ValueError, match="2-D"):
        cf.nn.separable_factors(np.ones(3))


# ---- equivalence with one full convolution -------------------------------------------
def test_spatially_separable_equals_conv2d_with_its_full_kernel(rng):
    layer = cf.nn.SpatiallySeparableConv2d(3, 4, 3, stride=2, padding=1, dilation=(2, 1)).double()
    x = cf.tensor(rng.standard_normal((2, 3, 9, 8)))
    expected = F.conv2d(
        x, cf.tensor(layer.full_kernel()), layer.horizontal.bias, stride=2, padding=1, dilation=(2, 1)
    )
    assert_close(layer(x), expected)


def test_flattened_equals_conv2d_with_its_full_kernel(rng):
    layer = cf.nn.FlattenedConv2d(3, 5, (3, 2), stride=(1, 2), padding=1).double()
    x = cf.tensor(rng.standard_normal((2, 3, 6, 7)))
    expected = F.conv2d(x, cf.tensor(layer.full_kernel()), layer.horizontal.bias, stride=(1, 2), padding=1)
    assert_close(layer(x), expected)


def test_depthwise_separable_matches_torch_twin(rng):
    layer = cf.nn.DepthwiseSeparableConv2d(4, 6, 3, stride=2, padding=1, depth_multiplier=2).double()
    twin = torch.nn.Module()
    twin.depthwise = torch.nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=4)
    twin.pointwise = torch.nn.Conv2d(8, 6, 1)
    twin.double()
    assert list(layer.state_dict()) == list(twin.state_dict())
    layer.load_state_dict(twin.state_dict())
    x = rng.standard_normal((2, 4, 7, 7))
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = layer(xc), twin.pointwise(twin.depthwise(xt))
    assert_close(yc, yt)
    yc.sum().backward()
    yt.sum().backward()
    assert_close(xc.grad, xt.grad)
    assert_close(layer.depthwise.weight.grad, twin.depthwise.weight.grad)


@pytest.mark.parametrize(
    "make",
    [
        lambda: cf.nn.DepthwiseSeparableConv2d(2, 3, 3, padding=1),
        lambda: cf.nn.SpatiallySeparableConv2d(2, 3, 3, padding="same"),
        lambda: cf.nn.FlattenedConv2d(2, 3, 3, stride=2),
        lambda: cf.nn.DynamicConv2d(2, 3, 3, padding=1, num_kernels=2),
    ],
)
def test_variant_blocks_pass_gradcheck(make, rng):
    layer = make().double()
    x = cf.tensor(rng.standard_normal((2, 2, 4, 4)), requires_grad=True)
    params = list(layer.parameters())
    assert cf.gradcheck(lambda x, p0: layer(x), [x, params[0]])


# ---- dynamic convolution -------------------------------------------------------------
class TorchDynamicConv2d(torch.nn.Module):
    """The same layer in torch, written as a per-sample loop (the definition)."""

    def __init__(self, c_in, c_out, k, stride, padding, groups, num_kernels, temperature):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(num_kernels, c_out, c_in // groups, k, k))
        self.bias = torch.nn.Parameter(torch.empty(num_kernels, c_out))
        self.attention = torch.nn.Linear(c_in, num_kernels)
        self.stride, self.padding, self.groups, self.temperature = stride, padding, groups, temperature

    def forward(self, x):
        pi = torch.softmax(self.attention(x.mean(dim=(2, 3))) / self.temperature, dim=1)
        outputs = []
        for n in range(x.shape[0]):
            weight = torch.einsum("k,k...->...", pi[n], self.weight)
            bias = pi[n] @ self.bias
            conv = torch.nn.functional.conv2d(
                x[n : n + 1], weight, bias, self.stride, self.padding, 1, self.groups
            )
            outputs.append(conv)
        return torch.cat(outputs)


def test_dynamic_conv_matches_per_sample_torch_definition(rng):
    layer = cf.nn.DynamicConv2d(
        4, 6, 3, stride=2, padding=1, groups=2, num_kernels=3, temperature=2.0
    ).double()
    twin = TorchDynamicConv2d(4, 6, 3, 2, 1, 2, 3, 2.0).double()
    assert list(layer.state_dict()) == list(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    x = rng.standard_normal((3, 4, 7, 6))
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = layer(xc), twin(xt)
    assert_close(yc, yt)
    g = rng.standard_normal(tuple(yt.shape))
    yc.backward(g)
    yt.backward(torch.tensor(g))
    assert_close(xc.grad, xt.grad)
    for name, param in twin.named_parameters():
        assert_close(dict(layer.named_parameters())[name].grad, param.grad)


def test_dynamic_conv_runs_one_convolution_for_the_whole_batch(monkeypatch, rng):
    from convforge.nn import variants

    calls = []
    original = variants.conv_nd

    def counting(args, input, *rest, **kwargs):
        calls.append(input.shape)
        return original(args, input, *rest, **kwargs)

    monkeypatch.setattr(variants, "conv_nd", counting)
    layer = cf.nn.DynamicConv2d(3, 4, 3, num_kernels=4)
    y = layer(cf.randn(5, 3, 6, 6))
    assert y.shape == (5, 4, 4, 4)
    assert calls == [(1, 15, 6, 6)]  # the batch folded into the channels


def test_dynamic_conv_attention_is_a_distribution_and_unbatched_input_works(rng):
    layer = cf.nn.DynamicConv2d(2, 3, 3, padding=1, num_kernels=5)
    pi = layer.attention_weights(cf.randn(4, 2, 5, 5))
    assert pi.shape == (4, 5)
    np.testing.assert_allclose(pi.detach().numpy().sum(axis=1), 1, rtol=1e-6)
    assert layer(cf.randn(2, 5, 5)).shape == (3, 5, 5)
    assert repr(layer).splitlines()[1] == (
        "  2, 3, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), num_kernels=5, temperature=1.0"
    )


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: cf.nn.DynamicConv2d(3, 4, 3, groups=2), ValueError, "groups must divide"),
        (lambda: cf.nn.DynamicConv2d(3, 4, 3, temperature=0), ValueError, "temperature=0"),
        (lambda: cf.nn.DynamicConv2d(3, 4, 3, num_kernels=0), ValueError, "num_kernels must be positive"),
        (lambda: cf.nn.DepthwiseSeparableConv2d(3, 4, 3, depth_multiplier=0), ValueError, "depth_multiplier"),
        (lambda: cf.nn.SpatiallySeparableConv2d(3, 4, 3, padding="full"), ValueError, "padding='full'"),
        (lambda: cf.nn.ChannelShuffle(0), ValueError, "groups must be positive"),
    ],
)
def test_variant_constructors_reject_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_channel_shuffle_matches_torch(rng):
    x = rng.standard_normal((2, 6, 3, 3))
    assert repr(cf.nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    assert_close(cf.nn.ChannelShuffle(3)(cf.tensor(x)), torch.nn.ChannelShuffle(3)(to_torch(x)))


def test_grouped_conv_then_shuffle_mixes_groups():
    """Without the shuffle, a second grouped conv sees only its own group's channels."""
    x = np.zeros((1, 4, 3, 3))
    x[0, 0] = 1.0  # signal only in group 0 of 2
    conv = cf.nn.Conv2d(4, 4, 1, groups=2, bias=False)
    conv.weight.array[...] = 1.0
    plain = conv(conv(cf.tensor(x, dtype=np.float32)))
    shuffled = conv(cf.nn.ChannelShuffle(2)(conv(cf.tensor(x, dtype=np.float32))))
    assert not plain.detach().numpy()[0, 2:].any()
    assert shuffled.detach().numpy()[0, 2:].all()
