"""Tensor methods and top-level functions against torch 2.13: values, dtypes, gradients.

Each case is one function ``f(lib, *tensors)`` written once and run with ``lib`` = convforge
and ``lib`` = torch on the same inputs; outputs (every tensor of a tuple) must agree in
values and dtype, and the gradients of ``sum(output * seed)`` agree for the float inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf


def normal(*shape):
    return ("normal", shape)


def unique(*shape):
    return ("unique", shape)


def ints(*shape):
    return ("ints", shape)


def _make(spec, rng):
    kind, shape = spec
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "unique":  # distinct values: max/min/argmax have one answer
        return rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64) / 3 - 1
    return rng.integers(-4, 5, shape)


CASES = {
    "flatten": (lambda m, a: m.flatten(a), [normal(2, 3, 4)]),
    "flatten start end": (lambda m, a: m.flatten(a, 1, 2), [normal(2, 3, 4, 2)]),
    "max all": (lambda m, a: m.max(a), [unique(3, 4)]),
    "max dim": (lambda m, a: m.max(a, 1), [unique(3, 4)]),
    "max dim keepdim": (lambda m, a: m.max(a, dim=0, keepdim=True), [unique(3, 4)]),
    "max values indices": (lambda m, a: tuple(a.max(-1)), [unique(2, 3, 4)]),
    "max elementwise": (lambda m, a, b: m.max(a, b), [unique(3, 4), normal(3, 4)]),
    "max ties share the gradient": (lambda m, a: m.max(a * 0), [normal(2, 3)]),
    "min dim": (lambda m, a: m.min(a, -1), [unique(3, 4)]),
    "min all": (lambda m, a: a.min(), [unique(3, 4)]),
    "min elementwise": (lambda m, a, b: m.min(a, b), [unique(3, 4), normal(4)]),
    "argmax all": (lambda m, a: m.argmax(a), [unique(3, 4)]),
    "argmax dim": (lambda m, a: m.argmax(a, 1), [unique(3, 4)]),
    "argmax dim keepdim": (lambda m, a: a.argmax(dim=0, keepdim=True), [unique(3, 4)]),
    "argmax axis alias": (lambda m, a: a.argmax(axis=1), [unique(3, 4)]),
    "argmin dim": (lambda m, a: m.argmin(a, dim=-1), [unique(3, 4)]),
    "argmin all": (lambda m, a: a.argmin(), [unique(3, 4)]),
    "abs": (lambda m, a: m.abs(a), [unique(5)]),
    "exp": (lambda m, a: m.exp(a), [normal(5)]),
    "log": (lambda m, a: m.log(m.abs(a) + 0.5), [normal(5)]),
    "sqrt": (lambda m, a: m.sqrt(m.abs(a) + 0.5), [normal(5)]),
    "sin": (lambda m, a: m.sin(a), [normal(5)]),
    "cos": (lambda m, a: m.cos(a), [normal(5)]),
    "tanh": (lambda m, a: m.tanh(a), [normal(5)]),
    "sinh": (lambda m, a: m.sinh(a), [normal(5)]),
    "cosh": (lambda m, a: m.cosh(a), [normal(5)]),
    "sigmoid": (lambda m, a: m.sigmoid(a), [normal(5)]),
    "method sin cos": (lambda m, a: a.sin() * a.cos(), [normal(5)]),
    "matmul": (lambda m, a, b: m.matmul(a, b), [normal(2, 3, 4), normal(4, 5)]),
    "mm": (lambda m, a, b: m.mm(a, b), [normal(3, 4), normal(4, 2)]),
    "bmm": (lambda m, a, b: m.bmm(a, b), [normal(2, 3, 4), normal(2, 4, 2)]),
    "method bmm": (lambda m, a, b: a.bmm(b), [normal(2, 3, 4), normal(2, 4, 2)]),
    "clamp": (lambda m, a: m.clamp(a, -0.5, 0.5), [unique(8)]),
    "clip min": (lambda m, a: m.clip(a, min=0.1), [unique(8)]),
    "sum dim keepdim": (lambda m, a: m.sum(a, 1, keepdim=True), [normal(2, 3, 4)]),
    "sum dims": (lambda m, a: a.sum((0, 2)), [normal(2, 3, 4)]),
    "sum of ints is int64": (lambda m, a: a.sum(), [ints(3, 4)]),
    "sum dtype": (lambda m, a: a.sum(dtype=m.float64), [normal(3)]),
    "mean dim": (lambda m, a: m.mean(a, -1), [normal(2, 3, 4)]),
    "std dim": (lambda m, a: m.std(a, 1), [normal(3, 5)]),
    "std keepdim": (lambda m, a: a.std(dim=0, keepdim=True), [normal(3, 5)]),
    "var unbiased false": (lambda m, a: a.var(1, unbiased=False), [normal(3, 5)]),
    "prod": (lambda m, a: m.prod(a), [normal(2, 3)]),
    "prod dim with a zero": (lambda m, a: a.prod(1), [np.array([[1.5, 0.0, 2.0], [0.5, -1.0, 3.0]])]),
    "prod keepdim": (lambda m, a: a.prod(0, keepdim=True), [normal(3, 2)]),
    "prod of ints": (lambda m, a: a.prod(), [ints(2, 2)]),
    "eq": (lambda m, a, b: m.eq(a, b), [ints(3, 4), ints(3, 4)]),
    "ne method": (lambda m, a, b: a.ne(b), [ints(3, 4), ints(4)]),
    "lt le gt ge": (lambda m, a, b: (a.lt(b), a.le(b), m.gt(a, b), m.ge(a, 0)), [ints(6), ints(6)]),
    "view_as": (lambda m, a, b: a.view_as(b), [normal(2, 6), normal(3, 4)]),
    "reshape_as": (lambda m, a, b: a.t().reshape_as(b), [normal(2, 6), normal(3, 4)]),
    "expand": (lambda m, a: a.expand(2, 3, -1), [normal(3, 1)]),
    "expand_as": (lambda m, a, b: a.expand_as(b), [normal(1, 4), normal(3, 4)]),
    "repeat": (lambda m, a: a.repeat(2, 3), [normal(2, 3)]),
    "repeat adds dims": (lambda m, a: a.repeat(2, 1, 2), [normal(2, 3)]),
    "squeeze": (lambda m, a: a.squeeze(), [normal(2, 1, 3, 1)]),
    "squeeze dim": (lambda m, a: m.squeeze(a, 1), [normal(2, 1, 3)]),
    "squeeze non-1 dim is a no-op": (lambda m, a: a.squeeze(0), [normal(2, 1, 3)]),
    "unsqueeze": (lambda m, a: m.unsqueeze(a, -1), [normal(2, 3)]),
    "permute": (lambda m, a: m.permute(a, (2, 0, 1)), [normal(2, 3, 4)]),
    "permute method": (lambda m, a: a.permute(1, 0, 2), [normal(2, 3, 4)]),
    "transpose": (lambda m, a: m.transpose(a, 0, -1), [normal(2, 3, 4)]),
    "t": (lambda m, a: m.t(a), [normal(2, 3)]),
    "T": (lambda m, a: a.T, [normal(2, 3)]),
    "contiguous after transpose": (lambda m, a: a.transpose(0, 1).contiguous().view(-1), [normal(2, 3)]),
    "chunk": (lambda m, a: m.chunk(a, 3, 1), [normal(2, 7)]),
    "chunk method": (lambda m, a: a.chunk(2), [normal(5, 2)]),
    "split size": (lambda m, a: m.split(a, 2, 1), [normal(2, 5)]),
    "split sections": (lambda m, a: a.split([1, 3, 1]), [normal(5, 2)]),
    "unbind": (lambda m, a: a.unbind(1), [normal(2, 3)]),
    "masked_fill": (lambda m, a: a.masked_fill(a > 0, -1.0), [normal(3, 4)]),
    "masked_fill broadcast mask": (lambda m, a, b: a.masked_fill(b > 0, 2.0), [normal(3, 4), normal(4)]),
    "gather": (lambda m, a: m.gather(a, 1, m.tensor([[0, 0], [2, 1], [1, 1]])), [normal(3, 3)]),
    "gather dim 0": (lambda m, a: a.gather(0, m.tensor([[2, 0, 1]])), [normal(3, 3)]),
    "scatter": (lambda m, a, b: a.scatter(1, m.tensor([[2, 0], [1, 2]]), b), [normal(2, 3), normal(2, 2)]),
    "scatter value": (lambda m, a: a.scatter(0, m.tensor([[1, 0, 1]]), value=5.0), [normal(2, 3)]),
    "scatter_add": (
        lambda m, a, b: a.scatter_add(1, m.tensor([[0, 0, 1], [2, 2, 2]]), b),
        [normal(2, 3), normal(2, 3)],
    ),
    "float of ints": (lambda m, a: a.float(), [ints(3)]),
    "double": (lambda m, a: a.double() * 2, [normal(3)]),
    "long": (lambda m, a: (a * 3).long(), [normal(4)]),
    "int": (lambda m, a: (a * 3).int(), [normal(4)]),
    "half": (lambda m, a: a.half(), [normal(4)]),
    "bool": (lambda m, a: a.bool(), [ints(6)]),
    "to dtype": (lambda m, a: a.to(m.float32) * 1, [normal(3)]),
    "type dtype": (lambda m, a: a.type(m.int32), [ints(3)]),
    "type string": (lambda m, a: a.type("torch.DoubleTensor"), [ints(3)]),
    "new_zeros": (lambda m, a: a.new_zeros(2, 3), [ints(1)]),
    "new_ones": (lambda m, a: a.new_ones((2,)), [normal(1)]),
    "new_full": (lambda m, a: a.new_full((2, 2), 7), [normal(1)]),
    "new_tensor": (lambda m, a: a.new_tensor([1, 2]), [normal(1)]),
    "norm": (lambda m, a: a.norm(), [normal(3, 4)]),
    "iteration": (lambda m, a: tuple(row * 2 for row in a), [normal(3, 2)]),
    "floor ceil round trunc sign": (
        lambda m, a: (m.floor(a * 3), a.ceil(), m.round(a * 3), a.trunc(), m.sign(a)),
        [unique(6)],
    ),
    "round decimals": (lambda m, a: a.round(decimals=1), [unique(6)]),
    "remainder": (lambda m, a: m.remainder(a * 5, 1.5), [unique(6)]),
    "fmod": (lambda m, a: m.fmod(a * 5, 1.5), [unique(6)]),
    "remainder of ints": (lambda m, a: a.remainder(3), [ints(6)]),
    "log1p log2 log10": (
        lambda m, a: (m.log1p(a.abs()), m.log2(a.abs() + 1), a.abs().add(1).log10()),
        [normal(5)],
    ),
    "rsqrt": (lambda m, a: m.rsqrt(a.abs() + 0.5), [normal(5)]),
    "erf": (lambda m, a: m.erf(a), [normal(5)]),
    "lerp": (lambda m, a, b: m.lerp(a, b, 0.3), [normal(5), normal(5)]),
    "cumsum": (lambda m, a: m.cumsum(a, 1), [normal(2, 4)]),
    "cumsum of ints": (lambda m, a: a.cumsum(0), [ints(5)]),
    "logsumexp": (lambda m, a: m.logsumexp(a, 1), [normal(3, 4)]),
    "logsumexp dims keepdim": (lambda m, a: a.logsumexp((0, 2), keepdim=True), [normal(2, 3, 2)]),
    "predicates": (lambda m, a: (m.isnan(a.log()), m.isinf(1 / (a * 0)), a.isfinite()), [normal(5)]),
    "all any": (lambda m, a: (m.all(a > -9), a.any(0), (a > 0).all(dim=1, keepdim=True)), [normal(3, 4)]),
    "nonzero": (lambda m, a: m.nonzero(a > 0), [normal(3, 4)]),
    "nonzero as tuple": (lambda m, a: (a > 0).nonzero(as_tuple=True), [normal(3, 4)]),
    "argsort": (lambda m, a: m.argsort(a, 1), [unique(3, 4)]),
    "argsort descending": (lambda m, a: a.argsort(dim=0, descending=True), [unique(3, 4)]),
    "sort": (lambda m, a: tuple(m.sort(a, 1)), [unique(3, 4)]),
    "sort descending": (lambda m, a: tuple(a.sort(descending=True)), [unique(3, 4)]),
    "topk": (lambda m, a: tuple(m.topk(a, 2)), [unique(3, 4)]),
    "topk smallest dim 0": (lambda m, a: tuple(a.topk(2, 0, largest=False)), [unique(3, 4)]),
    "unique": (lambda m, a: m.unique(a, return_inverse=True, return_counts=True), [ints(8)]),
    "index_select": (lambda m, a: m.index_select(a, 1, m.tensor([2, 0, 2])), [normal(2, 3)]),
    "masked_select": (lambda m, a, b: m.masked_select(a, b > 0), [normal(2, 3), normal(3)]),
    "select narrow": (lambda m, a: (a.select(1, 2), m.narrow(a, 1, 1, 2)), [normal(2, 4)]),
    "repeat_interleave": (
        lambda m, a: (a.repeat_interleave(2), a.repeat_interleave(3, dim=1)),
        [normal(2, 2)],
    ),
    "tril triu": (lambda m, a: (m.tril(a), a.triu(1), m.tril(a, -1)), [normal(2, 3, 4)]),
    "diag of a vector": (lambda m, a: (m.diag(a), a.diag(-1)), [normal(3)]),
    "diag of a matrix": (lambda m, a: (m.diag(a), a.diag(1), a.diag(-1)), [normal(3, 4)]),
    "top-level arithmetic": (
        lambda m, a, b: (m.add(a, b, alpha=2), m.sub(a, b), m.mul(a, b), m.div(a, b), m.true_divide(a, b)),
        [normal(3), normal(3)],
    ),
    "floor_divide": (lambda m, a, b: m.floor_divide(a, b), [ints(6), np.array([2, 3, 2, 3, 2, 3])]),
    "flip softmax log_softmax": (
        lambda m, a: (m.flip(a, [1]), m.softmax(a, 1), m.log_softmax(a, -1)),
        [normal(2, 3)],
    ),
    "view dtype reads the same bytes": (lambda m, a: a.detach().float().view(m.int32), [normal(3)]),
    "where with a condition alone": (lambda m, a: m.where(a > 0), [normal(3, 4)]),
    "type legacy constructor": (lambda m, a: a.type(m.LongTensor), [ints(3)]),
    "dtype objects": (
        lambda m, a: tuple(a.to(d) for d in (m.int8, m.uint8, m.int32, m.long, m.int, m.float, m.double)),
        [ints(3)],
    ),
}


def _run(lib, fn, arrays):
    tensors = [lib.tensor(a.copy(), requires_grad=bool(np.issubdtype(a.dtype, np.floating))) for a in arrays]
    out = fn(lib, *tensors)
    outs = tuple(out) if isinstance(out, tuple) else (out,)
    return tensors, outs


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.array


@pytest.mark.parametrize("name", list(CASES))
def test_method_matches_torch_in_values_dtypes_and_gradients(name, rng):
    fn, specs = CASES[name]
    arrays = [np.asarray(s) if isinstance(s, np.ndarray) else _make(s, rng) for s in specs]
    ours_in, ours = _run(cf, fn, arrays)
    theirs_in, theirs = _run(torch, fn, arrays)
    assert len(ours) == len(theirs)
    for a, e in zip(ours, theirs):
        assert a.shape == tuple(e.shape), name
        assert str(e.dtype) == f"torch.{np.dtype(a.dtype).name}".replace("bool", "bool"), name
        np.testing.assert_allclose(_numpy(a).astype(np.float64), _numpy(e).astype(np.float64), rtol=1e-6)
    differentiable = [(a, e) for a, e in zip(ours, theirs) if e.requires_grad]
    if not differentiable:
        return
    seeds = [rng.standard_normal(tuple(e.shape)) for _, e in differentiable]
    sum(((a * cf.tensor(s, dtype=a.dtype)).sum() for (a, _), s in zip(differentiable, seeds))).backward()
    sum(((e * torch.tensor(s, dtype=e.dtype)).sum() for (_, e), s in zip(differentiable, seeds))).backward()
    for a, e in zip(ours_in, theirs_in):
        if e.grad is None:
            assert a.grad is None or not np.any(a.grad.array), name
            continue
        np.testing.assert_allclose(a.grad.array, e.grad.numpy(), rtol=1e-6, atol=1e-12, err_msg=name)


def test_max_with_dim_is_a_named_values_indices_pair():
    values, indices = cf.max(cf.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]), 1)
    result = cf.tensor([[1.0, 5.0, 2.0]]).max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert result.values.tolist() == [5.0] and result.indices.tolist() == [1]
    assert indices.dtype == np.int64


def test_accuracy_idiom_of_the_tutorials_runs():
    outputs = cf.tensor([[0.1, 2.0, 0.3], [1.5, 0.2, 0.1]])
    labels = cf.tensor([1, 2])
    _, predicted = cf.max(outputs, 1)
    assert (predicted == labels).sum().item() == 1
    assert predicted.eq(labels.view_as(predicted)).sum().item() == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.ones(2, 3).t().view(-1), "view size is not compatible"),
        (lambda m: m.ones(2, 3, 4).t(), "t\\(\\) expects a tensor with <= 2 dimensions"),
        (lambda m: m.ones(2, 3).mm(m.ones(3)), "mat2 must be a matrix"),
        (lambda m: m.ones(2, 3).bmm(m.ones(3, 2)), "batch1 must be a 3D tensor"),
        (lambda m: m.ones(2, 3).repeat(2), "Number of dimensions of repeat dims"),
        (lambda m: m.ones(2, 3).permute(0), "number of dimensions in the tensor input does not match"),
        (lambda m: m.ones(2, 3).expand(3, 3), "The expanded size of the tensor \\(3\\) must match"),
        (lambda m: m.ones(2).view(3), "shape '\\[3\\]' is invalid for input of size 2"),
        (lambda m: m.ones(2, dtype=m.long).mean(), "mean\\(\\): could not infer output dtype"),
        (lambda m: m.ones(2).item(), "a Tensor with 2 elements cannot be converted to Scalar"),
        (lambda m: bool(m.ones(2)), "Boolean value of Tensor with more than one value is ambiguous"),
        (lambda m: m.ones(5).split([2, 2]), "split_with_sizes expects split_sizes to sum exactly to 5"),
    ],
)
def test_errors_are_torchs(call, message):
    with pytest.raises(RuntimeError, match=message):
        call(torch)
    with pytest.raises(RuntimeError, match=message):
        call(cf)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: len(m.tensor(1.0)), TypeError, "len\\(\\) of a 0-d tensor"),
        (lambda m: iter(m.tensor(1.0)), TypeError, "iteration over a 0-d tensor"),
        (lambda m: [0, 1][m.tensor(1.0)], TypeError, "only integer tensors of a single element"),
        (lambda m: [0, 1][m.tensor([1, 0])], TypeError, "only integer tensors of a single element"),
        (lambda m: float(m.ones(2)), ValueError, "only one element tensors can be converted"),
    ],
)
def test_python_protocol_errors_are_torchs(call, error, message):
    with pytest.raises(error, match=message):
        call(torch)
    with pytest.raises(error, match=message):
        call(cf)


def test_python_protocols_on_one_element_tensors():
    index = cf.tensor([2])
    assert ["a", "b", "c"][index] == "c" and ["a", "b", "c"][cf.tensor(1)] == "b"
    assert len(cf.ones(4, 2)) == 4 and bool(cf.tensor([1.0])) and float(cf.tensor([[2.5]])) == 2.5
    assert int(cf.tensor(3.7)) == 3 and [r.tolist() for r in cf.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    assert cf.is_tensor(cf.ones(1)) and not cf.is_tensor(np.ones(1)) and cf.numel(cf.ones(2, 3)) == 6


def test_type_strings_and_dtype_objects_are_torchs():
    x = cf.ones(2)
    assert x.type() == "torch.FloatTensor" == torch.ones(2).type()
    assert x.long().type() == torch.ones(2).long().type() == "torch.LongTensor"
    assert x.type(cf.float64).dtype == cf.double and x.type("torch.IntTensor").dtype == cf.int32
    assert cf.float is cf.float32 and cf.long is cf.int64 and cf.half is cf.float16 and cf.int is cf.int32
    assert x.dtype == cf.float32 and cf.tensor([True]).dtype == cf.bool


def test_bfloat16_exists_and_refuses_use_as_a_dtype_clearly():
    assert cf.bfloat16 != cf.float16
    with pytest.raises(TypeError, match="bfloat16 is not supported"):
        cf.ones(2, dtype=cf.bfloat16)
    with pytest.raises(TypeError, match="bfloat16 is not supported"):
        cf.ones(2).to(cf.bfloat16)


def test_view_shares_memory_and_reshape_copies_only_when_it_must():
    x = cf.arange(6.0)
    x.view(2, 3).array[0, 0] = 100.0
    assert x[0].item() == 100.0
    t = cf.arange(6.0).reshape(2, 3).t()
    flat = t.reshape(-1)
    flat.array[0] = -1.0
    assert t[0, 0].item() == 0.0  # reshape of a transposed tensor had to copy


@pytest.mark.parametrize(
    "op",
    [
        lambda m: m.tensor([1, 2]) / 2,
        lambda m: m.tensor([1, 2]) / m.tensor([3, 4]),
        lambda m: m.tensor([1, 255], dtype=m.uint8) / 255,
        lambda m: m.tensor([1, 2]) * 0.5,
        lambda m: m.tensor([1, 2]) * m.ones(2),
        lambda m: m.ones(2) + m.tensor(1.0, dtype=m.float64),
        lambda m: m.ones(2, dtype=m.float64) + m.ones(2),
        lambda m: m.tensor([1, 2]) + m.tensor(1.5),
        lambda m: m.tensor(1) + m.tensor(1.5, dtype=m.float64),
        lambda m: m.tensor([1, 2]) ** 2,
        lambda m: m.tensor([1, 2]) ** 0.5,
        lambda m: m.ones(2) * np.float64(2.0),
        lambda m: m.tensor([1, 2], dtype=m.uint8) + 1,
        lambda m: m.tensor([True]) + 1,
        lambda m: m.tensor(2, dtype=m.int32) + m.tensor([1], dtype=m.int8),
        lambda m: m.tensor([1], dtype=m.uint8) - m.tensor([1], dtype=m.int8),
        lambda m: m.ones(2, dtype=m.float16) * m.tensor([1, 2]),
    ],
)
def test_arithmetic_result_dtypes_follow_torchs_promotion(op):
    ours, theirs = op(cf), op(torch)
    assert f"torch.{ours.dtype}" == str(theirs.dtype)
    np.testing.assert_allclose(ours.array.astype(np.float64), theirs.numpy().astype(np.float64), rtol=1e-3)
