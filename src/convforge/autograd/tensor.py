"""Tensor: an ndarray with a gradient and a place in the autograd graph.

The graph is made of :class:`~convforge.autograd.function.Function` nodes recorded by
``Function.apply``; ``backward`` walks it once in reverse topological order (an iterative
sort, so deep networks do not hit Python's recursion limit), accumulates gradients of
leaves into ``.grad`` with ``+=`` and then frees what the nodes saved unless
``retain_graph=True``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..backend import DEFAULT_DTYPE
from ..device import CPU, Device, check_available, cuda_device, parse_to_args
from .function import Function
from .ops import elementwise as ew
from .ops import nn as nn_ops
from .ops import reduction as red
from .ops import shape as sh
from .ops import where as where_ops


def _as_array(data, dtype=None) -> np.ndarray:
    """torch.tensor's dtype rules: Python floats -> float32, ints -> int64, arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    if isinstance(data, np.ndarray):
        return data
    array = np.asarray(data)
    if array.dtype == np.float64 and not _holds_numpy_float64(data):
        array = array.astype(DEFAULT_DTYPE)
    return array


def _holds_numpy_float64(data) -> bool:
    """True if ``data`` is or (nested) holds a NumPy float64 value: torch keeps those float64."""
    if isinstance(data, (np.ndarray, np.generic)):
        return data.dtype == np.float64
    if isinstance(data, (list, tuple)):
        return any(_holds_numpy_float64(item) for item in data)
    return False


