"""In-place operations (``add_``, ``x += y``, ``x[i] = v``, ``fill_`` ...) with torch's rules.

An in-place operation computes the out-of-place result, writes it into the tensor's memory
and bumps the version counter it shares with its views. Under grad mode:

- on a leaf that requires grad (or a view of one) it is refused, as torch refuses it;
- otherwise, when the tensor or an operand requires grad, the tensor takes the operation's
  node as its new ``grad_fn`` (the node's edge points at the old one), so the graph stays
  differentiable; a view written in place gives its base a ``CopySlices`` node that routes
  the gradient of the written cells through the operation and the rest past it.

Operations whose backward reads the old values of the tensor work on a copy of them (as
torch saves ``original_self``); the others (listed in ``_SAFE_ALL``) read nothing of it and
run on the tensor itself. A view's cells are found in its base by their byte addresses, so
any basic view (slices, ints, permutations, reshapes that do not copy) can be written.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import random as cf_random
from . import dtypes
from .function import Function, is_grad_enabled, retain_for, saved_entry
from .ops import elementwise as ew
from .ops import index as index_ops
from .ops import where as where_ops
from .ops.elementwise import unbroadcast

# whose backward never reads input 0's memory: they may run on the tensor itself
_SAFE = (ew.Add, ew.Sub, ew.Neg, ew.ReLU, ew.Clamp, ew.Exp, ew.Sigmoid, ew.Tanh, ew.Sqrt)


class Overwrite(Function):
    """``a`` replaced by ``src`` broadcast to its shape (``fill_``, ``copy_``, ``zero_``)."""

    def forward(self, a, src):
        self.src_shape = np.shape(src)
        return np.array(np.broadcast_to(src, a.shape), dtype=a.dtype)

    def backward(self, g):
        # the old values get a zero gradient rather than none, so the nodes behind them still
        # run (and check that what they saved is intact), as torch's fill_ does
        old = np.zeros_like(g) if self.needs_input_grad[0] else None
        return old, unbroadcast(g, self.src_shape) if self.needs_input_grad[1] else None


class CopySlices(Function):
    """The base of a view written in place: the view's cells take the operation's gradient."""

    def backward(self, g):
        flat = np.asarray(g).reshape(-1)
        base_grad = None
        if self.needs_input_grad[0]:
            base_grad = flat.copy()
            base_grad[self.index.reshape(-1)] = 0
            base_grad = base_grad.reshape(g.shape)
        return base_grad, flat[self.index]


class ViewOfBase(Function):
    """A view after an in-place write: its cells of the base's (new) gradient."""

    def backward(self, g):
        full = np.zeros(self.base_shape, dtype=g.dtype)
        full.reshape(-1)[self.index.reshape(-1)] = np.asarray(g).reshape(-1)
        return (full,)


_SAFE_ALL = (*_SAFE, Overwrite, index_ops.SetItem, index_ops.Scatter, where_ops.Where)


def _tensor_type():
    from .tensor import Tensor

    return Tensor


def _check_allowed(tensor) -> None:
    if not tensor._array.flags.writeable:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a single "
            "memory location. Please clone() the tensor before performing the operation."
        )
    if not is_grad_enabled():
        return
    if tensor.is_leaf and tensor.requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    base = tensor._base
    if base is not None and base.is_leaf and base.requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def _check_result(tensor, result: np.ndarray, args: tuple) -> None:
    if result.shape != tensor.shape:
        raise RuntimeError(
            f"output with shape {list(tensor.shape)} doesn't match the broadcast shape {list(result.shape)}"
        )
    if not np.can_cast(result.dtype, tensor.dtype, casting="same_kind"):
        # torch types a Python float operand as its default float32 ("Float"), NumPy as float64
        python_float = any(isinstance(a, float) for a in args) and result.dtype == np.float64
        name = "Float" if python_float else dtypes.scalar_name(result.dtype)
        raise RuntimeError(
            f"result type {name} can't be cast to the desired output type {dtypes.scalar_name(tensor.dtype)}"
        )


def apply_inplace(tensor, fn: type[Function], *args):
    """Run ``fn`` on ``(tensor, *args)`` and write its result into ``tensor``; returns ``tensor``."""
    Tensor = _tensor_type()
    _check_allowed(tensor)
    graph = is_grad_enabled() and (
        tensor.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
    )
    source = tensor
    if graph and fn not in _SAFE_ALL:
        # backward reads the old values: give the node a copy of them, as torch saves original_self
        source = Tensor._from_op(tensor._array.copy(), tensor.grad_fn)
        source._requires_grad = tensor._requires_grad
    out = fn.apply(source, *args)
    _check_result(tensor, out._array, args)
    np.copyto(tensor._array, out._array, casting="unsafe")
    tensor._version_box.value += 1
    if graph:
        _rebase(tensor, out.grad_fn, out._array)
    return tensor


