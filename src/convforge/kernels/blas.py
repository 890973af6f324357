"""Raw BLAS ``?gemm`` on strided views, with ``beta`` (accumulate in place).

NumPy's ``matmul`` always overwrites its output; shift-and-accumulate convolution needs
``C += A @ B`` on matrices that are offset views into a larger buffer (a leading dimension
larger than the row length). SciPy ships Fortran BLAS as ``scipy.linalg.cython_blas``;
this module takes its ``sgemm``/``dgemm`` function pointers once and calls them through
``ctypes``, with byte offsets instead of array views (no view objects, no copies).

Row-major matrices are column-major matrices transposed, so a row-major product
``C (m, n) = A (m, k) @ B (k, n)`` is the column-major call ``C^T = B^T @ A^T``:
:func:`gemm` takes row-major operands described by (buffer, element offset, row stride).
"""

from __future__ import annotations

import ctypes

import numpy as np

_c_int = ctypes.c_int
_ptr = ctypes.c_void_p


def _load(name: str, real):
    from scipy.linalg import cython_blas

    capsule = cython_blas.__pyx_capi__[name]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(capsule, get_name(capsule))
    # void gemm(char *transa, char *transb, int *m, int *n, int *k, real *alpha, real *a,
    #           int *lda, real *b, int *ldb, real *beta, real *c, int *ldc)
    prototype = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, *([_ptr] * 11))
    return prototype(address), real


_GEMM: dict = {}


def _gemm_for(dtype: np.dtype):
    key = np.dtype(dtype).char
    if key not in _GEMM:
        if key == "f":
            _GEMM[key] = _load("sgemm", ctypes.c_float)
        elif key == "d":
            _GEMM[key] = _load("dgemm", ctypes.c_double)
        else:
            raise TypeError(f"gemm: only float32 and float64 are supported, got {dtype}")
    return _GEMM[key]


def supports_dtype(dtype) -> bool:
    return np.dtype(dtype).char in "fd"


def gemm(
    m: int,
    n: int,
    k: int,
    a: np.ndarray,
    a_offset: int,
    lda: int,
    b: np.ndarray,
    b_offset: int,
    ldb: int,
    c: np.ndarray,
    c_offset: int,
    ldc: int,
    *,
    beta: float = 0.0,
    trans_a: bool = False,
    trans_b: bool = False,
) -> None:
    """``C = A @ B + beta * C`` on row-major matrices inside flat buffers.

    ``A`` is the ``(m, k)`` matrix whose row ``i`` starts at element ``a_offset + i*lda`` of
    ``a`` (C-contiguous); with ``trans_a`` the stored matrix is ``(k, m)`` and is used
    transposed. Likewise ``B`` ``(k, n)`` and ``C`` ``(m, n)``. The caller guarantees that
    every element lies inside its buffer; nothing is checked here (this is the hot loop).
    """
    if m == 0 or n == 0:
        return
    func, real = _gemm_for(c.dtype)
    size = c.itemsize
    # column-major: C^T (n, m) = op(B)^T (n, k) @ op(A)^T (k, m)
    func(
        b"T" if trans_b else b"N",
        b"T" if trans_a else b"N",
        ctypes.byref(_c_int(n)),
        ctypes.byref(_c_int(m)),
        ctypes.byref(_c_int(k)),
        ctypes.byref(real(1.0)),
        _ptr(b.ctypes.data + b_offset * size),
        ctypes.byref(_c_int(ldb)),
        _ptr(a.ctypes.data + a_offset * size),
        ctypes.byref(_c_int(lda)),
        ctypes.byref(real(beta)),
        _ptr(c.ctypes.data + c_offset * size),
        ctypes.byref(_c_int(ldc)),
    )
