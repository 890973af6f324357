"""In-place operations against torch 2.13: they modify the tensor, keep the graph
differentiable where torch does, and raise torch's errors where torch raises them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convforge as cf

# op(lib, x, other): an in-place call on the non-leaf x (other: a leaf that requires grad)
INPLACE = {
    "add_": lambda m, x, o: x.add_(o),
    "add_ alpha": lambda m, x, o: x.add_(o, alpha=-0.5),
    "sub_": lambda m, x, o: x.sub_(o),
    "mul_": lambda m, x, o: x.mul_(o),
    "div_": lambda m, x, o: x.div_(o.abs() + 1),
    "pow_": lambda m, x, o: x.abs().add_(0.5).pow_(o),
    "iadd": lambda m, x, o: x.__iadd__(o),
    "isub": lambda m, x, o: x.__isub__(o * 2),
    "imul": lambda m, x, o: x.__imul__(o),
    "itruediv": lambda m, x, o: x.__itruediv__(o.abs() + 1),
    "ipow": lambda m, x, o: x.abs().__ipow__(2),
    "addcmul_": lambda m, x, o: x.addcmul_(o, o, value=0.5),
    "neg_": lambda m, x, o: (x * o).neg_(),
    "abs_": lambda m, x, o: (x * o).abs_(),
    "sqrt_": lambda m, x, o: (x * o).abs_().add_(0.1).sqrt_(),
    "exp_": lambda m, x, o: (x * o).exp_(),
    "log_": lambda m, x, o: (x * o).abs_().add_(0.1).log_(),
    "relu_": lambda m, x, o: (x * o).relu_(),
    "sigmoid_": lambda m, x, o: (x * o).sigmoid_(),
    "tanh_": lambda m, x, o: (x * o).tanh_(),
    "clamp_": lambda m, x, o: (x * o).clamp_(-0.3, 0.3),
    "clamp_ min": lambda m, x, o: (x * o).clamp_(min=0.1),
    "zero_": lambda m, x, o: (x * o).zero_().add_(o),
    "fill_ number": lambda m, x, o: (x * o).fill_(2.5) * o,
    "fill_ tensor": lambda m, x, o: x.fill_(o.sum()),
    "copy_": lambda m, x, o: x.copy_(o * 3),
    "copy_ broadcast": lambda m, x, o: x.copy_(o[0]),
    "masked_fill_": lambda m, x, o: (x * o).masked_fill_(o > 0, 0.0),
    "setitem slice": lambda m, x, o: x.__setitem__((slice(None), 0), o[:, 1]) or x,
    "setitem int": lambda m, x, o: x.__setitem__(1, o[0] * 2) or x,
    "setitem mask": lambda m, x, o: x.__setitem__(o > 0, 0.0) or x * o,
    "setitem advanced": lambda m, x, o: x.__setitem__(([0, 1], [2, 0]), o[0, :2]) or x,
    "scatter_": lambda m, x, o: x.scatter_(1, m.tensor([[2, 0, 1], [1, 1, 0]]), o),
    "view written in place": lambda m, x, o: x[0].mul_(o[1]).add_(1) is None or x,
    "transposed view written in place": lambda m, x, o: x.t()[1:].mul_(o.t()[1:]) is None or x,
    "floor_ ceil_ round_ trunc_ sign_": lambda m, x, o: (
        (x * o * 3).floor_() + (x * 3).ceil_() + (x * o).round_() + (o * 2).trunc_() + (x * o).sign_()
    ),
    "reciprocal_ square_": lambda m, x, o: (x * o + 3).reciprocal_() * (x - 3).square_(),
    "log1p_": lambda m, x, o: (x * o).abs_().log1p_(),
    "lerp_": lambda m, x, o: x.lerp_(o, 0.25),
    "chain": lambda m, x, o: x.mul_(o).add_(1).clamp_(-1, 1).mul_(o).sigmoid_(),
}


def _run(lib, op, x_array, o_array):
    leaf = lib.tensor(x_array.copy(), requires_grad=True)
    other = lib.tensor(o_array.copy(), requires_grad=True)
    x = leaf * 1  # a non-leaf, so in-place is allowed
    out = op(lib, x, other)
    return leaf, other, x, out


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_op_matches_torch_values_and_gradients(name, rng):
    x_array, o_array = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    seed = rng.standard_normal((2, 3))
    ours = _run(cf, INPLACE[name], x_array, o_array)
    theirs = _run(torch, INPLACE[name], x_array, o_array)
    for a, e in zip(ours[2:], theirs[2:]):  # the modified tensor and the result
        np.testing.assert_allclose(a.array, e.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
    (ours[3] * cf.tensor(seed)).sum().backward()
    (theirs[3] * torch.tensor(seed)).sum().backward()
    for a, e in zip(ours[:2], theirs[:2]):
        expected = np.zeros_like(x_array) if e.grad is None else e.grad.numpy()
        actual = np.zeros_like(x_array) if a.grad is None else a.grad.array
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", ["add_", "mul_", "exp_", "relu_", "zero_", "copy_", "setitem int", "iadd"])
def test_inplace_op_returns_the_same_tensor_and_bumps_its_version(name):
    x = cf.ones(2, 3) * 1
    out = INPLACE[name](cf, x, cf.ones(2, 3))
    if name in ("add_", "mul_", "copy_", "iadd"):
        assert out is x
    assert out._version > 0


def test_augmented_assignment_modifies_the_tensor_object():
    x = cf.zeros(3)
    alias = x
    x += 1
    x *= cf.tensor([1.0, 2.0, 3.0])
    x -= 0.5
    x /= 2
    assert x is alias and x.tolist() == [0.25, 0.75, 1.25]


def test_leaf_requiring_grad_refuses_inplace_unless_no_grad():
    for lib in (torch, cf):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(
            RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"
        ):
            w.add_(1)
        with pytest.raises(
            RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"
        ):
            w += 1
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            w[0:2].mul_(2)
        with lib.no_grad():
            w.mul_(3).fill_(2.0)
            w[0] = 5.0
        assert w.tolist() == [5.0, 2.0, 2.0] and w.requires_grad and w.grad_fn is None


def test_sgd_step_written_as_in_torch_tutorials_updates_the_weights():
    w = cf.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    with cf.no_grad():
        w -= 0.1 * w.grad
    w.grad.zero_()
    w.data -= 0.5 * w.data  # the pre-no_grad idiom through .data
    np.testing.assert_allclose(w.array, [0.4, -0.8])
    assert w.grad.tolist() == [0.0, 0.0] and w.is_leaf


@pytest.mark.parametrize(
    "modify",
    [
        lambda y: y.mul_(2),
        lambda y: y.__iadd__(1),
        lambda y: y.zero_(),
        lambda y: y.__setitem__(0, 1.0),
        lambda y: y.detach().fill_(0),
    ],
)
@pytest.mark.parametrize(
    "make", [lambda x: x.sigmoid(), lambda x: x.exp(), lambda x: x.tanh(), lambda x: x.relu()]
)
def test_modifying_a_saved_output_raises_at_backward_as_torch(make, modify):
    for lib in (torch, cf):
        x = lib.ones(3, requires_grad=True)
        y = make(x)
        modify(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_modifying_a_saved_input_raises_and_names_version_as_torch():
    messages = []
    for lib in (torch, cf):
        a = lib.ones(2, requires_grad=True) * 1
        b = lib.ones(2, requires_grad=True)
        y = a * b  # saves a for b's gradient
        a.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
            y.sum().backward()
        messages.append(str(info.value))
    assert "is at version 1; expected version 0 instead" in messages[1]
    assert "[torch.FloatTensor [2]]" in messages[0] and "[torch.FloatTensor [2]]" in messages[1]


def test_modifying_a_view_of_a_saved_tensor_is_caught_through_the_shared_counter():
    for lib in (torch, cf):
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 1
        z = y.sin()  # saves y
        y[0].mul_(2)  # the view shares y's version counter
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_inplace_on_unsaved_values_is_allowed_as_in_torch():
    x = cf.ones(3, requires_grad=True)
    y = x + 1  # add saves nothing
    y.mul_(3)
    out = y * 2
    out += 1  # the output of a mul is not saved by it
    out.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0, 6.0]


def test_data_changes_are_not_tracked_and_do_not_bump_the_version():
    x = cf.ones(3, requires_grad=True)
    y = x.exp()
    x.data.mul_(2)  # torch: .data has its own version counter
    assert x._version == 0 and x.array.tolist() == [2.0, 2.0, 2.0]
    y.sum().backward()  # no error, as in torch


def test_expanded_tensor_refuses_inplace_as_torch():
    for lib in (torch, cf):
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            lib.ones(1, 3).expand(2, 3).add_(1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda m: m.ones(3, dtype=m.long).add_(1.5),
            "result type Float can't be cast to the desired output type Long",
        ),
        (
            lambda m: m.ones(3).add_(m.ones(2, 3)),
            "output with shape \\[3\\] doesn't match the broadcast shape",
        ),
    ],
)
def test_inplace_dtype_and_shape_errors_are_torchs(call, message):
    for lib in (torch, cf):
        with pytest.raises(RuntimeError, match=message):
            call(lib)


def test_inplace_keeps_the_dtype_of_the_tensor():
    x = cf.ones(3, dtype=cf.float32)
    x.add_(cf.ones(3, dtype=cf.float64))
    n = cf.ones(3, dtype=cf.long)
    n *= 3
    assert x.dtype == np.float32 and n.dtype == np.int64 and n.tolist() == [3, 3, 3]


def test_random_fills_follow_the_seed_and_stay_in_range():
    cf.manual_seed(0)
    a = cf.empty(1000).uniform_(-2, 3)
    cf.manual_seed(0)
    b = cf.empty(1000).uniform_(-2, 3)
    n = cf.empty(20000, dtype=cf.float64).normal_(1.0, 2.0)
    assert np.array_equal(a.array, b.array) and a.array.min() >= -2 and a.array.max() < 3
    assert abs(n.array.mean() - 1.0) < 0.1 and abs(n.array.std() - 2.0) < 0.1


def test_parameter_reinitialized_through_data_as_in_torch_scripts():
    conv = cf.nn.Conv2d(1, 2, 3)
    conv.weight.data.normal_(0.0, 0.02)
    conv.bias.data.fill_(0)
    with cf.no_grad():
        conv.weight.uniform_(-0.1, 0.1)
    assert np.all(conv.bias.array == 0) and np.all(np.abs(conv.weight.array) <= 0.1)
    assert conv.weight.requires_grad and conv.weight.is_leaf


def test_running_stat_update_by_data_assignment_replaces_the_storage():
    running = cf.zeros(3)
    batch_mean = cf.tensor([1.0, 2.0, 3.0], dtype=cf.float64)
    running.data = 0.9 * running.data + 0.1 * batch_mean
    assert running.dtype == np.float64  # torch: assigning .data may change dtype
    np.testing.assert_allclose(running.array, [0.1, 0.2, 0.3])


def test_functional_relu_inplace_modifies_its_input():
    x = cf.tensor([-1.0, 2.0, -3.0]) * 1
    y = cf.nn.functional.relu(x, inplace=True)
    layer = cf.nn.ReLU(inplace=True)
    z = cf.tensor([[-1.0, 4.0]])
    layer(z)
    assert x.tolist() == [0.0, 2.0, 0.0] and z.tolist() == [[0.0, 4.0]]
    assert y is x or y.tolist() == x.tolist()


def test_the_old_alpha_first_forms_of_add_and_addcmul_still_work():
    p = cf.ones(3)
    p.add_(-0.5, cf.tensor([1.0, 2.0, 3.0]))  # p.data.add_(-lr, grad) in older scripts
    p.addcmul_(2.0, cf.ones(3), cf.ones(3))
    assert p.tolist() == [2.5, 2.0, 1.5]


def test_random_fills_of_integers_and_exponentials():
    cf.manual_seed(2)
    ints = cf.empty(2000, dtype=cf.long).random_(3, 7)
    floats = cf.empty(2000).random_(5)
    exp = cf.empty(20000, dtype=cf.float64).exponential_(2.0)
    assert set(ints.tolist()) == {3, 4, 5, 6} and set(floats.tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}
    assert abs(exp.array.mean() - 0.5) < 0.02 and exp.array.min() >= 0


@st.composite
def _views(draw):
    """A shape, a basic index of it (positive-step slices and ints) and a permutation of the view."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    index = []
    for size in shape:
        if draw(st.booleans()):
            start = draw(st.integers(0, size - 1))
            stop = draw(st.integers(start + 1, size))
            index.append(slice(start, stop, draw(st.integers(1, 2))))
        else:
            index.append(draw(st.integers(-size, size - 1)))
    kept = sum(isinstance(i, slice) for i in index)
    order = draw(st.permutations(range(kept)))
    return shape, tuple(index), tuple(order)


@settings(max_examples=60, deadline=None)
@given(case=_views(), seed=st.integers(0, 2**16))
def test_writing_any_basic_view_in_place_matches_torch(case, seed):
    shape, index, order = case
    rng = np.random.default_rng(seed)
    x_array, o_array = rng.standard_normal(shape), rng.standard_normal(shape)
    results = []
    for lib in (torch, cf):
        leaf = lib.tensor(x_array, requires_grad=True)
        other = lib.tensor(o_array, requires_grad=True)
        x = leaf * 1
        view = x[index].permute(*order) if order else x[index]
        view.mul_(other[index].permute(*order) if order else other[index]).add_(1)
        (x * lib.tensor(o_array)).sum().backward()
        results.append([np.asarray(t.detach().numpy()) for t in (x, leaf.grad, other.grad)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