def _unwrap(value):
    return value.data if isinstance(value, Tensor) else value


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Parameters
    ----------
    data : array-like
        Values; Python floats become float32, NumPy arrays keep their dtype.
    requires_grad : bool
        Whether ``backward`` should compute ``.grad`` for this tensor.
    dtype : optional
        Cast to this dtype.
    """

    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected op

    def __init__(self, data, requires_grad: bool = False, dtype=None) -> None:
        self.data: np.ndarray = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn: Function | None = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_op(cls, data, node: Function | None) -> Tensor:
        out = cls.__new__(cls)
        out.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        out.grad = None
        out.grad_fn = node
        out._retains_grad = False
        out.requires_grad = node is not None
        return out

    # ---- properties -------------------------------------------------------------------
    @property
    def array(self) -> np.ndarray:
        """The underlying ndarray (no copy); assigning replaces it."""
        return self.data

    @array.setter
    def array(self, value: np.ndarray) -> None:
        self.data = value if isinstance(value, np.ndarray) else np.asarray(value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def device(self) -> Device:
        """Where the data lives: always the CPU in this release (compares equal to 'cpu')."""
        return CPU

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not np.issubdtype(self.dtype, np.inexact):
            raise TypeError(f"only floating point tensors can require gradients, but got dtype {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("you can only change requires_grad of leaf tensors")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        self._retains_grad = True

    # ---- conversion -------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        return self.data

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> Tensor:
        return Tensor._from_op(self.data, None)

    def clone(self) -> Tensor:
        return Tensor._from_op(self.data.copy(), None) if not self.requires_grad else self * 1

    def astype(self, dtype) -> Tensor:
        return Tensor(self.data.astype(dtype), requires_grad=False)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def to(self, *args, dtype=None, device=None) -> Tensor:
        """Cast and/or move, as torch: ``to(cf.float64)``, ``to('cpu')``, ``to(device, dtype)``,
        ``to(other)``. The cast is differentiable; ``self`` comes back when nothing changes. A
        device this installation cannot compute on raises
        :class:`~convforge.device.DeviceUnavailableError`."""
        dtype, _ = parse_to_args("Tensor.to", args, dtype, device)
        if dtype is None or self.dtype == np.dtype(dtype):
            return self
        return _Cast.apply(self, np.dtype(dtype))

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device=None) -> Tensor:
        """Copy to a CUDA GPU, as torch; refused with a clear error in this CPU-only release."""
        check_available(cuda_device(device, "Tensor.cuda"), "Tensor.cuda")
        return self

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.dtype != np.float32 and np.issubdtype(self.dtype, np.floating):
            extra += f", dtype={self.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ---- autograd ---------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) * gradient into the ``.grad`` of every leaf."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for scalar outputs, "
                    f"but this tensor has shape {self.shape}"
                )
            gradient = np.ones_like(self.data)
        gradient = np.asarray(_unwrap(gradient), dtype=self.dtype)
        if gradient.shape != self.shape:
            raise ValueError(
                f"backward: gradient has shape {gradient.shape} but the tensor has shape {self.shape}"
            )
        grads: dict[int, np.ndarray] = {id(self): gradient}
        for tensor in _reverse_topological(self):
            grad = grads.pop(id(tensor), None)
            if grad is None:
                continue
            node = tensor.grad_fn
            if node is None or tensor._retains_grad:
                tensor._accumulate(grad)
            if node is None:
                continue
            if node.released:
                raise RuntimeError(
                    "backward: trying to backward through the graph a second time; "
                    "pass retain_graph=True to the first backward"
                )
            input_grads = node.backward(grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for parent, parent_grad in zip(node.inputs, input_grads):
                if parent is None or parent_grad is None or not parent.requires_grad:
                    continue
                parent_grad = np.asarray(parent_grad, dtype=parent.dtype)
                if id(parent) in grads:
                    grads[id(parent)] = grads[id(parent)] + parent_grad
                else:
                    grads[id(parent)] = parent_grad
            if not retain_graph:
                node.release()

    def _accumulate(self, grad: np.ndarray) -> None:
        grad = np.broadcast_to(grad, self.shape)
        if self.grad is None:
            self.grad = Tensor(np.array(grad, dtype=self.dtype, copy=True))
        else:
            self.grad.data += grad

    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    # ---- arithmetic -------------------------------------------------------------------
    def __add__(self, other):
        return ew.Add.apply(self, other)

    def __radd__(self, other):
        return ew.Add.apply(other, self)

    def __sub__(self, other):
        return ew.Sub.apply(self, other)

    def __rsub__(self, other):
        return ew.Sub.apply(other, self)

    def __mul__(self, other):
        return ew.Mul.apply(self, other)

    def __rmul__(self, other):
        return ew.Mul.apply(other, self)

    def __truediv__(self, other):
        return ew.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ew.Div.apply(other, self)

    def __pow__(self, other):
        return ew.Pow.apply(self, other)

    def __rpow__(self, other):
        return ew.Pow.apply(other, self)

    def __neg__(self):
        return ew.Neg.apply(self)

    def __matmul__(self, other):
        return red.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return red.MatMul.apply(other, self)

    # comparisons give plain (non-differentiable) boolean tensors
    def __eq__(self, other):  # type: ignore[override]
        return Tensor(self.data == _unwrap(other))

    def __ne__(self, other):  # type: ignore[override]
        return Tensor(self.data != _unwrap(other))

    def __lt__(self, other):
        return Tensor(self.data < _unwrap(other))

    def __le__(self, other):
        return Tensor(self.data <= _unwrap(other))

    def __gt__(self, other):
        return Tensor(self.data > _unwrap(other))

    def __ge__(self, other):
        return Tensor(self.data >= _unwrap(other))

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    # ---- elementwise functions --------------------------------------------------------
    def exp(self):
        return ew.Exp.apply(self)

    def log(self):
        return ew.Log.apply(self)

    def sqrt(self):
        return ew.Sqrt.apply(self)

    def abs(self):
        return ew.Abs.apply(self)

    def relu(self):
        return ew.ReLU.apply(self)

    def sigmoid(self):
        return ew.Sigmoid.apply(self)

    def tanh(self):
        return ew.Tanh.apply(self)

    def clamp(self, min=None, max=None):  # noqa: A002 - torch's names
        return ew.Clamp.apply(self, min, max)

    # ---- reductions -------------------------------------------------------------------
    def sum(self, dim=None, keepdim: bool = False):
        return red.Sum.apply(self, dim, keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        return red.Mean.apply(self, dim, keepdim)

    def max(self, dim=None, keepdim: bool = False):
        return red.Extreme.apply(self, dim, keepdim, True)

    def min(self, dim=None, keepdim: bool = False):
        return red.Extreme.apply(self, dim, keepdim, False)

    def argmax(self, dim=None, keepdim: bool = False):
        return Tensor(np.argmax(self.data, axis=dim, keepdims=keepdim))

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
        """Variance over ``dim``, divided by ``n - correction`` (default 1: unbiased), as torch."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        elif unbiased is not None:
            raise ValueError("var: pass either unbiased or correction, not both")
        axes = red.normalize_axes(dim, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        centered = self - self.mean(axes, keepdim=True)
        # n <= correction gives nan (as torch), without a division-by-zero warning
        factor = 1.0 / (count - correction) if count > correction else float("nan")
        return (centered * centered).sum(axes, keepdim) * factor

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def softmax(self, dim: int):
        return nn_ops.Softmax.apply(self, red.normalize_axes(dim, self.ndim)[0])

    def log_softmax(self, dim: int):
        return nn_ops.LogSoftmax.apply(self, red.normalize_axes(dim, self.ndim)[0])

    def maximum(self, other):
        return where_ops.Extremum.apply(self, other, True)

    def minimum(self, other):
        return where_ops.Extremum.apply(self, other, False)

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (as ``torch.Tensor.where``)."""
        return where_ops.Where.apply(np.asarray(_unwrap(condition), dtype=bool), self, other)

    # ---- shape ------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape
        return sh.Reshape.apply(self, tuple(shape))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        shape = (*self.shape[:start], -1, *self.shape[end + 1 :])
        return self.reshape(shape)

    def permute(self, *axes):
        axes = axes[0] if len(axes) == 1 and not isinstance(axes[0], numbers.Integral) else axes
        return sh.Permute.apply(self, tuple(int(a) % self.ndim for a in axes))

    def transpose(self, dim0: int, dim1: int):
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return sh.Permute.apply(self, tuple(axes))

    def unsqueeze(self, dim: int):
        dim = dim % (self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim: int | None = None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dim = dim % self.ndim
        if self.shape[dim] != 1:
            return self
        return self.reshape(*self.shape[:dim], *self.shape[dim + 1 :])

    def expand(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape
        shape = tuple(
            s if t == -1 else t for s, t in zip((1,) * (len(shape) - self.ndim) + self.shape, shape)
        )
        return sh.Expand.apply(self, shape)

    def flip(self, dims):
        dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
        return sh.Flip.apply(self, dims)

    def __getitem__(self, index):
        index = tuple(_unwrap(i) for i in index) if isinstance(index, tuple) else _unwrap(index)
        return sh.GetItem.apply(self, index)

    def contiguous(self) -> Tensor:
        return self


class _Cast(Function):
    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype), None


def _reverse_topological(root: Tensor) -> list[Tensor]:
    """Tensors reachable from ``root`` through grad_fn, each after all its consumers."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor.grad_fn is not None:
            for parent in tensor.grad_fn.inputs:
                if parent is not None and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def tensor(data, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """Make a Tensor (a copy of ``data``), as ``torch.tensor``; ``device`` 'cpu' (or None)."""
    if device is not None:
        check_available(device, "tensor")
    array = _as_array(data, dtype)
    return Tensor(np.array(array, copy=True), requires_grad=requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """Wrap ``data`` without copying when it already is an array of the right dtype."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor(_as_array(data, dtype))
