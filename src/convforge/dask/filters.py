"""The classic image filters of ``convforge.viz.filters`` on Dask images.

:func:`filter` is :func:`convforge.viz.filters.filter_image` chunk by chunk: the same named
kernels, the same ``'same'``-size output with the border filled by ``padding_mode``
(reflect by default), color filtered per channel, two kernels combined as the gradient
magnitude, ``separable=True`` as a column then a row pass. It also takes a 3-D kernel
(a NumPy array) for a volume ``(D, H, W)``.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

from ..viz import filters as image_filters
from .conv import check_dask_array, conv

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _image_filter(op: str, kernel) -> image_filters.ImageFilter:
    if isinstance(kernel, image_filters.ImageFilter):
        return kernel
    if isinstance(kernel, str):
        return image_filters.image_filter(kernel)
    if isinstance(kernel, np.ndarray):
        if kernel.ndim not in (2, 3) or kernel.size == 0 or not np.issubdtype(kernel.dtype, np.number):
            raise ValueError(
                f"{op}: kernel must be a non-empty 2-D or 3-D numeric array, "
                f"but got kernel of shape {kernel.shape} and dtype {kernel.dtype}"
            )
        return image_filters.ImageFilter("kernel", (kernel.astype(np.float64),))
    raise TypeError(
        f"{op}: kernel must be a filter name (e.g. 'sobel', 'gaussian:2'), an ImageFilter or a "
        f"NumPy array, but got kernel of type {type(kernel).__name__}"
    )


def _check_image(op: str, shape: tuple[int, ...], kernel_ndim: int) -> None:
    allowed = {2: ((2, 3), "(H, W) or (H, W, C)"), 3: ((3,), "(D, H, W)")}[kernel_ndim]
    if len(shape) not in allowed[0]:
        raise ValueError(
            f"{op}: image must be {allowed[1]} for a {kernel_ndim}-D kernel, but got image of shape {shape}"
        )


def _pass_weights(op: str, kernel: np.ndarray, separable: bool, dtype) -> list[np.ndarray]:
    """The weights (1, 1, *kernel) to apply one after the other for one kernel."""
    if not separable:
        return [kernel.astype(dtype)[None, None]]
    if kernel.ndim != 2:
        raise ValueError(f"{op}: separable=True needs 2-D kernels, but got kernel of shape {kernel.shape}")
    column, row = image_filters.separate(kernel)
    return [column[:, None].astype(dtype)[None, None], row[None, :].astype(dtype)[None, None]]


def filter(
    image: da.Array,
    kernel,
    padding_mode: str = "reflect",
    separable: bool = False,
    *,
    dtype=np.float64,
) -> da.Array:
    """Filter a dask image chunk by chunk; equal to ``filter_image`` on the whole image.

    ``kernel``: a name of ``convforge.viz.filters.KERNELS``, ``'gaussian:SIGMA'``,
    ``'box:K'``, a ``.npy`` path, an ``ImageFilter``, or a 2-D/3-D NumPy array. The response
    is computed in ``dtype`` (float64 by default, as ``filter_image``; float32 halves the
    memory per chunk) and not clipped or rescaled.

    Shape: image (H, W) or (H, W, C) for a 2-D kernel, (D, H, W) for a 3-D one; the result
    has the image's shape.
    """
    op = "dask.filter"
    image = check_dask_array(op, "image", image)
    if padding_mode not in image_filters.PADDING_MODES:
        raise ValueError(
            f"{op}: padding_mode must be one of {', '.join(image_filters.PADDING_MODES)}, "
            f"but got padding_mode={padding_mode!r}"
        )
    if not isinstance(separable, (bool, np.bool_)):
        raise TypeError(f"{op}: separable must be a bool, but got separable={separable!r}")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: dtype must be float32 or float64, but got dtype={dtype!r}")
    flt = _image_filter(op, kernel)
    kernel_ndim = flt.kernels[0].ndim
    _check_image(op, tuple(image.shape), kernel_ndim)
    passes = [_pass_weights(op, k, bool(separable), dtype) for k in flt.kernels]

    # ---- graph building from here on
    color = kernel_ndim == 2 and image.ndim == 3
    planes = da.moveaxis(image, -1, 0) if color else image[None]  # (C, *spatial)
    planes = planes.astype(dtype)[:, None].rechunk({0: 1})  # (C, 1, *spatial): a batch of planes
    responses = []
    for weights in passes:
        y = planes
        for weight in weights:
            y = conv(y, weight, padding="same", padding_mode=padding_mode)
        responses.append(y)
    result = responses[0] if len(responses) == 1 else da.sqrt(sum(r**2 for r in responses))
    result = result[:, 0]
    return da.moveaxis(result, 0, -1) if color else result[0]
