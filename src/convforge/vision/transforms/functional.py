"""``torchvision.transforms.functional``: the image operations behind the transform classes.

Each function takes a PIL image or a convforge Tensor image of shape ``(..., C, H, W)`` and
returns the same kind, with torchvision's semantics: PIL images are processed by PIL (as
torchvision does), tensors by NumPy, with torchvision's tensor rules (the same output sizes,
crop offsets and padding modes; ``uint8`` tensors stay ``uint8``).
"""

from __future__ import annotations

import enum
import numbers
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ...autograd import Tensor


class InterpolationMode(enum.Enum):
    """torchvision's interpolation modes (the values are its strings)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_RESAMPLE = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}
_FROM_PIL_CONSTANT = {int(resample): mode for mode, resample in reversed(_PIL_RESAMPLE.items())}
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _check_image(img, op: str) -> None:
    if not isinstance(img, (Image.Image, Tensor)):
        raise TypeError(f"{op}: img should be PIL Image or Tensor. Got {type(img)}")
    if isinstance(img, Tensor) and img.ndim < 2:
        raise ValueError(f"{op}: a tensor image must have at least 2 dimensions (..., H, W), got {img.shape}")


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]`` of a PIL image or a tensor image."""
    _check_image(img, "get_dimensions")
    if isinstance(img, Image.Image):
        return [len(img.getbands()), img.height, img.width]
    channels = 1 if img.ndim == 2 else img.shape[-3]
    return [channels, img.shape[-2], img.shape[-1]]


def to_tensor(pic) -> Tensor:
    """A PIL image or an ``(H, W, C)`` / ``(H, W)`` ndarray as a ``(C, H, W)`` Tensor.

    uint8 pixels become float32 divided by 255 (so in [0, 1]); other dtypes (PIL modes
    ``I``, ``I;16``, ``F``, or float arrays) keep their values and dtype, as in torchvision.

    Shape:
        ``(H, W, C)`` or ``(H, W)`` -> ``(C, H, W)``.
    """
    if isinstance(pic, Image.Image):
        array = np.array(pic)
        if pic.mode == "1":
            array = array.astype(np.uint8) * np.uint8(255)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic
    else:
        raise TypeError(f"to_tensor: pic should be PIL Image or ndarray. Got {type(pic)}")
    if array.ndim == 2:
        array = array[:, :, None]
    chw = np.ascontiguousarray(array.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        return Tensor((chw / np.float32(255)).astype(np.float32))
    return Tensor(chw)


def pil_to_tensor(pic) -> Tensor:
    """A PIL image as a ``(C, H, W)`` Tensor of its own dtype, without scaling."""
    if not isinstance(pic, Image.Image):
        raise TypeError(f"pil_to_tensor: pic should be PIL Image. Got {type(pic)}")
    array = np.array(pic)
    if array.ndim == 2:
        array = array[:, :, None]
    return Tensor(np.ascontiguousarray(array.transpose(2, 0, 1)))


def to_pil_image(pic, mode: str | None = None) -> Image.Image:
    """A ``(C, H, W)`` Tensor or ``(H, W, C)`` ndarray as a PIL image.

    Float data is taken as in [0, 1] and mapped to uint8 by ``* 255`` then truncation (values
    outside [0, 1] are clipped first); 1 channel gives mode ``L``, 3 ``RGB``, 4 ``RGBA``.
    """
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic.array if pic.ndim == 2 else pic.array.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic
    else:
        raise TypeError(f"to_pil_image: pic should be Tensor or ndarray. Got {type(pic)}")
    if np.issubdtype(array.dtype, np.floating):
        array = (np.clip(array, 0, 1) * 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] not in (3, 4):
        raise ValueError(f"to_pil_image: pic should have 1, 3 or 4 channels, got {array.shape[2]}")
    image = Image.fromarray(np.ascontiguousarray(array))
    return image if mode is None or mode == image.mode else image.convert(mode)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Tensor:
    """``(tensor - mean[c]) / std[c]`` per channel of a float tensor image ``(..., C, H, W)``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not np.issubdtype(tensor.dtype, np.floating):
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(
            f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = {tensor.shape}"
        )
    mean_array = np.asarray(mean, dtype=tensor.dtype).reshape(-1, 1, 1)
    std_array = np.asarray(std, dtype=tensor.dtype).reshape(-1, 1, 1)
    if (std_array == 0).any():
        raise ValueError(
            f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero."
        )
    result = (tensor.array - mean_array) / std_array
    if inplace:
        tensor.array[...] = result
        return tensor
    return Tensor(result.astype(tensor.dtype, copy=False))


def _resolve_interpolation(interpolation) -> InterpolationMode:
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, numbers.Integral) and int(interpolation) in _FROM_PIL_CONSTANT:
        return _FROM_PIL_CONSTANT[int(interpolation)]
    raise TypeError(
        f"Argument interpolation should be an InterpolationMode or a PIL resampling constant, got {interpolation!r}"
    )


def _resized_size(height: int, width: int, size, max_size: int | None) -> tuple[int, int]:
    """torchvision's rule: an int (or 1-element list) is the new shorter side, aspect kept."""
    if isinstance(size, numbers.Integral) or (isinstance(size, Sequence) and len(size) == 1):
        requested = int(size if isinstance(size, numbers.Integral) else size[0])
        short, long = min(height, width), max(height, width)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(
                    f"max_size = {max_size} must be strictly greater than the requested size for the "
                    f"smaller edge size = {size}"
                )
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if width <= height else (new_short, new_long)
    if max_size is not None:
        raise ValueError(
            "max_size should only be passed if size specifies the length of the smaller edge, "
            "i.e. size should be an int or a sequence of length 1 in torchscript mode."
        )
    return int(size[0]), int(size[1])


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None, antialias=True):
    """Resize to ``size``: ``(h, w)``, or an int for the shorter side (aspect ratio kept).

    PIL images are resized by PIL (``Image.resize``), as torchvision does. Tensors go
    through PIL's float (``F`` mode) resampling plane by plane, which with ``antialias=True``
    (the default) is the filter torchvision's antialiased tensor resize reproduces; uint8
    tensors are rounded back to uint8. ``NEAREST`` on tensors picks ``floor(i * in / out)``
    as torch's ``interpolate`` does, ``NEAREST_EXACT`` ``floor((i + 0.5) * in / out)``.
    """
    _check_image(img, "resize")
    mode = _resolve_interpolation(interpolation)
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size_ok = size > 0
    else:
        size_ok = isinstance(size, Sequence) and len(size) in (1, 2) and all(int(s) > 0 for s in size)
    if not size_ok:
        raise ValueError(
            f"resize: size must be a positive int or a sequence of 1 or 2 positive ints, got {size!r}"
        )
    _, height, width = get_dimensions(img)
    new_h, new_w = _resized_size(height, width, size, max_size)
    if isinstance(img, Image.Image):
        return img if (new_h, new_w) == (height, width) else img.resize((new_w, new_h), _PIL_RESAMPLE[mode])
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        offset = 0.5 if mode is InterpolationMode.NEAREST_EXACT else 0.0
        rows = np.minimum(((np.arange(new_h) + offset) * height / new_h).astype(np.int64), height - 1)
        cols = np.minimum(((np.arange(new_w) + offset) * width / new_w).astype(np.int64), width - 1)
        return Tensor(img.array[..., rows[:, None], cols[None, :]])
    if not antialias and (new_h < height or new_w < width):
        raise NotImplementedError(
            "resize: antialias=False when shrinking a tensor is not provided by convforge; "
            "use antialias=True (torchvision's default) or resize a PIL image"
        )
    return Tensor(_resize_planes(img.array, new_h, new_w, _PIL_RESAMPLE[mode]))


