"""Tensor: an ndarray with a gradient and a place in the autograd graph.

The ndarray is ``t.array`` (no copy; assigning replaces it). ``t.data`` is, as in torch, a
Tensor sharing that memory, detached from the graph. Operations are recorded as
:class:`~convforge.autograd.function.Function` nodes by ``Function.apply``; ``backward``
(:mod:`~convforge.autograd.engine`) walks them. The methods live in mixins by theme:
arithmetic, comparisons and reductions (:mod:`.tensor_math`), rounding, sorting and
selection (:mod:`.tensor_more`), shape (:mod:`.tensor_shape`) and in-place operations with
torch's version-counter rules (:mod:`.inplace`).
"""

from __future__ import annotations

import copy
import sys
import weakref

import numpy as np

from ..backend import DEFAULT_DTYPE
from ..device import CPU, Device, check_available, cuda_device, parse_to_args
from . import dtypes
from .engine import run_backward
from .function import AccumulateGrad, Function, _Version, retain_for
from .inplace import InplaceMixin
from .ops import elementwise as ew
from .tensor_math import MathMixin
from .tensor_more import MoreMixin
from .tensor_shape import ShapeMixin


def _as_array(data, dtype=None) -> np.ndarray:
    """torch.tensor's dtype rules: Python floats -> float32, ints -> int64, arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data._array
    elif isinstance(data, (list, tuple)) and any(isinstance(item, Tensor) for item in data):
        data = [np.asarray(item) for item in data]  # a list of (0-d) tensors, as torch takes
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


class _RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` takes the hook off again."""

    def __init__(self, hooks: list, hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Tensor(MathMixin, MoreMixin, ShapeMixin, InplaceMixin):
    """An n-dimensional array that records the operations applied to it.

    Parameters
    ----------
    data : array-like
        Values; Python floats become float32, NumPy arrays keep their dtype (no copy).
    requires_grad : bool
        Whether ``backward`` should compute ``.grad`` for this tensor.
    dtype : optional
        Cast to this dtype.
    """

    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected op

    def __init__(self, data=None, requires_grad: bool = False, dtype=None) -> None:
        if data is None:
            data = np.empty(0, dtype=DEFAULT_DTYPE)
        self._init(_as_array(data, dtype), None)
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, array: np.ndarray, node: Function | None) -> None:
        self._array = array
        self._grad: Tensor | None = None
        self.grad_fn = node
        self._requires_grad = node is not None
        self._version_box = _Version()
        self._base: Tensor | None = None
        self._retains_grad = False
        self._accumulator = None

    @classmethod
    def _from_op(cls, data, node: Function | None) -> Tensor:
        out = Tensor.__new__(Tensor)
        out._init(data if isinstance(data, np.ndarray) else np.asarray(data), node)
        return out

    def _become_view_of(self, source: Tensor) -> None:
        """Share ``source``'s version counter (and base) when the array is a view of its memory."""
        if self._array is source._array or np.may_share_memory(self._array, source._array):
            self._base = source._base if source._base is not None else source
            self._version_box = source._version_box

    # ---- storage ----------------------------------------------------------------------
    @property
    def array(self) -> np.ndarray:
        """The underlying ndarray (no copy); assigning replaces it."""
        return self._array

    @array.setter
    def array(self, value) -> None:
        self._array = value if isinstance(value, np.ndarray) else np.asarray(value)

    @property
    def data(self) -> Tensor:
        """A Tensor sharing this one's memory, outside the graph (``requires_grad=False``).

        Changes through it are not tracked by autograd; ``t.data = other`` makes ``t`` use
        ``other``'s memory (its shape and dtype may differ), as torch's."""
        return Tensor._from_op(self._array, None)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(
                f"Tensor.data: the assigned value must be a Tensor, but got {type(value).__name__}"
            )
        self._array = value._array

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (after ``backward``), or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}"
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                    f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same size"
                )
            if value.dtype != self.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype}' to a tensor with dtype "
                    f"'{self.dtype}'. The gradient must match the tensor's dtype"
                )
        self._grad = value

    @property
    def _version(self) -> int:
        """How many in-place operations changed this memory (torch's ``_version``)."""
        return self._version_box.value

    # ---- properties -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    @property
    def device(self) -> Device:
        """Where the data lives: always the CPU in this release (compares equal to 'cpu')."""
        return CPU

    is_cuda = property(lambda self: False, doc="False: tensors live on the CPU in this release.")
    is_xpu = property(lambda self: False, doc="False: tensors live on the CPU in this release.")
    is_mps = property(lambda self: False, doc="False: tensors live on the CPU in this release.")
    is_cpu = property(lambda self: True, doc="True: tensors live on the CPU in this release.")

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self._array.size)

    nelement = numel

    def element_size(self) -> int:
        return int(self._array.itemsize)

    def is_floating_point(self) -> bool:
        return bool(np.issubdtype(self.dtype, np.floating))

    def is_contiguous(self) -> bool:
        return bool(self._array.flags.c_contiguous)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not np.issubdtype(self.dtype, np.inexact):
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, but got {dtypes.scalar_name(self.dtype)}"
            )
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if self.is_leaf:
            self._requires_grad = bool(requires_grad)
        return self

    # ---- conversion -------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The ndarray, sharing memory, as torch's; refused while the tensor requires grad."""
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return self._array

    def item(self):
        if self._array.size != 1:
            raise RuntimeError(f"a Tensor with {self._array.size} elements cannot be converted to Scalar")
        return self._array.item()

    def tolist(self):
        return self._array.tolist()

    def detach(self) -> Tensor:
        """A Tensor sharing memory and version counter, outside the graph."""
        out = Tensor._from_op(self._array, None)
        out._version_box = self._version_box
        return out

    def detach_(self) -> Tensor:
        if self._base is not None and self._base.requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn, self._requires_grad = None, False
        return self

    def clone(self, *, memory_format=None) -> Tensor:
        return ew.Clone.apply(self)

    def astype(self, dtype) -> Tensor:
        return Tensor(self._array.astype(dtype), requires_grad=False)

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False, copy: bool = False) -> Tensor:
        """Cast and/or move, as torch: ``to(cf.float64)``, ``to('cpu')``, ``to(device, dtype)``,
        ``to(other)``. A cast to a floating dtype is differentiable; ``self`` comes back when
        nothing changes. A device this installation cannot compute on raises
        :class:`~convforge.device.DeviceUnavailableError`."""
        dtype, _ = parse_to_args("Tensor.to", args, dtype, device)
        if dtype is None or self.dtype == np.dtype(dtype):
            return self.clone() if copy else self
        return self._cast(np.dtype(dtype))

    def _cast(self, dtype: np.dtype) -> Tensor:
        if self.dtype == dtype:
            return self
        if np.issubdtype(dtype, np.inexact):
            return ew.Cast.apply(self, dtype)
        return Tensor._from_op(self._array.astype(dtype), None)  # no gradient through integers

    def type(self, dtype=None, non_blocking: bool = False):
        """``type()`` gives torch's type string (``'torch.FloatTensor'``); ``type(dtype)`` or
        ``type('torch.DoubleTensor')`` casts."""
        if dtype is None:
            return dtypes.type_name(self.dtype)
        return self._cast(dtypes.parse_type("Tensor.type", dtype))

    def type_as(self, other: Tensor) -> Tensor:
        return self._cast(other.dtype)

    def float(self) -> Tensor:
        return self._cast(np.dtype(np.float32))

    def double(self) -> Tensor:
        return self._cast(np.dtype(np.float64))

    def half(self) -> Tensor:
        return self._cast(np.dtype(np.float16))

    def long(self) -> Tensor:
        return self._cast(np.dtype(np.int64))

    def int(self) -> Tensor:
        return self._cast(np.dtype(np.int32))

    def short(self) -> Tensor:
        return self._cast(np.dtype(np.int16))

    def char(self) -> Tensor:
        return self._cast(np.dtype(np.int8))

    def byte(self) -> Tensor:
        return self._cast(np.dtype(np.uint8))

    def bool(self) -> Tensor:
        return self._cast(np.dtype(np.bool_))

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        """Copy to a CUDA GPU, as torch; refused with a clear error in this CPU-only release."""
        check_available(cuda_device(device, "Tensor.cuda"), "Tensor.cuda")
        return self

    # ---- new tensors like this one ----------------------------------------------------
    def _new(self, array: np.ndarray, requires_grad: bool) -> Tensor:
        return Tensor(array, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self._new(np.zeros(_sizes(size), dtype=dtype or self.dtype), requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self._new(np.ones(_sizes(size), dtype=dtype or self.dtype), requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self._new(np.empty(_sizes(size), dtype=dtype or self.dtype), requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self._new(np.full(_sizes((size,)), fill_value, dtype=dtype or self.dtype), requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        array = np.array(np.asarray(data), dtype=dtype or self.dtype, copy=True)
        return self._new(array, requires_grad)

    # ---- Python protocols -------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._array)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._array.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._array)

    def __float__(self) -> float:
        if self._array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self._array.reshape(()))

    def __int__(self) -> int:
        if self._array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self._array.reshape(()))

    def __index__(self) -> int:
        if self._array.size != 1 or not np.issubdtype(self.dtype, np.integer):
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._array.reshape(()))

    __hash__ = object.__hash__

    # ---- copy and pickle: values, dtype, requires_grad and .grad; never the graph -----
    def __getstate__(self) -> dict:
        state = dict(vars(self))  # a pickled non-leaf comes back as a leaf, as torch.save's
        state.update(grad_fn=None, _accumulator=None, _base=None, _version_box=None, _retains_grad=False)
        state.pop("_hook_holder", None)
        return state

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)
        self._version_box = _Version()

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment"
            )
        out = type(self).__new__(type(self))
        memo[id(self)] = out
        state = copy.deepcopy(self.__getstate__(), memo)
        state["_array"] = self._array.copy()  # a copy of the values, not of a view's whole base
        out.__setstate__(state)
        return out

    def __repr__(self) -> str:
        body = np.array2string(self._array, separator=", ", prefix="tensor(", **_print_options)
        extra = ""
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ---- autograd ---------------------------------------------------------------------
    def _grad_edge(self):
        """The node gradients of this tensor flow into: its grad_fn, or its leaf accumulator."""
        if self.grad_fn is not None:
            return self.grad_fn
        if not self._requires_grad:
            return None
        accumulator = self._accumulator() if self._accumulator is not None else None
        if accumulator is None:
            accumulator = AccumulateGrad(self)
            self._accumulator = weakref.ref(accumulator)  # the graph holds it, not the leaf
        return accumulator

    def backward(
        self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None
    ):
        """Accumulate d(self)/d(leaf) * gradient into the ``.grad`` of every leaf."""
        if create_graph or inputs is not None:
            raise NotImplementedError("backward: create_graph and inputs are not supported by convforge")
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if self._array.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            gradient = np.ones_like(self._array)
        gradient = np.asarray(gradient._array if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
        if gradient.shape != self.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[0] has a shape of {gradient.shape} and output[0] "
                f"has a shape of {self.shape}."
            )
        run_backward(self, gradient, bool(retain_graph))

    def _accumulate(self, grad: np.ndarray) -> None:
        grad = np.broadcast_to(grad, self.shape)
        if self.grad is None:
            self.grad = Tensor(np.array(grad, dtype=self.dtype, copy=True))
        else:
            self.grad._array += grad

    def register_hook(self, hook) -> _RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient in backward; a Tensor it returns
        replaces the gradient. Returns a handle whose ``remove()`` undoes it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = self._grad_edge()._pre_hooks
        hooks.append(hook)
        if self.grad_fn is None:
            self._hook_holder = self._grad_edge()  # keep the accumulator (and its hooks) alive
        return _RemovableHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` of this non-leaf tensor after backward (leaves keep theirs anyway)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self._retains_grad = True
            retain_for(self.grad_fn, self)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad


# what set_printoptions chose (NumPy's array2string names); empty: NumPy's defaults
_print_options: dict = {}
_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "max_line_width": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "max_line_width": 80},
    "full": {"precision": 4, "threshold": sys.maxsize, "edgeitems": 3, "max_line_width": 80},
}


def set_printoptions(
    precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None
) -> None:
    """How tensors print, as ``torch.set_printoptions`` (``profile``: 'default', 'short', 'full')."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions: profile must be one of {sorted(_PROFILES)}, but got {profile!r}"
            )
        _print_options.update(_PROFILES[profile])
    chosen = {
        "precision": precision,
        "threshold": threshold,
        "edgeitems": edgeitems,
        "max_line_width": linewidth,
    }
    _print_options.update({k: v for k, v in chosen.items() if v is not None})
    if sci_mode is not None:
        _print_options["suppress_small"] = not sci_mode


def _sizes(size: tuple) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def tensor(data, dtype=None, requires_grad: bool = False, *, device=None, pin_memory: bool = False) -> Tensor:
    """Make a Tensor (a copy of ``data``), as ``torch.tensor``; ``device`` 'cpu' (or None)."""
    if device is not None:
        check_available(device, "tensor")
    array = _as_array(data, dtype)
    return Tensor(np.array(array, copy=True), requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Wrap ``data`` without copying when it already is an array of the right dtype."""
    if device is not None:
        check_available(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor(_as_array(data, dtype))


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor sharing ``array``'s memory, as ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)


def Variable(data, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802 - torch's name
    """``torch.autograd.Variable`` of old scripts: a new Tensor sharing ``data``'s memory."""
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    out = Tensor._from_op(data._array, None)
    return out.requires_grad_(requires_grad and not volatile)
