"""Classic image filters as convolutions: blur, sharpen, edges, on real PNG/JPEG images.

Filtering here is cross-correlation, as in ``conv2d`` and OpenCV's ``filter2D`` (a
symmetric kernel does not care; Sobel's sign does, and magnitudes do not). The output
has the input's size (``padding='same'``) and the border is filled by ``padding_mode``
(``reflect`` by default, OpenCV's ``BORDER_REFLECT_101``). Color images are filtered per
channel.

A kernel of rank one is the outer product of a column and a row, so it can run as two
1-D passes (``k + k`` instead of ``k * k`` multiplies per pixel): Sobel-x is
``[1, 2, 1]ᵀ · [-1, 0, 1]``, a Gaussian is its 1-D profile twice. :func:`separate` finds
the two factors with an SVD, or says why there are none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import functional as F

__all__ = [
    "KERNELS",
    "ImageFilter",
    "box_kernel",
    "filter_image",
    "gaussian_kernel",
    "image_filter",
    "read_image",
    "separate",
    "to_uint8",
    "write_image",
]

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
PREWITT_X = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float64)
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)
EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64)

KERNELS = {
    "sobel-x": (SOBEL_X,),
    "sobel-y": (SOBEL_X.T.copy(),),
    "sobel": (SOBEL_X, SOBEL_X.T.copy()),  # gradient magnitude
    "prewitt-x": (PREWITT_X,),
    "prewitt-y": (PREWITT_X.T.copy(),),
    "prewitt": (PREWITT_X, PREWITT_X.T.copy()),
    "laplacian": (LAPLACIAN,),
    "sharpen": (SHARPEN,),
    "emboss": (EMBOSS,),
}
PARAMETRIC = ("gaussian:SIGMA", "box:K")
PADDING_MODES = ("reflect", "replicate", "circular", "zeros")
SCALES = ("auto", "clip", "abs", "minmax")


def gaussian_kernel(sigma: float, radius: int | None = None) -> np.ndarray:
    """Normalized 2-D Gaussian of ``2*radius + 1`` taps per side (radius ``ceil(3 sigma)``).

    It sums to one, so a blur keeps the image's brightness.
    """
    if not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"gaussian_kernel: sigma must be a positive number, but got sigma={sigma!r}")
    radius = max(1, math.ceil(3 * sigma)) if radius is None else radius
    if radius < 0:
        raise ValueError(f"gaussian_kernel: radius must be non-negative, but got radius={radius}")
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    profile = np.exp(-(taps**2) / (2 * sigma**2))
    profile /= profile.sum()
    return np.outer(profile, profile)


def box_kernel(size: int) -> np.ndarray:
    """The ``size x size`` mean filter (sums to one)."""
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"box_kernel: size must be a positive int, but got size={size!r}")
    return np.full((size, size), 1.0 / size**2)


@dataclass(frozen=True)
class ImageFilter:
    """One or two kernels; two are combined as a gradient magnitude ``hypot(gx, gy)``."""

    name: str
    kernels: tuple[np.ndarray, ...]

    @property
    def signed(self) -> bool:
        """True for derivative filters (kernels summing to zero): the response is signed."""
        return all(abs(k.sum()) < 1e-9 * max(1.0, np.abs(k).sum()) for k in self.kernels)

    @property
    def shape(self) -> tuple[int, int]:
        return self.kernels[0].shape


def image_filter(spec: str) -> ImageFilter:
    """The filter named by ``spec``: a name of :data:`KERNELS`, ``gaussian:SIGMA``,
    ``box:K`` or the path of a 2-D ``.npy`` kernel."""
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"image_filter: kernel must be a non-empty string, but got {spec!r}")
    if spec in KERNELS:
        return ImageFilter(spec, KERNELS[spec])
    name, _, argument = spec.partition(":")
    if name in ("gaussian", "box") and argument:
        try:
            value = float(argument) if name == "gaussian" else int(argument)
        except ValueError:
            wanted = "a positive number" if name == "gaussian" else "a positive integer"
            raise ValueError(
                f"kernel {spec!r}: {name} needs {wanted} after ':', but got {argument!r}"
            ) from None
        kernel = gaussian_kernel(value) if name == "gaussian" else box_kernel(value)
        return ImageFilter(spec, (kernel,))
    if spec.endswith(".npy"):
        return ImageFilter(Path(spec).name, (_load_kernel(spec),))
    allowed = ", ".join([*KERNELS, *PARAMETRIC, "FILE.npy"])
    raise ValueError(f"unknown kernel {spec!r}; choose one of {allowed}")


def _load_kernel(path: str) -> np.ndarray:
    try:
        kernel = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"kernel file {path!r} does not exist") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"kernel file {path!r} is not a .npy array: {error}") from None
    if kernel.ndim != 2 or kernel.size == 0 or not np.issubdtype(kernel.dtype, np.number):
        raise ValueError(
            f"kernel file {path!r} must hold a non-empty 2-D numeric array, "
            f"but holds shape {kernel.shape} of dtype {kernel.dtype}"
        )
    if not np.all(np.isfinite(kernel)):
        raise ValueError(f"kernel file {path!r} holds NaN or infinite values")
    return kernel.astype(np.float64)


def separate(kernel: np.ndarray, rtol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Factor a rank-1 kernel as ``column[:, None] * row[None, :]``.

    The factors come from the SVD and are scaled to read well: a non-negative kernel gets a
    column summing to one; otherwise the column's smallest non-zero entry becomes ±1 (Sobel-x
    gives ``[1, 2, 1]`` and ``[-1, 0, 1]``).

    Raises
    ------
    ValueError
        If the kernel has rank > 1 (the message gives its singular values).
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2:
        raise ValueError(f"separate: kernel must be 2-D, but got shape {kernel.shape}")
    u, s, vt = np.linalg.svd(kernel)
    if s[0] == 0:
        return np.zeros(kernel.shape[0]), np.zeros(kernel.shape[1])
    if len(s) > 1 and s[1] > rtol * s[0]:
        values = ", ".join(f"{v:.3g}" for v in s)
        raise ValueError(
            f"the {kernel.shape[0]}x{kernel.shape[1]} kernel is not separable: it has rank "
            f"{int(np.sum(s > rtol * s[0]))}, not 1 (singular values {values})"
        )
    column, row = u[:, 0] * s[0], vt[0]
    if np.all(kernel >= 0):
        scale = column.sum()
    else:
        nonzero = column[np.abs(column) > rtol * np.abs(column).max()]
        scale = nonzero[np.argmin(np.abs(nonzero))]
    column, row = column / scale, row * scale
    # sign: a row of positive sum if it has one (Sobel-y: [-1, 0, 1]ᵀ · [1, 2, 1]), else such a column
    tol = rtol * np.abs(row).sum()
    if row.sum() < -tol or (abs(row.sum()) <= tol and column.sum() < 0):
        column, row = -column, -row
    # clean round-off so integer kernels print as integers
    column = np.where(np.isclose(column, np.round(column), atol=1e-9), np.round(column), column)
    row = np.where(np.isclose(row, np.round(row), atol=1e-9), np.round(row), row)
    return column + 0.0, row + 0.0  # no negative zeros


def _correlate(planes: np.ndarray, kernel: np.ndarray, padding_mode: str) -> np.ndarray:
    """Correlate each plane of ``planes`` (P, H, W) with one 2-D kernel, same size out."""
    weight = kernel[None, None]  # (1, 1, kH, kW)
    y = F.conv2d(planes[:, None], weight, padding="same", padding_mode=padding_mode)
    return y.array[:, 0]


def filter_image(
    image: np.ndarray, kernel, padding_mode: str = "reflect", separable: bool = False
) -> np.ndarray:
    """Filter a gray ``(H, W)`` or color ``(H, W, C)`` image; the result has its shape.

    ``kernel`` is a 2-D array or an :class:`ImageFilter` (two kernels give the gradient
    magnitude). With ``separable=True`` each kernel runs as a column pass then a row pass
    (``ValueError`` if a kernel is not separable). Values are not clipped or rescaled; see
    :func:`to_uint8`.
    """
    op = "filter_image"
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"{op}: padding_mode must be one of {', '.join(PADDING_MODES)}, but got {padding_mode!r}"
        )
    flt = kernel if isinstance(kernel, ImageFilter) else ImageFilter("kernel", (np.asarray(kernel, float),))
    image = np.asarray(image, dtype=np.float64)
    if image.ndim not in (2, 3):
        raise ValueError(f"{op}: image must be (H, W) or (H, W, C), but got shape {image.shape}")
    planes = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)  # (C, H, W)
    responses = []
    for k in flt.kernels:
        if k.ndim != 2:
            raise ValueError(f"{op}: kernel must be 2-D, but got shape {k.shape}")
        if separable:
            column, row = separate(k)
            y = _correlate(planes, column[:, None], padding_mode)
            y = _correlate(y, row[None, :], padding_mode)
        else:
            y = _correlate(planes, k, padding_mode)
        responses.append(y)
    result = responses[0] if len(responses) == 1 else np.sqrt(sum(r**2 for r in responses))
    return result[0] if image.ndim == 2 else result.transpose(1, 2, 0)


def to_uint8(
    response: np.ndarray, scale: str = "clip", limits: tuple[float, float] | None = None
) -> np.ndarray:
    """Map a filter response (image units 0..255) to 8 bits.

    ``clip``: round and clip to 0..255 (blurs, sharpening); ``abs``: ``|y|`` scaled so the
    strongest response is 255 (edges, Laplacian); ``minmax``: stretch min..max to 0..255.
    A constant response maps to 0. ``limits``: the ``(low, high)`` that abs/minmax map to
    0..255, when they come from more than this array (a tile of a larger image; see
    :func:`uint8_limits`); by default this array's own.
    """
    y = np.asarray(response, dtype=np.float64)
    if scale == "clip":
        out = y
    elif scale in ("abs", "minmax"):
        if scale == "abs":
            y = np.abs(y)
        low, high = uint8_limits(y.min(initial=0.0), y.max(initial=0.0)) if limits is None else limits
        out = (y - low) * (255.0 / (high - low)) if high > low else np.zeros_like(y)
    else:
        raise ValueError(f"to_uint8: scale must be one of clip, abs, minmax, but got scale={scale!r}")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def uint8_limits(smallest: float, largest: float) -> tuple[float, float]:
    """The ``limits`` of :func:`to_uint8` for a response (of abs: ``|y|``) whose values lie in
    ``smallest..largest``: the range always includes 0."""
    return min(float(smallest), 0.0), max(float(largest), 0.0)


def read_image(path: str | Path) -> np.ndarray:
    """A PNG/JPEG (any format Pillow reads) as float64 0..255: ``(H, W)`` if gray, else
    ``(H, W, 3)``; alpha is dropped."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            gray = image.mode in ("1", "L", "LA", "I", "I;16", "F") or (
                image.mode == "P" and _palette_is_gray(image)
            )
            pixels = np.asarray(image.convert("L" if gray else "RGB"), dtype=np.float64)
    except FileNotFoundError:
        raise ValueError(f"image {str(path)!r} does not exist") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"image {str(path)!r} could not be read as an image: {error}") from None
    return pixels


def _palette_is_gray(image) -> bool:
    rgb = np.asarray(image.convert("RGB"))
    return bool(np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2]))


def write_image(path: str | Path, pixels: np.ndarray) -> Path:
    """Save 8-bit ``(H, W)`` or ``(H, W, 3)`` pixels; the format follows the suffix."""
    from PIL import Image

    path = Path(path)
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise TypeError(f"write_image: pixels must be uint8, but got dtype {pixels.dtype}")
    try:
        Image.fromarray(pixels).save(path)
    except (ValueError, KeyError) as error:
        raise ValueError(
            f"cannot write {str(path)!r}: unknown image format {path.suffix!r} ({error})"
        ) from None
    return path
