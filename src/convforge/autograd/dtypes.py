"""torch's dtype names on NumPy dtypes, and the ``Tensor.type`` strings.

``cf.float32`` *is* ``numpy.float32``, so ``t.dtype == cf.float32`` and NumPy code agree.
bfloat16 has no NumPy dtype: ``cf.bfloat16`` exists (scripts compare against it), and using
it as a dtype raises a TypeError that says so.
"""

from __future__ import annotations

import numpy as np

float16 = half = np.float16
float32 = float = np.float32  # noqa: A001 - torch's names
float64 = double = np.float64
int8 = np.int8
uint8 = np.uint8
int16 = short = np.int16
int32 = int = np.int32  # noqa: A001
int64 = long = np.int64
bool = np.bool_  # noqa: A001
complex64 = cfloat = np.complex64
complex128 = cdouble = np.complex128


class _Unrepresentable:
    """A torch dtype NumPy cannot hold: comparable and printable, refused as a dtype."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def dtype(self):
        # np.dtype(obj) reads obj.dtype: the one place every dtype= argument passes through
        raise TypeError(
            f"{self.name} is not supported: NumPy has no {self.name} dtype; "
            "use convforge.float16, float32 or float64"
        )

    def __repr__(self) -> str:
        return f"convforge.{self.name}"


bfloat16 = _Unrepresentable("bfloat16")

# torch's legacy tensor type names (``t.type()``), one per dtype
_TYPE_NAMES = {
    np.dtype(np.float32): "FloatTensor",
    np.dtype(np.float64): "DoubleTensor",
    np.dtype(np.float16): "HalfTensor",
    np.dtype(np.int64): "LongTensor",
    np.dtype(np.int32): "IntTensor",
    np.dtype(np.int16): "ShortTensor",
    np.dtype(np.int8): "CharTensor",
    np.dtype(np.uint8): "ByteTensor",
    np.dtype(np.bool_): "BoolTensor",
    np.dtype(np.complex64): "ComplexFloatTensor",
    np.dtype(np.complex128): "ComplexDoubleTensor",
}
_BY_TYPE_NAME = {name: dtype for dtype, name in _TYPE_NAMES.items()}

# torch's scalar type names, used in its error messages ("result type Float ...")
_SCALAR_NAMES = {dtype: name.removesuffix("Tensor") for dtype, name in _TYPE_NAMES.items()}


def type_name(dtype) -> str:
    """``'torch.FloatTensor'`` for float32, as ``torch.Tensor.type()``."""
    return "torch." + _TYPE_NAMES.get(np.dtype(dtype), f"{np.dtype(dtype).name}Tensor")


def scalar_name(dtype) -> str:
    """torch's name of a dtype in messages: ``Float``, ``Long``, ``Bool``."""
    return _SCALAR_NAMES.get(np.dtype(dtype), np.dtype(dtype).name)


def parse_type(op: str, value) -> np.dtype:
    """A dtype from a dtype object or a type string (``'torch.FloatTensor'``, ``'float64'``)."""
    name = getattr(value, "__name__", None)
    if callable(value) and name in _BY_TYPE_NAME:  # t.type(cf.FloatTensor), a legacy constructor
        return _BY_TYPE_NAME[name]
    if isinstance(value, str):
        for prefix in ("torch.", "convforge.", "cf."):
            if value.startswith(prefix) and value[len(prefix) :] in _BY_TYPE_NAME:
                return _BY_TYPE_NAME[value[len(prefix) :]]
        try:
            return np.dtype(value.removeprefix("torch."))
        except TypeError as e:
            allowed = ", ".join(f"'torch.{n}'" for n in _BY_TYPE_NAME)
            raise ValueError(f"{op}: invalid type {value!r}; allowed are {allowed} or a dtype") from e
    try:
        return np.dtype(value)
    except TypeError as e:
        raise TypeError(f"{op}: dtype must be a dtype or a type string, but got {value!r}") from e


def get_default_dtype():
    """The dtype of new floating tensors: float32, as torch's default."""
    return float32