def _rebase(tensor, node: Function, out_array: np.ndarray) -> None:
    if tensor._base is None:
        tensor.grad_fn, tensor._requires_grad = node, True
        if tensor._retains_grad:
            retain_for(node, tensor)
    else:
        _rebase_view(tensor, node)
    # a node that kept its output keeps it in the tensor now: later writes must be caught
    entries = [entry for entry in node._saved_versions if not entry[3]]
    if node.kept_output(out_array):
        entries.append(saved_entry(tensor, is_output=True, force=True))
    node._saved_versions = tuple(entries)


def _rebase_view(view, node: Function) -> None:
    base = view._base
    index = _view_index(view._array, base._array)
    copy = CopySlices()
    copy.index = index
    copy.inputs = (base, None)
    copy._edges, copy._listed = (base._grad_edge(), node), (True, True)
    copy.needs_input_grad = (base.requires_grad, True)
    copy._out_dtype = base.dtype
    base.grad_fn, base._requires_grad = copy, True
    if base._retains_grad:
        retain_for(copy, base)
    regrown = ViewOfBase()
    regrown.index, regrown.base_shape = index, base.shape
    regrown.inputs, regrown.needs_input_grad = (base,), (True,)
    regrown._edges, regrown._listed = (copy,), (True,)
    regrown._out_dtype = view.dtype
    view.grad_fn, view._requires_grad = regrown, True


def _addresses(a: np.ndarray) -> np.ndarray:
    """The byte address of every element of ``a`` (shape of ``a``)."""
    grid = np.full(a.shape, a.__array_interface__["data"][0], dtype=np.int64)
    for axis, (n, stride) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[axis] = n
        grid = grid + (np.arange(n, dtype=np.int64) * stride).reshape(shape)
    return grid


def _view_index(view: np.ndarray, base: np.ndarray) -> np.ndarray:
    """For each element of ``view``, the flat (C-order) index of the base element it is."""
    base_addresses = _addresses(base).reshape(-1)
    order = np.argsort(base_addresses, kind="stable")
    ordered = base_addresses[order]
    wanted = _addresses(view)
    position = np.clip(np.searchsorted(ordered, wanted), 0, max(ordered.size - 1, 0))
    if ordered.size == 0 or not np.array_equal(ordered[position], wanted):
        raise RuntimeError("in-place operation on a view whose elements are not elements of its base")
    return order[position]


def _scaled(value, alpha):
    return value if alpha == 1 else value * alpha


def _random_upper(dtype) -> int:
    if np.issubdtype(dtype, np.floating):
        return 2 ** (np.finfo(dtype).nmant + 1)
    return 2 if dtype == np.bool_ else int(np.iinfo(dtype).max)


def _alpha_form(op: str, other, rest: tuple, alpha):
    """torch still takes the old ``add_(alpha, other)`` order (``p.data.add_(-lr, grad)``)."""
    if not rest:
        return other, alpha
    if len(rest) > 1 or not isinstance(other, numbers.Number):
        raise TypeError(f"{op}: takes (other, *, alpha=...) or the old (alpha, other) form")
    return rest[0], other