def _resize_planes(array: np.ndarray, new_h: int, new_w: int, resample) -> np.ndarray:
    planes = array.reshape(-1, *array.shape[-2:]).astype(np.float32)  # (P, H, W), P = prod(...) * C
    out = np.stack([np.asarray(Image.fromarray(plane).resize((new_w, new_h), resample)) for plane in planes])
    out = out.reshape(*array.shape[:-2], new_h, new_w)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        return np.clip(np.round(out), info.min, info.max).astype(array.dtype)
    return out.astype(array.dtype)


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height x width`` window at ``(top, left)``; parts outside the image are zeros."""
    _check_image(img, "crop")
    if isinstance(img, Image.Image):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        pads = [max(-left, 0), max(-top, 0), max(right - w, 0), max(bottom - h, 0)]
        img = pad(Tensor(img.array[..., max(top, 0) : min(bottom, h), max(left, 0) : min(right, w)]), pads)
        return Tensor(img.array.copy())
    return Tensor(img.array[..., top:bottom, left:right].copy())


def resized_crop(
    img,
    top: int,
    left: int,
    height: int,
    width: int,
    size,
    interpolation=InterpolationMode.BILINEAR,
    antialias=True,
):
    """:func:`crop`, then :func:`resize` to ``size``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def _pair(size, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{name}: please provide only two dimensions (h, w) for size, got {size!r}")


def center_crop(img, output_size):
    """The central ``output_size`` window (zero-padded first where the image is smaller)."""
    _check_image(img, "center_crop")
    crop_h, crop_w = _pair(output_size, "center_crop")
    _, h, w = get_dimensions(img)
    if crop_w > w or crop_h > h:
        pads = [
            (crop_w - w) // 2 if crop_w > w else 0,
            (crop_h - h) // 2 if crop_h > h else 0,
            (crop_w - w + 1) // 2 if crop_w > w else 0,
            (crop_h - h + 1) // 2 if crop_h > h else 0,
        ]
        img = pad(img, pads, fill=0)
        _, h, w = get_dimensions(img)
        if (crop_h, crop_w) == (h, w):
            return img
    # torchvision rounds with Python's round (half to even)
    return crop(img, int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0)), crop_h, crop_w)


