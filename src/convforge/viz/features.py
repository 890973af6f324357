"""What a trained CNN sees: its first-layer kernels and the feature map of every conv layer.

:func:`feature_maps` runs one image through a model and keeps each convolution's output
(a forward hook per conv layer). :func:`plot_features` lays them out as one PNG: the input
and the first layer's kernels on top (diverging colors centred on zero, as
:func:`~convforge.viz.plot_kernels`: red positive, blue negative), then one row per conv
layer with its first maps (viridis, each map stretched from its own minimum, dark, to its
maximum, yellow). Tiles are enlarged by an integer factor with nearest-neighbour
sampling, so every value is a solid block of pixels; :class:`FeatureFigure` tells where.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import nn
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor

__all__ = ["FeatureFigure", "colorize", "feature_maps", "plot_features"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
MARGIN, GAP, LABEL = 12, 6, 18
FRAME = (170, 170, 170)


def feature_maps(model: nn.Module, image) -> list[tuple[str, np.ndarray]]:
    """``(layer name, output (C, H, W))`` of every 2-D convolution, in execution order.

    ``image`` is one sample ``(C, H, W)`` (already normalized as the model expects); the
    model runs in eval mode, without gradients, and its mode is restored.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"feature_maps: model must be a convforge.nn.Module, but got {type(model).__name__}")
    x = np.asarray(image.array if isinstance(image, Tensor) else image)
    if x.ndim != 3:
        raise ValueError(f"feature_maps: image must be one sample (C, H, W), but got shape {x.shape}")
    names = {id(m): name for name, m in model.named_modules()}
    maps: list[tuple[str, np.ndarray]] = []

    def keep(module, args, output) -> None:
        if isinstance(output, Tensor) and output.ndim == 4:
            maps.append((names[id(module)], output.array[0].copy()))

    handles = [m.register_forward_hook(keep) for m in model.modules() if isinstance(m, _CONV)]
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            dtype = next((p.dtype for p in model.parameters()), np.float32)
            model(Tensor(x[None].astype(dtype)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return maps


def colorize(values: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """``(H, W)`` values -> ``(H, W, 3)`` uint8 colors of a matplotlib colormap."""
    import matplotlib

    span = vmax - vmin
    scaled = (
        (np.asarray(values, dtype=np.float64) - vmin) / span if span > 0 else np.full(np.shape(values), 0.5)
    )
    rgba = matplotlib.colormaps[cmap](np.clip(scaled, 0.0, 1.0), bytes=True)
    return np.ascontiguousarray(rgba[..., :3])


@dataclass
class FeatureFigure:
    """The composed picture and, per tile, where it is: ``boxes[(row, index)] = (x0, y0,
    scale)`` with ``row`` 0 for the input (index 0) and kernels (index 1..), and row ``r`` for
    the ``r``-th conv layer's maps; cell ``(i, j)`` of a tile covers pixels
    ``x0 + j*scale .. x0 + (j+1)*scale - 1`` (same for rows)."""

    image: object = field(repr=False)  # PIL.Image.Image
    boxes: dict[tuple[int, int], tuple[int, int, int]]
    labels: list[str]

    def save(self, path: str | Path) -> Path:
        self.image.save(path)
        return Path(path)


def _scale(size: int, target: int) -> int:
    return max(1, round(target / size))


def _kernel_tile(kernel: np.ndarray) -> np.ndarray:
    """One output channel's kernel ``(C_in, kH, kW)`` as colors: gray-scale input gets a
    diverging map; 3 input channels are shown as an RGB patch (stretched around 0.5)."""
    if kernel.shape[0] == 3:
        bound = float(np.abs(kernel).max()) or 1.0
        rgb = 0.5 + 0.5 * kernel.transpose(1, 2, 0) / bound
        return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    plane = kernel.mean(axis=0)
    bound = float(np.abs(plane).max()) or 1.0
    return colorize(plane, "RdBu_r", -bound, bound)


def _image_tile(image: np.ndarray) -> np.ndarray:
    if image.shape[0] == 3:
        low, high = float(image.min()), float(image.max())
        rgb = (image.transpose(1, 2, 0) - low) / ((high - low) or 1.0)
        return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    plane = image.mean(axis=0)
    return colorize(plane, "gray", float(plane.min()), float(plane.max()))


def _rows(image, kernels, maps, max_maps: int, tile: int) -> list[tuple[str, list[tuple[np.ndarray, int]]]]:
    """(label, [(tile pixels, scale), ...]) per row: input and kernels first, then each map."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3:
        raise ValueError(f"plot_features: image must be (C, H, W), but got shape {image.shape}")
    rows: list[tuple[str, list[tuple[np.ndarray, int]]]] = []
    first = [(_image_tile(image), _scale(max(image.shape[1:]), tile))]
    label = "input"
    if kernels is not None:
        weight = np.asarray(kernels, dtype=np.float64)
        if weight.ndim != 4:
            raise ValueError(
                f"plot_features: kernels must be (C_out, C_in, kH, kW), but got shape {weight.shape}"
            )
        shown = weight[: 2 * max_maps]
        scale = _scale(max(weight.shape[2:]), tile * 2 // 3)
        first += [(_kernel_tile(k), scale) for k in shown]
        more = f" (first {len(shown)} of {len(weight)})" if len(shown) < len(weight) else ""
        label = f"input | first-layer kernels {weight.shape[2]}x{weight.shape[3]}{more}: red > 0 > blue"
    rows.append((label, first))
    for number, (name, fmap) in enumerate(maps):
        fmap = np.asarray(fmap, dtype=np.float64)
        if fmap.ndim != 3:
            raise ValueError(f"plot_features: map {name!r} must be (C, H, W), but got shape {fmap.shape}")
        shown = fmap[:max_maps]
        scale = _scale(max(fmap.shape[1:]), tile)
        tiles = [(colorize(m, "viridis", float(m.min()), float(m.max())), scale) for m in shown]
        more = f", first {len(shown)} of {len(fmap)}" if len(shown) < len(fmap) else ""
        legend = " (each map from its minimum, dark, to its maximum, yellow)" if number == 0 else ""
        rows.append((f"{name}: {fmap.shape[0]} maps of {fmap.shape[1]}x{fmap.shape[2]}{more}{legend}", tiles))
    return rows


def _compose(rows, title: str | None):
    """(canvas, boxes): the rows laid out under their labels, each tile framed."""
    from PIL import Image, ImageDraw

    from .animate import _font

    boxes: dict[tuple[int, int], tuple[int, int, int]] = {}
    font = _font(12)
    y, width = MARGIN + (LABEL + GAP if title else 0), 0
    placements = []
    for r, (text, tiles) in enumerate(rows):
        y += LABEL
        x, height = MARGIN, 0
        for i, (pixels, scale) in enumerate(tiles):
            boxes[(r, i)] = (x, y, scale)
            placements.append((x, y, pixels, scale))
            x += pixels.shape[1] * scale + GAP
            height = max(height, pixels.shape[0] * scale)
        width = max(width, x - GAP + MARGIN)
        placements.append((MARGIN, y - LABEL + 2, text, None))
        y += height + GAP
    texts = [text for text, _ in rows] + ([title] if title else [])
    width = max(width, max(int(font.getlength(text)) for text in texts) + 2 * MARGIN)
    canvas = Image.new("RGB", (width, y - GAP + MARGIN), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((MARGIN, MARGIN), title, fill=(0, 0, 0), font=font)
    for x0, y0, content, scale in placements:
        if scale is None:
            draw.text((x0, y0), content, fill=(40, 40, 40), font=font)
        else:
            block = np.repeat(np.repeat(content, scale, axis=0), scale, axis=1)
            # a frame in the gap around the tile, so white kernel cells still read as a tile
            frame = (x0 - 1, y0 - 1, x0 + block.shape[1], y0 + block.shape[0])
            draw.rectangle(frame, outline=FRAME)
            canvas.paste(Image.fromarray(block), (x0, y0))
    return canvas, boxes


def plot_features(
    image: np.ndarray,
    kernels: np.ndarray | None,
    maps: list[tuple[str, np.ndarray]],
    path: str | Path | None = None,
    max_maps: int = 16,
    tile: int = 72,
    title: str | None = None,
) -> FeatureFigure:
    """Compose the input, the first-layer kernels and the feature maps into one picture.

    Parameters
    ----------
    image : ndarray
        The input sample ``(C, H, W)``.
    kernels : ndarray or None
        First-layer weight ``(C_out, C_in, kH, kW)``; at most ``2 * max_maps`` are shown.
    maps : list of (name, ndarray)
        As :func:`feature_maps` returns; each row shows the first ``max_maps`` channels.
    path : str or Path, optional
        Where to write the PNG.
    max_maps : int
        Feature maps shown per layer.
    tile : int
        Approximate tile size in pixels (tiles are enlarged by whole factors).
    title : str, optional
        A line above everything (the CLI puts the model and its prediction there).
    """
    if not isinstance(max_maps, int) or max_maps < 1:
        raise ValueError(f"plot_features: max_maps must be a positive int, but got max_maps={max_maps!r}")
    rows = _rows(image, kernels, maps, max_maps, tile)
    canvas, boxes = _compose(rows, title)
    figure = FeatureFigure(canvas, boxes, [text for text, _ in rows])
    if path is not None:
        figure.save(path)
    return figure
