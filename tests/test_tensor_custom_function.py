"""Custom Functions written as torch's (forward(ctx, ...)/backward(ctx, grad) staticmethods,
ctx.save_for_backward, ctx.saved_tensors, Fn.apply) give torch's values, gradients and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf


def make_scaled_relu(lib):
    class ScaledReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x.clamp(min=0) * scale

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * (x > 0) * ctx.scale, None

    return ScaledReLU


def make_legendre(lib):
    class LegendrePolynomial3(lib.autograd.Function):  # the PyTorch tutorial's example
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    return LegendrePolynomial3


@pytest.mark.parametrize("make", [make_scaled_relu, make_legendre])
def test_custom_function_matches_torch(make, rng):
    x_array = rng.standard_normal(6)
    seed = rng.standard_normal(6)
    results = []
    for lib in (torch, cf):
        fn = make(lib)
        x = lib.tensor(x_array, requires_grad=True)
        y = fn.apply(x, 2.0) if make is make_scaled_relu else fn.apply(x)
        (y * lib.tensor(seed)).sum().backward()
        results.append((np.asarray(y.detach().numpy()), x.grad.numpy(), y.grad_fn.name()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)
    assert results[1][2] == results[0][2]


def test_custom_function_inside_a_network_trains_the_layer_before_it():
    fn = make_scaled_relu(cf)
    layer = cf.nn.Linear(3, 2)
    loss = fn.apply(layer(cf.ones(4, 3)), 1.0).sum()
    loss.backward()
    assert layer.weight.grad is not None and layer.weight.grad.shape == (2, 3)


def test_custom_function_without_grad_records_nothing():
    fn = make_legendre(cf)
    x = cf.ones(3, requires_grad=True)
    with cf.no_grad():
        y = fn.apply(x)
    assert not y.requires_grad and fn.apply(cf.ones(3)).grad_fn is None


def test_modifying_what_a_custom_function_saved_raises_at_backward_as_torch():
    for lib in (torch, cf):
        fn = make_legendre(lib)
        x = lib.ones(3, requires_grad=True) * 1
        y = fn.apply(x)
        x.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_mark_non_differentiable_output_does_not_require_grad():
    class Argmax(cf.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.argmax()
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            return None

    assert not Argmax.apply(cf.tensor([1.0, 3.0], requires_grad=True)).requires_grad


def test_several_outputs_are_refused_clearly():
    class Split(cf.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, a, b):
            return a + 2 * b

    with pytest.raises(NotImplementedError, match="returned 2 outputs"):
        Split.apply(cf.ones(2, requires_grad=True))
