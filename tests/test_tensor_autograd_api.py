"""The autograd API around tensors against torch 2.13: .data/.array/.detach/.numpy, grad
modes, hooks, retain_grad, grad_fn.next_functions and name(), copy and pickle."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import convforge as cf


def test_array_is_the_ndarray_itself_and_assignable():
    t = cf.tensor([1.0, 2.0])
    t.array[0] = 5.0
    assert t.tolist() == [5.0, 2.0]
    t.array = np.zeros(3, np.float64)
    assert t.shape == (3,) and t.dtype == np.float64


def test_data_is_a_detached_tensor_sharing_memory_as_torch():
    for lib in (torch, cf):
        w = lib.ones(3, requires_grad=True)
        d = w.data
        assert isinstance(d, lib.Tensor) and not d.requires_grad and d.is_leaf
        d.fill_(2.0)
        assert w.tolist() == [2.0, 2.0, 2.0] and w.requires_grad


def test_assigning_data_swaps_the_storage_and_may_change_shape_and_dtype():
    for lib in (torch, cf):
        w = lib.ones(3, requires_grad=True)
        other = lib.zeros(2, 2, dtype=lib.float64)
        w.data = other
        other.add_(1)  # the memory is shared with w now
        assert tuple(w.shape) == (2, 2) and w.dtype == other.dtype and w.tolist() == [[1.0, 1.0]] * 2
        assert w.requires_grad


def test_data_assignment_takes_only_a_tensor():
    with pytest.raises(TypeError, match="Tensor.data: the assigned value must be a Tensor"):
        cf.ones(2).data = np.zeros(2)


def test_numpy_refuses_a_tensor_that_requires_grad_with_torchs_message():
    messages = []
    for lib in (torch, cf):
        w = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            w.numpy()
        messages.append(str(info.value))
        assert w.detach().numpy().tolist() == [1.0, 1.0]
    assert messages[0] == messages[1]


def test_numpy_shares_memory_as_torch():
    x = cf.zeros(3)
    x.numpy()[1] = 4.0
    assert x.tolist() == [0.0, 4.0, 0.0]
    assert np.shares_memory(cf.from_numpy(x.array).array, x.array)


def test_detach_shares_memory_and_the_version_counter():
    x = cf.ones(3) * 1
    d = x.detach()
    d.add_(1)
    assert x.tolist() == [2.0, 2.0, 2.0] and x._version == 1 and d.grad_fn is None


def test_item_and_tolist_give_python_values():
    assert cf.tensor([[3]]).item() == 3 and isinstance(cf.tensor(2.5).item(), float)
    assert cf.tensor([[1, 2]]).tolist() == [[1, 2]]


@pytest.mark.parametrize("lib", [torch, cf])
def test_set_grad_enabled_is_a_call_a_context_manager_and_a_decorator(lib):
    assert lib.is_grad_enabled()
    with lib.set_grad_enabled(False):
        assert not lib.is_grad_enabled()
        assert not (lib.ones(1, requires_grad=True) * 2).requires_grad
    assert lib.is_grad_enabled()
    lib.set_grad_enabled(False)
    assert not lib.is_grad_enabled()
    lib.set_grad_enabled(True)

    @lib.set_grad_enabled(False)
    def inside():
        return lib.is_grad_enabled()

    assert lib.is_grad_enabled() and inside() is False and lib.is_grad_enabled()


@pytest.mark.parametrize("lib", [torch, cf])
def test_no_grad_and_inference_mode_as_decorators_with_and_without_parentheses(lib):
    @lib.no_grad
    def bare():
        return (lib.ones(1, requires_grad=True) * 2).requires_grad

    @lib.inference_mode()
    def called():
        return lib.is_grad_enabled()

    with lib.inference_mode():
        assert not lib.is_grad_enabled()
    with lib.no_grad(), lib.inference_mode(False):
        assert lib.is_grad_enabled()  # torch's inference_mode(False) turns grad mode on
    assert bare() is False and called() is False and lib.is_grad_enabled()


def test_next_functions_and_names_follow_torchs_graph():
    shapes = []
    for lib in (torch, cf):
        a = lib.ones(2, requires_grad=True)
        y = (a * 2).sum()
        mul = y.grad_fn.next_functions[0][0]
        leaf = mul.next_functions[0][0]
        shapes.append(
            (
                y.grad_fn.name(),
                mul.name(),
                len(mul.next_functions),
                mul.next_functions[1][0] is None,
                type(leaf).__name__,
                leaf.variable is a,
            )
        )
    assert shapes[0] == shapes[1] == ("SumBackward0", "MulBackward0", 2, True, "AccumulateGrad", True)


def test_register_hook_sees_and_may_replace_the_gradient():
    results = []
    for lib in (torch, cf):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 3
        seen = []
        b.register_hook(lambda g, seen=seen: seen.append(g.tolist()))
        handle = a.register_hook(lambda g: g * 10)
        (b * b).sum().backward()
        first = a.grad.tolist()
        handle.remove()
        a.grad = None
        (a * 1).sum().backward()
        results.append((seen, first, a.grad.tolist()))
    assert results[0] == results[1]


def test_register_hook_on_a_tensor_without_grad_is_refused_as_torch():
    for lib in (torch, cf):
        with pytest.raises(
            RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"
        ):
            lib.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    grads = []
    for lib in (torch, cf):
        a = lib.tensor([1.0, -2.0], requires_grad=True)
        b = a * a
        b.retain_grad()
        c = b * 3
        c.retain_grad()
        c.sum().backward()
        grads.append((b.grad.tolist(), c.grad.tolist(), b.retains_grad, a.grad.tolist()))
    assert grads[0] == grads[1]


def test_retain_grad_follows_an_inplace_rebase():
    x = cf.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    y.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0] and x.grad.tolist() == [6.0, 6.0]


def test_requires_grad_rules_are_torchs():
    for lib in (torch, cf):
        y = lib.ones(2, requires_grad=True) * 1
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
            y.requires_grad = False
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
            lib.ones(2, dtype=lib.long).requires_grad_()


def test_backward_errors_are_torchs():
    for lib in (torch, cf):
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
            lib.ones(2).sum().backward()
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            (lib.ones(2, requires_grad=True) * 2).backward()
        y = (lib.ones(2, requires_grad=True) * 2).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.backward()


def test_deepcopy_copies_a_leaf_and_its_grad_not_the_graph():
    w = cf.nn.Parameter(cf.ones(2))
    pending = (w * 2).sum()  # the graph keeps w's gradient accumulator alive
    clone = copy.deepcopy(w)
    (clone * 3).sum().backward()
    pending.backward()
    assert type(clone) is cf.nn.Parameter and clone.requires_grad
    assert clone.grad.tolist() == [3.0, 3.0] and w.grad.tolist() == [2.0, 2.0]
    for lib in (torch, cf):
        with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
            copy.deepcopy(lib.ones(2, requires_grad=True) * 2)


def test_pickle_round_trips_values_dtype_and_requires_grad():
    w = cf.tensor([1.0, 2.0], dtype=cf.float64, requires_grad=True)
    (w * w).sum().backward()
    back = pickle.loads(pickle.dumps(w))
    assert back.tolist() == [1.0, 2.0] and back.dtype == np.float64 and back.requires_grad
    assert back.grad.tolist() == [2.0, 4.0] and back.is_leaf


def test_device_answers_of_a_cpu_tensor():
    x = cf.ones(2)
    assert x.device == "cpu" and not x.is_cuda and x.is_cpu and x.cpu() is x and x.to("cpu") is x


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.eye(3, 2),
        lambda m: m.eye(2, dtype=m.long),
        lambda m: m.linspace(-1, 1, 5),
        lambda m: m.linspace(0, 1, 1),
        lambda m: m.logspace(0, 2, 3),
        lambda m: m.logspace(0, 3, 4, base=2.0),
        lambda m: m.full((2, 2), 7),
        lambda m: m.full((2,), 1.5),
        lambda m: m.zeros(2, 3).new_full((3,), 2),
        lambda m: m.LongTensor([3, 1]),
        lambda m: m.FloatTensor([1, 2]),
        lambda m: m.DoubleTensor([[0.5]]),
        lambda m: m.ByteTensor([1, 255]),
        lambda m: m.BoolTensor([True, False]),
        lambda m: m.FloatTensor(2, 3).zero_(),
        lambda m: m.meshgrid(m.arange(2), m.arange(3), indexing="ij"),
        lambda m: m.meshgrid(m.arange(2), m.arange(3), m.arange(4), indexing="xy"),
    ],
)
def test_creation_routines_match_torch(make):
    ours, theirs = make(cf), make(torch)
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    for a, e in zip(ours, theirs):
        assert str(e.dtype) == f"torch.{a.dtype}" and a.shape == tuple(e.shape)
        np.testing.assert_allclose(a.array, e.numpy(), rtol=1e-6)


def test_meshgrid_is_differentiable_as_torch():
    grads = []
    for lib in (torch, cf):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        gx, gy = lib.meshgrid(a, b, indexing="xy")
        (gx * gy * lib.arange(6.0).reshape(3, 2)).sum().backward()
        grads.append((a.grad.tolist(), b.grad.tolist()))
    assert grads[0] == grads[1]


def test_normal_forms_follow_torchs_shapes_dtypes_and_the_seed():
    cf.manual_seed(3)
    first = cf.normal(cf.zeros(4), 1.0)
    cf.manual_seed(3)
    again = cf.normal(cf.zeros(4), 1.0)
    assert first.shape == (4,) and first.dtype == np.float32 and first.tolist() == again.tolist()
    assert cf.normal(0.0, cf.ones(2, 2)).shape == (2, 2)
    assert cf.normal(2.0, 3.0, size=(5,)).dtype == np.float32
    assert cf.normal(cf.zeros(3, dtype=cf.float64), cf.ones(3)).dtype == np.float64
    samples = cf.normal(5.0, 2.0, size=(20000,)).array
    assert abs(samples.mean() - 5.0) < 0.1 and abs(samples.std() - 2.0) < 0.1
    with pytest.raises(TypeError, match="give size"):
        cf.normal(0.0, 1.0)


def test_logical_and_integer_operators_give_plain_tensors():
    a, b = cf.tensor([True, False, True]), cf.tensor([True, True, False])
    assert (a & b).tolist() == [True, False, False] and (a | b).tolist() == [True, True, True]
    assert (~a).tolist() == [False, True, False] and (a ^ b).tolist() == [False, True, True]
    n = cf.tensor([7, -3])
    assert (n // 2).tolist() == (torch.tensor([7, -3]) // 2).tolist() and (n % 3).tolist() == [1, 0]


def test_old_style_variable_wraps_a_tensor_sharing_memory_as_torch():
    for lib in (torch, cf):
        t = lib.ones(2)
        v = lib.autograd.Variable(t, requires_grad=True)
        assert v is not t and v.requires_grad and not t.requires_grad
        v.data.fill_(3.0)
        assert t.tolist() == [3.0, 3.0]


def test_autograd_grad_returns_gradients_without_touching_dot_grad():
    results = []
    for lib in (torch, cf):
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        w = lib.tensor([0.5, 3.0], requires_grad=True)
        a = x * w
        loss = (a * a).sum()
        gx, ga = lib.autograd.grad(loss, [x, a], retain_graph=True)
        (gw,) = lib.autograd.grad(loss, w, grad_outputs=lib.tensor(2.0))
        results.append((gx.tolist(), ga.tolist(), gw.tolist(), x.grad, w.grad))
    assert results[0] == results[1]


def test_autograd_grad_unused_inputs_follow_torch():
    for lib in (torch, cf):
        x, z = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad((x * 2).sum(), [x, z])
        gx, gz = lib.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
        assert gx.tolist() == [2.0, 2.0] and gz is None


def test_autograd_backward_adds_the_gradients_of_several_roots():
    grads = []
    for lib in (torch, cf):
        x = lib.ones(2, requires_grad=True)
        lib.autograd.backward([(x * 2).sum(), x * 3], [None, lib.tensor([1.0, 10.0])])
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [5.0, 32.0]


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (lambda m: m.ones(3), RuntimeError, "attempting to assign a gradient of size"),
        (lambda m: m.ones(2, dtype=m.float64), RuntimeError, "attempting to assign a gradient with dtype"),
        (lambda m: [1.0, 2.0], TypeError, "assigned grad expected to be a Tensor or None"),
    ],
)
def test_assigning_a_mismatched_grad_is_refused_as_torch(value, error, message):
    for lib in (torch, cf):
        p = lib.ones(2, requires_grad=True)
        with pytest.raises(error, match=message):
            p.grad = value(lib)
        p.grad = lib.zeros(2)
        assert p.grad.tolist() == [0.0, 0.0]