class InplaceMixin:
    """The in-place methods of :class:`Tensor` (names ending in ``_``, and ``+=`` ...)."""

    def add_(self, other, *rest, alpha=1):
        other, alpha = _alpha_form("add_", other, rest, alpha)
        return apply_inplace(self, ew.Add, _scaled(other, alpha))

    def sub_(self, other, *rest, alpha=1):
        other, alpha = _alpha_form("sub_", other, rest, alpha)
        return apply_inplace(self, ew.Sub, _scaled(other, alpha))

    def mul_(self, other):
        return apply_inplace(self, ew.Mul, other)

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            raise NotImplementedError("div_: rounding_mode is not supported by convforge")
        return apply_inplace(self, ew.Div, other)

    def pow_(self, exponent):
        return apply_inplace(self, ew.Pow, exponent)

    def addcmul_(self, tensor1, tensor2, *rest, value=1):
        if rest:  # the old (value, tensor1, tensor2) order
            value, tensor1, tensor2 = tensor1, tensor2, rest[0]
        return self.add_(tensor1 * tensor2, alpha=value)

    def addcdiv_(self, tensor1, tensor2, *rest, value=1):
        if rest:
            value, tensor1, tensor2 = tensor1, tensor2, rest[0]
        return self.add_(tensor1 / tensor2, alpha=value)

    multiply_, divide_, subtract_ = mul_, div_, sub_

    def __iadd__(self, other):
        return apply_inplace(self, ew.Add, other)

    def __isub__(self, other):
        return apply_inplace(self, ew.Sub, other)

    def __imul__(self, other):
        return apply_inplace(self, ew.Mul, other)

    def __itruediv__(self, other):
        return apply_inplace(self, ew.Div, other)

    def __ipow__(self, other):
        return apply_inplace(self, ew.Pow, other)

    def neg_(self):
        return apply_inplace(self, ew.Neg)

    negative_ = neg_

    def abs_(self):
        return apply_inplace(self, ew.Abs)

    def sqrt_(self):
        return apply_inplace(self, ew.Sqrt)

    def exp_(self):
        return apply_inplace(self, ew.Exp)

    def log_(self):
        return apply_inplace(self, ew.Log)

    def sin_(self):
        return apply_inplace(self, ew.Sin)

    def cos_(self):
        return apply_inplace(self, ew.Cos)

    def floor_(self):
        return apply_inplace(self, ew.Stepwise, np.floor)

    def ceil_(self):
        return apply_inplace(self, ew.Stepwise, np.ceil)

    def round_(self):
        return apply_inplace(self, ew.Stepwise, np.round)

    def trunc_(self):
        return apply_inplace(self, ew.Stepwise, np.trunc)

    def sign_(self):
        return apply_inplace(self, ew.Stepwise, np.sign)

    def reciprocal_(self):
        return apply_inplace(self, ew.Pow, -1)

    def square_(self):
        return apply_inplace(self, ew.Pow, 2)

    def log1p_(self):
        return apply_inplace(self, ew.Log1p)

    def relu_(self):
        return apply_inplace(self, ew.ReLU)

    def sigmoid_(self):
        return apply_inplace(self, ew.Sigmoid)

    def tanh_(self):
        return apply_inplace(self, ew.Tanh)

    def clamp_(self, min=None, max=None):  # noqa: A002 - torch's names
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        return apply_inplace(self, ew.Clamp, min, max)

    clip_ = clamp_

    def zero_(self):
        return apply_inplace(self, Overwrite, np.zeros((), dtype=self.dtype))

    def fill_(self, value):
        if np.ndim(value._array if hasattr(value, "_array") else value) != 0:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{np.ndim(value._array)} dimensions."
            )
        return apply_inplace(self, Overwrite, value if hasattr(value, "_array") else np.asarray(value))

    def copy_(self, src, non_blocking: bool = False):
        """Write ``src`` (broadcast to this shape, cast to this dtype) into this tensor."""
        src_shape = np.shape(src._array if hasattr(src, "_array") else src)
        try:
            np.broadcast_shapes(src_shape, self.shape)
        except ValueError:
            raise RuntimeError(
                f"The size of tensor a ({self.shape[-1] if self.ndim else 1}) must match the size of "
                f"tensor b ({src_shape[-1] if src_shape else 1}) at non-singleton dimension"
            ) from None
        return apply_inplace(self, Overwrite, src if hasattr(src, "_array") else np.asarray(src))

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        rng = cf_random.resolve_generator(generator, "uniform_")
        return apply_inplace(self, Overwrite, rng.uniform(a, b, self.shape).astype(self.dtype))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        rng = cf_random.resolve_generator(generator, "normal_")
        return apply_inplace(self, Overwrite, rng.normal(mean, std, self.shape).astype(self.dtype))

    def random_(self, from_: int = 0, to: int | None = None, *, generator=None):
        """Integers uniform on [from_, to); ``random_(to)`` means from 0, and ``random_()``
        spans what the dtype holds exactly (2**24 for float32, the max for ints), as torch."""
        if to is None:
            from_, to = (0, from_) if from_ else (0, _random_upper(self.dtype))
        rng = cf_random.resolve_generator(generator, "random_")
        return apply_inplace(self, Overwrite, rng.integers(from_, to, self.shape).astype(self.dtype))

    def exponential_(self, lambd: float = 1.0, *, generator=None):
        rng = cf_random.resolve_generator(generator, "exponential_")
        return apply_inplace(self, Overwrite, rng.exponential(1.0 / lambd, self.shape).astype(self.dtype))

    def bernoulli_(self, p: float = 0.5, *, generator=None):
        rng = cf_random.resolve_generator(generator, "bernoulli_")
        return apply_inplace(self, Overwrite, (rng.random(self.shape) < p).astype(self.dtype))

    def masked_fill_(self, mask, value):
        filled = self.masked_fill(mask, value)  # validates; its node is dropped
        return apply_inplace(self, Overwrite, filled if filled.requires_grad else filled._array)

    def scatter_(self, dim: int, index, src=None, *, value=None, reduce=None):
        if reduce is not None:
            raise NotImplementedError("scatter_: reduce= is not supported by convforge; use scatter_add_")
        return self.copy_(self.scatter(dim, index, src, value=value))

    def scatter_add_(self, dim: int, index, src):
        return self.copy_(self.scatter_add(dim, index, src))

    def __setitem__(self, index, value):
        from .tensor_math import _raw

        index = tuple(_raw(i) for i in index) if isinstance(index, tuple) else _raw(index)
        if not hasattr(value, "_array"):
            value = np.asarray(value)
        if not (is_grad_enabled() and (self.requires_grad or getattr(value, "requires_grad", False))):
            # outside the graph: write straight into the memory (no copy of the whole tensor)
            _check_allowed(self)
            self._array[index] = _raw(value)
            self._version_box.value += 1
            return
        apply_inplace(self, index_ops.SetItem, index, value)
