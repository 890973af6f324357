"""Tensor and autograd semantics, and ``cf.gradcheck`` of every differentiable op."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import convforge as cf
import convforge.functional as F
from convforge.autograd import Function, GradcheckError

# --------------------------------------------------------------------------------------
# Tensor semantics
# --------------------------------------------------------------------------------------


def test_result_of_an_op_requires_grad_when_an_input_does():
    a = cf.tensor([1.0, 2.0], requires_grad=True)
    b = cf.tensor([3.0, 4.0])
    y = a * b
    assert y.requires_grad
    assert not y.is_leaf
    assert y.grad_fn is not None


def test_result_of_an_op_on_constants_records_no_graph():
    y = cf.tensor([1.0, 2.0]) * cf.tensor([3.0, 4.0])
    assert not y.requires_grad
    assert y.grad_fn is None


def test_no_grad_records_no_graph_and_restores_the_mode():
    a = cf.tensor([1.0, 2.0], requires_grad=True)
    with cf.no_grad():
        y = a * 2
    assert not y.requires_grad and y.grad_fn is None
    assert (a * 2).requires_grad


def test_no_grad_restores_the_mode_after_an_exception():
    a = cf.tensor([1.0], requires_grad=True)
    with pytest.raises(ZeroDivisionError), cf.no_grad():
        raise ZeroDivisionError
    assert (a * 2).requires_grad


def test_no_grad_works_as_a_decorator():
    @cf.no_grad()
    def double(t):
        return t * 2

    assert not double(cf.tensor([1.0], requires_grad=True)).requires_grad


def test_leaf_gradients_accumulate_across_backward_calls():
    a = cf.tensor([1.0, -2.0], requires_grad=True)
    (a * a).sum().backward()
    (a * 3).sum().backward()
    np.testing.assert_allclose(a.grad.array, [2.0 + 3.0, -4.0 + 3.0])


def test_retain_graph_allows_a_second_backward_through_the_same_graph():
    a = cf.tensor([1.0, 2.0], requires_grad=True)
    y = (a.exp() * a).sum()
    y.backward(retain_graph=True)
    first = a.grad.array.copy()
    y.backward()
    np.testing.assert_allclose(a.grad.array, 2 * first)


def test_second_backward_without_retain_graph_raises():
    a = cf.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_backward_of_a_non_scalar_needs_a_gradient():
    a = cf.tensor([1.0, 2.0], requires_grad=True)
    y = a * 3
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    y.backward(np.array([1.0, 10.0], dtype=np.float32))
    np.testing.assert_allclose(a.grad.array, [3.0, 30.0])


def test_backward_of_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        cf.tensor([1.0]).sum().backward()


def test_gradient_of_a_shared_subexpression_adds_up():
    a = cf.tensor([0.5, -1.5], dtype=np.float64, requires_grad=True)
    b = a * a
    (b * a + b).sum().backward()  # d/da (a^3 + a^2) = 3a^2 + 2a
    np.testing.assert_allclose(a.grad.array, 3 * a.array**2 + 2 * a.array)


def test_only_inputs_that_require_grad_get_a_gradient():
    a = cf.tensor([1.0, 2.0], requires_grad=True)
    b = cf.tensor([3.0, 4.0])
    (a * b).sum().backward()
    assert b.grad is None
    np.testing.assert_allclose(a.grad.array, b.array)


def test_retain_grad_keeps_the_gradient_of_an_intermediate():
    a = cf.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    b.retain_grad()
    (b * b).sum().backward()
    np.testing.assert_allclose(b.grad.array, 2 * b.array)
    np.testing.assert_allclose(a.grad.array, 8 * a.array)


def test_a_deep_chain_of_5000_ops_does_not_hit_the_recursion_limit():
    assert sys.getrecursionlimit() < 5000  # a recursive graph walk would fail here
    a = cf.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = a
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(a.grad.array, [1.0001**5000] * 2, rtol=1e-10)
    del y  # freeing the chain must not recurse either


def test_gradients_of_float32_tensors_are_float32():
    a = cf.tensor(np.ones(3, np.float32), requires_grad=True)
    (a * 2.0).sum().backward()
    assert a.grad.dtype == np.float32


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        cf.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize(
    "data",
    [
        1.5,
        [1.0, 2.0],
        [[1, 2], [3, 4]],
        3,
        True,
        np.float64(2.0),
        np.array([1.0, 2.0]),
        [1.0, np.float64(2.0)],
        [[np.float64(1.0)], [2.0]],
        [np.float32(1.0), 2.0],
    ],
    ids=[
        "float",
        "float list",
        "int list",
        "int",
        "bool",
        "numpy float64 scalar",
        "float64 array",
        "list holding a numpy float64",
        "nested list holding a numpy float64",
        "list holding a numpy float32",
    ],
)
def test_tensor_dtype_follows_torch_tensor(data):
    expected = torch.tensor(data).numpy().dtype
    assert cf.tensor(data).dtype == expected


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64])
def test_tensor_of_a_numpy_array_keeps_its_dtype(dtype):
    assert cf.tensor(np.zeros(3, dtype)).dtype == dtype


def test_python_floats_become_float32():
    assert cf.tensor(0.1).dtype == np.float32
    assert cf.tensor([[0.1, 0.2]]).dtype == np.float32


def test_tensor_copies_its_data():
    source = np.zeros(3)
    t = cf.tensor(source)
    source[0] = 1.0
    assert t.array[0] == 0.0


def test_explicit_dtype_wins():
    assert cf.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert cf.tensor(np.zeros(2), dtype=np.float32).dtype == np.float32


# --------------------------------------------------------------------------------------
# gradcheck itself
# --------------------------------------------------------------------------------------
class SquareWithWrongBackward(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return a * a

    def backward(self, g):
        (a,) = self.saved
        return (g * a,)  # should be 2 * a * g


class SquareWithRightBackward(SquareWithWrongBackward):
    def backward(self, g):
        (a,) = self.saved
        return (2 * g * a,)


def test_gradcheck_fails_on_a_wrong_backward(rng):
    a = cf.tensor(rng.standard_normal(4), requires_grad=True)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        cf.gradcheck(SquareWithWrongBackward.apply, [a])
    assert cf.gradcheck(SquareWithWrongBackward.apply, [a], raise_exception=False) is False


def test_gradcheck_passes_the_same_function_with_the_right_backward(rng):
    a = cf.tensor(rng.standard_normal(4), requires_grad=True)
    assert cf.gradcheck(SquareWithRightBackward.apply, [a])


def test_gradcheck_needs_float64():
    with pytest.raises(TypeError, match="float64"):
        cf.gradcheck(lambda t: t * 2, [cf.tensor(np.ones(2, np.float32), requires_grad=True)])


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        cf.gradcheck(lambda t: t * 2, [cf.tensor(np.ones(2))])


# --------------------------------------------------------------------------------------
# gradcheck of every op
# --------------------------------------------------------------------------------------
def normal(*shape):
    return ("normal", shape)


def positive(*shape):
    return ("positive", shape)


def away_from_zero(*shape):
    """Values with |x| in [0.2, 1.2]: kinks (abs, relu, clamp) stay out of the difference."""
    return ("away", shape)


def unique(*shape):
    """A permutation of well-separated values: max/min have no ties."""
    return ("unique", shape)


def make_input(rng, kind):
    name, shape = kind
    if name == "normal":
        data = rng.standard_normal(shape)
    elif name == "positive":
        data = rng.uniform(0.5, 2.0, shape)
    elif name == "away":
        data = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.2, shape)
    else:
        data = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)
    return cf.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)


OPS = {
    "add broadcast": (lambda a, b: a + b, [normal(2, 3), normal(3)]),
    "add scalar": (lambda a: 2.5 + a + 1.0, [normal(3)]),
    "sub broadcast": (lambda a, b: a - b, [normal(2, 1, 3), normal(4, 3)]),
    "rsub": (lambda a: 1.0 - a, [normal(3)]),
    "mul broadcast": (lambda a, b: a * b, [normal(2, 3), normal(2, 1)]),
    "div broadcast": (lambda a, b: a / b, [normal(2, 3), away_from_zero(3)]),
    "rdiv": (lambda a: 2.0 / a, [away_from_zero(4)]),
    "pow int exponent": (lambda a: a**3, [normal(4)]),
    "pow float exponent": (lambda a: a**2.5, [positive(4)]),
    "pow tensor exponent": (lambda a, b: a**b, [positive(2, 3), normal(3)]),
    "rpow": (lambda a: 2.0**a, [normal(4)]),
    "neg": (lambda a: -a, [normal(4)]),
    "exp": (lambda a: a.exp(), [normal(4)]),
    "log": (lambda a: a.log(), [positive(4)]),
    "sqrt": (lambda a: a.sqrt(), [positive(4)]),
    "abs": (lambda a: a.abs(), [away_from_zero(5)]),
    "relu": (lambda a: a.relu(), [away_from_zero(5)]),
    "functional relu": (lambda a: F.relu(a), [away_from_zero(2, 3)]),
    "sigmoid": (lambda a: a.sigmoid(), [normal(5)]),
    "tanh": (lambda a: a.tanh(), [normal(5)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [unique(6)]),
    "clamp min": (lambda a: a.clamp(min=0.25), [unique(6)]),
    "clamp max": (lambda a: a.clamp(max=0.25), [unique(6)]),
    "sum": (lambda a: a.sum(), [normal(2, 3)]),
    "sum dim": (lambda a: a.sum(1), [normal(2, 3, 2)]),
    "sum dims keepdim": (lambda a: a.sum((0, 2), keepdim=True), [normal(2, 3, 2)]),
    "sum negative dim": (lambda a: a.sum(-1), [normal(2, 3)]),
    "mean": (lambda a: a.mean(), [normal(2, 3)]),
    "mean dim keepdim": (lambda a: a.mean(0, keepdim=True), [normal(3, 2)]),
    "max": (lambda a: a.max(), [unique(2, 3)]),
    "max dim": (lambda a: a.max(1), [unique(2, 3, 2)]),
    "max negative dim keepdim": (lambda a: a.max(-1, keepdim=True), [unique(3, 4)]),
    "min": (lambda a: a.min(), [unique(2, 3)]),
    "min dim": (lambda a: a.min(0), [unique(3, 2)]),
    "matmul 1-D @ 1-D": (lambda a, b: a @ b, [normal(4), normal(4)]),
    "matmul 2-D @ 2-D": (lambda a, b: a @ b, [normal(2, 3), normal(3, 4)]),
    "matmul 1-D @ 2-D": (lambda a, b: a @ b, [normal(3), normal(3, 2)]),
    "matmul 2-D @ 1-D": (lambda a, b: a @ b, [normal(2, 3), normal(3)]),
    "matmul batched @ 2-D": (lambda a, b: a @ b, [normal(2, 3, 4), normal(4, 2)]),
    "matmul 2-D @ batched": (lambda a, b: a @ b, [normal(3, 4), normal(2, 4, 2)]),
    "matmul broadcast batches": (lambda a, b: a @ b, [normal(2, 1, 3, 4), normal(3, 4, 2)]),
    "matmul 1-D @ batched": (lambda a, b: a @ b, [normal(4), normal(2, 4, 3)]),
    "matmul batched @ 1-D": (lambda a, b: a @ b, [normal(2, 3, 4), normal(4)]),
    "reshape": (lambda a: a.reshape(3, -1), [normal(2, 3, 2)]),
    "view": (lambda a: a.view((6, 2)), [normal(2, 3, 2)]),
    "flatten": (lambda a: a.flatten(1), [normal(2, 3, 2)]),
    "permute": (lambda a: a.permute(2, 0, 1), [normal(2, 3, 4)]),
    "transpose": (lambda a: a.transpose(0, 2), [normal(2, 3, 4)]),
    "T": (lambda a: a.T, [normal(2, 3)]),
    "unsqueeze": (lambda a: a.unsqueeze(-1), [normal(2, 3)]),
    "squeeze": (lambda a: a.squeeze(1), [normal(2, 1, 3)]),
    "getitem slice with step": (lambda a: a[1:, ::2], [normal(3, 5)]),
    "getitem negative int": (lambda a: a[-1], [normal(3, 4)]),
    "getitem repeated advanced index": (lambda a: a[[0, 2, 0, 0]], [normal(3, 2)]),
    "getitem two advanced indices": (lambda a: a[[0, 1, 1], [2, 2, 0]], [normal(2, 3)]),
    "getitem slice and advanced": (lambda a: a[:, [1, 1, 0]], [normal(2, 3)]),
    "getitem boolean mask": (lambda a: a[a.array > 0], [normal(3, 4)]),
    "getitem None and Ellipsis": (lambda a: a[None, ..., 1], [normal(2, 3)]),
    "getitem tensor index": (lambda a: a[cf.tensor(np.array([2, 0, 2]))], [normal(4)]),
    "flip": (lambda a: a.flip((0, 2)), [normal(2, 3, 2)]),
    "expand": (lambda a: a.expand(4, 2, -1), [normal(2, 1)]),
    "expand new dims": (lambda a: a.expand(3, 2, 3), [normal(3)]),
    "channel_shuffle": (lambda a: F.channel_shuffle(a, 2), [normal(2, 6, 2)]),
    "pad constant 1-D": (lambda a: F.pad(a, (1, 2), value=0.5), [normal(2, 3)]),
    "pad constant crops": (lambda a: F.pad(a, (-1, 2, 1, -1)), [normal(1, 4, 4)]),
    "pad reflect 1-D": (lambda a: F.pad(a, (2, 1), mode="reflect"), [normal(1, 2, 4)]),
    "pad reflect 2-D": (lambda a: F.pad(a, (1, 2, 2, 0), mode="reflect"), [normal(1, 1, 3, 4)]),
    "pad reflect 3-D": (lambda a: F.pad(a, (1, 0, 0, 1, 1, 1), mode="reflect"), [normal(1, 1, 2, 2, 3)]),
    "pad replicate 1-D": (lambda a: F.pad(a, (3, 1), mode="replicate"), [normal(1, 2, 3)]),
    "pad replicate 2-D": (lambda a: F.pad(a, (2, 1, 0, 3), mode="replicate"), [normal(1, 1, 3, 2)]),
    "pad replicate 3-D": (lambda a: F.pad(a, (1, 2, 1, 0, 0, 2), mode="replicate"), [normal(1, 1, 2, 2, 2)]),
    "pad circular 1-D": (lambda a: F.pad(a, (3, 2), mode="circular"), [normal(1, 2, 3)]),
    "pad circular 2-D": (lambda a: F.pad(a, (1, 2, 2, 1), mode="circular"), [normal(1, 1, 3, 2)]),
    "pad circular 3-D": (lambda a: F.pad(a, (1, 1, 0, 2, 2, 0), mode="circular"), [normal(1, 1, 2, 2, 2)]),
}


@pytest.mark.parametrize("op", list(OPS), ids=str)
def test_gradcheck_of_tensor_op(rng, op):
    fn, kinds = OPS[op]
    assert cf.gradcheck(fn, [make_input(rng, kind) for kind in kinds])


CONV_OPS = {
    "conv1d": (
        lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
        [normal(2, 4, 7), normal(4, 2, 2), normal(4)],
    ),
    "conv1d reflect": (
        lambda x, w, b: F.conv1d(x, w, b, padding=2, padding_mode="reflect"),
        [normal(1, 2, 5), normal(2, 2, 3), normal(2)],
    ),
    "conv2d": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
        [normal(1, 2, 5, 5), normal(2, 2, 3, 2), normal(2)],
    ),
    "conv2d depthwise circular": (
        lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2, padding_mode="circular"),
        [normal(1, 2, 3, 4), normal(4, 1, 2, 2), normal(4)],
    ),
    "conv2d replicate asymmetric": (
        lambda x, w, b: F.conv2d(x, w, b, padding=(0, 2, 1, 0), padding_mode="replicate"),
        [normal(1, 1, 3, 3), normal(2, 1, 2, 2), normal(2)],
    ),
    "conv2d same stride 2 flip": (
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding="same", flip=True),
        [normal(1, 2, 4, 5), normal(2, 2, 3, 2), normal(2)],
    ),
    "conv3d": (
        lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=(1, 0, 1)),
        [normal(1, 2, 3, 4, 3), normal(2, 2, 2, 2, 2), normal(2)],
    ),
    "conv_transpose1d": (
        lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
        [normal(2, 4, 3), normal(4, 1, 3), normal(2)],
    ),
    "conv_transpose1d output_padding above stride": (
        lambda x, w, b: F.conv_transpose1d(x, w, b, dilation=3, output_padding=2),
        [normal(1, 2, 3), normal(2, 2, 2), normal(2)],
    ),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(
            x, w, b, stride=(2, 1), padding=(0, 1), dilation=(1, 2), output_padding=(1, 0)
        ),
        [normal(1, 2, 2, 3), normal(2, 2, 2, 2), normal(2)],
    ),
    "conv_transpose3d": (
        lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=1, output_padding=(1, 0, 1)),
        [normal(1, 2, 2, 2, 2), normal(2, 1, 2, 2, 2), normal(1)],
    ),
}


@pytest.mark.parametrize("op", list(CONV_OPS), ids=str)
def test_gradcheck_of_convolution(rng, op):
    fn, kinds = CONV_OPS[op]
    assert cf.gradcheck(fn, [make_input(rng, kind) for kind in kinds])