def hflip(img):
    """Mirror left-right."""
    _check_image(img, "hflip")
    if isinstance(img, Image.Image):
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return Tensor(img.array[..., ::-1].copy())


def vflip(img):
    """Mirror top-bottom."""
    _check_image(img, "vflip")
    if isinstance(img, Image.Image):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return Tensor(img.array[..., ::-1, :].copy())


def _padding_ltrb(padding) -> list[int]:
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return [int(padding)] * 4
    if not isinstance(padding, Sequence) or isinstance(padding, str):
        raise TypeError(f"Got inappropriate padding arg: {padding!r}")
    if len(padding) not in (1, 2, 4):
        raise ValueError(
            f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple"
        )
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1])] * 2
    return [int(p) for p in padding]


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders: ``padding`` is an int, ``(lr, tb)`` or ``(left, top, right, bottom)``.

    ``padding_mode``: ``constant`` (with ``fill``), ``edge``, ``reflect`` (no border repeat)
    or ``symmetric`` (border repeated). Negative padding crops, as in torchvision.
    """
    _check_image(img, "pad")
    if padding_mode not in _PAD_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _padding_ltrb(padding)
    if isinstance(img, Image.Image):
        array = np.asarray(img)
        hw_axes = (0, 1)
    else:
        array = img.array
        hw_axes = (array.ndim - 2, array.ndim - 1)
    # negative pads crop first
    crop_slices = [slice(None)] * array.ndim
    crop_slices[hw_axes[0]] = slice(max(-top, 0), array.shape[hw_axes[0]] - max(-bottom, 0))
    crop_slices[hw_axes[1]] = slice(max(-left, 0), array.shape[hw_axes[1]] - max(-right, 0))
    array = array[tuple(crop_slices)]
    widths = [(0, 0)] * array.ndim
    widths[hw_axes[0]] = (max(top, 0), max(bottom, 0))
    widths[hw_axes[1]] = (max(left, 0), max(right, 0))
    if padding_mode == "constant":
        padded = _pad_constant(array, widths, fill, hw_axes, isinstance(img, Image.Image))
    else:
        padded = np.pad(array, widths, mode=padding_mode)
    if isinstance(img, Image.Image):
        result = Image.fromarray(np.ascontiguousarray(padded))  # the mode follows from the array
        if img.mode == "P":
            result.putpalette(img.getpalette())
        return result
    return Tensor(padded)


def _pad_constant(array: np.ndarray, widths, fill, hw_axes, channels_last: bool) -> np.ndarray:
    if isinstance(fill, Sequence) and not isinstance(fill, str):
        fills = list(fill)
        channel_axis = array.ndim - 1 if channels_last else hw_axes[0] - 1
        if array.ndim < 3 or len(fills) not in (1, array.shape[channel_axis]):
            raise ValueError(f"pad: fill {fill!r} must be a number or one value per channel")
        if len(fills) == 1:
            return np.pad(array, widths, mode="constant", constant_values=fills[0])
        planes = [
            np.pad(np.take(array, c, axis=channel_axis), _drop(widths, channel_axis), constant_values=value)
            for c, value in enumerate(fills)
        ]
        return np.stack(planes, axis=channel_axis)
    return np.pad(array, widths, mode="constant", constant_values=fill)


def _drop(items: list, index: int) -> list:
    return items[:index] + items[index + 1 :]


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (PIL's ``convert('L')`` for PIL images)."""
    _check_image(img, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if isinstance(img, Image.Image):
        gray = img.convert("L")
        if num_output_channels == 3:
            gray = Image.merge("RGB", (gray, gray, gray))
        return gray
    channels = get_dimensions(img)[0]
    if channels not in (1, 3):
        raise TypeError(f"Input image tensor permitted channel values are [1, 3], but found {channels}")
    array = img.array
    if channels == 3:
        red, green, blue = array[..., 0, :, :], array[..., 1, :, :], array[..., 2, :, :]
        luma = (0.2989 * red + 0.587 * green + 0.114 * blue).astype(array.dtype)[..., None, :, :]
    else:
        luma = array.copy()
    if num_output_channels == 3:
        luma = np.repeat(luma, 3, axis=-3)
    return Tensor(np.ascontiguousarray(luma))
